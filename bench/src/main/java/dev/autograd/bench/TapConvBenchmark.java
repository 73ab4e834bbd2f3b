package dev.autograd.bench;

import dev.autograd.kernels.Kernels;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ResNet-18's layer4 3x3 convolution at 64x64 inputs (512 channels on 2x2 images), forward, input
 * and weight gradients, by tap classes ({@code conv2dTaps}, {@code conv2dTapsInputGrad},
 * {@code conv2dTapsWeightGrad}) and the GEMM's way the engine takes otherwise (conv2dGemm +
 * transpose; grad^T x W + col2imTransposed; transpose + grad x im2col^T). GFLOPS count the full
 * convolution's multiply-adds (2 x 512 x 4608 x batch*4) for both, so they compare times.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class TapConvBenchmark {

    @Param({"16", "8"})
    public int batch;

    @Param({"simd", "scalar"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    static final int CH = 512;
    static final int SIZE = 2;
    static final int P = SIZE * SIZE;
    static final int K = CH * 9;
    Kernels kernels;
    int n;
    float[] x, w, grad, gT, out, o, dx, dcolT, dw;
    /** The copies' shapes and strides, made once (arrays made per call were counted by -prof gc). */
    int[] toImages, toImagesStrides, toChannels, toChannelsStrides;

    @Setup
    public void setUp() {
        kernels = KernelState.kernels(impl, threads);
        n = batch * P;
        x = KernelState.random(batch * CH * P, 1);
        w = KernelState.random(CH * K, 2);
        grad = KernelState.random(batch * CH * P, 3);
        gT = new float[CH * n];
        out = new float[batch * CH * P];
        o = new float[CH * n];
        dx = new float[x.length];
        dcolT = new float[K * n];
        dw = new float[w.length];
        toImages = new int[] {batch, CH, P};
        toImagesStrides = new int[] {P, n, 1};
        toChannels = new int[] {CH, batch, P};
        toChannelsStrides = new int[] {P, CH * P, 1};
    }

    @Benchmark
    public float[] forwardTaps(ConvBenchmark.Counters c) {
        kernels.conv2dTaps(w, 0, CH, x, 0, batch, CH, SIZE, SIZE, 3, 3, 1, 1, 1, 1, 1, 1, SIZE, SIZE, out, 0);
        c.gflops += 2e-9 * CH * K * n;
        return out;
    }

    @Benchmark
    public float[] forwardGemm(ConvBenchmark.Counters c) {
        kernels.conv2dGemm(w, 0, CH, x, 0, batch, CH, SIZE, SIZE, 3, 3, 1, 1, 1, 1, 1, 1, SIZE, SIZE, o, 0);
        kernels.copyStrided(toImages, o, 0, toImagesStrides, out, 0);
        c.gflops += 2e-9 * CH * K * n;
        return out;
    }

    @Benchmark
    public float[] inputGradTaps(ConvBenchmark.Counters c) {
        kernels.conv2dTapsInputGrad(w, 0, CH, grad, 0, batch, CH, SIZE, SIZE, 3, 3, 1, 1, 1, 1, 1, 1, SIZE, SIZE, dx, 0);
        c.gflops += 2e-9 * CH * K * n;
        return dx;
    }

    @Benchmark
    public float[] inputGradGemm(ConvBenchmark.Counters c) {
        kernels.copyStrided(toChannels, grad, 0, toChannelsStrides, gT, 0);
        kernels.sgemm(true, false, n, K, CH, 1f, gT, 0, n, w, 0, K, 0f, dcolT, 0, K);
        kernels.col2imTransposedInto(dcolT, 0, K, batch, CH, SIZE, SIZE, 3, 3, 1, 1, 1, 1, 1, 1, SIZE, SIZE, dx, 0);
        c.gflops += 2e-9 * CH * K * n;
        return dx;
    }

    @Benchmark
    public float[] weightGradTaps(ConvBenchmark.Counters c) {
        kernels.conv2dTapsWeightGrad(grad, 0, CH, x, 0, batch, CH, SIZE, SIZE, 3, 3, 1, 1, 1, 1, 1, 1, SIZE, SIZE,
                0f, dw, 0);
        c.gflops += 2e-9 * CH * K * n;
        return dw;
    }

    @Benchmark
    public float[] weightGradGemm(ConvBenchmark.Counters c) {
        kernels.copyStrided(toChannels, grad, 0, toChannelsStrides, gT, 0);
        kernels.conv2dWeightGrad(gT, 0, CH, x, 0, batch, CH, SIZE, SIZE, 3, 3, 1, 1, 1, 1, 1, 1, SIZE, SIZE, 0f, dw, 0);
        c.gflops += 2e-9 * CH * K * n;
        return dw;
    }
}
