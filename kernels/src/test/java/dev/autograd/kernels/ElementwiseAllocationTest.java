package dev.autograd.kernels;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Elementwise kernels, sums, optimizers, strided copies, batch norm and pooling: see {@link AllocationTestBase}. */
class ElementwiseAllocationTest extends AllocationTestBase {

    static final int N = 1 << 16; // four ranges of PanamaKernels.PARALLEL_GRAIN

    @TestFactory
    Stream<DynamicTest> elementwiseCallsAllocateNothingOnceWarm() {
        float[] a = PanamaKernelsTest.random(N, 1, 0.5f, 2f);
        float[] b = PanamaKernelsTest.random(N, 2, 0.5f, 2f);
        float[] c = PanamaKernelsTest.random(N, 3, 0.5f, 2f);
        float[] d = PanamaKernelsTest.random(N, 4, 0.5f, 2f);
        float[] out = new float[N];
        int[] transposed = {64, 512}, transposedStrides = {1, 64};
        int[] swapped = {4, 128, 128}, swappedStrides = {128, 4 * 128, 1};
        int[] rows = {1024, 64}, rowStrides = {64, 1}, biasStrides = {0, 1};
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
                call("copyStrided, a transpose", 200, () -> SIMD.copyStrided(transposed, a, 0, transposedStrides,
                        out, 0)),
                call("copyStrided, rows", 200, () -> SIMD.copyStrided(swapped, a, 0, swappedStrides, out, 0)),
                call("binaryStrided, a row broadcast", 400, () -> SIMD.binaryStrided(Kernels.Binary.ADD, rows, a, 0,
                        rowStrides, b, 0, biasStrides, out, 0)));
    }

    /** ResNet-18's layer2 at batch 4: [4, 128, 28, 28]. */
    @TestFactory
    Stream<DynamicTest> normalisationAndPoolingCallsAllocateNothingOnceWarm() {
        int batch = 4, channels = 128, size = 28, plane = size * size, n = batch * channels * plane;
        float[] x = PanamaKernelsTest.random(n, 7, -1f, 1f);
        float[] grad = PanamaKernelsTest.random(n, 8, -1f, 1f);
        float[] out = new float[n];
        float[] gx = new float[n];
        float[] weight = PanamaKernelsTest.random(channels, 9, 0.5f, 1.5f);
        float[] bias = PanamaKernelsTest.random(channels, 10, -1f, 1f);
        float[] mean = new float[channels], invStd = new float[channels], var = new float[channels];
        float[] gw = new float[channels], gb = new float[channels];
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
                        size, pooled, pooled, gx, 0)));
    }
}
