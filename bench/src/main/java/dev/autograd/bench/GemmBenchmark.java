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
 * SGEMM {@code C = op(A) op(B)}: GFLOPS through the {@code gflops} counter (2mnk per call).
 * Shapes: the square reference and ResNet-18's skinny products. Run e.g.
 * {@code java -jar bench/target/benchmarks.jar GemmBenchmark -p impl=simd -p threads=2}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {

    /**
     * m x n x k, then the transposes: N (none), TN (A^T), NT (B^T). The last two are layer4's
     * backward products at batch 1: the input gradient (few rows, {@code Gemm.wide}) and the weight
     * gradient (depth 4, {@code Gemm.shallow}).
     */
    @Param({"1024x1024x1024xN", "512x4x4608xN", "64x256x576xN", "64x576x3136xNT", "576x3136x64xTN",
            "4x4608x512xTN", "512x4608x4xNT"})
    public String shape;

    @Param({"simd", "scalar"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    Kernels kernels;
    int m, n, k;
    boolean transA, transB;
    float[] a, b, c;

    @Setup
    public void setUp() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        n = Integer.parseInt(p[1]);
        k = Integer.parseInt(p[2]);
        transA = p[3].equals("TN");
        transB = p[3].equals("NT");
        kernels = KernelState.kernels(impl, threads);
        a = KernelState.random(m * k, 1);
        b = KernelState.random(k * n, 2);
        c = new float[m * n];
    }

    /** Floating-point operations done, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public double gflops;

        @Setup(Level.Iteration)
        public void reset() {
            gflops = 0;
        }
    }

    @Benchmark
    public float[] sgemm(Counters counters) {
        kernels.sgemm(transA, transB, m, n, k, 1f, a, 0, transA ? m : k, b, 0, transB ? k : n, 0f, c, 0, n);
        counters.gflops += 2e-9 * m * n * k;
        return c;
    }
}
