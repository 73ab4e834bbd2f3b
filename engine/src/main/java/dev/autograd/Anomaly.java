package dev.autograd;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import java.util.Arrays;

/**
 * Anomaly mode's bookkeeping ({@link Autograd#detectAnomaly()}): the forward call site of each op,
 * captured at record time, and the NaN check of every gradient a backward closure returns.
 *
 * <p>Cost when off: {@link #scopes} counts the anomaly scopes open on any thread; while it is 0 the
 * tape reads one static field per recorded op and captures nothing.
 */
final class Anomaly {
    private static final Kernels K = KernelProvider.get();

    /** Open anomaly scopes on all threads; only a hint (the thread's own flag decides). */
    static volatile int scopes;

    private Anomaly() {
    }

    static synchronized void open() {
        scopes++;
    }

    static synchronized void close() {
        scopes--;
    }

    /** The forward call site of an op, as the cause of the anomaly error. */
    static final class ForwardTrace extends Throwable {
        ForwardTrace(String message) {
            super(message, null, false, true);
        }
    }

    static void capture(Node node, boolean enabled) {
        if (!enabled) {
            return;
        }
        ForwardTrace trace = new ForwardTrace("Error detected in " + node.name
                + ". Traceback of forward call that caused the error:");
        StackTraceElement[] frames = trace.getStackTrace();
        int skip = 0;
        while (skip < frames.length && (frames[skip].getClassName().equals(Anomaly.class.getName())
                || frames[skip].getClassName().equals(Autograd.class.getName()))) {
            skip++;
        }
        trace.setStackTrace(Arrays.copyOfRange(frames, skip, frames.length));
        node.forwardTrace = trace;
    }

    /** Which of the node's inputs already hold a NaN gradient (from other ops) before it runs. */
    static boolean[] nanInputs(Node node) {
        boolean[] nan = new boolean[node.next.length];
        for (int i = 0; i < nan.length; i++) {
            nan[i] = hasNan(node.next[i]);
        }
        return nan;
    }

    /** PyTorch's check after a backward function ran: the first input whose gradient turned NaN. */
    static void check(Node node, boolean[] hadNan) {
        for (int i = 0; i < hadNan.length; i++) {
            if (!hadNan[i] && hasNan(node.next[i])) {
                Throwable cause = node.forwardTrace != null ? node.forwardTrace
                        : new ForwardTrace("Error detected in " + node.name + ". No forward pass information available. "
                                + "Enable detect anomaly during forward pass for more information.");
                throw new AutogradException("Function '" + node.name + "' returned nan values in its " + i + "th output.",
                        cause);
            }
        }
    }

    private static boolean hasNan(Node target) {
        if (target == null || target.buf == null) {
            return false;
        }
        Tensor b = target.buf;
        if (b.numel() == 0) {
            return false;
        }
        Tensor c = b.isContiguous() ? b : b.contiguousCopy();
        return Float.isNaN(K.max(c.data(), c.offset(), c.numel())); // max is NaN iff an element is
    }
}
