package dev.autograd;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The tape: grad mode, recording ops, and running backward.
 *
 * <h2>Defining an op outside this package</h2>
 * <pre>{@code
 * Tensor xc = x.contiguous();                    // float[] storage: xc.data(), from xc.offset()
 * float[] out = new float[n];
 * K.someKernel(xc.data(), xc.offset(), ..., out, 0, ...);
 * Tensor y = Tensor.wrap(out, shape);            // no copy
 * Node node = Autograd.record(y, "ReluBackward0", (grad, g) -> {   // null when no grad is needed
 *     K.reluBackward(grad.data(), 0, saved.data(), saved.offset(), g.buffer(0), 0, n);
 * }, x);
 * if (node != null) node.save(y);                // versions checked, freed after backward
 * }</pre>
 * The closure runs in no-grad mode, receives the output's gradient (contiguous, offset 0, read-only)
 * and adds each input's gradient through {@link Grads} ({@code buffer(i)} to accumulate with kernels,
 * {@code accumulate}/{@code axpy} for tensors). Broadcast inputs are reduced automatically.
 */
public final class Autograd {
    private Autograd() {
    }

    private static final class Mode {
        boolean enabled = true;
        boolean accumulatingLeaves;
        boolean anomaly;
    }

    private static final ThreadLocal<Mode> MODE = ThreadLocal.withInitial(Mode::new);
    private static final AtomicLong PASS = new AtomicLong();

    /** Whether ops record on this thread. */
    public static boolean isGradEnabled() {
        return MODE.get().enabled;
    }

    /** A scope, closed by try-with-resources, restoring the previous grad mode. */
    public static final class GradMode implements AutoCloseable {
        private final Mode mode;
        private final boolean previous;
        private boolean closed;

        GradMode(boolean enabled) {
            this.mode = MODE.get();
            this.previous = mode.enabled;
            mode.enabled = enabled;
        }

        @Override
        public void close() {
            if (!closed) {
                mode.enabled = previous;
                closed = true;
            }
        }
    }

    /** {@code with torch.no_grad():} as {@code try (var g = Autograd.noGrad()) { ... }}. Thread-local, nestable. */
    public static GradMode noGrad() {
        return new GradMode(false);
    }

    /** {@code torch.enable_grad()}: turns recording back on inside a no-grad scope. */
    public static GradMode enableGrad() {
        return new GradMode(true);
    }

    /** {@code torch.set_grad_enabled(b)} as a scope. */
    public static GradMode setGradEnabled(boolean enabled) {
        return new GradMode(enabled);
    }

    /**
     * {@code with torch.autograd.detect_anomaly():} as {@code try (var a = Autograd.detectAnomaly()) { ... }}.
     * Ops recorded inside the scope capture their forward call site (a stack trace, only in this mode);
     * backward run inside it checks every gradient an op returns and throws PyTorch's
     * {@code Function 'MulBackward0' returned nan values in its 0th output.}, with the forward call
     * site of that op as the exception's cause. Thread-local (PyTorch's flag is global) and nestable.
     */
    public static AnomalyMode detectAnomaly() {
        return new AnomalyMode(true);
    }

    /** {@code torch.autograd.set_detect_anomaly(b)} as a scope. */
    public static AnomalyMode setDetectAnomaly(boolean enabled) {
        return new AnomalyMode(enabled);
    }

    /** {@code torch.is_anomaly_enabled()} on this thread. */
    public static boolean isAnomalyEnabled() {
        return Anomaly.scopes > 0 && MODE.get().anomaly;
    }

    /** A scope, closed by try-with-resources, restoring the previous anomaly mode. */
    public static final class AnomalyMode implements AutoCloseable {
        private final Mode mode;
        private final boolean previous;
        private boolean closed;

        AnomalyMode(boolean enabled) {
            this.mode = MODE.get();
            this.previous = mode.anomaly;
            mode.anomaly = enabled;
            Anomaly.open();
        }

        @Override
        public void close() {
            if (!closed) {
                mode.anomaly = previous;
                closed = true;
                Anomaly.close();
            }
        }
    }

    static boolean accumulatingLeaves() {
        return MODE.get().accumulatingLeaves;
    }

