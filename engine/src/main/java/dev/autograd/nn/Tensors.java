package dev.autograd.nn;

import dev.autograd.Autograd;
import dev.autograd.AutogradException;
import dev.autograd.DType;
import dev.autograd.Tensor;

/** Small helpers of the nn package over the engine's tensors. */
final class Tensors {

    private Tensors() {
    }

    /** {@code torch.Size([1, 128, 1, 1])}, as PyTorch prints a shape in messages. */
    static String sizeString(int[] shape) {
        return "torch.Size(" + Functional.sizeList(shape) + ")";
    }

    /** The values as an offset-0 array: the storage itself when it is exactly that, else a copy. */
    static float[] array(Tensor t) {
        float[] d = t.data();
        if (t.isContiguous() && t.offset() == 0 && d.length == t.numel()) {
            return d;
        }
        return t.contiguous().toArray();
    }

    /** Copies {@code src} into {@code dst} (same shape), outside the graph; int64 stays int64. */
    static void copyInto(Tensor src, Tensor dst) {
        try (var g = Autograd.noGrad()) {
            if (dst.dtype() == DType.INT64 && src.dtype() == DType.INT64) {
                long[] s = src.toLongArray();
                long[] d = dst.longData();
                if (!dst.isContiguous()) {
                    throw new AutogradException("cannot load into a non-contiguous int64 tensor");
                }
                System.arraycopy(s, 0, d, dst.offset(), s.length);
                dst.bumpVersion();
            } else {
                dst.copy_(src);
            }
        }
    }

    /** {@code p.grad = None}, or zero-fills it in place. */
    static void zeroGrad(Tensor p, boolean setToNone) {
        Tensor g = p.peekGrad();
        if (g == null) {
            return;
        }
        if (setToNone) {
            p.clearGrad();
        } else {
            try (var ng = Autograd.noGrad()) {
                g.zero_();
            }
        }
    }
}
