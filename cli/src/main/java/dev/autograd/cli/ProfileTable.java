package dev.autograd.cli;

import dev.autograd.Profiler;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code --profile} table of a step scenario: one row per layer (or per op name for ops without
 * parameters), in the order the layers run, with forward and backward milliseconds per step, calls
 * per step and the share of the step, as {@code torch.profiler}'s {@code key_averages().table()}.
 * Two rows make the shares add up to 100%: time in forward between recorded ops that no op claims,
 * and backward time outside the closures (the autograd engine itself: ordering, buffers).
 */
final class ProfileTable {

    private ProfileTable() {
    }

    /** A row as printed: per-step milliseconds. */
    record Line(String name, String op, double forwardMs, double backwardMs, double otherMs, double calls, double share) {
        double totalMs() {
            return forwardMs + backwardMs + otherMs;
        }
    }

    static List<Line> lines(Profiler profiler, StepTimes t) {
        int steps = Math.max(t.total.size(), 1);
        double forward = sum(t.forward);
        double backward = sum(t.backward);
        double total = sum(t.total);
        double rowsForward = 0;
        double rowsBackward = 0;
        List<Line> lines = new ArrayList<>();
        for (Profiler.Row r : profiler.rows()) {
            rowsForward += r.forwardMs();
            rowsBackward += r.backwardMs();
            lines.add(new Line(r.name, r.op, r.forwardMs() / steps, r.backwardMs() / steps, r.otherMs() / steps,
                    (double) r.calls() / steps, r.totalMs() / total));
        }
        double restForward = Math.max(forward - rowsForward, 0);
        double restBackward = Math.max(backward - rowsBackward, 0);
        lines.add(new Line("(forward, between ops)", "-", restForward / steps, 0, 0, 0, restForward / total));
        lines.add(new Line("(backward engine)", "-", 0, restBackward / steps, 0, 0, restBackward / total));
        return lines;
    }

    static void print(PrintWriter out, Profiler profiler, StepTimes t) {
        List<Line> lines = lines(profiler, t);
        int width = "Layer".length();
        for (Line l : lines) {
            width = Math.max(width, l.name().length());
        }
        int steps = Math.max(t.total.size(), 1);
        out.printf("%nProfile, per step (mean of %d step%s):%n", steps, steps == 1 ? "" : "s");
        String header = String.format(Locale.ROOT, "%-" + width + "s  %-22s %11s %12s %10s %7s %10s",
                "Layer", "Op", "Forward ms", "Backward ms", "Total ms", "Calls", "% of step");
        out.println(header);
        out.println("-".repeat(header.length()));
        double sum = 0;
        double sumShare = 0;
        for (Line l : lines) {
            sum += l.totalMs();
            sumShare += l.share();
            out.printf(Locale.ROOT, "%-" + width + "s  %-22s %11s %12s %10.3f %7s %9.1f%%%n", l.name(), l.op(),
                    l.forwardMs() > 0 || l.otherMs() == 0 ? String.format(Locale.ROOT, "%.3f", l.forwardMs()) : "-",
                    l.backwardMs() > 0 || l.otherMs() == 0 ? String.format(Locale.ROOT, "%.3f", l.backwardMs()) : "-",
                    l.totalMs(), l.calls() == 0 ? "-" : calls(l.calls()), 100 * l.share());
        }
        out.println("-".repeat(header.length()));
        out.printf(Locale.ROOT, "%-" + width + "s  %-22s %11s %12s %10.3f %7s %9.1f%%%n", "step", "", "", "", sum, "",
                100 * sumShare);
    }

    static String json(Profiler profiler, StepTimes t) {
        StringBuilder b = new StringBuilder("[");
        for (Line l : lines(profiler, t)) {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append("{\"layer\":\"").append(l.name()).append("\",\"op\":\"").append(l.op())
                    .append("\",\"forward_ms\":").append(StepTimes.ms(l.forwardMs()))
                    .append(",\"backward_ms\":").append(StepTimes.ms(l.backwardMs()))
                    .append(",\"other_ms\":").append(StepTimes.ms(l.otherMs()))
                    .append(",\"calls\":").append(calls(l.calls()))
                    .append(",\"share\":").append(String.format(Locale.ROOT, "%.4f", l.share())).append('}');
        }
        return b.append(']').toString();
    }

    private static String calls(double perStep) {
        return perStep == Math.rint(perStep) ? Long.toString((long) perStep) : String.format(Locale.ROOT, "%.2f", perStep);
    }

    private static double sum(List<Double> values) {
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s;
    }
}
