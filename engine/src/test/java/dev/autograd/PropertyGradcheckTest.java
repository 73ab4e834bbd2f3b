package dev.autograd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Property-based gradient tests with a seeded generator: random compositions of 2 to 5 ops over random
 * broadcastable shapes (scalars, size-1 dims, missing leading dims) and non-contiguous inputs (transposed,
 * step-2 slices, offset views) are gradchecked against central finite differences. The ops are smooth
 * and keep magnitudes moderate, as float32 finite differences need; kinked ops (relu, abs, amax) are
 * gradchecked at fixed points away from their kinks in GradcheckTest.
 *
 * <p>{@value #CASES} cases by default; {@code -Dautograd.fuzz.cases=N} runs more and
 * {@code -Dautograd.fuzz.seed=S} starts elsewhere. A failure prints the case's seed, the expression and
 * the input shapes and strides; rerun it alone with {@code -Dautograd.fuzz.seed=<seed> -Dautograd.fuzz.cases=1}.
 */
class PropertyGradcheckTest {

    static final int CASES = 120;

    @Test
    void randomCompositionsOverRandomBroadcastShapesAndViewsPassGradcheck() {
        long base = Long.getLong("autograd.fuzz.seed", 8_2026L);
        int cases = Integer.getInteger("autograd.fuzz.cases", CASES);
        for (int i = 0; i < cases; i++) {
            long seed = base + i;
            Case c = new Case(seed);
            try {
                Autograd.gradcheck(c.f, c.inputs, 1e-2, 3e-2, 3e-2);
            } catch (AutogradException | AssertionError e) {
                throw new AssertionError("gradcheck failed: seed=" + seed + " expression=" + c.expression
                        + " inputs=" + c.describeInputs() + "; reproduce with -Dautograd.fuzz.seed=" + seed
                        + " -Dautograd.fuzz.cases=1: " + e.getMessage(), e);
            }
        }
    }

    /** A random expression f(a, b) and its two inputs. */
    static final class Case {
        final SplittableRandom r;
        final Tensor[] inputs;
        final StringBuilder expression = new StringBuilder();
        final Function<Tensor[], Tensor> f;

        Case(long seed) {
            r = new SplittableRandom(seed);
            int rank = r.nextInt(4); // 0-D to 3-D results
            int[] out = new int[rank];
            for (int d = 0; d < rank; d++) {
                out[d] = 1 + r.nextInt(4);
            }
            inputs = new Tensor[] {input(broadcastable(out)), input(broadcastable(out))};
            List<Function<Tensor, Tensor>> chain = new ArrayList<>();
            List<String> names = new ArrayList<>();
            String binary = pick(new String[] {"add", "sub", "mul", "div"});
            int steps = 1 + r.nextInt(4);
            for (int s = 0; s < steps; s++) {
                addUnary(chain, names);
            }
            expression.append(binary).append("(a, b)");
            for (String n : names) {
                expression.append('.').append(n);
            }
            f = t -> {
                Tensor a = t[0];
                Tensor b = t[1];
                Tensor v = switch (binary) {
                    case "add" -> a.add(b);
                    case "sub" -> a.sub(b);
                    case "mul" -> a.mul(b);
                    default -> a.div(b.mul(b).add(0.5f)); // a denominator bounded away from 0
                };
                for (Function<Tensor, Tensor> op : chain) {
                    v = op.apply(v);
                }
                return v;
            };
        }

        <T> T pick(T[] options) {
            return options[r.nextInt(options.length)];
        }

        /** A shape that broadcasts to {@code out}: some leading dims dropped, some dims set to 1. */
        int[] broadcastable(int[] out) {
            int drop = out.length == 0 ? 0 : r.nextInt(out.length + 1);
            int[] s = Arrays.copyOfRange(out, drop, out.length);
            for (int d = 0; d < s.length; d++) {
                if (r.nextInt(3) == 0) {
                    s[d] = 1;
                }
            }
            return s;
        }

        /** A leaf of {@code shape}, contiguous or a non-contiguous view (transposed, sliced, offset), values in ±[0.3, 1.5]. */
        Tensor input(int[] shape) {
            int kind = shape.length == 0 ? 0 : r.nextInt(4);
            Tensor t;
            switch (kind) {
                case 1 -> { // transposed storage: allocate the reversed shape, permute back
                    int[] rev = new int[shape.length];
                    int[] perm = new int[shape.length];
                    for (int d = 0; d < shape.length; d++) {
                        rev[d] = shape[shape.length - 1 - d];
                        perm[d] = shape.length - 1 - d;
                    }
                    t = values(rev).permute(perm);
                }
                case 2 -> { // every other element along the last dim
                    int[] wide = shape.clone();
                    wide[wide.length - 1] = 2 * shape[shape.length - 1];
                    t = values(wide).slice(-1, 0, wide[wide.length - 1], 2);
                }
                case 3 -> { // an offset view: row 1 of a larger tensor
                    int[] big = new int[shape.length + 1];
                    big[0] = 2;
                    System.arraycopy(shape, 0, big, 1, shape.length);
                    t = values(big).select(0, 1);
                }
                default -> t = values(shape);
            }
            return t.detach().requiresGrad_();
        }

        Tensor values(int[] shape) {
            int n = Shapes.numel(shape);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                float m = (float) (0.3 + 1.2 * r.nextDouble());
                v[i] = r.nextBoolean() ? m : -m;
            }
            return Tensor.wrap(v, shape);
        }

        void addUnary(List<Function<Tensor, Tensor>> chain, List<String> names) {
            switch (r.nextInt(17)) {
                case 0 -> add(chain, names, "tanh()", Tensor::tanh);
                case 1 -> add(chain, names, "sigmoid()", Tensor::sigmoid);
                case 2 -> add(chain, names, "tanh().exp()", t -> t.tanh().exp());
                case 3 -> add(chain, names, "pow(2).add(1).log()", t -> t.pow(2f).add(1f).log());
                case 4 -> add(chain, names, "pow(2).add(1).sqrt()", t -> t.pow(2f).add(1f).sqrt());
                case 5 -> add(chain, names, "tanh().pow(3)", t -> t.tanh().pow(3f));
                case 6 -> add(chain, names, "neg()", Tensor::neg);
                case 7 -> add(chain, names, "mul(t.tanh())", t -> t.mul(t.tanh())); // a tensor used twice
                case 8 -> add(chain, names, "sum(-1, keepdim)", t -> t.dim() == 0 ? t.sum() : t.sum(-1, true));
                case 9 -> add(chain, names, "mean(0)", t -> t.dim() == 0 ? t.mean() : t.mean(0));
                case 10 -> add(chain, names, "transpose(0, -1)", t -> t.dim() < 2 ? t : t.transpose(0, -1));
                case 11 -> add(chain, names, "unsqueeze(0).expand(2, ...)", t -> {
                    int[] s = new int[t.dim() + 1];
                    Arrays.fill(s, -1);
                    s[0] = 2;
                    return t.unsqueeze(0).expand(s);
                });
                case 12 -> add(chain, names, "reshape(-1)", t -> t.reshape(-1));
                case 13 -> add(chain, names, "slice(-1, 0, end, 2)", t -> t.dim() == 0 ? t : t.slice(-1, 0, t.size(-1), 2));
                case 14 -> add(chain, names, "tanh().matmul(tanh()^T)", t -> {
                    Tensor h = t.tanh();
                    return t.dim() < 2 ? h.mul(h).sum() : h.matmul(h.transpose(-1, -2));
                });
                case 15 -> add(chain, names, "norm(-1)", t -> t.dim() == 0 ? t.abs().add(1f) : t.pow(2f).add(0.1f).norm(-1, false));
                default -> add(chain, names, "div(2).rsub(1)", t -> t.div(2f).rsub(1f));
            }
        }

        static void add(List<Function<Tensor, Tensor>> chain, List<String> names, String name, Function<Tensor, Tensor> op) {
            chain.add(op);
            names.add(name);
        }

        String describeInputs() {
            StringBuilder sb = new StringBuilder();
            for (Tensor t : inputs) {
                sb.append(sb.isEmpty() ? "" : ", ").append("shape ").append(Arrays.toString(t.shape()))
                        .append(" strides ").append(Arrays.toString(t.strides())).append(" offset ").append(t.offset());
            }
            return sb.toString();
        }
    }
}
