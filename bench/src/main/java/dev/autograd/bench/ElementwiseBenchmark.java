package dev.autograd.bench;

import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Kernels.Binary;
import dev.autograd.kernels.Kernels.Unary;
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
 * Elementwise kernels, forward and backward, and the fused optimizer steps: GB/s through the
 * {@code gbytes} counter (bytes each kernel must move: reads plus writes, 4 bytes per float).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ElementwiseBenchmark {

    /** 16 KB (L1), 4 MB (L2-ish), 128 MB (memory). */
    @Param({"4096", "1048576", "33554432"})
    public int n;

    @Param({"simd", "scalar"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    Kernels kernels;
    float[] x, y, out, m, v;

    /** rowBroadcastAdd's [n/64, 64] + [64], made once (a new array per call was counted by -prof gc). */
    private int[] rowShape;
    private final int[] rowStrides = {64, 1};
    private final int[] biasStrides = {0, 1};

    @Setup
    public void setUp() {
        kernels = KernelState.kernels(impl, threads);
        x = KernelState.random(n, 1);
        y = KernelState.random(n, 2);
        for (int i = 0; i < n; i++) {
            y[i] = Math.abs(y[i]) + 0.5f; // positive: log, sqrt, div
        }
        out = new float[n];
        m = new float[n];
        v = new float[n];
        rowShape = new int[] {n / 64, 64};
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        /** Gigabytes moved, reported per second. */
        public double gbytes;

        @Setup(Level.Iteration)
        public void reset() {
            gbytes = 0;
        }
    }

    @Benchmark
    public float[] add(Counters c) {
        kernels.binary(Binary.ADD, x, 0, y, 0, out, 0, n);
        c.gbytes += 12e-9 * n;
        return out;
    }

    @Benchmark
    public float[] mulScalar(Counters c) {
        kernels.binaryScalar(Binary.MUL, x, 0, 1.5f, out, 0, n);
        c.gbytes += 8e-9 * n;
        return out;
    }

    @Benchmark
    public float[] rowBroadcastAdd(Counters c) {
        // [n/64, 64] + [64]: the bias add of a linear layer
        kernels.binaryStrided(Binary.ADD, rowShape, x, 0, rowStrides, y, 0, biasStrides, out, 0);
        c.gbytes += 8e-9 * n;
        return out;
    }

    @Benchmark
    public float[] exp(Counters c) {
        kernels.unary(Unary.EXP, x, 0, out, 0, n);
        c.gbytes += 8e-9 * n;
        return out;
    }

    @Benchmark
    public float[] tanh(Counters c) {
        kernels.unary(Unary.TANH, x, 0, out, 0, n);
        c.gbytes += 8e-9 * n;
        return out;
    }

    @Benchmark
    public float[] sigmoid(Counters c) {
        kernels.unary(Unary.SIGMOID, x, 0, out, 0, n);
        c.gbytes += 8e-9 * n;
        return out;
    }

    @Benchmark
    public float[] relu(Counters c) {
        kernels.unary(Unary.RELU, x, 0, out, 0, n);
        c.gbytes += 8e-9 * n;
        return out;
    }

    @Benchmark
    public float[] reluBackward(Counters c) {
        kernels.reluBackward(y, 0, x, 0, out, 0, n);
        c.gbytes += 16e-9 * n;
        return out;
    }

    @Benchmark
    public float[] tanhBackward(Counters c) {
        kernels.unaryBackward(Unary.TANH, y, 0, x, 0, x, 0, out, 0, n);
        c.gbytes += 16e-9 * n;
        return out;
    }

    @Benchmark
    public float[] axpy(Counters c) {
        kernels.axpy(1e-3f, x, 0, out, 0, n);
        c.gbytes += 12e-9 * n;
        return out;
    }

    @Benchmark
    public float[] sgdMomentum(Counters c) {
        kernels.sgdStep(out, 0, x, 0, m, 0, n, 1e-3f, 0.9f, 0f, 1e-4f, false, false);
        c.gbytes += 20e-9 * n; // reads w, g, buf; writes w, buf
        return out;
    }

    @Benchmark
    public float[] adam(Counters c) {
        kernels.adamStep(out, 0, x, 0, m, v, 0, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 0.5f, 0.5f);
        c.gbytes += 28e-9 * n; // reads w, g, m, v; writes w, m, v
        return out;
    }
}
