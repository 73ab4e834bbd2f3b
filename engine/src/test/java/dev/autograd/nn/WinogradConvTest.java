package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.autograd.Autograd;
import dev.autograd.AutogradException;
import dev.autograd.Generator;
import dev.autograd.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Winograd convolution (3x3, stride 1) against the GEMM convolution on the same inputs: output,
 * and the input, weight and bias gradients, fresh and accumulated. The threshold that picks the
 * path is moved for the test.
 */
class WinogradConvTest {

    private final int saved = Functional.winogradMinTiles;
    private final int saved4 = Functional.winograd4MinTiles;
    private final boolean savedKeep = Functional.keepWinogradTransforms;

    @AfterEach
    void restore() {
        Functional.winogradMinTiles = saved;
        Functional.winograd4MinTiles = saved4;
        Functional.keepWinogradTransforms = savedKeep;
    }

    /** Which convolution {@link #run} takes: the GEMM, F(2x2, 3x3) or F(4x4, 3x3). */
    static void path(int tile) {
        Functional.winogradMinTiles = tile == 0 ? Integer.MAX_VALUE : 1;
        Functional.winograd4MinTiles = tile == 4 ? 1 : Integer.MAX_VALUE;
    }

    /** batch, channels, outC, height, width, pad, bias. */
    static final int[][] SHAPES = {
        {2, 5, 7, 9, 11, 1, 1}, {3, 4, 6, 8, 8, 0, 0}, {1, 3, 2, 5, 6, 2, 1}, {4, 17, 20, 16, 16, 1, 0},
        {16, 8, 8, 2, 2, 1, 0}, {2, 1, 1, 3, 3, 1, 1},
    };

    record Result(float[] y, float[] gx, float[] gw, float[] gb) {
    }

