package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The tape's semantics, each as PyTorch behaves. */
class AutogradTest {

    @Test
    void requiresGradPropagatesOnlyFromInputs() {
        Tensor x = Torch.rand(5, 5);
        Tensor y = Torch.rand(5, 5);
        Tensor z = Torch.rand(5, 5).requiresGrad_();
        assertFalse(x.add(y).requiresGrad());
        assertTrue(x.add(z).requiresGrad());
        assertTrue(x.add(z).gradFn() != null);
        assertTrue(z.isLeaf());
        assertFalse(x.add(z).isLeaf());
    }

    @Test
    void leafGradAccumulatesUntilZeroed() {
        Tensor w = Torch.ones(4).requiresGrad_();
        w.mul(3f).sum().backward();
        Tensor first = w.grad();
        w.mul(3f).sum().backward();
        assertSame(first, w.grad(), "accumulated in place");
        assertArrayEquals(new float[] {6, 6, 6, 6}, w.grad().toArray());
        w.grad().zero_();
        w.mul(3f).sum().backward();
        assertArrayEquals(new float[] {3, 3, 3, 3}, w.grad().toArray());
    }

    @Test
    void userGradientIsNotAliasedByLeafGrad() {
        Tensor x = Torch.ones(3).requiresGrad_();
        Tensor v = Torch.tensor(1f, 2f, 3f);
        x.mul(1f).backward(v);
        x.mul(1f).backward(v);
        assertArrayEquals(new float[] {1, 2, 3}, v.toArray());
        assertArrayEquals(new float[] {2, 4, 6}, x.grad().toArray());
        // the root itself a leaf: its .grad must not alias the gradient passed in
        Tensor y = Torch.ones(2).requiresGrad_();
        Tensor g = Torch.tensor(5f, 6f);
        y.backward(g);
        y.backward(g);
        assertArrayEquals(new float[] {5, 6}, g.toArray());
        assertArrayEquals(new float[] {10, 12}, y.grad().toArray());
    }

    @Test
    void diamondsAndBroadcastSum() {
        Tensor x = Torch.tensor(1f, 2f).requiresGrad_();
        Tensor a = x.mul(2f);
        Tensor b = x.mul(3f);
        a.add(b).add(x).sum().backward();
        assertArrayEquals(new float[] {6, 6}, x.grad().toArray());
        Tensor bias = Torch.zeros(3).requiresGrad_();
        Torch.ones(4, 3).add(bias).sum().backward();
        assertArrayEquals(new float[] {4, 4, 4}, bias.grad().toArray());
    }

    @Test
    void nonLeafGradOnlyWhenRetained() {
        Tensor x = Torch.ones(2).requiresGrad_();
        Tensor y = x.mul(2f);
        Tensor z = y.mul(3f);
        y.retainGrad();
        Tensor u = z.mul(1f);
        u.sum().backward();
        assertArrayEquals(new float[] {3, 3}, y.grad().toArray());
        assertNull(z.grad());
        assertTrue(y.retainsGrad());
    }

    @Test
    void retainGraphAllowsASecondBackward() {
        Tensor x = Torch.tensor(2f).requiresGrad_();
        Tensor y = x.mul(x);
        y.backward(null, true);
        y.backward();
        assertEquals(8f, x.grad().item());
        assertThrows(AutogradException.class, y::backward);
    }

    @Test
    void opsWithoutSavedTensorsCanRunTwice() {
        // PyTorch: freeing the graph only matters for nodes that saved tensors
        Tensor x = Torch.ones(2).requiresGrad_();
        Tensor y = x.mul(3f).sum();
        y.backward();
        y.backward();
        assertArrayEquals(new float[] {6, 6}, x.grad().toArray());
    }

