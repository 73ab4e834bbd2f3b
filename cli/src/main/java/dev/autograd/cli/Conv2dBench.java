package dev.autograd.cli;

import dev.autograd.kernels.Kernels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code autograd bench conv2d}: ResNet-18's convolution layers, directly on the kernels.
 * Forward: im2col per image with the batch folded into N, then one GEMM {@code W[M x K] col[K x N]}.
 * Backward: input gradient {@code W^T dY} then col2im; weight gradient {@code dY col^T}, one GEMM
 * over the whole batch. GFLOPS count 2MNK forward and 4MNK backward (the GEMMs only).
 */
@Command(name = "conv2d", mixinStandardHelpOptions = true,
        description = "ResNet-18's conv layers (im2col + GEMM forward; GEMM + col2im and weight GEMM backward).")
final class Conv2dBench implements Callable<Integer> {

    @Option(names = "--batch", defaultValue = "8", description = "Images per batch. Default: ${DEFAULT-VALUE}.")
    int batch;
    @Option(names = "--image", defaultValue = "224", description = "Input height and width. Default: ${DEFAULT-VALUE}.")
    int image;
    @Mixin
    BenchOptions options;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One distinct conv of ResNet-18 and how often it occurs. */
    record Layer(String name, int cin, int cout, int kernel, int stride, int pad, int scale, int count) {
        int in(int image) {
            return image / scale;
        }

        int out(int image) {
            return (in(image) + 2 * pad - kernel) / stride + 1;
        }
    }

    static final List<Layer> RESNET18 = List.of(
            new Layer("conv1", 3, 64, 7, 2, 3, 1, 1),
            new Layer("layer1", 64, 64, 3, 1, 1, 4, 4),
            new Layer("layer2.0.conv1", 64, 128, 3, 2, 1, 4, 1),
            new Layer("layer2", 128, 128, 3, 1, 1, 8, 3),
            new Layer("layer2.downsample", 64, 128, 1, 2, 0, 4, 1),
            new Layer("layer3.0.conv1", 128, 256, 3, 2, 1, 8, 1),
            new Layer("layer3", 256, 256, 3, 1, 1, 16, 3),
            new Layer("layer3.downsample", 128, 256, 1, 2, 0, 8, 1),
            new Layer("layer4.0.conv1", 256, 512, 3, 2, 1, 16, 1),
            new Layer("layer4", 512, 512, 3, 1, 1, 32, 3),
            new Layer("layer4.downsample", 256, 512, 1, 2, 0, 16, 1));

    @Override
    public Integer call() {
        CommandLine cli = spec.commandLine();
        BenchOptions.requirePositive(cli, "--batch", batch);
        if (image < 32) {
            throw new CommandLine.ParameterException(cli, "--image must be >= 32, got " + image);
        }
        if (options.paced) {
            throw new CommandLine.ParameterException(cli, "--paced is for matmul, add and resnet-step (one timed loop each)");
        }
        Kernels kr = options.setUp(cli);
        var out = cli.getOut();
        boolean json = options.format == BenchOptions.Format.json;
        List<String> rows = new ArrayList<>();
        double fwdFlops = 0, fwdTime = 0, bwdFlops = 0, bwdTime = 0;
        if (!json) {
            out.printf("ResNet-18 conv layers, batch %d, %dx%d, %s, %d threads%n",
                    batch, image, image, kr.name(), options.threads());
            out.printf("%-18s %5s %6s %6s %7s %9s %9s %9s %9s%n",
                    "layer", "count", "M", "K", "N", "fwd ms", "fwd GF/s", "bwd ms", "bwd GF/s");
        }
        for (Layer l : RESNET18) {
            int h = l.in(image);
            int oh = l.out(image);
            int ohw = oh * oh;
            int m = l.cout();
            int k = l.cin() * l.kernel() * l.kernel();
            int n = batch * ohw;
            int plane = l.cin() * h * h;
            float[] x = MatmulBench.random((long) batch * plane, 1, cli);
            float[] w = MatmulBench.random((long) m * k, 2, cli);
            float[] dy = MatmulBench.random((long) m * n, 3, cli);
            float[] col = new float[Math.toIntExact((long) k * n)];
            float[] y = new float[m * n];
            float[] dw = new float[m * k];
            float[] dx = new float[batch * plane];
            int kk = l.kernel(), s = l.stride(), p = l.pad();
            double fwd = options.medianSeconds(() -> {
                kr.im2col(x, 0, batch, l.cin(), h, h, kk, kk, p, p, s, s, 1, 1, oh, oh, col, 0, n);
                kr.sgemm(false, false, m, n, k, 1f, w, 0, k, col, 0, n, 0f, y, 0, n);
            });
            double bwd = options.medianSeconds(() -> {
                // weight gradient: dW[M x K] = dY[M x N] col^T (col from the forward pass)
                kr.sgemm(false, true, m, k, n, 1f, dy, 0, n, col, 0, n, 0f, dw, 0, k);
                // input gradient: dcol[K x N] = W^T dY, then scatter-add back to the images
                kr.sgemm(true, false, k, n, m, 1f, w, 0, k, dy, 0, n, 0f, col, 0, n);
                kr.fill(0f, dx, 0, dx.length);
                kr.col2imInto(col, 0, n, batch, l.cin(), h, h, kk, kk, p, p, s, s, 1, 1, oh, oh, dx, 0);
            });
            double f = 2.0 * m * n * k;
            fwdFlops += f * l.count();
            fwdTime += fwd * l.count();
            bwdFlops += 2 * f * l.count();
            bwdTime += bwd * l.count();
            if (json) {
                rows.add("{\"layer\":\"" + l.name() + "\",\"count\":" + l.count() + ",\"m\":" + m + ",\"k\":" + k
                        + ",\"n\":" + n + ",\"forward_ms\":" + BenchOptions.num(fwd * 1e3)
                        + ",\"forward_gflops\":" + BenchOptions.num(f / fwd / 1e9)
                        + ",\"backward_ms\":" + BenchOptions.num(bwd * 1e3)
                        + ",\"backward_gflops\":" + BenchOptions.num(2 * f / bwd / 1e9) + "}");
            } else {
                out.printf("%-18s %5d %6d %6d %7d %9s %9s %9s %9s%n", l.name(), l.count(), m, k, n,
                        BenchOptions.num(fwd * 1e3), BenchOptions.num(f / fwd / 1e9),
                        BenchOptions.num(bwd * 1e3), BenchOptions.num(2 * f / bwd / 1e9));
                out.flush();
            }
        }
        if (json) {
            out.println("{\"kernel\":\"conv2d\",\"batch\":" + batch + ",\"image\":" + image + ",\"threads\":"
                    + options.threads() + ",\"forward_ms\":" + BenchOptions.num(fwdTime * 1e3)
                    + ",\"forward_gflops\":" + BenchOptions.num(fwdFlops / fwdTime / 1e9)
                    + ",\"backward_ms\":" + BenchOptions.num(bwdTime * 1e3)
                    + ",\"backward_gflops\":" + BenchOptions.num(bwdFlops / bwdTime / 1e9)
                    + ",\"layers\":[" + String.join(",", rows) + "]}");
        } else {
            out.printf("all convs (x count): forward %s ms (%s GFLOPS), backward %s ms (%s GFLOPS)%n",
                    BenchOptions.num(fwdTime * 1e3), BenchOptions.num(fwdFlops / fwdTime / 1e9),
                    BenchOptions.num(bwdTime * 1e3), BenchOptions.num(bwdFlops / bwdTime / 1e9));
        }
        out.flush();
        return 0;
    }
}
