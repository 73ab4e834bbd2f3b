package dev.autograd;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the time of a training step goes, per layer: PyTorch's {@code torch.profiler} with
 * {@code key_averages()}, reduced to what a user needs (forward and backward time, calls, share).
 *
 * <pre>{@code
 * try (Profiler p = Profiler.start(model.namedParameters())) {
 *     Tensor loss = model.forward(x).sum();   // each recorded op: time since the previous one
 *     loss.backward();                        // each backward closure: timed around the call
 *     p.add("optimizer.step", stepNanos);
 *     p.rows()...
 * }
 * }</pre>
 *
 * <p>Rows are keyed by layer: an op that takes a named parameter (a convolution, a batch norm, a
 * linear) is charged to the module that owns it ({@code layer1.0.conv1}), as is the gradient
 * accumulation into that parameter; any other op is charged to its op name ({@code Relu},
 * {@code Add}, {@code MaxPool2DWithIndices}), which is its grad_fn name without {@code Backward0}.
 *
 * <p>How it measures, cheaply: forward ops are not wrapped (they are plain methods all over the
 * engine); {@link Autograd#record} is called once at the end of each recorded op, so an op's forward
 * time is the wall time since the previous recorded op ended (or since {@link #mark()}). Work that
 * records nothing in between (argument checks, a {@code contiguous()} copy) is charged to the next
 * op, which is where it belongs in practice. Backward closures and gradient accumulation into leaves
 * are timed around the call. Off, it costs one static boolean read per recorded op and per backward
 * node. It profiles the thread that started it; one profiler at a time.
 */
public final class Profiler implements AutoCloseable {

    /** Read by {@link Autograd} on every record and backward node; false unless a profiler runs. */
    static boolean enabled;
    private static Profiler active;

    private final Thread owner = Thread.currentThread();
    private final Map<Tensor, String> layerOf = new IdentityHashMap<>();
    private final Map<Node, Row> rowOf = new IdentityHashMap<>();
    private final Map<String, Row> rows = new LinkedHashMap<>();
    private long lap;

    /** One line of the table: a layer (or an op name) with its forward and backward time. */
    public static final class Row {
        public final String name;
        public final String op;
        long forwardNanos;
        long backwardNanos;
        long otherNanos;
        int calls;

        Row(String name, String op) {
            this.name = name;
            this.op = op;
        }

        public double forwardMs() {
            return forwardNanos / 1e6;
        }

        public double backwardMs() {
            return backwardNanos / 1e6;
        }

        /** Time outside forward and backward, such as the optimizer step ({@link #add}). */
        public double otherMs() {
            return otherNanos / 1e6;
        }

        public double totalMs() {
            return (forwardNanos + backwardNanos + otherNanos) / 1e6;
        }

        /** Forward calls (backward calls are the same for a graph run once). */
        public int calls() {
            return calls;
        }
    }

    private Profiler(Map<String, Tensor> namedParameters) {
        for (Map.Entry<String, Tensor> e : namedParameters.entrySet()) {
            if (e.getValue() != null) {
                String name = e.getKey();
                int dot = name.lastIndexOf('.');
                layerOf.put(e.getValue(), dot < 0 ? name : name.substring(0, dot));
            }
        }
        lap = System.nanoTime();
    }

    /**
     * Starts profiling this thread. {@code namedParameters} (a model's {@code namedParameters()}, may
     * be empty) names the layers: an op taking {@code layer1.0.conv1.weight} is row {@code layer1.0.conv1}.
     */
    public static synchronized Profiler start(Map<String, Tensor> namedParameters) {
        if (active != null) {
            throw new IllegalStateException("a profiler is already running");
        }
        active = new Profiler(namedParameters);
        enabled = true;
        return active;
    }

    /** Stops profiling; the rows stay readable. */
    @Override
    public synchronized void close() {
        synchronized (Profiler.class) {
            if (active == this) {
                enabled = false;
                active = null;
            }
        }
    }

    /** Starts a new lap: time before this is charged to no forward op (call it before a forward). */
    public void mark() {
        lap = System.nanoTime();
    }

    /** Adds time measured outside forward and backward, such as the optimizer step, as its own row. */
    public void add(String name, long nanos) {
        Row row = rows.computeIfAbsent(name, n -> new Row(n, "-"));
        row.otherNanos += nanos;
        row.calls++;
    }

    /** The rows in the order their layers first ran. */
    public List<Row> rows() {
        return new ArrayList<>(rows.values());
    }

    /** The sum of every row's forward and backward time, in milliseconds. */
    public double totalMs() {
        long sum = 0;
        for (Row r : rows.values()) {
            sum += r.forwardNanos + r.backwardNanos + r.otherNanos;
        }
        return sum / 1e6;
    }

    // ------------------------------------------------------------------ hooks, called by Autograd

    /** An op just recorded {@code node}: charge the time since the previous op to its row. */
    static void recorded(Node node, Tensor... inputs) {
        Profiler p = active;
        if (p == null || Thread.currentThread() != p.owner) {
            return;
        }
        long now = System.nanoTime();
        String layer = null;
        for (Tensor t : inputs) {
            if (t != null && (layer = p.layerOf.get(t)) != null) {
                break;
            }
        }
        String op = opName(node.name);
        String key = layer != null ? layer : op;
        Row row = p.rows.computeIfAbsent(key, k -> new Row(k, op));
        row.forwardNanos += now - p.lap;
        row.calls++;
        p.rowOf.put(node, row);
        p.lap = System.nanoTime(); // the bookkeeping above is charged to nobody
    }

    /** Start of a backward closure or leaf accumulation: a timestamp, or 0 when this thread is not profiled. */
    static long backwardStart() {
        Profiler p = active;
        return p == null || Thread.currentThread() != p.owner ? 0 : System.nanoTime();
    }

    /** End of the backward work of {@code node} started at {@code start}. */
    static void backwardEnd(Node node, long start) {
        Profiler p = active;
        if (p == null || start == 0) {
            return;
        }
        long elapsed = System.nanoTime() - start;
        Row row = p.rowOf.remove(node); // a node runs once per backward; do not keep the graph alive
        if (row == null) { // a leaf's AccumulateGrad, or a node recorded before the profiler started
            String layer = node.variable != null ? p.layerOf.get(node.variable) : null;
            String key = layer != null ? layer : node.name;
            row = p.rows.computeIfAbsent(key, k -> new Row(k, opName(node.name)));
        }
        row.backwardNanos += elapsed;
    }

    /** {@code ConvolutionBackward0} -> {@code Convolution}. */
    static String opName(String gradFn) {
        int i = gradFn.lastIndexOf("Backward");
        return i > 0 ? gradFn.substring(0, i) : gradFn;
    }
}
