package dev.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Kernel calls on two threads allocate nothing once compiled: each hands the pool a reused call
 * object ({@link Parallel.Call}), not a capturing lambda. Bytes are counted on the calling thread
 * and the pool's workers (the JIT's threads are not counted), the best of several rounds, so that
 * a round in which a kernel was still being compiled (the interpreter boxes vectors) is not held
 * against it. Every way of the SGEMM is covered by one shape.
 */
class KernelAllocationTest {

    static final Kernels SIMD = new PanamaKernels(0);
    static final int N = 1 << 16; // four ranges of PanamaKernels.PARALLEL_GRAIN

    @BeforeAll
    static void twoThreads() {
        Parallel.setThreads(2);
    }

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @TestFactory
    Stream<DynamicTest> parallelKernelCallsAllocateNothingOnceWarm() {
        float[] a = PanamaKernelsTest.random(N, 1, 0.5f, 2f);
        float[] b = PanamaKernelsTest.random(N, 2, 0.5f, 2f);
        float[] c = PanamaKernelsTest.random(N, 3, 0.5f, 2f);
        float[] d = PanamaKernelsTest.random(N, 4, 0.5f, 2f);
        float[] out = new float[N];
        return Stream.of(
                call("binary", 400, () -> SIMD.binary(Kernels.Binary.ADD, a, 0, b, 0, out, 0, N)),
                call("binaryScalar", 400, () -> SIMD.binaryScalar(Kernels.Binary.MUL, a, 0, 3f, out, 0, N)),
                call("unary", 400, () -> SIMD.unary(Kernels.Unary.EXP, a, 0, out, 0, N)),
                call("unaryBackward", 400, () -> SIMD.unaryBackward(Kernels.Unary.TANH, a, 0, b, 0, c, 0, out, 0, N)),
                call("reluMask", 400, () -> SIMD.reluMask(a, 0, b, 0, out, 0, N)),
                call("axpy", 400, () -> SIMD.axpy(1e-6f, a, 0, out, 0, N)),
                call("sum", 400, () -> SIMD.sum(a, 0, N)),
                call("sgdStep", 400, () -> SIMD.sgdStep(out, 0, a, 0, b, 0, N, 1e-6f, 0.9f, 0f, 1e-4f, false, false)),
                call("adamStep", 400, () -> SIMD.adamStep(out, 0, a, 0, c, d, 0, N, 1e-6f, 0.9f, 0.999f, 1e-8f, 0f,
                        false, 0.5f, 0.5f)),
                call("sgemmBatch", 200, () -> SIMD.sgemmBatch(16, false, false, 32, 32, 64, 1f, a, 0, 32 * 64, 64,
                        b, 0, 64 * 32, 32, 0f, out, 0, 32 * 32, 32)),
                product("skinny 512x4x4608", false, false, 512, 4, 4608),
                product("wide by depth 4x4608x512 (A transposed)", true, false, 4, 4608, 512),
                product("wide by bands 4x8192x64", false, false, 4, 8192, 64),
                product("shallow 512x4608x4 (B transposed)", false, true, 512, 4608, 4),
                product("packed, balanced 64x256x576", false, false, 64, 256, 576),
                product("packed, shared 384x1024x1024", false, false, 384, 1024, 1024));
    }

    /**
     * ResNet-18's layer2 at batch 4: [4, 128, 28, 28], a 3x3 window (stride 1, padding 1). Not
     * col2imInto: after the rest of the suite had run in the same JVM, it allocated 10 MB per call
     * (vectors boxed by code compiled from the other tests' profiles; alone it allocated nothing).
     */
    @TestFactory
    Stream<DynamicTest> convolutionAndNormalisationCallsAllocateNothingOnceWarm() {
        int batch = 4, channels = 128, size = 28, plane = size * size, n = batch * channels * plane;
        float[] x = PanamaKernelsTest.random(n, 7, -1f, 1f);
        float[] grad = PanamaKernelsTest.random(n, 8, -1f, 1f);
        float[] out = new float[n];
        float[] gx = new float[n];
        float[] weight = PanamaKernelsTest.random(channels, 9, 0.5f, 1.5f);
        float[] bias = PanamaKernelsTest.random(channels, 10, -1f, 1f);
        float[] mean = new float[channels], invStd = new float[channels], var = new float[channels];
        float[] gw = new float[channels], gb = new float[channels];
        float[] col = new float[channels * 9 * batch * plane];
        int pooled = 14;
        long[] indices = new long[batch * channels * pooled * pooled];
        float[] pool = new float[indices.length];
        return Stream.of(
                call("batchNormTrain", 50, () -> SIMD.batchNormTrain(x, 0, batch, channels, plane, weight, bias, 1e-5f,
                        out, 0, mean, invStd, var)),
                call("batchNormEval", 50, () -> SIMD.batchNormEval(x, 0, batch, channels, plane, weight, bias, mean,
                        var, 1e-5f, out, 0)),
                call("batchNormTrainBackward", 50, () -> SIMD.batchNormTrainBackward(grad, 0, x, 0, batch, channels,
                        plane, weight, mean, invStd, gx, 0, false, gw, gb)),
                call("maxPool2d", 50, () -> SIMD.maxPool2d(x, 0, batch * channels, size, size, 3, 3, 1, 1, 2, 2, 1, 1,
                        pooled, pooled, pool, 0, indices, 0)),
                call("maxPool2dBackward", 50, () -> SIMD.maxPool2dBackward(pool, 0, indices, 0, batch * channels, size,
                        size, pooled, pooled, gx, 0)),
                call("im2col", 20, () -> SIMD.im2col(x, 0, batch, channels, size, size, 3, 3, 1, 1, 1, 1, 1, 1, size,
                        size, col, 0, batch * plane)),
                call("col2imTransposedInto", 20, () -> SIMD.col2imTransposedInto(col, 0, channels * 9, batch, channels,
                        size, size, 3, 3, 1, 1, 1, 1, 1, 1, size, size, gx, 0)));
    }

    private static DynamicTest product(String name, boolean transA, boolean transB, int m, int n, int k) {
        float[] a = PanamaKernelsTest.random(m * k, 5, -1f, 1f);
        float[] b = PanamaKernelsTest.random(k * n, 6, -1f, 1f);
        float[] c = new float[m * n];
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        long flops = (long) m * n * k;
        int calls = (int) Math.max(4, Math.min(400, (1L << 28) / flops));
        return call("sgemm, " + name, calls, () -> SIMD.sgemm(transA, transB, m, n, k, 1f, a, 0, lda, b, 0, ldb,
                0f, c, 0, n));
    }

    private static DynamicTest call(String name, int calls, Runnable kernel) {
        return DynamicTest.dynamicTest(name, () -> {
            ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
            kernel.run(); // starts the pool's workers
            long[] ids = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("autograd-kernels-") || t == Thread.currentThread())
                    .mapToLong(Thread::threadId).toArray();
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 40 && best > 0; round++) {
                long before = allocated(mx, ids);
                for (int i = 0; i < calls; i++) {
                    kernel.run();
                }
                best = Math.min(best, allocated(mx, ids) - before);
            }
            assertEquals(0, best, "bytes allocated by " + calls + " calls on 2 threads, best round of 40");
        });
    }

    private static long allocated(ThreadMXBean mx, long[] ids) {
        long sum = 0;
        for (long id : ids) {
            sum += Math.max(0, mx.getThreadAllocatedBytes(id));
        }
        return sum;
    }
}
