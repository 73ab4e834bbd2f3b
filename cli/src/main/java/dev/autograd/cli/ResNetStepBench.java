package dev.autograd.cli;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Parallel;
import dev.autograd.nn.ResNetStep;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code autograd bench resnet-step}: the tutorial's ResNet-18 training step ({@link ResNetStep}, the
 * code of {@code autograd run resnet-step}) timed per phase with the shared harness options: warm-up
 * steps for the given time (at least 2), then the median of the repeats. JMH's {@code ResNetStepBenchmark} in {@code bench/} gives reported numbers.
 */
@Command(name = "resnet-step", mixinStandardHelpOptions = true,
        description = "The tutorial's ResNet-18 training step (forward, backward, SGD step) in milliseconds per phase "
                + "(median of repeats after warm-up).")
final class ResNetStepBench implements Callable<Integer> {

    @Option(names = "--batch", defaultValue = "1", description = "Batch size B. Default: ${DEFAULT-VALUE}.")
    int batch;
    @Option(names = "--size", defaultValue = "64", description = "Image size S. Default: ${DEFAULT-VALUE}.")
    int size;
    @Mixin
    BenchOptions options;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cli = spec.commandLine();
        BenchOptions.requirePositive(cli, "--batch", batch);
        BenchOptions.requirePositive(cli, "--size", size);
        Kernels k = options.setUp(cli);
        if (k.vectorBitSize() != KernelProvider.get().vectorBitSize()) {
            throw new CommandLine.ParameterException(cli, "resnet-step runs on the engine's kernels, chosen once per JVM: "
                    + "for the scalar ones run with JAVA_OPTS=-Dautograd.simd=false");
        }
        int repeats = options.repeats;
        ResNetStep scenario = new ResNetStep(batch, size, 0);
        long warmupEnd = System.nanoTime() + (long) (options.warmup * 1e9);
        for (int i = 0; i < 2 || System.nanoTime() < warmupEnd; i++) {
            scenario.step();
        }
        double[] forward = new double[repeats];
        double[] backward = new double[repeats];
        double[] step = new double[repeats];
        double[] total = new double[repeats];
        options.repeat(repeats, scenario::step, r -> {
            ResNetStep.Times t = scenario.step();
            forward[r] = t.forwardNanos() / 1e6;
            backward[r] = t.backwardNanos() / 1e6;
            step[r] = t.stepNanos() / 1e6;
            total[r] = t.totalNanos() / 1e6;
        });
        var out = cli.getOut();
        if (options.format == BenchOptions.Format.json) {
            out.println("{\"kernel\":\"resnet-step\",\"batch\":" + batch + ",\"size\":" + size + ",\"threads\":"
                    + Parallel.threads() + ",\"simd\":" + (k.vectorBitSize() > 0) + ",\"repeats\":" + repeats
                    + ",\"forward_ms\":" + num(median(forward)) + ",\"backward_ms\":" + num(median(backward))
                    + ",\"step_ms\":" + num(median(step)) + ",\"total_ms\":" + num(median(total)) + "}");
        } else {
            out.println("resnet-step B=" + batch + " S=" + size + " (" + k.name() + ", " + Parallel.threads()
                    + " threads), median of " + repeats + ": forward " + num(median(forward)) + " ms, backward "
                    + num(median(backward)) + " ms, step " + num(median(step)) + " ms, total " + num(median(total)) + " ms");
        }
        out.flush();
        return 0;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
