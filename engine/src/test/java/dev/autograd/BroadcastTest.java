package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import org.junit.jupiter.api.Test;

/** Broadcasting binary ops (block fast paths included) against the scalar strided reference. */
class BroadcastTest {

    static final Kernels REF = KernelProvider.scalar();
    static final Generator GEN = new Generator(3);

    static float[] reference(Kernels.Binary op, Tensor a, Tensor b) {
        int[] shape = Shapes.broadcast(a.shapeRef(), b.shapeRef());
        float[] out = new float[Shapes.numel(shape)];
        Tensor ea = a.expand(shape);
        Tensor eb = b.expand(shape);
        REF.binaryStrided(op, shape, ea.data(), ea.offset(), ea.strides(), eb.data(), eb.offset(), eb.strides(), out, 0);
        return out;
    }

    static void check(Tensor a, Tensor b) {
        assertArrayEquals(reference(Kernels.Binary.ADD, a, b), a.add(b).toArray());
        assertArrayEquals(reference(Kernels.Binary.SUB, a, b), a.sub(b).toArray());
        assertArrayEquals(reference(Kernels.Binary.MUL, a, b), a.mul(b).toArray());
        assertArrayEquals(reference(Kernels.Binary.DIV, a, b), a.div(b).toArray());
    }

    @Test
    void shapes() {
        check(Tensor.randn(GEN, 256, 64), Tensor.randn(GEN, 64));                 // bias rows
        check(Tensor.randn(GEN, 64), Tensor.randn(GEN, 256, 64));                 // bias first
        check(Tensor.randn(GEN, 2, 3, 4, 5), Tensor.randn(GEN, 3, 1, 1));         // per channel, small plane
        check(Tensor.randn(GEN, 2, 3, 8, 8), Tensor.randn(GEN, 3, 1, 1));         // per channel
        check(Tensor.randn(GEN, 1, 3, 1, 1), Tensor.randn(GEN, 2, 3, 8, 8));      // per channel first
        check(Tensor.randn(GEN, 20, 1), Tensor.randn(GEN, 1, 17));                // outer product
        check(Tensor.randn(GEN, 1, 40), Tensor.randn(GEN, 30, 1));
        check(Tensor.randn(GEN, 3, 1, 20), Tensor.randn(GEN, 4, 20));
        check(Tensor.randn(GEN, 40, 30).t(), Tensor.randn(GEN, 40));              // non-contiguous
        check(Tensor.randn(GEN, 32, 20).slice(0, 0, 32, 2), Tensor.randn(GEN, 20)); // strided rows
        check(Tensor.randn(GEN, 16, 50), Tensor.randn(GEN, 50, 16).t());          // both views
        check(Tensor.randn(GEN, 6, 1, 32), Tensor.randn(GEN, 6, 5, 1));
    }
}
