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

/** Reductions in full and along a dimension: GB/s read through the {@code gbytes} counter. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ReductionBenchmark {

    @Param({"4096", "1048576", "33554432"})
    public int n;

    @Param({"simd", "scalar"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    Kernels kernels;
    float[] x, rows;
    long[] argmax;

    @Setup
    public void setUp() {
        kernels = KernelState.kernels(impl, threads);
        x = KernelState.random(n, 1);
        rows = new float[Math.max(1, n / 256)];
        argmax = new long[256];
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public double gbytes;

        @Setup(Level.Iteration)
        public void reset() {
            gbytes = 0;
        }
    }

    @Benchmark
    public float sum(Counters c) {
        c.gbytes += 4e-9 * n;
        return kernels.sum(x, 0, n);
    }

    @Benchmark
    public float max(Counters c) {
        c.gbytes += 4e-9 * n;
        return kernels.max(x, 0, n);
    }

    /** [n/256, 256] summed over its last dimension (softmax/loss rows). */
    @Benchmark
    public float[] sumLastDim(Counters c) {
        kernels.sumDim(x, 0, n / 256, 256, 1, rows, 0);
        c.gbytes += 4e-9 * n;
        return rows;
    }

    /** [n/256, 256] summed over its first dimension (bias gradients). */
    @Benchmark
    public float[] sumFirstDim(Counters c) {
        kernels.sumDim(x, 0, 1, n / 256, 256, rows, 0);
        c.gbytes += 4e-9 * n;
        return rows;
    }

    /** max and argmax over the first dimension of [n/256, 256]. */
    @Benchmark
    public long[] maxFirstDim(Counters c) {
        kernels.maxDim(x, 0, 1, n / 256, 256, rows, 0, argmax);
        c.gbytes += 4e-9 * n;
        return argmax;
    }
}