    static Result run(int tile, int[] shape, long seed, int steps) {
        path(tile);
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

    /** Within 1e-4 (F(2x2, 3x3)) or 2e-3 (F(4x4, 3x3), which rounds about 20x more: see the kernels' WinogradTest). */
    static void assertClose(float[] expected, float[] actual, int tile, String what) {
        assertEquals(expected.length, actual.length, what);
        double tol = tile == 2 ? 1e-4 : 2e-3;
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > tol * Math.max(1.0, Math.abs(expected[i]))) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i]);
            }
        }
    }

    @ParameterizedTest(name = "tile={0}")
    @ValueSource(ints = {2, 4})
    void winogradEqualsTheGemmConvolution(int tile) {
        for (int[] shape : SHAPES) {
            for (int steps = 1; steps <= 2; steps++) {
                Result gemm = run(0, shape, 7, steps);
                Result wino = run(tile, shape, 7, steps);
                String what = "F(" + tile + ") " + java.util.Arrays.toString(shape) + " steps " + steps;
                assertClose(gemm.y(), wino.y(), tile, "output " + what);
                assertClose(gemm.gx(), wino.gx(), tile, "input gradient " + what);
                assertClose(gemm.gw(), wino.gw(), tile, "weight gradient " + what);
                assertClose(gemm.gb(), wino.gb(), tile, "bias gradient " + what);
            }
        }
    }

    /**
     * A second backward through the same graph (retain_graph) reads what the first read (the kept
     * transforms are only read; the workspace buffers are scratch, not state), so the gradients come
     * out exactly twice.
     */
    @ParameterizedTest(name = "tile={0}")
    @ValueSource(ints = {2, 4})
    void retainedGraphBackwardTwice(int tile) {
        path(tile);
        Generator gen = new Generator(11);
        Tensor x = Tensor.rand(gen, 2, 5, 9, 8).sub(0.5f).requiresGrad_();
        Tensor w = Tensor.rand(gen, 4, 5, 3, 3).sub(0.5f).requiresGrad_();
        Tensor y = Functional.conv2d(x, w, null, 1, 1);
        Tensor g = Tensor.rand(new Generator(12), y.shape()).sub(0.5f);
        y.backward(g, true);
        float[] gx = x.grad().toArray();
        float[] gw = w.grad().toArray();
        y.backward(g);
        float[] gx2 = x.grad().toArray();
        float[] gw2 = w.grad().toArray();
        for (int i = 0; i < gx.length; i++) {
            assertEquals(2 * gx[i], gx2[i], "input gradient " + i);
        }
        for (int i = 0; i < gw.length; i++) {
            assertEquals(2 * gw[i], gw2[i], "weight gradient " + i);
        }
    }

    /**
     * Graphs interleaved: two forwards before any backward, the second graph's backward first, a third
     * forward between the two backwards: each input gradient is what its graph gives alone (each
     * graph keeps its own transforms, nothing carried over between graphs); a weight changed in place
     * between forward and backward is caught.
     */
    @ParameterizedTest(name = "tile={0}")
    @ValueSource(ints = {2, 4})
    void interleavedGraphs(int tile) {
        path(tile);
        Generator gen = new Generator(21);
        Tensor w = Tensor.rand(gen, 4, 5, 3, 3).sub(0.5f).requiresGrad_();
        Tensor[] xs = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            xs[i] = Tensor.rand(gen, 2, 5, 8, 8).sub(0.5f).requiresGrad_();
        }
        Tensor g = Tensor.rand(new Generator(22), 2, 4, 8, 8).sub(0.5f);
        float[][] alone = new float[3][];
        for (int i = 0; i < 3; i++) {
            Functional.conv2d(xs[i], w, null, 1, 1).backward(g);
            alone[i] = xs[i].grad().toArray();
            xs[i].clearGrad();
        }
        Tensor y0 = Functional.conv2d(xs[0], w, null, 1, 1);
        Tensor y1 = Functional.conv2d(xs[1], w, null, 1, 1);
        y1.backward(g);
        Tensor y2 = Functional.conv2d(xs[2], w, null, 1, 1);
        y0.backward(g);
        y2.backward(g);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(alone[i], xs[i].grad().toArray(), "input " + i);
        }
        Tensor y3 = Functional.conv2d(xs[0], w, null, 1, 1);
        try (var ignored = Autograd.noGrad()) {
            w.mul_(2f);
        }
        AutogradException e = assertThrows(AutogradException.class, () -> y3.backward(g));
        assertTrue(e.getMessage().contains("modified by an inplace operation"), e.getMessage());
    }

    /**
     * Keeping forward's transforms for backward gives exactly what transforming again in backward
     * gives: with both operands requiring grad, with a frozen weight (only U is kept) and with an
     * input that needs no gradient (only V). Steps in a row hand the kept arrays back and take them
     * again, so later steps run on reused arrays.
     */
    @ParameterizedTest(name = "tile={0}")
    @ValueSource(ints = {2, 4})
    void keptTransformsEqualTransformingAgain(int tile) {
        for (int frozen = 0; frozen < 3; frozen++) {
            float[][] kept = steps(tile, true, frozen);
            float[][] again = steps(tile, false, frozen);
            for (int i = 0; i < kept.length; i++) {
                assertArrayEquals(again[i], kept[i], "tile " + tile + ", frozen " + frozen + ", result " + i);
            }
        }
    }

    /** Three steps of conv, backward, SGD; frozen 1: the weight, 2: the input. Output and gradients of each. */
    private static float[][] steps(int tile, boolean keep, int frozen) {
        path(tile);
        Functional.keepWinogradTransforms = keep;
        Generator gen = new Generator(31);
        Tensor x = Tensor.rand(gen, 3, 6, 8, 8).sub(0.5f).requiresGrad_(frozen != 2);
        Tensor w = Tensor.rand(gen, 5, 6, 3, 3).sub(0.5f).requiresGrad_(frozen != 1);
        Tensor b = Tensor.rand(gen, 5).requiresGrad_();
        java.util.List<float[]> out = new java.util.ArrayList<>();
        for (int step = 0; step < 3; step++) {
            Tensor y = Functional.conv2d(x, w, b, 1, 1);
            y.backward(Tensor.rand(new Generator(32 + step), y.shape()).sub(0.5f));
            out.add(y.detach().toArray());
            for (Tensor t : new Tensor[] {x, w, b}) {
                if (t.requiresGrad()) {
                    out.add(t.grad().toArray());
                    try (var ignored = Autograd.noGrad()) {
                        t.sub_(t.grad().mul(0.1f));
                    }
                    t.clearGrad();
                }
            }
        }
        return out.toArray(new float[0][]);
    }

    @ParameterizedTest(name = "tile={0}")
    @ValueSource(ints = {2, 4})
    void gradcheck(int tile) {
        path(tile);
        FunctionalGradcheckTest.check("winograd conv2d 3x3 s1 p1 bias", t -> Functional.conv2d(t[0], t[1], t[2], 1, 1),
                FunctionalGradcheckTest.leaf(2, 2, 5, 4), FunctionalGradcheckTest.leaf(3, 2, 3, 3),
                FunctionalGradcheckTest.leaf(3));
        FunctionalGradcheckTest.check("winograd conv2d 3x3 s1 p0", t -> Functional.conv2d(t[0], t[1], null, 1, 0),
                FunctionalGradcheckTest.leaf(1, 2, 6, 5), FunctionalGradcheckTest.leaf(2, 2, 3, 3));
    }
}
