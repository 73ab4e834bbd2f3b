package dev.autograd.kernels;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The six transforms of F(2x2, 3x3) and F(4x4, 3x3): see {@link AllocationTestBase}. */
class WinogradAllocationTest extends AllocationTestBase {

    @TestFactory
    Stream<DynamicTest> transformsAllocateNothingOnceWarm() {
        return Stream.of(2, 4).flatMap(WinogradAllocationTest::transforms);
    }

    /** Layer2's shape at batch 4: [4, 128, 28, 28], 128 output channels. */
    private static Stream<DynamicTest> transforms(int m) {
        int a = m + 2, batch = 4, channels = 128, size = 28;
        int tiles = batch * ((size + m - 1) / m) * ((size + m - 1) / m);
        float[] x = PanamaKernelsTest.random(batch * channels * size * size, 18, -1f, 1f);
        float[] w = PanamaKernelsTest.random(channels * channels * 9, 19, -0.1f, 0.1f);
        float[] u = new float[a * a * channels * channels];
        float[] v = new float[a * a * channels * tiles];
        float[] mm = PanamaKernelsTest.random(a * a * channels * tiles, 20, -1f, 1f);
        float[] out = new float[x.length];
        String f = "F(" + m + "x" + m + ") ";
        return Stream.of(
                call(f + "weights", 50, () -> SIMD.winogradWeights(m, w, 0, channels, channels, u)),
                call(f + "input", 50, () -> SIMD.winogradInput(m, x, 0, batch, channels, size, size, 1, 1, size,
                        size, v)),
                call(f + "output", 50, () -> SIMD.winogradOutput(m, mm, batch, channels, size, size, out, 0)),
                call(f + "gradOutput", 50, () -> SIMD.winogradGradOutput(m, x, 0, batch, channels, size, size, v)),
                call(f + "inputBackward", 50, () -> SIMD.winogradInputBackward(m, mm, batch, channels, size, size, 1,
                        1, size, size, out, 0)),
                call(f + "weightsBackward", 50, () -> SIMD.winogradWeightsBackward(m, u, channels, channels, 0f, w,
                        0)));
    }
}
