package dev.autograd;

/**
 * A recorded op of the tape: PyTorch's {@code grad_fn}. It holds the edges to the nodes of its inputs
 * (null where an input needs no gradient), the inputs' shapes, the backward closure and the tensors it
 * saved (with their versions, to detect in-place changes). Leaves that require grad have an
 * {@code AccumulateGrad} node that writes {@code .grad}.
 */
public final class Node {
    final String name;
    final Node[] next;
    final int[][] inputShapes;
    Backward fn;
    private Tensor[] saved;
    private int[] savedVersions;
    private String[] savedProducers;
    boolean released;
    /** Run once when the saved tensors are freed: returns scratch the op kept for backward. */
    private Runnable onRelease;
    /** AccumulateGrad: the leaf. */
    final Tensor variable;
    /** A non-leaf output that asked for retainGrad(). */
    Tensor retained;
    /** Where the forward op was called, captured only in anomaly mode ({@link Autograd#detectAnomaly()}). */
    Throwable forwardTrace;
    /** The output this node produced (for error messages); weakly meaningful only. */
    int[] outputShape;

    // state of one backward pass
    Tensor buf;
    boolean owned;
    boolean direct;
    long mark;
    boolean needed;
    int capture = -1;

    Node(String name, Node[] next, int[][] inputShapes, Backward fn) {
        this.name = name;
        this.next = next;
        this.inputShapes = inputShapes;
        this.fn = fn;
        this.variable = null;
    }

    /** An AccumulateGrad node for a leaf. */
    Node(Tensor leaf) {
        this.name = "AccumulateGrad";
        this.next = new Node[0];
        this.inputShapes = new int[0][];
        this.fn = null;
        this.variable = leaf;
    }

    /** PyTorch's class name of this grad_fn, e.g. {@code MulBackward0}. */
    public String name() {
        return name;
    }

    /** The nodes of this op's inputs (PyTorch's {@code next_functions}); null entries need no gradient. */
    public Node[] nextFunctions() {
        return next.clone();
    }

    /**
     * Declares tensors the closure reads in backward: their versions are checked before it runs, and
     * they are released (with the closure) after backward unless the graph is retained. A closure must
     * capture no other tensors.
     */
    public Node save(Tensor... tensors) {
        int n = saved == null ? 0 : saved.length;
        Tensor[] s = new Tensor[n + tensors.length];
        int[] v = new int[n + tensors.length];
        String[] p = new String[n + tensors.length];
        if (n > 0) {
            System.arraycopy(saved, 0, s, 0, n);
            System.arraycopy(savedVersions, 0, v, 0, n);
            System.arraycopy(savedProducers, 0, p, 0, n);
        }
        for (int i = 0; i < tensors.length; i++) {
            s[n + i] = tensors[i];
            v[n + i] = tensors[i].version();
            Node producer = tensors[i].gradFn();
            p[n + i] = producer == null ? null : producer.name;
        }
        saved = s;
        savedVersions = v;
        savedProducers = p;
        return this;
    }

    /**
     * Runs {@code action} once when this node frees its saved tensors after backward (never while the
     * graph is retained, and not at all if the graph is dropped unused): an op hands back arrays it
     * kept for its backward, e.g. to a pool for the next step. Only with {@link #save}, which is what
     * gets freed.
     */
    public Node onRelease(Runnable action) {
        onRelease = action;
        return this;
    }

    void checkRunnable() {
        if (released) {
            throw new AutogradException("Trying to backward through the graph a second time (or directly access saved "
                    + "tensors after they have already been freed). Saved intermediate values of the graph are freed "
                    + "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
                    + "through the graph a second time or if you need to access saved tensors after calling backward.");
        }
        if (saved != null) {
            for (int i = 0; i < saved.length; i++) {
                Tensor t = saved[i];
                if (t.version() != savedVersions[i]) {
                    String which = savedProducers[i] == null ? "" : ", which is output 0 of " + savedProducers[i] + ",";
                    throw new AutogradException("one of the variables needed for gradient computation has been "
                            + "modified by an inplace operation: [" + t.typeName() + " " + Shapes.str(t.shapeRef())
                            + "]" + which + " is at version " + t.version() + "; expected version " + savedVersions[i]
                            + " instead. Hint: enable anomaly detection to find the operation that failed to compute "
                            + "its gradient, with torch.autograd.set_detect_anomaly(True).");
                }
            }
        }
    }

    /** Frees the saved tensors; a node that saved some cannot run again. */
    void release() {
        if (saved != null) {
            saved = null;
            savedVersions = null;
            savedProducers = null;
            fn = null;
            released = true;
            Runnable action = onRelease;
            onRelease = null;
            if (action != null) {
                action.run();
            }
        }
    }

    /** As Python prints a grad_fn: {@code <AddBackward0 object at 0x...>} (the address is the identity hash). */
    @Override
    public String toString() {
        return "<" + name + " object at 0x" + Integer.toHexString(System.identityHashCode(this)) + ">";
    }
}