    @Test
    void noGradScopesNestAndAreThreadLocal() throws Exception {
        Tensor x = Torch.ones(2).requiresGrad_();
        try (var g = Torch.noGrad()) {
            assertFalse(x.mul(2f).requiresGrad());
            try (var e = Torch.enableGrad()) {
                assertTrue(x.mul(2f).requiresGrad());
                try (var g2 = Torch.noGrad()) {
                    assertFalse(Torch.isGradEnabled());
                }
                assertTrue(Torch.isGradEnabled());
            }
            AtomicBoolean other = new AtomicBoolean();
            Thread t = new Thread(() -> other.set(x.mul(2f).requiresGrad()));
            t.start();
            t.join();
            assertTrue(other.get(), "another thread is not in this thread's no-grad scope");
            assertFalse(Torch.isGradEnabled());
        }
        assertTrue(Torch.isGradEnabled());
    }

    @Test
    void detachSharesStorage() {
        Tensor x = Torch.ones(3).requiresGrad_();
        Tensor d = x.detach();
        assertFalse(d.requiresGrad());
        assertSame(x.data(), d.data());
        assertTrue(x.eq(d).all().item() == 1f);
        assertEquals("tensor(True)", x.eq(d).all().toString());
        d.fill_(5f);
        assertEquals(5f, x.toArray()[0]);
    }

    @Test
    void functionalGradLeavesDotGradAlone() {
        Tensor x = Torch.tensor(1f, 2f).requiresGrad_();
        Tensor y = x.pow(2f).sum();
        Tensor[] g = Autograd.grad(y, x);
        assertArrayEquals(new float[] {2, 4}, g[0].toArray());
        assertNull(x.grad());
        // non-leaf inputs
        Tensor a = x.mul(3f);
        Tensor b = a.mul(a).sum();
        Tensor[] ga = Autograd.grad(b, a);
        assertArrayEquals(new float[] {6, 12}, ga[0].toArray());
        assertNull(x.grad());
    }

    @Test
    void inPlaceOnNonLeafRecords() {
        Tensor x = Torch.tensor(1f, 2f).requiresGrad_();
        Tensor y = x.mul(2f);
        y.add_(1f);
        assertEquals("AddBackward0", y.gradFn().name());
        y.mul_(3f);
        assertEquals("MulBackward0", y.gradFn().name());
        y.sum().backward();
        assertArrayEquals(new float[] {6, 6}, x.grad().toArray());
        assertArrayEquals(new float[] {9, 15}, y.toArray());
    }

    /** torchvision's residual {@code out += identity}: in place, both histories get the gradient. */
    @Test
    void inPlaceAddOfTwoHistories() {
        Tensor x = Torch.tensor(1f, 2f).requiresGrad_();
        Tensor w = Torch.tensor(3f, 4f).requiresGrad_();
        Tensor out = x.mul(w);
        Tensor identity = x.mul(5f);
        Tensor same = out.add_(identity);
        assertSame(out, same);
        assertEquals("AddBackward0", out.gradFn().name());
        assertArrayEquals(new float[] {8, 18}, out.toArray());
        out.mul(out).sum().backward();
        // d/dx (x*w + 5x)^2 = 2 (x*w + 5x) (w + 5); d/dw = 2 (x*w + 5x) x
        assertArrayEquals(new float[] {128, 324}, x.grad().toArray());
        assertArrayEquals(new float[] {16, 72}, w.grad().toArray());
        // a tensor saved for backward, then changed in place, is refused at backward
        Tensor a = Torch.tensor(1f, 2f).requiresGrad_();
        Tensor sq = a.mul(a);
        Tensor e = sq.exp(); // saves its result
        e.add_(sq);
        AutogradException err = assertThrows(AutogradException.class, () -> e.sum().backward());
        assertTrue(err.getMessage().contains("modified by an inplace operation"), err.getMessage());
    }

    @Test
    void versionCounterSharedWithViews() {
        Tensor x = Torch.ones(2, 3);
        Tensor v = x.select(0, 1);
        int before = x.version();
        v.zero_();
        assertEquals(before + 1, x.version());
        assertArrayEquals(new float[] {1, 1, 1, 0, 0, 0}, x.toArray());
    }

