package dev.autograd.kernels;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Convolutions by GEMM, im2col and col2im, tap classes and the direct way: see {@link AllocationTestBase}. */
class ConvolutionAllocationTest extends AllocationTestBase {

    @TestFactory
    Stream<DynamicTest> convolutionsAllocateNothingOnceWarm() {
        // layer2 at batch 4: [4, 128, 28, 28], 3x3 weights [128, 128, 3, 3], stride 1, padding 1
        int batch = 4, channels = 128, size = 28, plane = size * size;
        float[] x = PanamaKernelsTest.random(batch * channels * plane, 11, -1f, 1f);
        float[] grad = PanamaKernelsTest.random(x.length, 12, -1f, 1f);
        float[] out = new float[x.length];
        float[] w = PanamaKernelsTest.random(channels * channels * 9, 13, -0.1f, 0.1f);
        float[] dw = new float[w.length];
        float[] col = new float[channels * 9 * batch * plane];
        // layer4 at batch 16: [16, 512, 2, 2], 3x3 weights (tap classes; at batch 4 they do not pay)
        float[] x4 = PanamaKernelsTest.random(16 * 512 * 4, 14, -1f, 1f);
        float[] w4 = PanamaKernelsTest.random(512 * 512 * 9, 15, -0.1f, 0.1f);
        float[] o4 = new float[x4.length];
        float[] dw4 = new float[w4.length];
        // conv1 at batch 2: [2, 3, 64, 64], 7x7 stride 2 into [2, 64, 32, 32] (direct)
        float[] x1 = PanamaKernelsTest.random(2 * 3 * 64 * 64, 16, -1f, 1f);
        float[] w1 = PanamaKernelsTest.random(64 * 3 * 49, 17, -0.1f, 0.1f);
        float[] o1 = new float[2 * 64 * 32 * 32];
        return Stream.of(
                call("im2col", 20, () -> SIMD.im2col(x, 0, batch, channels, size, size, 3, 3, 1, 1, 1, 1, 1, 1, size,
                        size, col, 0, batch * plane)),
                call("col2imInto", 20, () -> SIMD.col2imInto(col, 0, batch * plane, batch, channels, size, size, 3, 3,
                        1, 1, 1, 1, 1, 1, size, size, out, 0)),
                call("col2imTransposedInto", 20, () -> SIMD.col2imTransposedInto(col, 0, channels * 9, batch, channels,
                        size, size, 3, 3, 1, 1, 1, 1, 1, 1, size, size, out, 0)),
                call("conv2dGemm", 10, () -> SIMD.conv2dGemm(w, 0, channels, x, 0, batch, channels, size, size, 3, 3,
                        1, 1, 1, 1, 1, 1, size, size, out, 0)),
                call("conv2dWeightGrad", 10, () -> SIMD.conv2dWeightGrad(grad, 0, channels, x, 0, batch, channels,
                        size, size, 3, 3, 1, 1, 1, 1, 1, 1, size, size, 0f, dw, 0)),
                call("conv2dTaps", 20, () -> SIMD.conv2dTaps(w4, 0, 512, x4, 0, 16, 512, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1,
                        2, 2, o4, 0)),
                call("conv2dTapsInputGrad", 20, () -> SIMD.conv2dTapsInputGrad(w4, 0, 512, x4, 0, 16, 512, 2, 2, 3, 3,
                        1, 1, 1, 1, 1, 1, 2, 2, o4, 0)),
                call("conv2dTapsWeightGrad", 20, () -> SIMD.conv2dTapsWeightGrad(x4, 0, 512, x4, 0, 16, 512, 2, 2, 3,
                        3, 1, 1, 1, 1, 1, 1, 2, 2, 0f, dw4, 0)),
                call("conv2dDirect", 20, () -> SIMD.conv2dDirect(w1, 0, 64, x1, 0, 2, 3, 64, 64, 7, 7, 3, 3, 2, 2, 1,
                        1, 32, 32, o1, 0)));
    }
}
