package dev.autograd;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * PyTorch 1.13's tensor printing (torch/_tensor_str.py), ported line for line: precision 4,
 * threshold 1000, edgeitems 3, linewidth 80, with Python's exact float formatting (round half to even
 * on the exact binary value).
 */
final class TensorFormat {
    private TensorFormat() {
    }

    static final int PRECISION = 4;
    static final int THRESHOLD = 1000;
    static final int EDGEITEMS = 3;
    static final int LINEWIDTH = 80;

    static String format(Tensor t) {
        String prefix = "tensor(";
        int indent = prefix.length();
        List<String> suffixes = new ArrayList<>();
        String body;
        if (t.numel() == 0) {
            if (t.dim() != 1) {
                suffixes.add("size=" + tuple(t.shapeRef()));
            }
            if (t.dtype() != DType.FLOAT32) {
                suffixes.add("dtype=" + t.dtype());
            }
            body = "[]";
        } else {
            body = tensorStr(t, indent);
        }
        if (t.gradFn() != null) {
            suffixes.add("grad_fn=<" + t.gradFn().name() + ">");
        } else if (t.requiresGrad()) {
            suffixes.add("requires_grad=True");
        }
        return addSuffixes(prefix + body, suffixes, indent);
    }

    private static String tuple(int[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        if (shape.length == 1) {
            sb.append(',');
        }
        return sb.append(')').toString();
    }

    private static String addSuffixes(String tensorStr, List<String> suffixes, int indent) {
        StringBuilder sb = new StringBuilder(tensorStr);
        int lastLineLen = tensorStr.length() - tensorStr.lastIndexOf('\n') + 1;
        for (String suffix : suffixes) {
            int len = suffix.length();
            if (lastLineLen + len + 2 > LINEWIDTH) {
                sb.append(",\n").append(" ".repeat(indent)).append(suffix);
                lastLineLen = indent + len;
            } else {
                sb.append(", ").append(suffix);
                lastLineLen += len + 2;
            }
        }
        return sb.append(')').toString();
    }

    /** The values of a tensor in row-major order, as doubles (exact for float32 and int64 up to 2^53). */
    private record Values(double[] v, int[] shape, DType dtype) {
    }

    private static String tensorStr(Tensor t, int indent) {
        Tensor c = t.contiguousCopy();
        double[] v = new double[c.numel()];
        if (c.dtype() == DType.INT64) {
            long[] d = c.longData();
            for (int i = 0; i < v.length; i++) {
                v[i] = d[i];
            }
        } else {
            float[] d = c.data();
            for (int i = 0; i < v.length; i++) {
                v[i] = d[i];
            }
        }
        long[] longs = c.dtype() == DType.INT64 ? c.longData() : null;
        int[] shape = t.shapeRef();
        boolean summarize = t.numel() > THRESHOLD;
        List<Integer> shown = new ArrayList<>();
        collect(shape, 0, 0, summarize, shown);
        Formatter f = new Formatter(t.dtype(), v, longs, shown);
        return str(v, longs, shape, 0, 0, indent, summarize, f);
    }

    /** Flat indices of the elements printed (all, or the edges when summarizing). */
    private static void collect(int[] shape, int dim, int base, boolean summarize, List<Integer> out) {
        if (dim == shape.length) {
            out.add(base);
            return;
        }
        int stride = 1;
        for (int i = dim + 1; i < shape.length; i++) {
            stride *= shape[i];
        }
        int n = shape[dim];
        for (int i = 0; i < n; i++) {
            if (summarize && n > 2 * EDGEITEMS && i >= EDGEITEMS && i < n - EDGEITEMS) {
                continue;
            }
            collect(shape, dim + 1, base + i * stride, summarize, out);
        }
    }

    private static String str(double[] v, long[] longs, int[] shape, int dim, int base, int indent,
                              boolean summarize, Formatter f) {
        int rank = shape.length - dim;
        if (rank == 0) {
            return f.format(v[base], longs == null ? 0 : longs[base]);
        }
        int stride = 1;
        for (int i = dim + 1; i < shape.length; i++) {
            stride *= shape[i];
        }
        int n = shape[dim];
        if (rank == 1) {
            int elementLength = f.maxWidth + 2;
            int perLine = Math.max(1, (int) Math.floor((LINEWIDTH - indent) / (double) elementLength));
            List<String> data = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (summarize && n > 2 * EDGEITEMS && i >= EDGEITEMS && i < n - EDGEITEMS) {
                    if (i == EDGEITEMS) {
                        data.add(" ...");
                    }
                    continue;
                }
                int idx = base + i * stride;
                data.add(f.format(v[idx], longs == null ? 0 : longs[idx]));
            }
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < data.size(); i += perLine) {
                if (i > 0) {
                    sb.append(",\n").append(" ".repeat(indent + 1));
                }
                sb.append(String.join(", ", data.subList(i, Math.min(i + perLine, data.size()))));
            }
            return sb.append(']').toString();
        }
        List<String> slices = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (summarize && n > 2 * EDGEITEMS && i >= EDGEITEMS && i < n - EDGEITEMS) {
                if (i == EDGEITEMS) {
                    slices.add("...");
                }
                continue;
            }
            slices.add(str(v, longs, shape, dim + 1, base + i * stride, indent + 1, summarize, f));
        }
        String sep = "," + "\n".repeat(rank - 1) + " ".repeat(indent + 1);
        return "[" + String.join(sep, slices) + "]";
    }

    /** torch._tensor_str._Formatter. */
    private static final class Formatter {
        final boolean floating;
        boolean intMode = true;
        boolean sciMode;
        int maxWidth = 1;
        final DType dtype;

        Formatter(DType dtype, double[] v, long[] longs, List<Integer> shown) {
            this.dtype = dtype;
            this.floating = dtype == DType.FLOAT32;
            if (!floating) {
                for (int i : shown) {
                    maxWidth = Math.max(maxWidth, plain(v[i], longs == null ? 0 : longs[i]).length());
                }
                return;
            }
            List<Double> nz = new ArrayList<>();
            for (int i : shown) {
                double x = v[i];
                if (Double.isFinite(x) && x != 0) {
                    nz.add(x);
                }
            }
            if (nz.isEmpty()) {
                return;
            }
            double min = Double.POSITIVE_INFINITY;
            double max = 0;
            for (double x : nz) {
                min = Math.min(min, Math.abs(x));
                max = Math.max(max, Math.abs(x));
            }
            for (double x : nz) {
                if (x != Math.ceil(x)) {
                    intMode = false;
                    break;
                }
            }
            if (intMode) {
                if (max / min > 1000. || max > 1.e8) {
                    sciMode = true;
                    for (double x : nz) {
                        maxWidth = Math.max(maxWidth, sci(x).length());
                    }
                } else {
                    for (double x : nz) {
                        maxWidth = Math.max(maxWidth, fixed(x, 0).length() + 1);
                    }
                }
            } else {
                if (max / min > 1000. || max > 1.e8 || min < 1.e-4) {
                    sciMode = true;
                    for (double x : nz) {
                        maxWidth = Math.max(maxWidth, sci(x).length());
                    }
                } else {
                    for (double x : nz) {
                        maxWidth = Math.max(maxWidth, fixed(x, PRECISION).length());
                    }
                }
            }
        }

        String plain(double x, long l) {
            return switch (dtype) {
                case BOOL -> x != 0 ? "True" : "False";
                case INT64 -> Long.toString(l);
                case FLOAT32 -> fixed(x, PRECISION);
            };
        }

        String format(double x, long l) {
            String ret;
            if (floating) {
                if (sciMode) {
                    ret = sci(x);
                } else if (intMode) {
                    ret = fixed(x, 0);
                    if (!Double.isInfinite(x) && !Double.isNaN(x)) {
                        ret += ".";
                    }
                } else {
                    ret = fixed(x, PRECISION);
                }
            } else {
                ret = plain(x, l);
            }
            return ret.length() >= maxWidth ? ret : " ".repeat(maxWidth - ret.length()) + ret;
        }
    }

    /** Python's {@code '{:.Nf}'.format(x)}. */
    static String fixed(double x, int decimals) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        boolean negative = x < 0 || (x == 0 && 1 / x < 0);
        String s = new BigDecimal(Math.abs(x)).setScale(decimals, RoundingMode.HALF_EVEN).toPlainString();
        return negative ? "-" + s : s;
    }

    /** Python's {@code '{:.4e}'.format(x)}. */
    static String sci(double x) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        boolean negative = x < 0 || (x == 0 && 1 / x < 0);
        String mantissa;
        int exponent;
        if (x == 0) {
            mantissa = "0." + "0".repeat(PRECISION);
            exponent = 0;
        } else {
            BigDecimal r = new BigDecimal(Math.abs(x)).round(new MathContext(PRECISION + 1, RoundingMode.HALF_EVEN));
            String digits = r.unscaledValue().toString();
            exponent = digits.length() - 1 - r.scale();
            StringBuilder d = new StringBuilder(digits);
            while (d.length() < PRECISION + 1) {
                d.append('0');
            }
            // strip any excess digits (when unscaledValue carries trailing zeros beyond the precision)
            mantissa = d.charAt(0) + "." + d.substring(1, PRECISION + 1);
        }
        String e = String.format("%02d", Math.abs(exponent));
        return (negative ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + e;
    }
}
