package dev.autograd.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.autograd.Tensor;
import dev.autograd.nn.Functional;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * zero_grad(set_to_none=True) keeps the memory of a gradient nobody was handed for the next backward
 * (Tensor.clearGrad): the next gradients reuse the arrays, and their values are exactly those of
 * parameters that never had a gradient. A gradient someone holds is never written again.
 */
class GradMemoryTest {

    /** conv (N = 2*5*5 = 50, the image-gathered path) and linear weights, their biases. */
    private record Model(Tensor conv, Tensor convBias, Tensor fc, Tensor fcBias) {
        static Model seeded(long seed) {
            dev.autograd.Generator g = new dev.autograd.Generator(seed);
            return new Model(Tensor.randn(g, 4, 3, 3, 3).requiresGrad_(true), Tensor.randn(g, 4).requiresGrad_(true),
                    Tensor.randn(g, 6, 100).requiresGrad_(true), Tensor.randn(g, 6).requiresGrad_(true));
        }

        List<Tensor> params() {
            return List.of(conv, convBias, fc, fcBias);
        }

        void backward(Tensor x) {
            Tensor y = Functional.conv2d(x, conv, convBias, 1, 1).reshape(2, 100);
            Functional.linear(y, fc, fcBias).pow(2).sum().backward();
        }
    }

    private static Tensor input(long seed) {
        return Tensor.randn(new dev.autograd.Generator(seed), 2, 3, 5, 5);
    }

    @Test
    void unseenGradientsAreReusedWithTheSameValues() {
        Model m = Model.seeded(1);
        SGD opt = new SGD(m.params(), 0.1, 0.9, 0, 0, false);
        m.backward(input(2));
        float[][] arrays = m.params().stream().map(p -> p.peekGrad().data()).toArray(float[][]::new);
        opt.zeroGrad();
        for (Tensor p : m.params()) {
            assertNull(p.peekGrad());
        }
        m.backward(input(3));

        Model fresh = Model.seeded(1);
        fresh.backward(input(3));
        for (int i = 0; i < arrays.length; i++) {
            Tensor p = m.params().get(i);
            assertSame(arrays[i], p.peekGrad().data(), "gradient " + i + " reuses the cleared array");
            assertArrayEquals(fresh.params().get(i).grad().toArray(), p.grad().toArray(), "gradient " + i);
        }
    }

    @Test
    void aGradientHandedOutIsNeverWrittenAgain() {
        Model m = Model.seeded(1);
        SGD opt = new SGD(m.params(), 0.1, 0.9, 0, 0, false);
        m.backward(input(2));
        Tensor held = m.conv.grad();
        Tensor heldFc = m.fc.grad();
        float[] before = held.toArray();
        float[] beforeFc = heldFc.toArray();
        opt.step();
        opt.zeroGrad();
        m.backward(input(3));
        assertNotSame(held.data(), m.conv.grad().data());
        assertNotSame(heldFc.data(), m.fc.grad().data());
        assertArrayEquals(before, held.toArray());
        assertArrayEquals(beforeFc, heldFc.toArray());
    }

    @Test
    void aGradientTheUserSetIsNeverReused() {
        Model m = Model.seeded(1);
        Tensor mine = Tensor.zeros(4, 3, 3, 3);
        m.conv.setGrad(mine);
        m.conv.peekGrad();
        new SGD(List.of(m.conv), 0.1).zeroGrad();
        m.backward(input(3));
        assertNotSame(mine.data(), m.conv.peekGrad().data());
        assertArrayEquals(new float[mine.numel()], mine.toArray());
    }

    @Test
    void moduleZeroGradRecyclesToo() {
        dev.autograd.nn.Linear fc = new dev.autograd.nn.Linear(5, 3);
        Tensor x = Tensor.randn(new dev.autograd.Generator(4), 2, 5);
        fc.forward(x).sum().backward();
        float[] array = fc.weight.peekGrad().data();
        float[] expected = fc.weight.peekGrad().toArray();
        fc.zeroGrad();
        fc.forward(x).sum().backward();
        assertSame(array, fc.weight.peekGrad().data());
        assertArrayEquals(expected, fc.weight.grad().toArray());
    }
}
