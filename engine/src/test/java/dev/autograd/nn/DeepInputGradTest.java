package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.Generator;
import dev.autograd.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The input gradient of a GEMM convolution with many output channels, as {@code (grad^T x W)^T}
 * scattered back transposed, against {@code W^T x grad} scattered back: the same sums, within a few
 * ulps (the two products' kernels round differently at their edges).
 */
class DeepInputGradTest {

    private final long saved = Functional.deepInputGradMinWork;

    @AfterEach
    void restore() {
        Functional.deepInputGradMinWork = saved;
    }

    static float[] inputGrad(long minWork, int[] s) {
        Functional.deepInputGradMinWork = minWork;
        Generator gen = new Generator(41);
        Tensor x = Tensor.rand(gen, s[0], s[1], s[2], s[2]).sub(0.5f).requiresGrad_();
        Tensor w = Tensor.rand(gen, s[3], s[1], s[4], s[4]).sub(0.5f).requiresGrad_();
        Tensor y = Functional.conv2d(x, w, null, s[6], s[5]);
        y.backward(Tensor.rand(new Generator(42), y.shape()).sub(0.5f));
        return x.grad().toArray();
    }

    /** batch, channels, size, outC, kernel, pad, stride: a stride-2 3x3 and a 1x1 downsampling. */
    @Test
    void deepProductMatchesTheOtherWay() {
        int[][] shapes = {{8, 4, 8, 128, 3, 1, 2}, {9, 5, 9, 130, 1, 0, 2}};
        for (int[] s : shapes) {
            float[] wide = inputGrad(Long.MAX_VALUE, s);
            float[] deep = inputGrad(0, s);
            assertEquals(wide.length, deep.length);
            double tol = 4e-6 * Math.sqrt(s[3] * s[4] * s[4]);
            boolean nonZero = false;
            for (int i = 0; i < wide.length; i++) {
                assertEquals(wide[i], deep[i], tol * Math.max(1, Math.abs(wide[i])), "element " + i);
                nonZero |= wide[i] != 0f;
            }
            assertTrue(nonZero);
        }
    }
}
