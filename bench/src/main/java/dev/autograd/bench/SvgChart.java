package dev.autograd.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Horizontal bar charts as SVG, for {@code bench/compare}'s docs/performance.md: bars grouped per row
 * (one per series: autograd beside PyTorch) or stacked (forward + backward + step), with optional
 * vertical reference lines (the FMA peak). No dependencies; plain SVG that GitHub renders.
 *
 * <p>Input, one tab-separated record per line:
 * <pre>
 * title   GEMM, 2 threads
 * unit    GFLOPS
 * mode    grouped            (or stacked)
 * series  autograd  PyTorch (OpenBLAS)
 * line    FMA peak, 2 cores  232
 * row     1024x1024x1024  180.5  196.2
 * </pre>
 * Usage: {@code java -cp bench/target/benchmarks.jar dev.autograd.bench.SvgChart IN.tsv OUT.svg}
 */
public final class SvgChart {

    static final String[] COLORS = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"};

    String title = "";
    String unit = "";
    boolean stacked;
    final List<String> series = new ArrayList<>();
    final List<String> labels = new ArrayList<>();
    final List<double[]> values = new ArrayList<>();
    final List<String> lineNames = new ArrayList<>();
    final List<Double> lineValues = new ArrayList<>();

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: SvgChart IN.tsv OUT.svg");
            System.exit(2);
        }
        SvgChart chart = parse(Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8));
        Files.writeString(Path.of(args[1]), chart.render(), StandardCharsets.UTF_8);
    }

    static SvgChart parse(List<String> lines) {
        SvgChart c = new SvgChart();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            switch (f[0]) {
                case "title" -> c.title = f[1];
                case "unit" -> c.unit = f[1];
                case "mode" -> c.stacked = f[1].equals("stacked");
                case "series" -> c.series.addAll(List.of(f).subList(1, f.length));
                case "line" -> {
                    c.lineNames.add(f[1]);
                    c.lineValues.add(Double.parseDouble(f[2]));
                }
                case "row" -> {
                    c.labels.add(f[1]);
                    double[] v = new double[c.series.size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = i + 2 < f.length && !f[i + 2].isEmpty() ? Double.parseDouble(f[i + 2]) : Double.NaN;
                    }
                    c.values.add(v);
                }
                default -> throw new IllegalArgumentException("unknown record: " + f[0]);
            }
        }
        return c;
    }

    String render() {
        int bar = 14;
        int gap = 8;
        int labelWidth = 10 + 7 * labels.stream().mapToInt(String::length).max().orElse(4);
        int plotWidth = 560;
        int perRow = stacked ? bar : bar * series.size();
        int top = lineNames.isEmpty() ? 48 : 64; // room for the reference lines' labels under the legend
        int height = top + labels.size() * (perRow + gap) + 56;
        int width = labelWidth + plotWidth + 90;
        double max = 0;
        for (double[] v : values) {
            double s = 0;
            for (double x : v) {
                if (!Double.isNaN(x)) {
                    max = stacked ? max : Math.max(max, x);
                    s += x;
                }
            }
            max = stacked ? Math.max(max, s) : max;
        }
        for (double l : lineValues) {
            max = Math.max(max, l);
        }
        max = niceCeiling(max);
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n", width, height));
        b.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"15\" font-weight=\"bold\">%s</text>%n",
                10, esc(title)));
        // legend
        int lx = 10;
        for (int s = 0; s < series.size(); s++) {
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"30\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"39\">%s</text>%n", lx, COLORS[s % COLORS.length], lx + 14, esc(series.get(s))));
            lx += 24 + 7 * series.get(s).length();
        }
        // axis and grid
        int axisY = top + labels.size() * (perRow + gap);
        for (int i = 0; i <= 5; i++) {
            double v = max * i / 5;
            int x = labelWidth + (int) Math.round(plotWidth * v / max);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>%n",
                    x, top - 4, x, axisY, x, axisY + 14, num(v)));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>%n",
                labelWidth + plotWidth / 2, axisY + 30, esc(unit)));
        // bars
        for (int r = 0; r < labels.size(); r++) {
            int y = top + r * (perRow + gap);
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n",
                    labelWidth - 6, y + perRow / 2 + 4, esc(labels.get(r))));
            double[] v = values.get(r);
            double offset = 0;
            for (int s = 0; s < v.length; s++) {
                if (Double.isNaN(v[s])) {
                    continue;
                }
                int x0 = labelWidth + (int) Math.round(plotWidth * (stacked ? offset : 0) / max);
                int w = Math.max(1, (int) Math.round(plotWidth * v[s] / max));
                int by = stacked ? y : y + s * bar;
                b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                        + "<title>%s: %s %s</title></rect>%n", x0, by, w, bar - 2, COLORS[s % COLORS.length],
                        esc(series.get(s)), num(v[s]), esc(unit)));
                if (!stacked) {
                    b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">%s</text>%n",
                            x0 + w + 3, by + bar - 4, num(v[s])));
                }
                offset += v[s];
            }
            if (stacked) {
                int x = labelWidth + (int) Math.round(plotWidth * offset / max);
                b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">%s</text>%n",
                        x + 3, y + bar - 4, num(offset)));
            }
        }
        for (int i = 0; i < lineNames.size(); i++) {
            int x = labelWidth + (int) Math.round(plotWidth * lineValues.get(i) / max);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c00\" "
                    + "stroke-dasharray=\"4 3\"/><text x=\"%d\" y=\"%d\" fill=\"#c00\" text-anchor=\"end\">%s %s</text>%n",
                    x, top - 4, x, axisY, x - 3, top - 8, esc(lineNames.get(i)), num(lineValues.get(i))));
        }
        b.append("</svg>\n");
        return b.toString();
    }

    /** 1, 2 or 5 times a power of ten, at least {@code v}. */
    static double niceCeiling(double v) {
        if (!(v > 0)) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    static String num(double v) {
        return v >= 100 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v)
                : v >= 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
