package dev.autograd.bench;

import dev.autograd.kernels.Kernels;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Convolution building blocks on one ResNet-18 layer shape (batch 8): im2col and col2im (of the
 * column matrix and of its transpose) in GB/s, the whole conv forward (im2col + GEMM) and the weight
 * gradient in GFLOPS, max pooling and batch norm in GB/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ConvBenchmark {

    /** channels x size x stride: layer1 (64 x 56), layer3's strided entry (128 x 28 / 2), layer4 (512 x 7). */
    @Param({"64x56x1", "128x28x2", "512x7x1"})
    public String layer;

    @Param({"simd", "scalar"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    static final int BATCH = 8;
    Kernels kernels;
    int ch, size, stride, out, cols, k;
    float[] x, col, w, y, dx, bnOut, mean, invStd, var, gamma, beta, gw, gb;
    float[] pooled;
    long[] indices;

    @Setup
    public void setUp() {
        String[] p = layer.split("x");
        ch = Integer.parseInt(p[0]);
        size = Integer.parseInt(p[1]);
        stride = Integer.parseInt(p[2]);
        out = (size + 2 - 3) / stride + 1;
        cols = BATCH * out * out;
        k = ch * 9;
        kernels = KernelState.kernels(impl, threads);
        x = KernelState.random(BATCH * ch * size * size, 1);
        w = KernelState.random(ch * k, 2);
        col = new float[k * cols];
        y = new float[ch * cols];
        dx = new float[x.length];
        bnOut = new float[x.length];
        mean = new float[ch];
        invStd = new float[ch];
        var = new float[ch];
        gamma = KernelState.random(ch, 3);
        beta = KernelState.random(ch, 4);
        gw = new float[ch];
        gb = new float[ch];
        int pool = (size + 2 - 3) / 2 + 1;
        pooled = new float[BATCH * ch * pool * pool];
        indices = new long[pooled.length];
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public double gbytes;
        public double gflops;

        @Setup(Level.Iteration)
        public void reset() {
            gbytes = 0;
            gflops = 0;
        }
    }

    private void im2colBatch() {
        kernels.im2col(x, 0, BATCH, ch, size, size, 3, 3, 1, 1, stride, stride, 1, 1, out, out, col, 0, cols);
    }

    @Benchmark
    public float[] im2col(Counters c) {
        im2colBatch();
        c.gbytes += 4e-9 * ((double) col.length + x.length);
        return col;
    }

    @Benchmark
    public float[] col2im(Counters c) {
        kernels.col2imInto(col, 0, cols, BATCH, ch, size, size, 3, 3, 1, 1, stride, stride, 1, 1, out, out, dx, 0);
        c.gbytes += 4e-9 * ((double) col.length + 2.0 * x.length);
        return dx;
    }

    /** The column gradient given transposed (N x K, as {@code grad^T x W} writes it for few columns). */
    @Benchmark
    public float[] col2imTransposed(Counters c) {
        kernels.col2imTransposedInto(col, 0, k, BATCH, ch, size, size, 3, 3, 1, 1, stride, stride, 1, 1, out, out, dx, 0);
        c.gbytes += 4e-9 * ((double) col.length + 2.0 * x.length);
        return dx;
    }

    /**
     * The weight gradient {@code dW = dY x im2col(x)^T} with the columns gathered from the images;
     * at layer1's shape (64 x 576 from 25,088 positions) the SIMD kernels cut the depth into chunks
     * of images.
     */
    @Benchmark
    public float[] convWeightGrad(Counters c) {
        kernels.conv2dWeightGrad(y, 0, ch, x, 0, BATCH, ch, size, size, 3, 3, 1, 1, stride, stride, 1, 1, out, out,
                0f, w, 0);
        c.gflops += 2e-9 * ch * cols * k;
        return w;
    }

    @Benchmark
    public float[] convForward(Counters c) {
        im2colBatch();
        kernels.sgemm(false, false, ch, cols, k, 1f, w, 0, k, col, 0, cols, 0f, y, 0, cols);
        c.gflops += 2e-9 * ch * cols * k;
        return y;
    }

    @Benchmark
    public long[] maxPool3x3s2(Counters c) {
        int pool = (size + 2 - 3) / 2 + 1;
        kernels.maxPool2d(x, 0, BATCH * ch, size, size, 3, 3, 1, 1, 2, 2, 1, 1, pool, pool, pooled, 0, indices, 0);
        c.gbytes += 4e-9 * x.length;
        return indices;
    }

    @Benchmark
    public float[] batchNormTrain(Counters c) {
        kernels.batchNormTrain(x, 0, BATCH, ch, size * size, gamma, beta, 1e-5f, bnOut, 0, mean, invStd, var);
        c.gbytes += 4e-9 * 3.0 * x.length; // two reads of x (statistics), read x + write out
        return bnOut;
    }

    @Benchmark
    public float[] batchNormBackward(Counters c) {
        kernels.batchNormTrainBackward(x, 0, x, 0, BATCH, ch, size * size, gamma, mean, invStd, dx, 0, true, gw, gb);
        c.gbytes += 4e-9 * 5.0 * x.length; // read g, x twice; read-modify-write gradInput
        return dx;
    }
}
