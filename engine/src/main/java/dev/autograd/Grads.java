package dev.autograd;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;

/**
 * Where a {@link Backward} closure puts its inputs' gradients. Input {@code i} is numbered as passed to
 * {@link Autograd#record}. Gradients of the output's (broadcast) shape are summed down to the input's
 * shape automatically. Accumulation is in place when the engine owns the buffer: the first contribution
 * is kept by reference (no copy), later ones are added with {@code axpy}.
 *
 * <ul>
 *   <li>{@link #needs(int)}: whether input i wants a gradient (skip the work otherwise).</li>
 *   <li>{@link #accumulate(int, Tensor)}: add a tensor that others may share (never mutated later).</li>
 *   <li>{@link #accumulateFresh(int, Tensor)}: add a tensor made for this call; the engine may keep and mutate it.</li>
 *   <li>{@link #axpy(int, float, Tensor)}: add {@code alpha * t}.</li>
 *   <li>{@link #buffer(int)}: a contiguous, offset-0 {@code float[]} of input i's shape holding the gradient so
 *       far (zeros at first) for kernels that accumulate ({@code ...Backward}, {@code ...Into}, sgemm with beta 1).</li>
 *   <li>{@link #fresh(int)}: an array for a gradient a kernel overwrites whole, then handed over with
 *       {@code accumulateFresh}.</li>
 * </ul>
 */
public final class Grads {
    private static final Kernels K = KernelProvider.get();

    private Node node;
    private final boolean accumulateLeaves;
    /** Anomaly mode: never accumulate straight into a leaf's .grad, so each op's contribution can be checked. */
    boolean separateLeafGrads;

    Grads(boolean accumulateLeaves) {
        this.accumulateLeaves = accumulateLeaves;
    }

    private boolean gradOwned;

    /**
     * Arrays of this backward pass's gradients that are dead (their node ran and passed them on to no
     * one), by length, for the pass's next gradients of that size: memory written a moment ago is
     * in the cache, where a new array is not. Dropped with this object at the end of the pass.
     */
    private final HashMap<Integer, ArrayDeque<float[]>> spare = new HashMap<>();

    void bind(Node node, boolean gradOwned) {
        this.node = node;
        this.gradOwned = gradOwned;
    }

    /**
     * True when the incoming {@code grad} belongs to this call alone: the closure may overwrite it and
     * pass it on with {@link #accumulateFresh} (ReLU's backward does, allocating nothing).
     */
    public boolean ownsGrad() {
        return gradOwned;
    }

    /**
     * True when input i has no gradient yet (and is not a leaf whose existing .grad is accumulated in
     * place): a closure may then write a fresh array with an overwriting kernel and hand it over with
     * {@link #accumulateFresh}, instead of accumulating into zeros.
     */
    public boolean isEmpty(int i) {
        Node target = node.next[i];
        return target != null && target.buf == null && !isDirectCandidate(target);
    }

    /** True when input i requires a gradient. */
    public boolean needs(int i) {
        return node.next[i] != null;
    }

    /** The shape of input i (do not modify). */
    public int[] inputShape(int i) {
        return node.inputShapes[i];
    }

    /**
     * An array of n floats for a gradient this call makes and hands over with {@link #accumulateFresh}:
     * its contents are undefined (every element must be written). A dead gradient of this backward
     * pass when there is one of that length, else a new array.
     */
    public float[] fresh(int n) {
        float[] a = spare(n);
        return a != null ? a : new float[n];
    }

    private float[] zeros(int n) {
        float[] a = spare(n);
        if (a == null) {
            return new float[n];
        }
        Arrays.fill(a, 0f);
        return a;
    }

    private float[] spare(int n) {
        ArrayDeque<float[]> q = spare.get(n);
        return q == null ? null : q.poll();
    }

    /**
     * After a node's closure ran: its incoming gradient {@code buf}, when the engine made it for this
     * pass ({@code owned}), is dead unless the closure passed it (or a view of it) on to an input's
     * buffer, so its array can hold a later gradient of this pass.
     */
    void recycle(Node node, Tensor buf) {
        float[] a = buf.data();
        if (a == null || a.length != buf.numel()) {
            return;
        }
        for (Node target : node.next) {
            if (target != null && target.buf != null && target.buf.data() == a) {
                return;
            }
        }
        spare.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
    }

    /** Adds {@code t} (output-shaped or input-shaped) to input i's gradient; t is never mutated. */
    public void accumulate(int i, Tensor t) {
        Node target = node.next[i];
        if (target != null) {
            add(target, reduce(t, node.inputShapes[i]), node.inputShapes[i]);
        }
    }

