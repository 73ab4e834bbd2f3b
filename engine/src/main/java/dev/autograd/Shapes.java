package dev.autograd;

import java.util.Arrays;

/** Shape and stride bookkeeping (no element loops). */
final class Shapes {
    private Shapes() {
    }

    static final int[] SCALAR = new int[0];

    /** Largest Java array: a tensor's elements live in one. */
    static final int MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** The element count, with PyTorch's error for a negative size and a clear one past Java's array limit. */
    static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new AutogradException("Trying to create tensor with negative dimension " + d + ": " + str(shape));
            }
            n *= d;
            if (n > MAX_ELEMENTS) {
                n = Long.MAX_VALUE / 2; // keep growing past the limit without overflowing; checked below
            }
        }
        if (n > MAX_ELEMENTS) {
            throw new AutogradException("tensor of shape " + str(shape) + " has more elements than a Java array holds ("
                    + MAX_ELEMENTS + ")");
        }
        return (int) n;
    }

    static int[] contiguousStrides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(shape[i], 1);
        }
        return s;
    }

    static boolean equal(int[] a, int[] b) {
        return a == b || Arrays.equals(a, b);
    }

    /** PyTorch's list form: {@code [2, 3]}. (the JDK's int[] form is the same). */
    static String str(int[] shape) {
        return Arrays.toString(shape);
    }

    /** {@code torch.Size([2, 3])}. */
    static String size(int[] shape) {
        return "torch.Size(" + str(shape) + ")";
    }

    /** NumPy broadcasting of two shapes, with PyTorch's error. */
    static int[] broadcast(int[] a, int[] b) {
        if (equal(a, b)) {
            return a;
        }
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = n - 1; i >= 0; i--) {
            int offset = n - 1 - i;
            int da = a.length - 1 - offset;
            int db = b.length - 1 - offset;
            int sa = da >= 0 ? a[da] : 1;
            int sb = db >= 0 ? b[db] : 1;
            if (sa != sb && sa != 1 && sb != 1) {
                throw new AutogradException("The size of tensor a (" + sa + ") must match the size of tensor b ("
                        + sb + ") at non-singleton dimension " + i);
            }
            out[i] = sa == 1 ? sb : sa;
        }
        return out;
    }

    /** Normalizes a possibly negative dim, with PyTorch's IndexError text. */
    static int dim(int dim, int rank) {
        int r = Math.max(rank, 1);
        if (dim < -r || dim >= r) {
            throw AutogradException.indexError("Dimension out of range (expected to be in range of [" + (-r) + ", " + (r - 1)
                    + "], but got " + dim + ")");
        }
        return dim < 0 ? dim + r : dim;
    }

    /** Resolves a -1 in a requested shape. */
    static int[] infer(int[] requested, int numel) {
        int[] shape = requested.clone();
        int infer = -1;
        int known = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (infer >= 0) {
                    throw new AutogradException("only one dimension can be inferred");
                }
                infer = i;
            } else if (shape[i] < 0) {
                throw new AutogradException("invalid shape dimension " + shape[i]);
            } else {
                known *= shape[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new AutogradException("shape '" + str(requested) + "' is invalid for input of size " + numel);
            }
            shape[infer] = numel / known;
        } else if (known != numel) {
            throw new AutogradException("shape '" + str(requested) + "' is invalid for input of size " + numel);
        }
        return shape;
    }

    /**
     * Strides that view a tensor of {@code oldShape}/{@code oldStrides} as {@code newShape} without
     * copying, or null when impossible (ATen's computeStride).
     */
    static int[] viewStrides(int[] oldShape, int[] oldStrides, int[] newShape) {
        int[] newStrides = new int[newShape.length];
        if (numel(oldShape) == 0 || oldShape.length == 0) {
            return contiguousStrides(newShape);
        }
        int viewD = newShape.length - 1;
        int chunkBaseStride = oldStrides[oldStrides.length - 1];
        int tensorNumel = 1;
        int viewNumel = 1;
        for (int tensorD = oldShape.length - 1; tensorD >= 0; tensorD--) {
            tensorNumel *= oldShape[tensorD];
            if (tensorD == 0 || (oldShape[tensorD - 1] != 1 && oldStrides[tensorD - 1] != tensorNumel * chunkBaseStride)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1)) {
                    newStrides[viewD] = viewNumel * chunkBaseStride;
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) {
                    return null;
                }
                if (tensorD > 0) {
                    chunkBaseStride = oldStrides[tensorD - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? newStrides : null;
    }
}
