package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/**
 * A backward pass reuses the arrays of its dead gradients for later ones of the same size
 * ({@link Grads#recycle}): never one that a node passed on, by reference or as a view, to an input.
 */
class GradRecyclingTest {

    private static final int N = 64;

    @Test
    void deadGradientIsReusedForTheNextOfItsSize() {
        Grads grads = new Grads(true);
        Node input = new Node("MulBackward0", new Node[0], new int[0][], (g, gs) -> { });
        Node node = new Node("ExpBackward0", new Node[] {input}, new int[][] {{N}}, (g, gs) -> { });
        float[] dead = new float[N];
        grads.recycle(node, Tensor.wrap(dead, N));
        assertSame(dead, grads.fresh(N));
        assertNotSame(dead, grads.fresh(N));
        assertEquals(N + 1, grads.fresh(N + 1).length);
    }

    @Test
    void gradientPassedOnIsNotReused() {
        Grads grads = new Grads(true);
        Node input = new Node("MulBackward0", new Node[0], new int[0][], (g, gs) -> { });
        Node node = new Node("ViewBackward0", new Node[] {input}, new int[][] {{8, 8}}, (g, gs) -> { });
        float[] passed = new float[N];
        input.buf = Tensor.wrap(passed, 8, 8); // a view of the node's gradient, kept by its input
        grads.recycle(node, Tensor.wrap(passed, N));
        assertNotSame(passed, grads.fresh(N));
    }

    @Test
    void partOfALargerArrayIsNotReused() {
        Grads grads = new Grads(true);
        Node node = new Node("ExpBackward0", new Node[0], new int[0][], (g, gs) -> { });
        float[] storage = new float[2 * N];
        grads.recycle(node, Tensor.wrap(storage, 2 * N).narrow(0, 0, N));
        assertNotSame(storage, grads.fresh(N));
    }

    /**
     * Same-size gradients that die along a chain, one passed by reference to both inputs of an add,
     * one used twice (c * c), a retained one: values as the closed form gives, twice over.
     */
    @Test
    void chainWithSharedAndRetainedGradientsKeepsItsValues() {
        float[] xs = new float[N];
        for (int i = 0; i < N; i++) {
            xs[i] = (i - N / 2) / (float) N;
        }
        for (int run = 0; run < 2; run++) {
            Tensor x = Tensor.of(xs).requiresGrad_();
            Tensor a = x.mul(2f);
            a.retainGrad();
            Tensor b = a.exp();
            Tensor c = b.add(a);
            Tensor d = c.mul(c).neg().neg();
            d.sum().backward();
            float[] gx = new float[N];
            float[] ga = new float[N];
            for (int i = 0; i < N; i++) {
                double ai = 2.0 * xs[i];
                double ci = Math.exp(ai) + ai;
                ga[i] = (float) (2 * ci * (Math.exp(ai) + 1));
                gx[i] = 2 * ga[i];
            }
            assertArrayEquals(ga, a.grad().toArray(), 1e-5f);
            assertArrayEquals(gx, x.grad().toArray(), 1e-5f);
        }
    }
}
