package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.autograd.Generator;
import dev.autograd.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Winograd convolution (3x3, stride 1) against the GEMM convolution on the same inputs: output,
 * and the input, weight and bias gradients, fresh and accumulated. The threshold that picks the
 * path is moved for the test.
 */
class WinogradConvTest {

    private final int saved = Functional.winogradMinTiles;

    @AfterEach
    void restore() {
        Functional.winogradMinTiles = saved;
    }

    /** batch, channels, outC, height, width, pad, bias. */
    static final int[][] SHAPES = {
        {2, 5, 7, 9, 11, 1, 1}, {3, 4, 6, 8, 8, 0, 0}, {1, 3, 2, 5, 6, 2, 1}, {4, 17, 20, 16, 16, 1, 0},
        {16, 8, 8, 2, 2, 1, 0}, {2, 1, 1, 3, 3, 1, 1},
    };

    record Result(float[] y, float[] gx, float[] gw, float[] gb) {
    }

    static Result run(int minTiles, int[] shape, long seed, int steps) {
        Functional.winogradMinTiles = minTiles;
        Generator gen = new Generator(seed);
        Tensor x = Tensor.rand(gen, shape[0], shape[1], shape[3], shape[4]).sub(0.5f).requiresGrad_();
        Tensor w = Tensor.rand(gen, shape[2], shape[1], 3, 3).sub(0.5f).requiresGrad_();
        Tensor b = shape[6] == 1 ? Tensor.rand(gen, shape[2]).requiresGrad_() : null;
        Tensor y = null;
        for (int i = 0; i < steps; i++) {
            // the second backward accumulates into the gradients of the first (beta 1)
            y = Functional.conv2d(x, w, b, 1, shape[5]);
            Tensor g = Tensor.rand(new Generator(seed + 1 + i), y.shape()).sub(0.5f);
            y.backward(g);
        }
        assertNotNull(y);
        return new Result(y.detach().toArray(), x.grad().toArray(), w.grad().toArray(),
                b == null ? new float[0] : b.grad().toArray());
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > 1e-5 * Math.max(1.0, Math.abs(expected[i])) * 10) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i]);
            }
        }
    }

    @Test
    void winogradEqualsTheGemmConvolution() {
        for (int[] shape : SHAPES) {
            for (int steps = 1; steps <= 2; steps++) {
                Result gemm = run(Integer.MAX_VALUE, shape, 7, steps);
                Result wino = run(1, shape, 7, steps);
                String what = java.util.Arrays.toString(shape) + " steps " + steps;
                assertClose(gemm.y(), wino.y(), "output " + what);
                assertClose(gemm.gx(), wino.gx(), "input gradient " + what);
                assertClose(gemm.gw(), wino.gw(), "weight gradient " + what);
                assertClose(gemm.gb(), wino.gb(), "bias gradient " + what);
            }
        }
    }

    @Test
    void gradcheck() {
        Functional.winogradMinTiles = 1;
        FunctionalGradcheckTest.check("winograd conv2d 3x3 s1 p1 bias", t -> Functional.conv2d(t[0], t[1], t[2], 1, 1),
                FunctionalGradcheckTest.leaf(2, 2, 5, 4), FunctionalGradcheckTest.leaf(3, 2, 3, 3),
                FunctionalGradcheckTest.leaf(3));
        FunctionalGradcheckTest.check("winograd conv2d 3x3 s1 p0", t -> Functional.conv2d(t[0], t[1], null, 1, 0),
                FunctionalGradcheckTest.leaf(1, 2, 6, 5), FunctionalGradcheckTest.leaf(2, 2, 3, 3));
    }
}