    /** Like {@link #accumulate}, for a tensor made for this call: the engine may keep it as its buffer. */
    public void accumulateFresh(int i, Tensor t) {
        Node target = node.next[i];
        if (target == null) {
            return;
        }
        int[] shape = node.inputShapes[i];
        Tensor r = reduce(t, shape);
        if (target.buf == null && r.isContiguous() && r.offset() == 0 && !isDirectCandidate(target)) {
            target.buf = r.shapeRef() == shape || Shapes.equal(r.shapeRef(), shape) ? r : r.view(shape);
            target.owned = true;
            return;
        }
        add(target, r, shape);
    }

    /** Adds {@code alpha * t} to input i's gradient. */
    public void axpy(int i, float alpha, Tensor t) {
        Node target = node.next[i];
        if (target == null) {
            return;
        }
        int[] shape = node.inputShapes[i];
        if (alpha == 1f) {
            add(target, reduce(t, shape), shape);
            return;
        }
        Tensor r = reduce(t, shape);
        if (r.numel() != Shapes.numel(shape)) {
            throw new IllegalStateException("gradient of shape " + Shapes.str(r.shapeRef()) + " for input of shape " + Shapes.str(shape));
        }
        Tensor c = r.contiguous();
        if (target.buf == null && !isDirectCandidate(target)) {
            float[] out = fresh(c.numel());
            K.scale(c.data(), c.offset(), alpha, out, 0, out.length);
            target.buf = Tensor.wrap(out, shape);
            target.owned = true;
        } else {
            K.axpy(alpha, c.data(), c.offset(), ownedBuffer(target, shape), 0, c.numel());
        }
    }

    /** Input i's gradient buffer (contiguous, offset 0), to accumulate into with kernels. */
    public float[] buffer(int i) {
        Node target = node.next[i];
        if (target == null) {
            throw new IllegalStateException("input " + i + " does not need a gradient");
        }
        return ownedBuffer(target, node.inputShapes[i]);
    }

    private boolean isDirectCandidate(Node target) {
        if (!accumulateLeaves || target.variable == null || separateLeafGrads) {
            return false;
        }
        Tensor g = target.variable.peekGrad();
        return g != null && g.isContiguous() && g.offset() == 0 && g.dtype() == DType.FLOAT32
                && Shapes.equal(g.shapeRef(), target.variable.shapeRef());
    }

    private float[] ownedBuffer(Node target, int[] shape) {
        if (target.buf == null) {
            if (isDirectCandidate(target)) {
                target.buf = target.variable.peekGrad();
                target.owned = true;
                target.direct = true;
            } else {
                // a leaf's first gradient may reuse the memory of the one zero_grad cleared
                float[] zeros = target.variable != null ? target.variable.newGradStorage(true) : zeros(Shapes.numel(shape));
                target.buf = Tensor.wrap(zeros, shape);
                target.owned = true;
            }
        } else if (!target.owned) {
            Tensor old = target.buf;
            float[] copy = fresh(old.numel());
            System.arraycopy(old.data(), old.offset(), copy, 0, copy.length);
            target.buf = Tensor.wrap(copy, shape);
            target.owned = true;
        }
        return target.buf.data();
    }

    /** Adds an input-shaped tensor to a node's buffer: by reference first, then axpy. */
    void add(Node target, Tensor t, int[] shape) {
        if (t.numel() != Shapes.numel(shape)) {
            throw new IllegalStateException("gradient of shape " + Shapes.str(t.shapeRef()) + " for input of shape " + Shapes.str(shape));
        }
        if (target.buf == null) {
            if (isDirectCandidate(target)) {
                target.buf = target.variable.peekGrad();
                target.owned = true;
                target.direct = true;
            } else if (t.isContiguous() && t.offset() == 0) {
                target.buf = Shapes.equal(t.shapeRef(), shape) ? t : t.view(shape);
                target.owned = false;
                return;
            } else {
                target.buf = t.contiguousCopy().view(shape);
                target.owned = true;
                return;
            }
        }
        float[] buf = ownedBuffer(target, shape);
        if (t.isContiguous()) {
            K.axpy(1f, t.data(), t.offset(), buf, 0, t.numel());
        } else {
            Tensor c = t.contiguousCopy();
            K.axpy(1f, c.data(), 0, buf, 0, c.numel());
        }
    }

    /** Sums an output-shaped gradient down to an input's (broadcast) shape. */
    static Tensor reduce(Tensor t, int[] shape) {
        if (Shapes.equal(t.shapeRef(), shape)) {
            return t;
        }
        return t.sumToShape(shape);
    }
}
