package dev.autograd.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Timings of repeated training steps (milliseconds per phase, medians) and the progress bar the
 * step scenarios draw on stderr when it is a terminal.
 */
final class StepTimes {

    final List<Double> forward = new ArrayList<>();
    final List<Double> backward = new ArrayList<>();
    final List<Double> step = new ArrayList<>();
    final List<Double> total = new ArrayList<>();

    void add(long t0, long t1, long t2, long t3) {
        forward.add((t1 - t0) / 1e6);
        backward.add((t2 - t1) / 1e6);
        step.add((t3 - t2) / 1e6);
        total.add((t3 - t0) / 1e6);
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        int n = v.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** A JSON number with 3 decimals (milliseconds to the microsecond). */
    static String ms(double v) {
        return String.format(java.util.Locale.ROOT, "%.3f", v);
    }

    /** A float32 value as Python prints {@code loss.item()} (the double's shortest repr), valid JSON. */
    static String json(float v) {
        if (Float.isNaN(v)) {
            return "NaN";
        }
        if (Float.isInfinite(v)) {
            return v > 0 ? "Infinity" : "-Infinity";
        }
        return Double.toString(v).replace("E", "e");
    }

    /**
     * True when stderr is a terminal. The launcher filters the JVM's stderr through a pipe, so it
     * says what the terminal was in {@code AUTOGRAD_STDERR_TTY}; run directly, the JVM's console
     * tells.
     */
    static boolean stderrIsTerminal() {
        String env = System.getenv("AUTOGRAD_STDERR_TTY");
        if (env != null) {
            return env.equals("1");
        }
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** A one-line progress bar on stderr, redrawn in place; silent when disabled. */
    static final class Progress implements AutoCloseable {
        private final PrintStream err;
        private final boolean enabled;
        private final int total;
        private final String label;

        Progress(boolean enabled, int total, String label) {
            this.err = System.err;
            this.enabled = enabled;
            this.total = total;
            this.label = label;
        }

        void update(int done, String detail) {
            if (!enabled) {
                return;
            }
            int width = 30;
            int filled = total == 0 ? width : (int) ((long) done * width / total);
            err.print("\r" + label + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] "
                    + done + "/" + total + (detail.isEmpty() ? "" : "  " + detail) + "\u001b[K");
            err.flush();
        }

        @Override
        public void close() {
            if (enabled) {
                err.print("\r\u001b[K");
                err.flush();
            }
        }
    }
}