    /** True when grad mode is on and any input requires grad: the op should record. */
    public static boolean needsGrad(Tensor... inputs) {
        if (!MODE.get().enabled) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    static boolean needsGrad(Tensor a) {
        return a.requiresGrad() && MODE.get().enabled;
    }

    static boolean needsGrad(Tensor a, Tensor b) {
        return (a.requiresGrad() || b.requiresGrad()) && MODE.get().enabled;
    }

    /**
     * Records an op: makes {@code out} a non-leaf with grad_fn {@code name} whose backward is {@code fn}.
     * Returns the node (to {@link Node#save} tensors) or null when nothing requires grad (then nothing is
     * recorded). Null inputs are allowed (optional arguments such as a missing bias).
     */
    public static Node record(Tensor out, String name, Backward fn, Tensor... inputs) {
        if (!needsGrad(inputs)) {
            return null;
        }
        Node[] next = new Node[inputs.length];
        int[][] shapes = new int[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            Tensor t = inputs[i];
            if (t != null) {
                next[i] = t.edge();
                shapes[i] = t.shapeRef();
            }
        }
        Node node = new Node(name, next, shapes, fn);
        node.outputShape = out.shapeRef();
        out.setGradFn(node);
        if (Profiler.enabled) {
            Profiler.recorded(node, inputs);
        }
        if (Anomaly.scopes > 0) {
            Anomaly.capture(node, MODE.get().anomaly);
        }
        return node;
    }

    static Node record1(Tensor out, String name, Backward fn, Tensor a) {
        Node node = new Node(name, new Node[] {a.edge()}, new int[][] {a.shapeRef()}, fn);
        node.outputShape = out.shapeRef();
        out.setGradFn(node);
        if (Profiler.enabled) {
            Profiler.recorded(node, a);
        }
        if (Anomaly.scopes > 0) {
            Anomaly.capture(node, MODE.get().anomaly);
        }
        return node;
    }

    static Node record2(Tensor out, String name, Backward fn, Tensor a, Tensor b) {
        Node node = new Node(name, new Node[] {a.edge(), b.edge()}, new int[][] {a.shapeRef(), b.shapeRef()}, fn);
        node.outputShape = out.shapeRef();
        out.setGradFn(node);
        if (Profiler.enabled) {
            Profiler.recorded(node, a, b);
        }
        if (Anomaly.scopes > 0) {
            Anomaly.capture(node, MODE.get().anomaly);
        }
        return node;
    }

    // ------------------------------------------------------------------ backward

    /** {@code tensor.backward(gradient, retain_graph)}; gradient may be null for scalars. */
    public static void backward(Tensor root, Tensor gradient, boolean retainGraph) {
        run(new Tensor[] {root}, new Tensor[] {gradient}, retainGraph, null, true);
    }

    /** {@code torch.autograd.backward(tensors, grad_tensors)}. */
    public static void backward(Tensor[] roots, Tensor[] gradients, boolean retainGraph) {
        run(roots, gradients == null ? new Tensor[roots.length] : gradients, retainGraph, null, true);
    }

    /**
     * {@code torch.autograd.grad(outputs, inputs, grad_outputs)}: the gradients of the outputs with respect
     * to the inputs, without touching any {@code .grad}. gradOutputs may be null (scalar outputs).
     */
    public static Tensor[] grad(Tensor[] outputs, Tensor[] inputs, Tensor[] gradOutputs, boolean retainGraph) {
        for (Tensor t : inputs) {
            if (!t.requiresGrad()) {
                throw new AutogradException("One of the differentiated Tensors does not require grad");
            }
        }
        Tensor[] result = new Tensor[inputs.length];
        run(outputs, gradOutputs == null ? new Tensor[outputs.length] : gradOutputs, retainGraph, inputs, false, result);
        for (Tensor r : result) {
            if (r == null) {
                throw new AutogradException("One of the differentiated Tensors appears to not have been used in the graph. "
                        + "Set allow_unused=True if this is the desired behavior.");
            }
        }
        return result;
    }

    /** {@link #grad(Tensor[], Tensor[], Tensor[], boolean)} for one scalar output, freeing the graph. */
    public static Tensor[] grad(Tensor output, Tensor... inputs) {
        return grad(new Tensor[] {output}, inputs, null, false);
    }

    private static void run(Tensor[] roots, Tensor[] gradients, boolean retainGraph, Tensor[] inputs, boolean accumulate) {
        run(roots, gradients, retainGraph, inputs, accumulate, null);
    }

    private static void run(Tensor[] roots, Tensor[] gradients, boolean retainGraph, Tensor[] inputs,
                            boolean accumulate, Tensor[] result) {
        if (gradients.length != roots.length) {
            throw new AutogradException("grad_tensors should have the same length as tensors: got "
                    + gradients.length + " and " + roots.length);
        }
        Node[] rootNodes = new Node[roots.length];
        Tensor[] seeds = new Tensor[roots.length];
        for (int i = 0; i < roots.length; i++) {
            Tensor r = roots[i];
            Tensor g = gradients[i];
            if (g == null) {
                if (r.numel() != 1) {
                    throw new AutogradException("grad can be implicitly created only for scalar outputs");
                }
                g = Tensor.onesLike(r);
            } else if (!Shapes.equal(g.shapeRef(), r.shapeRef())) {
                throw new AutogradException("Mismatch in shape: grad_output[" + i + "] has a shape of "
                        + Shapes.size(g.shapeRef()) + " and output[" + i + "] has a shape of " + Shapes.size(r.shapeRef()) + ".");
            }
            if (!r.requiresGrad()) {
                throw new AutogradException("element " + i + " of tensors does not require grad and does not have a grad_fn");
            }
            rootNodes[i] = r.edge();
            seeds[i] = g.dtype() == DType.FLOAT32 ? g : g.toFloat();
        }
        Mode mode = MODE.get();
        boolean previousEnabled = mode.enabled;
        boolean previousAccumulating = mode.accumulatingLeaves;
        long pass = PASS.incrementAndGet();
        List<Node> order = topologicalOrder(rootNodes, pass);
        Grads grads = new Grads(accumulate);
        boolean anomaly = Anomaly.scopes > 0 && mode.anomaly;
        grads.separateLeafGrads = anomaly;
        if (inputs != null) {
            for (int i = 0; i < inputs.length; i++) {
                Node n = inputs[i].edge();
                if (n.capture < 0) {
                    n.capture = i;
                }
            }
            markNeeded(order);
        }
        mode.enabled = false;
        mode.accumulatingLeaves = accumulate;
        try {
            for (int i = 0; i < rootNodes.length; i++) {
                grads.add(rootNodes[i], seeds[i], rootNodes[i].outputShape != null ? rootNodes[i].outputShape : roots[i].shapeRef());
            }
            for (int k = order.size() - 1; k >= 0; k--) {
                Node node = order.get(k);
                Tensor buf = node.buf;
                boolean owned = node.owned;
                boolean direct = node.direct;
                node.buf = null;
                node.owned = false;
                node.direct = false;
                if (inputs != null && node.capture >= 0) {
                    if (buf != null) {
                        result[node.capture] = owned ? buf : buf.contiguousCopy();
                    }
                    // an input's node: PyTorch stops here unless something below is needed too
                }
                if (inputs != null && !node.needed) {
                    continue;
                }
                if (buf == null) {
                    continue; // no gradient reached this node
                }
                if (node.variable != null) {
                    if (accumulate) {
                        long t0 = Profiler.enabled ? Profiler.backwardStart() : 0;
                        accumulateGrad(node.variable, buf, owned, direct);
                        if (t0 != 0) {
                            Profiler.backwardEnd(node, t0);
                        }
                    }
                    continue;
                }
                if (node.retained != null && accumulate) {
                    Tensor t = node.retained;
                    t.setGradInternal(t.peekGrad() == null ? buf.contiguousCopy() : t.peekGrad().add(buf));
                }
                node.checkRunnable();
                if (node.fn != null) {
                    long t0 = Profiler.enabled ? Profiler.backwardStart() : 0;
                    grads.bind(node, owned && node.capture < 0);
                    boolean[] hadNan = anomaly ? Anomaly.nanInputs(node) : null;
                    node.fn.apply(buf, grads);
                    if (t0 != 0) {
                        Profiler.backwardEnd(node, t0);
                    }
                    if (anomaly) {
                        Anomaly.check(node, hadNan);
                    }
                    if (owned && node.capture < 0) {
                        grads.recycle(node, buf);
                    }
                }
                if (!retainGraph) {
                    node.release();
                }
            }
        } finally {
            for (Node node : order) {
                node.buf = null;
                node.owned = false;
                node.direct = false;
                node.capture = -1;
                node.needed = false;
            }
            mode.enabled = previousEnabled;
            mode.accumulatingLeaves = previousAccumulating;
        }
    }

    private static void accumulateGrad(Tensor leaf, Tensor buf, boolean owned, boolean direct) {
        if (direct) {
            leaf.peekGrad().bumpVersion();
            return;
        }
        Tensor g = leaf.peekGrad();
        if (g == null) {
            leaf.setGradInternal(owned ? buf : buf.contiguousCopy());
        } else {
            leaf.setGradInternal(g.add(buf));
        }
    }

    /** Nodes reachable from the roots in DFS post-order (children first); iterate backwards to run. */
    private static List<Node> topologicalOrder(Node[] roots, long pass) {
        List<Node> order = new ArrayList<>();
        ArrayList<Node> stack = new ArrayList<>();
        ArrayList<Integer> childIndex = new ArrayList<>();
        for (Node root : roots) {
            if (root.mark == pass) {
                continue;
            }
            root.mark = pass;
            stack.add(root);
            childIndex.add(0);
            while (!stack.isEmpty()) {
                int top = stack.size() - 1;
                Node n = stack.get(top);
                int c = childIndex.get(top);
                if (c < n.next.length) {
                    childIndex.set(top, c + 1);
                    Node child = n.next[c];
                    if (child != null && child.mark != pass) {
                        child.mark = pass;
                        stack.add(child);
                        childIndex.add(0);
                    }
                } else {
                    order.add(n);
                    stack.remove(top);
                    childIndex.remove(top);
                }
            }
        }
        return order;
    }

    /** A node is needed when it leads to a captured input (children come first in post-order). */
    private static void markNeeded(List<Node> order) {
        for (Node n : order) {
            boolean needed = false;
            for (Node child : n.next) {
                if (child != null && (child.needed || child.capture >= 0)) {
                    needed = true;
                    break;
                }
            }
            n.needed = needed;
        }
    }

    // ------------------------------------------------------------------ gradcheck

    /**
     * {@code torch.autograd.gradcheck}: compares the analytical gradient of {@code f} (reduced with a
     * random weighting to a scalar) with central finite differences, perturbing each element of each
     * input that requires grad by {@code eps}. float32 needs eps around 1e-2..1e-3 and tolerances around
     * 1e-2; returns true or throws an AutogradException naming the input and element that differ.
     */
    public static boolean gradcheck(java.util.function.Function<Tensor[], Tensor> f, Tensor[] inputs,
                                    double eps, double atol, double rtol) {
        Tensor out;
        try (var g = enableGrad()) {
            out = f.apply(inputs);
        }
        Generator gen = new Generator(1234);
        Tensor weight = Tensor.rand(gen, out.shapeRef()).add(0.5f);
        Tensor weightC = weight.contiguous();
        List<Tensor> diffInputs = new ArrayList<>();
        for (Tensor t : inputs) {
            if (t.requiresGrad()) {
                diffInputs.add(t);
            }
        }
        Tensor[] analytic;
        try (var g = enableGrad()) {
            Tensor loss = f.apply(inputs).mul(weight).sum();
            if (!loss.requiresGrad()) {
                throw new AutogradException("gradcheck: the output does not require grad");
            }
            analytic = grad(new Tensor[] {loss}, diffInputs.toArray(new Tensor[0]), null, false);
        }
        for (int ti = 0; ti < diffInputs.size(); ti++) {
            Tensor x = diffInputs.get(ti);
            Tensor a = analytic[ti].contiguous();
            int n = x.numel();
            for (int e = 0; e < n; e++) {
                int index = x.storageIndex(e);
                float[] data = x.data();
                float orig = data[index];
                double plus;
                double minus;
                try (var g = noGrad()) {
                    data[index] = (float) (orig + eps);
                    plus = weightedSum(f.apply(inputs), weightC);
                    data[index] = (float) (orig - eps);
                    minus = weightedSum(f.apply(inputs), weightC);
                } finally {
                    data[index] = orig;
                }
                double actualEps = ((double) (float) (orig + eps) - (double) (float) (orig - eps)) / 2;
                double numeric = (plus - minus) / (2 * actualEps);
                double analyticValue = a.data()[a.offset() + e];
                if (!(Math.abs(numeric - analyticValue) <= atol + rtol * Math.abs(numeric))) {
                    throw new AutogradException("Jacobian mismatch for output 0 with respect to input " + ti
                            + ", element " + e + ": numerical " + numeric + " vs analytical " + analyticValue);
                }
            }
        }
        return true;
    }

    private static double weightedSum(Tensor out, Tensor weight) {
        Tensor c = out.contiguous();
        float[] d = c.data();
        float[] w = weight.data();
        double s = 0;
        for (int i = 0; i < c.numel(); i++) {
            s += (double) d[c.offset() + i] * w[weight.offset() + i];
        }
        return s;
    }
}