    @Test
    void optimizerStyleUpdateUnderNoGrad() {
        Tensor w = Torch.ones(3).requiresGrad_();
        w.mul(2f).sum().backward();
        try (var g = Torch.noGrad()) {
            w.add_(w.grad(), -0.5f);
        }
        assertArrayEquals(new float[] {0, 0, 0}, w.toArray());
        assertTrue(w.isLeaf());
        assertTrue(w.requiresGrad());
        w.setGrad(null);
        assertNull(w.grad());
    }

    @Test
    void recordApiForOpsDefinedOutside() {
        // an op written as nn would write it: raw float[] in, wrap out, record with a buffer-accumulating closure
        Tensor x = Torch.tensor(1f, -2f, 3f).requiresGrad_();
        Tensor xc = x.contiguous();
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            out[i] = 2 * xc.data()[xc.offset() + i];
        }
        Tensor y = Tensor.wrap(out, 3);
        Node n = Autograd.record(y, "TwiceBackward0", (grad, g) -> {
            float[] buf = g.buffer(0);
            for (int i = 0; i < 3; i++) {
                buf[i] += 2 * grad.data()[i];
            }
        }, x);
        assertSame(n, y.gradFn());
        n.save(x);
        y.sum().backward();
        assertArrayEquals(new float[] {2, 2, 2}, x.grad().toArray());
        try (var g = Torch.noGrad()) {
            Tensor z = Tensor.wrap(new float[3], 3);
            assertNull(Autograd.record(z, "TwiceBackward0", (grad, gg) -> { }, x));
        }
    }

    @Test
    void onReleaseRunsOnceWhenTheSavedTensorsAreFreed() {
        Tensor x = Torch.tensor(1f, 2f).requiresGrad_();
        int[] released = new int[1];
        Tensor y = x.mul(x);
        y.gradFn().onRelease(() -> released[0]++);
        Tensor loss = y.sum();
        loss.backward(null, true);
        assertEquals(0, released[0], "retain_graph keeps the node's saved state");
        loss.backward();
        assertEquals(1, released[0], "freed after the last backward");
        assertThrows(AutogradException.class, loss::backward);
        assertEquals(1, released[0], "only once");
    }

    @Test
    void leafGradBufferIsTheGradItself() {
        Tensor w = Torch.ones(2, 2).requiresGrad_();
        w.mm(Torch.ones(2, 2)).sum().backward();
        float[] storage = w.grad().data();
        w.mm(Torch.ones(2, 2)).sum().backward();
        assertSame(storage, w.grad().data(), "sgemm accumulated straight into .grad");
        assertArrayEquals(new float[] {4, 4, 4, 4}, w.grad().toArray());
    }

    @Test
    void generatorIsReproducible() {
        Torch.manualSeed(42);
        float[] a = Torch.randn(5).toArray();
        Torch.manualSeed(42);
        float[] b = Torch.randn(5).toArray();
        assertArrayEquals(a, b);
        assertNotSame(a, b);
        float[] r = Torch.rand(1000).toArray();
        for (float v : r) {
            assertTrue(v >= 0f && v < 1f);
        }
    }

    @Test
    void dtypes() {
        Tensor b = Torch.tensor(1f, 2f).gt(1.5f);
        assertEquals(DType.BOOL, b.dtype());
        assertEquals("tensor([False,  True])", b.toString());
        Tensor n = Tensor.scalarLong(0);
        n.add_(1f);
        assertEquals("tensor(1)", n.toString());
        assertEquals(DType.INT64, n.dtype());
        assertEquals(1L, n.longItem());
        assertEquals("tensor([1., 2.])", Torch.tensor(1f, 2f).add(Torch.tensor(true, false).mul(0f)).toString());
    }

    @Test
    void reluInPlaceOnViewsWithoutGrad() {
        Tensor x = Torch.tensor(new float[][] {{-1f, 2f}, {3f, -4f}});
        Tensor t = x.t();
        assertSame(t, t.relu_());
        assertArrayEquals(new float[] {0, 2, 3, 0}, x.toArray());
        assertEquals(1, x.version());
        Tensor leaf = Torch.ones(2).requiresGrad_();
        assertThrows(AutogradException.class, leaf::relu_);
    }
}
