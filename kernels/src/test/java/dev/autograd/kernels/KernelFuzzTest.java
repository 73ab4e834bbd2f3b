package dev.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.autograd.kernels.Kernels.Binary;
import dev.autograd.kernels.Kernels.Compare;
import dev.autograd.kernels.Kernels.Unary;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Property-based check of every kernel: random sizes, offsets, strides, broadcast patterns, GEMM shapes,
 * transposes and leading dimensions, convolution geometries, with NaN and infinities sprinkled in, through
 * the SIMD kernels with 1 thread against the scalar reference (size-scaled tolerance), and with 2 threads
 * against 1 thread (bit-identical, as {@link Parallel} promises).
 *
 * <p>{@value #CASES} cases by default; {@code -Dautograd.fuzz.cases=N} runs more and
 * {@code -Dautograd.fuzz.seed=S} starts elsewhere. A failure names the case's seed: rerun it alone with
 * {@code -Dautograd.fuzz.seed=<that seed> -Dautograd.fuzz.cases=1}.
 */
class KernelFuzzTest {

    static final int CASES = 40;
    static final Kernels REF = new ScalarKernels();
    static final Kernels SIMD = new PanamaKernels(0);

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @Test
    void randomShapesThroughEveryKernelEqualTheScalarReference() {
        long base = Long.getLong("autograd.fuzz.seed", 20261121L);
        int cases = Integer.getInteger("autograd.fuzz.cases", CASES);
        for (int i = 0; i < cases; i++) {
            long seed = base + i;
            Case c = new Case(seed);
            try {
                c.run();
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("kernel fuzz case failed: seed=" + seed + " (" + c.where
                        + "); reproduce with -Dautograd.fuzz.seed=" + seed + " -Dautograd.fuzz.cases=1: " + e.getMessage(), e);
            }
        }
    }

    /** One random case: every kernel family once, sizes drawn from the seed. */
    static final class Case {
        final SplittableRandom r;
        String where = "";

        Case(long seed) {
            r = new SplittableRandom(seed);
        }

        /** Mostly small sizes, sometimes past vector widths and parallel grains. */
        int size() {
            return switch (r.nextInt(4)) {
                case 0 -> r.nextInt(8);
                case 1 -> r.nextInt(70);
                case 2 -> r.nextInt(1200);
                default -> r.nextInt(70_000);
            };
        }

        float[] data(int n, float lo, float hi, boolean specials) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (lo + (hi - lo) * r.nextDouble());
            }
            if (specials && n > 0 && r.nextInt(3) == 0) {
                float[] s = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f};
                for (int k = 0; k < 1 + n / 500; k++) {
                    x[r.nextInt(n)] = s[r.nextInt(s.length)];
                }
            }
            return x;
        }

        /** Runs {@code body} with the SIMD kernels at 1 and 2 threads; returns the 1-thread result, checks the other is equal bit for bit. */
        float[] simd(float[] init, java.util.function.Consumer<float[]> body) {
            Parallel.setThreads(1);
            float[] one = init.clone();
            body.accept(one);
            Parallel.setThreads(2);
            float[] two = init.clone();
            body.accept(two);
            assertArrayEquals(one, two, where + ": 2 threads differ from 1 thread");
            return one;
        }

        /**
         * Like {@link #simd} for the Vector API's transcendental operators (EXP, LOG, TANH, and SIGMOID
         * through EXP): SIGMOID lanes were seen 1 and 2 ulps apart between two calls on the same input
         * (inside one task's range, and not reproducible with that case alone), so the bits depend on JIT
         * state, not on the partitioning; see docs/reliability.md. Allow 4 ulps there.
         */
        float[] simdTranscendental(float[] init, java.util.function.Consumer<float[]> body) {
            Parallel.setThreads(1);
            float[] one = init.clone();
            body.accept(one);
            Parallel.setThreads(2);
            float[] two = init.clone();
            body.accept(two);
            for (int i = 0; i < one.length; i++) {
                boolean same = Float.compare(one[i], two[i]) == 0 || Math.abs(one[i] - two[i]) <= 4 * Math.ulp(one[i]);
                if (!same) {
                    throw new AssertionError(where + ": 2 threads differ from 1 thread by more than 4 ulps at " + i
                            + ": " + one[i] + " vs " + two[i]);
                }
            }
            return one;
        }

        float[] ref(float[] init, java.util.function.Consumer<float[]> body) {
            float[] out = init.clone();
            body.accept(out);
            return out;
        }

        void close(float[] expected, float[] actual, double tol) {
            PanamaKernelsTest.assertClose(expected, actual, tol, where);
        }

        void run() {
            elementwise();
            reductions();
            strided();
            gemm();
            convolution();
            winograd();
            batchNorm();
            optimizers();
        }

        void elementwise() {
            int n = size();
            int xo = r.nextInt(4);
            int oo = r.nextInt(4);
            float[] x = data(n + xo, -5f, 5f, true);
            float[] pos = data(n + xo, 0.01f, 5f, false);
            float[] out0 = data(n + oo, -1f, 1f, false);
            for (Unary op : Unary.values()) {
                where = "unary " + op + " n=" + n + " xOffset=" + xo + " outOffset=" + oo;
                float[] in = op == Unary.LOG || op == Unary.SQRT ? pos : x;
                boolean transcendental = op == Unary.EXP || op == Unary.LOG || op == Unary.TANH || op == Unary.SIGMOID;
                java.util.function.Consumer<float[]> body = o -> SIMD.unary(op, in, xo, o, oo, n);
                close(ref(out0, o -> REF.unary(op, in, xo, o, oo, n)),
                        transcendental ? simdTranscendental(out0, body) : simd(out0, body), 4e-7);
                float[] y = new float[n + xo];
                REF.unary(op, in, xo, y, xo, n);
                float[] g = data(n + xo, -1f, 1f, false);
                where = "unaryBackward " + op + " n=" + n;
                close(ref(out0, o -> REF.unaryBackward(op, g, xo, in, xo, y, xo, o, oo, n)),
                        simd(out0, o -> SIMD.unaryBackward(op, g, xo, in, xo, y, xo, o, oo, n)), 1e-6);
            }
            float exponent = new float[] {2f, 3f, 0.5f, -1f, 1.5f, 0f}[r.nextInt(6)];
            where = "pow " + exponent + " n=" + n;
            close(ref(out0, o -> REF.pow(pos, xo, exponent, o, oo, n)), simd(out0, o -> SIMD.pow(pos, xo, exponent, o, oo, n)), 4e-7);
            float[] g = data(n + xo, -1f, 1f, false);
            close(ref(out0, o -> REF.powBackward(g, xo, pos, xo, exponent, o, oo, n)),
                    simd(out0, o -> SIMD.powBackward(g, xo, pos, xo, exponent, o, oo, n)), 1e-6);
            float[] y = data(n + xo, -5f, 5f, true);
            float s = (float) (r.nextDouble() * 4 - 2);
            for (Binary op : Binary.values()) {
                where = "binary " + op + " n=" + n;
                assertArrayEquals(ref(out0, o -> REF.binary(op, x, xo, y, xo, o, oo, n)),
                        simd(out0, o -> SIMD.binary(op, x, xo, y, xo, o, oo, n)), where);
                assertArrayEquals(ref(out0, o -> REF.binaryScalar(op, x, xo, s, o, oo, n)),
                        simd(out0, o -> SIMD.binaryScalar(op, x, xo, s, o, oo, n)), where + " scalar");
                assertArrayEquals(ref(out0, o -> REF.scalarBinary(op, s, y, xo, o, oo, n)),
                        simd(out0, o -> SIMD.scalarBinary(op, s, y, xo, o, oo, n)), where + " scalar first");
            }
            for (Compare op : Compare.values()) {
                where = "compare " + op + " n=" + n;
                assertArrayEquals(ref(out0, o -> REF.compare(op, x, xo, y, xo, o, oo, n)),
                        simd(out0, o -> SIMD.compare(op, x, xo, y, xo, o, oo, n)), where);
            }
            where = "axpy/scale/fill n=" + n;
            assertArrayEquals(ref(out0, o -> REF.axpy(s, x, xo, o, oo, n)), simd(out0, o -> SIMD.axpy(s, x, xo, o, oo, n)), where);
            assertArrayEquals(ref(out0, o -> REF.scale(x, xo, s, o, oo, n)), simd(out0, o -> SIMD.scale(x, xo, s, o, oo, n)), where);
            assertArrayEquals(ref(out0, o -> REF.fill(s, o, oo, n)), simd(out0, o -> SIMD.fill(s, o, oo, n)), where);
        }

        void reductions() {
            int n = size();
            int xo = r.nextInt(4);
            float[] x = data(n + xo, -2f, 2f, true);
            where = "sum/sumOfSquares/max n=" + n;
            double tol = 1e-6 * Math.sqrt(n + 1) + 1e-6;
            float[] refs = {REF.sum(x, xo, n), REF.sumOfSquares(x, xo, n), n > 0 ? REF.max(x, xo, n) : 0f};
            float[] simds = simd(new float[3], o -> {
                o[0] = SIMD.sum(x, xo, n);
                o[1] = SIMD.sumOfSquares(x, xo, n);
                o[2] = n > 0 ? SIMD.max(x, xo, n) : 0f;
            });
            close(Arrays.copyOf(refs, 2), Arrays.copyOf(simds, 2), tol);
            assertArrayEquals(new float[] {refs[2]}, new float[] {simds[2]}, where + " max");
            int outer = 1 + r.nextInt(6);
            int reduce = r.nextInt(40);
            int inner = 1 + r.nextInt(r.nextBoolean() ? 3 : 300);
            float[] t = data(outer * reduce * inner + xo, -2f, 2f, true);
            where = "sumDim/maxDim outer=" + outer + " reduce=" + reduce + " inner=" + inner;
            float[] o0 = new float[outer * inner];
            close(ref(o0, o -> REF.sumDim(t, xo, outer, reduce, inner, o, 0)),
                    simd(o0, o -> SIMD.sumDim(t, xo, outer, reduce, inner, o, 0)), 1e-6 * Math.sqrt(reduce + 1) + 1e-6);
            if (reduce > 0) {
                long[] ei = new long[outer * inner];
                long[] ai = new long[outer * inner];
                float[] e = ref(o0, o -> REF.maxDim(t, xo, outer, reduce, inner, o, 0, ei));
                float[] a = simd(o0, o -> SIMD.maxDim(t, xo, outer, reduce, inner, o, 0, ai));
                assertArrayEquals(e, a, where + " max");
                assertArrayEquals(ei, ai, where + " argmax");
            }
        }

        void strided() {
            int rank = 1 + r.nextInt(4);
            int[] shape = new int[rank];
            for (int d = 0; d < rank; d++) {
                shape[d] = r.nextInt(7) == 0 ? 1 : 1 + r.nextInt(9);
            }
            int n = Arrays.stream(shape).reduce(1, (p, q) -> p * q);
            int[] aStrides = strides(shape);
            int[] bStrides = strides(shape);
            float[] a = data(span(shape, aStrides) + 2, -3f, 3f, true);
            float[] b = data(span(shape, bStrides) + 2, 0.5f, 3f, false);
            float[] o0 = new float[n + 1];
            for (Binary op : Binary.values()) {
                where = "binaryStrided " + op + " shape=" + Arrays.toString(shape) + " a=" + Arrays.toString(aStrides)
                        + " b=" + Arrays.toString(bStrides);
                assertArrayEquals(ref(o0, o -> REF.binaryStrided(op, shape, a, 2, aStrides, b, 1, bStrides, o, 1)),
                        simd(o0, o -> SIMD.binaryStrided(op, shape, a, 2, aStrides, b, 1, bStrides, o, 1)), where);
            }
            where = "copyStrided shape=" + Arrays.toString(shape) + " strides=" + Arrays.toString(aStrides);
            assertArrayEquals(ref(o0, o -> REF.copyStrided(shape, a, 2, aStrides, o, 1)),
                    simd(o0, o -> SIMD.copyStrided(shape, a, 2, aStrides, o, 1)), where);
            // scatter back into a non-overlapping strided view (no zero strides)
            int[] outStrides = strides(shape);
            for (int d = 0; d < rank; d++) {
                outStrides[d] = outStrides[d] == 0 ? 1 : outStrides[d];
            }
            int[] dense = denseStrides(shape, r.nextBoolean());
            float[] target = data(span(shape, dense) + 3, -1f, 1f, false);
            float[] src = data(n + 1, -1f, 1f, false);
            where = "copyToStrided/addIntoStrided shape=" + Arrays.toString(shape) + " strides=" + Arrays.toString(dense);
            assertArrayEquals(ref(target, o -> REF.copyToStrided(shape, src, 1, o, 3, dense)),
                    simd(target, o -> SIMD.copyToStrided(shape, src, 1, o, 3, dense)), where);
            assertArrayEquals(ref(target, o -> REF.addIntoStrided(shape, src, 1, o, 3, dense)),
                    simd(target, o -> SIMD.addIntoStrided(shape, src, 1, o, 3, dense)), where);
        }

        /** Random strides: contiguous, transposed-like, padded, or broadcast (0) on size-1 and other dims. */
        int[] strides(int[] shape) {
            int[] s = denseStrides(shape, r.nextBoolean());
            for (int d = 0; d < shape.length; d++) {
                if (r.nextInt(4) == 0) {
                    s[d] = 0; // broadcast
                } else if (r.nextInt(5) == 0) {
                    s[d] *= 2; // a step-2 slice
                }
            }
            return s;
        }

        /** Non-overlapping strides for shape, row-major or with the dims laid out in reverse (a transpose). */
        static int[] denseStrides(int[] shape, boolean reversed) {
            int[] s = new int[shape.length];
            int acc = 1;
            for (int k = 0; k < shape.length; k++) {
                int d = reversed ? k : shape.length - 1 - k;
                s[d] = acc;
                acc *= shape[d];
            }
            return s;
        }

        static int span(int[] shape, int[] strides) {
            int last = 0;
            for (int d = 0; d < shape.length; d++) {
                last += (shape[d] - 1) * strides[d];
            }
            return last + 1;
        }

        void gemm() {
            int m = 1 + r.nextInt(r.nextBoolean() ? 9 : 140);
            int n = 1 + r.nextInt(r.nextBoolean() ? 9 : 140);
            int k = r.nextInt(r.nextBoolean() ? 9 : 300);
            boolean ta = r.nextBoolean();
            boolean tb = r.nextBoolean();
            int lda = (ta ? m : k) + r.nextInt(3);
            int ldb = (tb ? k : n) + r.nextInt(3);
            int ldc = n + r.nextInt(3);
            lda = Math.max(lda, 1);
            ldb = Math.max(ldb, 1);
            float alpha = new float[] {1f, -0.5f, 2f}[r.nextInt(3)];
            float beta = new float[] {0f, 1f, 0.25f}[r.nextInt(3)];
            float[] a = data((ta ? k : m) * lda + 2, -1f, 1f, false);
            float[] b = data((tb ? n : k) * ldb + 1, -1f, 1f, false);
            float[] c0 = data(m * ldc + 1, -1f, 1f, false);
            final int la = lda;
            final int lb = ldb;
            where = "sgemm m=" + m + " n=" + n + " k=" + k + " transA=" + ta + " transB=" + tb + " lda=" + la + " ldb=" + lb
                    + " ldc=" + ldc + " alpha=" + alpha + " beta=" + beta;
            float[] e = ref(c0, o -> REF.sgemm(ta, tb, m, n, k, alpha, a, 2, la, b, 1, lb, beta, o, 1, ldc));
            float[] s = simd(c0, o -> SIMD.sgemm(ta, tb, m, n, k, alpha, a, 2, la, b, 1, lb, beta, o, 1, ldc));
            close(e, s, (2e-6 * Math.sqrt(k) + 1e-6) * Math.max(1, Math.abs(alpha)));
        }

        void convolution() {
            int ch = 1 + r.nextInt(4);
            int kh = 1 + r.nextInt(4);
            int kw = 1 + r.nextInt(4);
            int dil = 1 + r.nextInt(2);
            int stride = 1 + r.nextInt(3);
            int pad = r.nextInt(3);
            int h = dil * (kh - 1) + 1 + r.nextInt(12);
            int w = dil * (kw - 1) + 1 + r.nextInt(12);
            int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
            int ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
            int batch = 1 + r.nextInt(3);
            where = "conv batch=" + batch + " ch=" + ch + " h=" + h + " w=" + w + " k=" + kh + "x" + kw + " pad=" + pad + " stride=" + stride
                    + " dilation=" + dil;
            float[] x = data(batch * ch * h * w + 1, -1f, 1f, true);
            int ld = batch * oh * ow + r.nextInt(3);
            float[] col0 = data(ch * kh * kw * ld + 1, -1f, 1f, false);
            float[] col = ref(col0, o -> REF.im2col(x, 1, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                    oh, ow, o, 1, ld));
            assertArrayEquals(col, simd(col0, o -> SIMD.im2col(x, 1, batch, ch, h, w, kh, kw, pad, pad, stride, stride,
                    dil, dil, oh, ow, o, 1, ld)), where + " im2col");
            // col2im adds in the reference's order: bit-identical
            float[] x0 = data(batch * ch * h * w + 1, -1f, 1f, false);
            assertArrayEquals(ref(x0, o -> REF.col2imInto(col, 1, ld, batch, ch, h, w, kh, kw, pad, pad, stride, stride,
                            dil, dil, oh, ow, o, 1)),
                    simd(x0, o -> SIMD.col2imInto(col, 1, ld, batch, ch, h, w, kh, kw, pad, pad, stride, stride,
                            dil, dil, oh, ow, o, 1)), where + " col2im");
            int pp = Math.min(pad, Math.min(kh, kw) / 2);
            int ph = (h + 2 * pp - dil * (kh - 1) - 1) / stride + 1;
            int pw = (w + 2 * pp - dil * (kw - 1) - 1) / stride + 1;
            long[] ie = new long[ch * ph * pw];
            long[] ia = new long[ch * ph * pw];
            float[] p0 = new float[ch * ph * pw];
            where += " maxPool pad=" + pp;
            float[] pe = ref(p0, o -> REF.maxPool2d(x, 1, ch, h, w, kh, kw, pp, pp, stride, stride, dil, dil, ph, pw, o, 0, ie, 0));
            float[] pa = simd(p0, o -> SIMD.maxPool2d(x, 1, ch, h, w, kh, kw, pp, pp, stride, stride, dil, dil, ph, pw, o, 0, ia, 0));
            assertArrayEquals(pe, pa, where);
            assertArrayEquals(ie, ia, where + " indices");
            float[] g0 = new float[ch * h * w];
            assertArrayEquals(ref(g0, o -> REF.maxPool2dBackward(pe, 0, ie, 0, ch, h, w, ph, pw, o, 0)),
                    simd(g0, o -> SIMD.maxPool2dBackward(pe, 0, ie, 0, ch, h, w, ph, pw, o, 0)), where + " backward");
            int ah = 1 + r.nextInt(h);
            int aw = 1 + r.nextInt(w);
            where = "adaptiveAvgPool2d " + h + "x" + w + " -> " + ah + "x" + aw;
            float[] a0 = new float[ch * ah * aw];
            float[] ae = ref(a0, o -> REF.adaptiveAvgPool2d(x, 1, ch, h, w, ah, aw, o, 0));
            close(ae, simd(a0, o -> SIMD.adaptiveAvgPool2d(x, 1, ch, h, w, ah, aw, o, 0)), 1e-6);
            close(ref(g0, o -> REF.adaptiveAvgPool2dBackward(ae, 0, ch, h, w, ah, aw, o, 0)),
                    simd(g0, o -> SIMD.adaptiveAvgPool2dBackward(ae, 0, ch, h, w, ah, aw, o, 0)), 1e-6);
        }

        /** The six Winograd transforms, NaN and infinities included (both leave out the matrices' zeros). */
        void winograd() {
            int batch = 1 + r.nextInt(4);
            int ch = 1 + r.nextInt(20);
            int oc = 1 + r.nextInt(20);
            int pad = r.nextInt(3);
            int h = Math.max(1, 3 - 2 * pad) + r.nextInt(12);
            int w = Math.max(1, 3 - 2 * pad) + r.nextInt(12);
            int oh = h + 2 * pad - 2;
            int ow = w + 2 * pad - 2;
            int tile = r.nextBoolean() ? 2 : 4;
            int tiles = batch * ((oh + tile - 1) / tile) * ((ow + tile - 1) / tile);
            int p = (tile + 2) * (tile + 2);
            where = "winograd F(" + tile + ") batch=" + batch + " ch=" + ch + " outC=" + oc + " h=" + h + " w=" + w + " pad=" + pad;
            double f = tile == 2 ? 1 : 20; // F(4x4, 3x3) rounds more: see WinogradTest#scale
            float[] x = data(batch * ch * h * w + 1, -1f, 1f, true);
            float[] wt = data(oc * ch * 9 + 2, -1f, 1f, true);
            float[] u0 = new float[p * oc * ch];
            close(ref(u0, o -> REF.winogradWeights(tile, wt, 2, oc, ch, o)), simd(u0, o -> SIMD.winogradWeights(tile, wt, 2, oc, ch, o)), 1e-6 * f);
            float[] v0 = new float[p * ch * tiles];
            close(ref(v0, o -> REF.winogradInput(tile, x, 1, batch, ch, h, w, pad, pad, oh, ow, o)),
                    simd(v0, o -> SIMD.winogradInput(tile, x, 1, batch, ch, h, w, pad, pad, oh, ow, o)), 1e-6 * f);
            float[] m = data(p * oc * tiles, -1f, 1f, true);
            float[] y0 = data(batch * oc * oh * ow + 3, -1f, 1f, true);
            close(ref(y0, o -> REF.winogradOutput(tile, m, batch, oc, oh, ow, o, 3)),
                    simd(y0, o -> SIMD.winogradOutput(tile, m, batch, oc, oh, ow, o, 3)), 1e-5 * f);
            float[] g = data(batch * oc * oh * ow + 1, -1f, 1f, true);
            float[] dm0 = new float[p * oc * tiles];
            close(ref(dm0, o -> REF.winogradGradOutput(tile, g, 1, batch, oc, oh, ow, o)),
                    simd(dm0, o -> SIMD.winogradGradOutput(tile, g, 1, batch, oc, oh, ow, o)), 1e-6 * f);
            float[] dv = data(p * ch * tiles, -1f, 1f, true);
            float[] gx0 = data(batch * ch * h * w + 2, -1f, 1f, true);
            close(ref(gx0, o -> REF.winogradInputBackward(tile, dv, batch, ch, h, w, pad, pad, oh, ow, o, 2)),
                    simd(gx0, o -> SIMD.winogradInputBackward(tile, dv, batch, ch, h, w, pad, pad, oh, ow, o, 2)), 1e-5 * f);
            float[] du = data(p * oc * ch, -1f, 1f, true);
            float beta = r.nextBoolean() ? 0f : 0.5f;
            float[] dw0 = data(oc * ch * 9 + 1, -1f, 1f, true);
            close(ref(dw0, o -> REF.winogradWeightsBackward(tile, du, oc, ch, beta, o, 1)),
                    simd(dw0, o -> SIMD.winogradWeightsBackward(tile, du, oc, ch, beta, o, 1)), 1e-5 * f);
        }

        void batchNorm() {
            int batch = 1 + r.nextInt(4);
            int ch = 1 + r.nextInt(8);
            int sp = 1 + r.nextInt(r.nextBoolean() ? 10 : 500);
            int n = batch * ch * sp;
            where = "batchNorm batch=" + batch + " channels=" + ch + " spatial=" + sp;
            float[] x = data(n, -2f, 3f, false);
            float[] w = r.nextBoolean() ? data(ch, 0.5f, 1.5f, false) : null;
            float[] b = r.nextBoolean() ? data(ch, -1f, 1f, false) : null;
            float[] packedE = ref(new float[n + 3 * ch], o -> {
                float[] mean = new float[ch];
                float[] inv = new float[ch];
                float[] var = new float[ch];
                float[] out = new float[n];
                REF.batchNormTrain(x, 0, batch, ch, sp, w, b, 1e-5f, out, 0, mean, inv, var);
                pack(o, out, mean, inv, var);
            });
            float[] packedA = simd(new float[n + 3 * ch], o -> {
                float[] mean = new float[ch];
                float[] inv = new float[ch];
                float[] var = new float[ch];
                float[] out = new float[n];
                SIMD.batchNormTrain(x, 0, batch, ch, sp, w, b, 1e-5f, out, 0, mean, inv, var);
                pack(o, out, mean, inv, var);
            });
            close(packedE, packedA, 1e-5 * Math.max(1, Math.sqrt(batch * sp) / 10));
            float[] mean = Arrays.copyOfRange(packedE, n, n + ch);
            float[] inv = Arrays.copyOfRange(packedE, n + ch, n + 2 * ch);
            float[] g = data(n, -1f, 1f, false);
            float[] gi0 = data(n + 2 * ch, -1f, 1f, false);
            where += " backward";
            close(ref(gi0, o -> backward(REF, g, x, batch, ch, sp, w, mean, inv, o, n)),
                    simd(gi0, o -> backward(SIMD, g, x, batch, ch, sp, w, mean, inv, o, n)),
                    1e-6 * Math.sqrt(batch * sp) + 1e-5);
        }

        static void pack(float[] o, float[]... parts) {
            int p = 0;
            for (float[] part : parts) {
                System.arraycopy(part, 0, o, p, part.length);
                p += part.length;
            }
        }

        static void backward(Kernels k, float[] g, float[] x, int batch, int ch, int sp, float[] w, float[] mean,
                             float[] inv, float[] o, int n) {
            float[] gw = Arrays.copyOfRange(o, n, n + ch);
            float[] gb = Arrays.copyOfRange(o, n + ch, n + 2 * ch);
            k.batchNormTrainBackward(g, 0, x, 0, batch, ch, sp, w, mean, inv, o, 0, true, gw, gb);
            System.arraycopy(gw, 0, o, n, ch);
            System.arraycopy(gb, 0, o, n + ch, ch);
        }

        void optimizers() {
            int n = size();
            float[] g = data(n, -1f, 1f, false);
            boolean nesterov = r.nextBoolean();
            boolean first = r.nextBoolean();
            float momentum = nesterov ? 0.9f : new float[] {0f, 0.9f}[r.nextInt(2)];
            float dampening = nesterov ? 0f : 0.1f;
            where = "sgdStep n=" + n + " momentum=" + momentum + " nesterov=" + nesterov + " first=" + first;
            float[] state = data(2 * n, -1f, 1f, false);
            assertArrayEquals(ref(state, o -> REF.sgdStep(o, 0, g, 0, o, n, n, 0.1f, momentum, dampening, 1e-4f, nesterov, first)),
                    simd(state, o -> SIMD.sgdStep(o, 0, g, 0, o, n, n, 0.1f, momentum, dampening, 1e-4f, nesterov, first)), where);
            boolean decoupled = r.nextBoolean();
            where = "adamStep n=" + n + " decoupled=" + decoupled;
            float[] adam = data(3 * n, 0f, 0.5f, false);
            close(ref(adam, o -> adam(REF, o, g, n, decoupled)), simd(adam, o -> adam(SIMD, o, g, n, decoupled)), 1e-6);
        }

        static void adam(Kernels k, float[] o, float[] g, int n, boolean decoupled) {
            float[] w = Arrays.copyOfRange(o, 0, n);
            float[] m = Arrays.copyOfRange(o, n, 2 * n);
            float[] v = Arrays.copyOfRange(o, 2 * n, 3 * n);
            k.adamStep(w, 0, g, 0, m, v, 0, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, 0.19f, 0.003f);
            pack(o, w, m, v);
        }
    }
}
