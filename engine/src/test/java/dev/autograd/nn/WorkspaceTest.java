package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.Generator;
import dev.autograd.Tensor;
import org.junit.jupiter.api.Test;

/** The arrays ops keep from forward to backward: handed back when the node is freed, taken again by size. */
class WorkspaceTest {

    @Test
    void keptArraysComeBackBySize() {
        Workspace w = new Workspace();
        float[] a = w.kept(100);
        assertEquals(100, a.length);
        w.handBack(a);
        assertEquals(100, w.handedBackFloats());
        assertNotSame(a, w.kept(99), "only an array of the same size is taken again");
        assertSame(a, w.kept(100));
        assertEquals(0, w.handedBackFloats());
        assertNotSame(a, w.kept(100), "each array is handed out once");
        w.handBack(null);
        assertEquals(0, w.handedBackFloats());
    }

    @Test
    void atMostTheLimitWaits() {
        Workspace w = new Workspace();
        int size = (int) (Workspace.HANDED_BACK_MAX / 4 + 1);
        for (int i = 0; i < 4; i++) {
            w.handBack(new float[size]);
        }
        assertEquals(3L * size, w.handedBackFloats(), "the fourth is left to the collector");
    }

    @Test
    void aWinogradConvolutionHandsItsTransformsBackAfterBackward() {
        Functional.keepWinogradTransforms = true;
        Generator gen = new Generator(3);
        Tensor x = Tensor.rand(gen, 4, 8, 16, 16).requiresGrad_();
        Tensor weight = Tensor.rand(gen, 8, 8, 3, 3).requiresGrad_();
        Workspace w = Workspace.get();
        long before = w.handedBackFloats();
        Tensor y = Functional.conv2d(x, weight, null, 1, 1);
        y.sum().backward(null, true);
        assertEquals(before, w.handedBackFloats(), "kept while the graph is retained");
        y.sum().backward();
        assertTrue(w.handedBackFloats() > before, "handed back when the node is freed");
        long back = w.handedBackFloats();
        Functional.conv2d(x, weight, null, 1, 1);
        assertEquals(before, w.handedBackFloats(), "the next forward takes them again: " + back);
    }
}
