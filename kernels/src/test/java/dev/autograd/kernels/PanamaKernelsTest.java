package dev.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.autograd.kernels.Kernels.Binary;
import dev.autograd.kernels.Kernels.Unary;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every SIMD kernel against the scalar reference, over awkward sizes, with size-scaled tolerance,
 * with 1 and 2 threads. The vector width is the JVM's ({@code autograd.vectorBits}): the build runs
 * this class once per width (see kernels/pom.xml).
 */
class PanamaKernelsTest {

    static final Kernels REF = new ScalarKernels();
    static final Kernels SIMD = new PanamaKernels(0);
    static final int[] SIZES = {0, 1, 7, 15, 16, 17, 33, 1000, 4099};

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    static Stream<Arguments> sizesAndThreads() {
        // 200_003 crosses the parallel grain, so the split paths run too
        return IntStream.concat(Arrays.stream(SIZES), IntStream.of(200_003)).boxed()
                .flatMap(n -> Stream.of(Arguments.of(n, 1), Arguments.of(n, 2)));
    }

    static float[] random(int n, long seed, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return x;
    }

    /** |expected - actual| <= tol * max(1, |expected|); NaN only against NaN; infinities equal. */
    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            if (Float.isNaN(e) || Float.isNaN(a) || Float.isInfinite(e) || Float.isInfinite(a)) {
                if (!(Float.isNaN(e) && Float.isNaN(a)) && e != a) {
                    fail(what + ": element " + i + " expected " + e + " but was " + a);
                }
                continue;
            }
            if (Math.abs(e - a) > tol * Math.max(1.0, Math.abs(e))) {
                fail(what + ": element " + i + " of " + expected.length + " expected " + e + " but was " + a
                        + " (tolerance " + tol + ")");
            }
        }
    }

    static void assertClose(float expected, float actual, double tol, String what) {
        assertClose(new float[] {expected}, new float[] {actual}, tol, what);
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("sizesAndThreads")
    void unary(int n, int threads) {
        Parallel.setThreads(threads);
        for (Unary op : Unary.values()) {
            float lo = op == Unary.LOG || op == Unary.SQRT ? 0.001f : -20f;
            float[] x = random(n, 1, lo, 20f);
            if (n > 3 && op != Unary.LOG && op != Unary.SQRT) {
                x[1] = 0f;
                x[2] = -0f;
                x[3] = Float.NaN;
            }
            float[] e = new float[n];
            float[] a = new float[n];
            REF.unary(op, x, 0, e, 0, n);
            SIMD.unary(op, x, 0, a, 0, n);
            assertClose(e, a, 4e-7, op.toString());
            // in place
            float[] inPlace = x.clone();
            SIMD.unary(op, inPlace, 0, inPlace, 0, n);
            assertClose(e, inPlace, 4e-7, op + " in place");
            // backward accumulates into out
            float[] g = random(n, 2, -1f, 1f);
            float[] eb = random(n, 3, -1f, 1f);
            float[] ab = eb.clone();
            REF.unaryBackward(op, g, 0, x, 0, e, 0, eb, 0, n);
            SIMD.unaryBackward(op, g, 0, x, 0, e, 0, ab, 0, n);
            assertClose(eb, ab, 1e-6, op + " backward");
        }
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("sizesAndThreads")
    void reluBackwardAndOffsets(int n, int threads) {
        Parallel.setThreads(threads);
        float[] x = random(n + 3, 4, -1f, 1f);
        float[] g = random(n + 5, 5, -1f, 1f);
        float[] e = random(n + 2, 6, -1f, 1f);
        float[] a = e.clone();
        REF.reluBackward(g, 5, x, 3, e, 2, n);
        SIMD.reluBackward(g, 5, x, 3, a, 2, n);
        assertArrayEquals(e, a, "relu backward is exact");
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("sizesAndThreads")
    void reluMaskIsASelectAsThresholdBackward(int n, int threads) {
        Parallel.setThreads(threads);
        float[] y = random(n + 3, 4, -1f, 1f);
        float[] g = random(n + 5, 5, -1f, 1f);
        // the edge cases where a select and a product differ: NaN y passes grad, -0 and 0 stop it,
        // an infinite or NaN grad at y <= 0 gives 0
        float[][] cases = {{Float.NaN, 2f}, {-0f, 3f}, {0f, 4f}, {-1f, Float.POSITIVE_INFINITY}, {-1f, Float.NaN}, {1f, Float.NaN}};
        for (int i = 0; i < n; i += 5) {
            float[] c = cases[(i / 5) % cases.length];
            y[3 + i] = c[0];
            g[5 + i] = c[1];
        }
        float[] e = random(n + 2, 6, -1f, 1f);
        float[] a = e.clone();
        REF.reluMask(y, 3, g, 5, e, 2, n);
        SIMD.reluMask(y, 3, g, 5, a, 2, n);
        assertArrayEquals(e, a, "relu mask is exact");
        // in place into the gradient, as the engine does when it owns it
        float[] gi = g.clone();
        SIMD.reluMask(y, 3, gi, 5, gi, 5, n);
        assertArrayEquals(Arrays.copyOfRange(e, 2, 2 + n), Arrays.copyOfRange(gi, 5, 5 + n), "in place");
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("sizesAndThreads")
    void binaryFamilies(int n, int threads) {
        Parallel.setThreads(threads);
        float[] x = random(n + 1, 7, -3f, 3f);
        float[] y = random(n + 2, 8, 0.5f, 3f);
        for (Binary op : Binary.values()) {
            float[] e = new float[n + 3];
            float[] a = new float[n + 3];
            REF.binary(op, x, 1, y, 2, e, 3, n);
            SIMD.binary(op, x, 1, y, 2, a, 3, n);
            assertArrayEquals(e, a, op + " is exact");
            REF.binaryScalar(op, x, 1, 1.7f, e, 3, n);
            SIMD.binaryScalar(op, x, 1, 1.7f, a, 3, n);
            assertArrayEquals(e, a, op + " scalar is exact");
            REF.scalarBinary(op, -0.3f, y, 2, e, 3, n);
            SIMD.scalarBinary(op, -0.3f, y, 2, a, 3, n);
            assertArrayEquals(e, a, "scalar " + op + " is exact");
        }
        float[] e = y.clone();
        float[] a = y.clone();
        REF.axpy(0.7f, x, 1, e, 2, n);
        SIMD.axpy(0.7f, x, 1, a, 2, n);
        assertArrayEquals(e, a, "axpy is exact");
        REF.scale(x, 1, -2.5f, e, 0, n);
        SIMD.scale(x, 1, -2.5f, a, 0, n);
        assertArrayEquals(e, a, "scale is exact");
        SIMD.fill(4f, a, 1, n);
        REF.fill(4f, e, 1, n);
        assertArrayEquals(e, a, "fill");
        for (float exponent : new float[] {2f, 1f, 0.5f, 3f, -1.5f, 0f}) {
            float[] pe = new float[n];
            float[] pa = new float[n];
            REF.pow(y, 2, exponent, pe, 0, n);
            SIMD.pow(y, 2, exponent, pa, 0, n);
            assertClose(pe, pa, 4e-7, "pow " + exponent);
            float[] g = random(n, 9, -1f, 1f);
            float[] be = random(n, 10, -1f, 1f);
            float[] ba = be.clone();
            REF.powBackward(g, 0, y, 2, exponent, be, 0, n);
            SIMD.powBackward(g, 0, y, 2, exponent, ba, 0, n);
            assertClose(be, ba, 1e-6, "pow backward " + exponent);
        }
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("sizesAndThreads")
    void reductions(int n, int threads) {
        Parallel.setThreads(threads);
        float[] x = random(n + 1, 11, -1f, 1f);
        double tol = 1e-6 * Math.sqrt(n + 1) + 1e-6;
        assertClose(REF.sum(x, 1, n), SIMD.sum(x, 1, n), tol, "sum");
        assertClose(REF.sumOfSquares(x, 1, n), SIMD.sumOfSquares(x, 1, n), tol, "sumOfSquares");
        if (n > 0) {
            assertEquals(REF.max(x, 1, n), SIMD.max(x, 1, n), "max");
            x[1 + n / 2] = Float.NaN;
            assertEquals(Float.NaN, SIMD.max(x, 1, n), "max with NaN");
        }
    }

    static Stream<Arguments> dims() {
        return Stream.of(Arguments.of(1, 1, 1), Arguments.of(3, 7, 1), Arguments.of(2, 5, 17),
                Arguments.of(4, 33, 16), Arguments.of(1, 1000, 33), Arguments.of(3, 15, 100),
                Arguments.of(2, 17, 4099), Arguments.of(5, 0, 7), Arguments.of(3, 1000, 1), Arguments.of(2, 4099, 1));
    }

    @ParameterizedTest(name = "outer={0} reduce={1} inner={2}")
    @MethodSource("dims")
    void sumDimAndMaxDim(int outer, int reduce, int inner) {
        float[] x = random(outer * reduce * inner + 2, 12, -1f, 1f);
        float[] e = new float[outer * inner + 1];
        float[] a = new float[outer * inner + 1];
        REF.sumDim(x, 2, outer, reduce, inner, e, 1);
        SIMD.sumDim(x, 2, outer, reduce, inner, a, 1);
        assertClose(e, a, 1e-6 * Math.sqrt(reduce + 1), "sumDim");
        if (reduce == 0) {
            return;
        }
        // ties and a NaN: first maximum wins, NaN wins
        if (x.length > 10) {
            x[5] = x[6];
            x[x.length / 2] = Float.NaN;
        }
        long[] ei = new long[outer * inner];
        long[] ai = new long[outer * inner];
        REF.maxDim(x, 2, outer, reduce, inner, e, 0, ei);
        SIMD.maxDim(x, 2, outer, reduce, inner, a, 0, ai);
        assertArrayEquals(Arrays.copyOf(e, outer * inner), Arrays.copyOf(a, outer * inner), "maxDim values");
        assertArrayEquals(ei, ai, "maxDim argmax");
    }

    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threads")
    void strided(int threads) {
        Parallel.setThreads(threads);
        // [3, 5, 17] with row broadcast b[17], column broadcast b[3,5,1], a transposed view, scalar
        int[] shape = {3, 5, 17};
        float[] a = random(3 * 5 * 17, 13, -1f, 1f);
        float[] b = random(3 * 5 * 17, 14, 0.5f, 2f);
        int[][][] cases = {
            {{85, 17, 1}, {85, 17, 1}},
            {{85, 17, 1}, {0, 0, 1}},
            {{85, 17, 1}, {5, 1, 0}},
            {{0, 1, 0}, {85, 17, 1}},
            {{1, 3, 15}, {85, 17, 1}},
            {{0, 0, 0}, {85, 17, 1}},
        };
        for (int[][] s : cases) {
            for (Binary op : Binary.values()) {
                float[] e = new float[85 * 3];
                float[] r = new float[85 * 3];
                REF.binaryStrided(op, shape, a, 0, s[0], b, 0, s[1], e, 0);
                SIMD.binaryStrided(op, shape, a, 0, s[0], b, 0, s[1], r, 0);
                assertArrayEquals(e, r, op + " strides " + Arrays.deepToString(s));
            }
            float[] e = new float[85 * 3];
            float[] r = new float[85 * 3];
            REF.copyStrided(shape, a, 0, s[0], e, 0);
            SIMD.copyStrided(shape, a, 0, s[0], r, 0);
            assertArrayEquals(e, r, "copy strides " + Arrays.toString(s[0]));
        }
        // 2-D transposes (blocks of L x 8 transposed in registers, edges element by element),
        // from an offset and with a padded leading dimension
        // (the last two cross the parallel grain: column ranges on two threads, the last with the
        // columns past the last block of eight)
        int[][] transposes = {{16, 8, 16}, {37, 45, 40}, {64, 4608 / 64, 70}, {8, 9, 8}, {100, 7, 100}, {33, 200, 35},
            {64, 4608, 64}, {40, 2003, 41}};
        for (int[] t : transposes) {
            int rows = t[0], cols = t[1], ld = t[2];
            float[] x = random(cols * ld + 3, 15, -1f, 1f);
            float[] e = random(rows * cols + 2, 16, -1f, 1f);
            float[] r = e.clone();
            REF.copyStrided(new int[] {rows, cols}, x, 3, new int[] {1, ld}, e, 2);
            SIMD.copyStrided(new int[] {rows, cols}, x, 3, new int[] {1, ld}, r, 2);
            assertArrayEquals(e, r, "transpose " + Arrays.toString(t));
            // the same with a leading dimension of 1 and a size-1 dimension between
            float[] r3 = e.clone();
            SIMD.copyStrided(new int[] {1, rows, 1, cols}, x, 3, new int[] {7, 1, 5, ld}, r3, 2);
            assertArrayEquals(e, r3, "transpose with size-1 dimensions " + Arrays.toString(t));
        }
        // bigger copies, in row ranges on two threads: a convolution's [O, B, P] -> [B, O, P], a
        // permutation with a strided inner dimension, rows that start mid-way through the outer ones
        int[][][] big = {{{16, 64, 96}, {96, 16 * 96, 1}}, {{8, 96, 100}, {1, 800, 8}},
            {{7, 13, 1001}, {1001, 7007, 1}}};
        for (int[][] c : big) {
            float[] x = random(16 * 64 * 96 + 1, 17, -1f, 1f);
            int size = c[0][0] * c[0][1] * c[0][2];
            float[] e = new float[size + 1];
            float[] r = new float[size + 1];
            REF.copyStrided(c[0], x, 1, c[1], e, 1);
            SIMD.copyStrided(c[0], x, 1, c[1], r, 1);
            assertArrayEquals(e, r, "big copy " + Arrays.deepToString(c));
        }
        // a zero-size dimension copies nothing
        float[] untouched = {5f};
        SIMD.copyStrided(new int[] {1, 0, 3}, new float[4], 0, new int[] {1, 1, 1}, untouched, 0);
        assertArrayEquals(new float[] {5f}, untouched);
    }

    static Stream<Integer> threads() {
        return Stream.of(1, 2);
    }

    static Stream<Arguments> gemmShapes() {
        int[][] shapes = {
            {1, 1, 1}, {3, 5, 7}, {8, 32, 5}, {17, 33, 9}, {65, 33, 129}, {512, 4, 4608}, {64, 256, 576},
            {1, 300, 70}, {300, 1, 70}, {7, 7, 1}, {129, 160, 300}, {40, 1100, 20}, {33, 65, 600},
            {4, 4608, 512}, {2, 1000, 33}, {3, 70, 9}, {4, 129, 0}, {512, 4608, 4}, {37, 100, 1}, {9, 33, 8},
            // past Gemm.SHARED_FLOPS with both sides past SHARED_MIN_SIDE: B panels packed once for all
            // threads when not balanced; two NC blocks; then the same products with a short side (strips)
            {303, 707, 301}, {300, 1100, 260}, {203, 707, 301}, {150, 1100, 260},
            // several depth blocks (KC 1024): one thread or strips, and shared
            {40, 70, 2100}, {300, 300, 1100},
            // a row times B^T; dot products up to 16 columns; row groups of the axpy path
            {1, 1000, 130}, {1, 40, 33}, {70, 16, 300}, {20, 12, 150}, {64, 9, 70}, {16, 300, 70}, {13, 200, 50},
            // the axpy path by depth chunks: a group of four rows padded, chunks ending in single rows
            {13, 300, 200}, {5, 77, 1030},
        };
        Stream.Builder<Arguments> out = Stream.builder();
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) {
                out.add(Arguments.of(s[0], s[1], s[2], (t & 2) != 0, (t & 1) != 0));
            }
        }
        return out.build();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("gemmShapes")
    void sgemm(int m, int n, int k, boolean transA, boolean transB) {
        // padded leading dimensions and offsets, so neither is taken for granted
        int lda = (transA ? m : k) + 3;
        int ldb = (transB ? k : n) + 2;
        int ldc = n + 5;
        float[] a = random((transA ? k : m) * lda + 4, 15, -1f, 1f);
        float[] b = random((transB ? n : k) * ldb + 6, 16, -1f, 1f);
        float[] c0 = random(m * ldc + 1, 17, -1f, 1f);
        double tol = 2e-6 * Math.sqrt(k) + 1e-6;
        float[][] params = {{1f, 0f}, {0.5f, 1f}, {-1.25f, 0.75f}, {2f, 0f}};
        // the (slow, double) reference product once; alpha and beta applied per case
        float[] product = c0.clone();
        REF.sgemm(transA, transB, m, n, k, 1f, a, 4, lda, b, 6, ldb, 0f, product, 1, ldc);
        for (float[] ab : params) {
            float alpha = ab[0];
            float beta = ab[1];
            float[] e = c0.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int idx = 1 + i * ldc + j;
                    e[idx] = (float) ((double) alpha * product[idx] + (beta == 0f ? 0.0 : (double) beta * c0[idx]));
                }
            }
            float[] first = null;
            // -2: two threads without Gemm.balanced (shared panels for the big shapes, else one strip each)
            for (int threads : new int[] {1, 2, -2}) {
                Parallel.setThreads(Math.abs(threads));
                Gemm.wholeMax = threads < 0 ? 0 : Gemm.WHOLE_MAX;
                float[] r = c0.clone();
                if (beta == 0f) {
                    // beta = 0 never reads C: NaN there must not leak
                    for (int i = 0; i < m; i++) {
                        Arrays.fill(r, 1 + i * ldc, 1 + i * ldc + n, Float.NaN);
                    }
                }
                try {
                    SIMD.sgemm(transA, transB, m, n, k, alpha, a, 4, lda, b, 6, ldb, beta, r, 1, ldc);
                } finally {
                    Gemm.wholeMax = Gemm.WHOLE_MAX;
                }
                String what = "sgemm alpha=" + alpha + " beta=" + beta + " threads="
                        + (threads < 0 ? "2, not balanced" : threads);
                float[] expected = e.clone();
                if (beta == 0f) {
                    // padding between rows keeps the NaN we wrote: compare only C's elements there
                    for (int i = 0; i < m; i++) {
                        for (int j = n; j < ldc && 1 + i * ldc + j < r.length; j++) {
                            r[1 + i * ldc + j] = expected[1 + i * ldc + j];
                        }
                    }
                }
                assertClose(expected, r, tol * Math.max(1, Math.abs(alpha)), what);
                if (first == null) {
                    first = r;
                } else {
                    assertArrayEquals(first, r, "bit-identical for 1 and 2 threads: " + what);
                }
            }
        }
    }

    /**
     * The convolution GEMMs pack their panels from the images: bit-identical to im2col + sgemm on
     * the same kernels (same blocks, same FMA order), close to the reference. Shapes reach the one-
     * thread, balanced, strip and shared-panel paths, partial panels, stride 2, dilation, and a 1x1 conv.
     */
    @ParameterizedTest(name = "threads={0} balanced={1}")
    @CsvSource({"1, true", "2, true", "2, false"})
    void convGemmsFromTheImagesEqualIm2colAndGemm(int threads, boolean balanced) {
        Parallel.setThreads(threads);
        Gemm.wholeMax = balanced ? Gemm.WHOLE_MAX : 0;
        try {
            convGemmsFromTheImages();
        } finally {
            Gemm.wholeMax = Gemm.WHOLE_MAX;
        }
    }

    private void convGemmsFromTheImages() {
        int[][] convs = {
            // batch, channels, h, w, outC, kH, kW, pad, stride, dilation
            {2, 3, 9, 11, 9, 3, 3, 1, 1, 1}, {3, 4, 10, 10, 17, 3, 3, 1, 2, 1}, {2, 5, 9, 9, 12, 3, 3, 2, 1, 2},
            {4, 8, 7, 7, 16, 1, 1, 0, 1, 1}, {2, 3, 20, 20, 8, 7, 7, 3, 2, 1}, {4, 64, 16, 16, 64, 3, 3, 1, 1, 1},
            {3, 16, 8, 8, 32, 1, 1, 0, 2, 1},
            // output rows of 8, 4, 5 and 2: panel halves loaded whole, permuted from two loads, gathered
            {4, 16, 8, 8, 32, 3, 3, 1, 1, 1}, {8, 32, 4, 4, 40, 3, 3, 1, 1, 1}, {4, 8, 5, 5, 24, 3, 3, 1, 1, 1},
            {16, 24, 2, 2, 33, 3, 3, 1, 1, 1},
            // both sides of the forward and the weight gradient past Gemm.SHARED_MIN_SIDE: shared
            // panels when not balanced
            {2, 32, 16, 16, 288, 3, 3, 1, 1, 1},
        };
        for (int[] v : convs) {
            int batch = v[0], ch = v[1], h = v[2], w = v[3], outC = v[4], kh = v[5], kw = v[6], pad = v[7], stride = v[8],
                    dil = v[9];
            int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
            int ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
            int k = ch * kh * kw;
            int n = batch * oh * ow;
            float[] x = random(batch * ch * h * w + 2, 31, -1f, 1f);
            float[] wt = random(outC * k + 1, 32, -1f, 1f);
            float[] col = new float[k * n];
            float[] e = random(outC * n + 3, 33, -1f, 1f);
            float[] a = e.clone();
            float[] r = e.clone();
            SIMD.im2col(x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, col, 0, n);
            SIMD.sgemm(false, false, outC, n, k, 1f, wt, 1, k, col, 0, n, 0f, e, 3, n);
            SIMD.conv2dGemm(wt, 1, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, a, 3);
            assertArrayEquals(e, a, "conv from the images " + Arrays.toString(v));
            REF.conv2dGemm(wt, 1, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, r, 3);
            assertClose(r, a, 2e-6 * Math.sqrt(k) + 1e-6, "conv against the reference " + Arrays.toString(v));
            // the weight gradient, accumulating (beta 1) and fresh (beta 0, NaN in dw not read)
            float[] g = random(outC * n + 1, 34, -1f, 1f);
            for (float beta : new float[] {1f, 0f}) {
                float[] de = random(outC * k + 2, 35, -1f, 1f);
                if (beta == 0f) {
                    Arrays.fill(de, Float.NaN);
                }
                float[] da = de.clone();
                float[] dr = de.clone();
                SIMD.sgemm(false, true, outC, k, n, 1f, g, 1, n, col, 0, n, beta, de, 2, k);
                SIMD.conv2dWeightGrad(g, 1, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                        oh, ow, beta, da, 2);
                assertArrayEquals(de, da, "weight gradient from the images, beta " + beta + " " + Arrays.toString(v));
                REF.conv2dWeightGrad(g, 1, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                        oh, ow, beta, dr, 2);
                assertClose(dr, da, 2e-6 * Math.sqrt(n) + 1e-6, "weight gradient against the reference " + Arrays.toString(v));
            }
        }
    }

    /**
     * The column gradient given transposed (N x K, rows ldColT apart) is scattered back with the
     * same additions in the same order as the reference's transpose + col2im: equal bits, on top
     * of what x held, with strides, dilation, padding past the kernel and images wider than tall.
     */
    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threads")
    void col2imOfTransposedColumns(int threads) {
        Parallel.setThreads(threads);
        int[][] convs = {
            // batch, channels, h, w, kH, kW, pad, stride, dilation
            {16, 512, 2, 2, 3, 3, 1, 1, 1}, {16, 256, 4, 4, 3, 3, 1, 2, 1}, {3, 5, 7, 9, 3, 3, 2, 1, 2},
            {2, 3, 12, 13, 7, 7, 3, 2, 1}, {1, 4, 1, 1, 3, 3, 1, 1, 1}, {4, 8, 5, 5, 1, 1, 0, 2, 1},
        };
        for (int[] v : convs) {
            int batch = v[0], ch = v[1], h = v[2], w = v[3], kh = v[4], kw = v[5], pad = v[6], stride = v[7], dil = v[8];
            int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
            int ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
            int k = ch * kh * kw;
            int n = batch * oh * ow;
            int ld = k + 3;
            float[] colT = random(n * ld + 2, 44, -1f, 1f);
            float[] e = random(batch * ch * h * w + 5, 45, -1f, 1f);
            float[] a = e.clone();
            REF.col2imTransposedInto(colT, 2, ld, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, e, 5);
            SIMD.col2imTransposedInto(colT, 2, ld, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, a, 5);
            assertArrayEquals(e, a, Arrays.toString(v));
        }
    }

    /**
     * Convolutions of small images by classes of output positions ({@link TapConv}): forward, input
     * and weight gradients close to the reference (the GEMM on im2col), the input gradient added to
     * what gx held, the weight gradient overwriting dw or added to it; the same bits on one thread
     * and on two. Shapes where the classes pay (the kernels would otherwise take the reference's
     * way): layer4 at batch 16 with channel counts that leave partial panels and blocks, a 1x1 image
     * (only the centre tap), a class with no tap at all (a 1x1 kernel over padding), dilation,
     * stride, a batch that leaves padding rows in the panels, more output channels than a depth chunk of
     * the input gradient, a 5x5 kernel (taps in groups of nine) over several channel blocks.
     */
    @Test
    void convolutionByTapClasses() {
        int[][] convs = {
            // batch, channels, outC, h, w, kH, kW, pad, stride, dilation
            {16, 40, 70, 2, 2, 3, 3, 1, 1, 1}, {16, 80, 70, 2, 2, 3, 3, 1, 1, 1}, {16, 512, 64, 2, 2, 3, 3, 1, 1, 1},
            {8, 17, 33, 1, 1, 3, 3, 1, 1, 1},
            {8, 16, 9, 1, 1, 1, 1, 1, 1, 1}, {9, 6, 40, 3, 2, 3, 3, 2, 1, 2}, {12, 5, 7, 3, 3, 5, 5, 2, 2, 1},
            {8, 3, 32, 2, 3, 3, 2, 2, 1, 1},
            // more rows of W than one depth chunk of the input gradient; a 5x5 kernel over several blocks
            {16, 24, 300, 2, 2, 3, 3, 1, 1, 1}, {12, 13, 7, 3, 3, 5, 5, 2, 2, 1},
        };
        for (int[] v : convs) {
            int batch = v[0], ch = v[1], outC = v[2], h = v[3], w = v[4], kh = v[5], kw = v[6], pad = v[7];
            int stride = v[8], dil = v[9];
            int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
            int ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
            String what = Arrays.toString(v);
            assertTrue(SIMD.tapsPay(batch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow), what);
            int k = ch * kh * kw;
            float[] wt = random(outC * k + 3, 50, -1f, 1f);
            float[] x = random(batch * ch * h * w + 2, 51, -1f, 1f);
            float[] g = random(batch * outC * oh * ow + 4, 52, -1f, 1f);
            float[] gx0 = random(batch * ch * h * w + 1, 53, -1f, 1f);
            float[] e = new float[batch * outC * oh * ow + 5];
            REF.conv2dTaps(wt, 3, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, e, 5);
            float[] eg = gx0.clone();
            REF.conv2dTapsInputGrad(wt, 3, outC, g, 4, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                    oh, ow, eg, 1);
            float[] dw0 = random(outC * k + 6, 54, -1f, 1f);
            float[] ew0 = new float[outC * k + 6];
            REF.conv2dTapsWeightGrad(g, 4, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                    oh, ow, 0f, ew0, 6);
            float[] ew1 = dw0.clone();
            REF.conv2dTapsWeightGrad(g, 4, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                    oh, ow, 1f, ew1, 6);
            float[] firstOut = null;
            float[] firstGrad = null;
            float[] firstWeightGrad = null;
            for (int threads : new int[] {1, 2}) {
                Parallel.setThreads(threads);
                float[] a = new float[e.length];
                Arrays.fill(a, Float.NaN); // overwritten, never read
                SIMD.conv2dTaps(wt, 3, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow,
                        a, 5);
                float[] ag = gx0.clone();
                SIMD.conv2dTapsInputGrad(wt, 3, outC, g, 4, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                        oh, ow, ag, 1);
                float[] expectedOut = e.clone();
                Arrays.fill(expectedOut, 0, 5, Float.NaN);
                assertClose(expectedOut, a, 2e-6 * Math.sqrt(k) + 1e-6, "output " + what);
                assertClose(eg, ag, 2e-6 * Math.sqrt(outC * kh * kw) + 1e-6, "input gradient " + what);
                // the weight gradient: overwriting (dw never read: NaN stays out) and accumulating
                float[] aw0 = new float[ew0.length];
                Arrays.fill(aw0, 6, aw0.length, Float.NaN);
                SIMD.conv2dTapsWeightGrad(g, 4, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                        oh, ow, 0f, aw0, 6);
                float[] aw1 = dw0.clone();
                SIMD.conv2dTapsWeightGrad(g, 4, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                        oh, ow, 1f, aw1, 6);
                double tolW = 2e-6 * Math.sqrt(batch * oh * ow) + 1e-6;
                assertClose(ew0, aw0, tolW, "weight gradient " + what);
                assertClose(ew1, aw1, tolW, "weight gradient added " + what);
                if (firstOut == null) {
                    firstOut = a;
                    firstGrad = ag;
                    firstWeightGrad = aw1;
                } else {
                    assertArrayEquals(firstOut, a, "1 against 2 threads " + what);
                    assertArrayEquals(firstGrad, ag, "1 against 2 threads " + what);
                    assertArrayEquals(firstWeightGrad, aw1, "1 against 2 threads " + what);
                }
            }
        }
        // where they do not pay: a batch too small to fill the panels, larger images
        assertTrue(!SIMD.tapsPay(2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2));
        assertTrue(!SIMD.tapsPay(16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8));
        // layer4's first, stride 2, with a batch that fills whole panels of either height (6 or 8 rows)
        assertTrue(SIMD.tapsPay(24, 4, 4, 3, 3, 1, 1, 2, 2, 1, 1, 2, 2));
        assertTrue(!REF.tapsPay(16, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2));
        // mostly padding but too many positions for a plan: a 1x1 image padded by 1000
        assertTrue(!SIMD.tapsPay(16, 1, 1, 3, 3, 1000, 1000, 1, 1, 1, 1, 1999, 1999));
        // kernels of more taps than the input gradient's copy of W holds per row (13 x 13 > 144)
        assertTrue(SIMD.tapsPay(16, 1, 1, 11, 11, 5, 5, 1, 1, 1, 1, 1, 1));
        assertTrue(!SIMD.tapsPay(16, 1, 1, 13, 13, 6, 6, 1, 1, 1, 1, 1, 1));
    }

    /**
     * Each thread keeps the tap-class plans of its last four shapes: shapes that differ in one
     * argument each (batch, padding, stride, dilation, image size), taken in turns more than four
     * apart and then again, each forward against the reference.
     */
    @Test
    void tapPlansFollowTheirShape() {
        int[][] convs = {
            // batch, channels, outC, h, w, kH, kW, pad, stride, dilation
            {16, 8, 12, 2, 2, 3, 3, 1, 1, 1}, {8, 8, 12, 2, 2, 3, 3, 1, 1, 1}, {16, 8, 12, 2, 2, 3, 3, 2, 1, 1},
            {24, 8, 12, 4, 4, 3, 3, 1, 2, 1}, {9, 8, 12, 3, 2, 3, 3, 2, 1, 2}, {16, 8, 12, 1, 1, 3, 3, 1, 1, 1},
        };
        Parallel.setThreads(2);
        for (int round = 0; round < 3; round++) {
            for (int j = 0; j < convs.length; j++) {
                int[] v = convs[round == 1 ? convs.length - 1 - j : j];
                int batch = v[0], ch = v[1], outC = v[2], h = v[3], w = v[4], kh = v[5], kw = v[6], pad = v[7];
                int stride = v[8], dil = v[9];
                int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
                int ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
                String what = Arrays.toString(v) + " round " + round;
                assertTrue(SIMD.tapsPay(batch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow), what);
                float[] wt = random(outC * ch * kh * kw, 60 + j, -1f, 1f);
                float[] x = random(batch * ch * h * w, 70 + j, -1f, 1f);
                float[] e = new float[batch * outC * oh * ow];
                REF.conv2dTaps(wt, 0, outC, x, 0, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow,
                        e, 0);
                float[] a = new float[e.length];
                SIMD.conv2dTaps(wt, 0, outC, x, 0, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow,
                        a, 0);
                assertClose(e, a, 2e-6 * Math.sqrt(ch * kh * kw) + 1e-6, what);
            }
        }
    }

    /**
     * The forward of first layers straight from the images (DirectConv) against the reference's GEMM:
     * conv1 of ResNet-18, strides 1 to 3, rows that end in a part tile, output channels that end in
     * a part panel, one to four channels, rectangular kernels and images; and the weight gradient of
     * these shapes from grad as the forward wrote it. Bit-identical on 1 and 2 threads.
     */
    @Test
    void directConvolution() {
        int cols = 2 * PanamaKernels.L;
        int[][] convs = {
            // batch, channels, outC, h, w, kH, kW, pad, stride
            {5, 3, 64, 64, 64, 7, 7, 3, 2}, {3, 3, 7, 33, 2 * cols + 5, 3, 3, 1, 1},
            {1, 1, 1, 9, cols, 1, 1, 0, 1}, {2, 4, 11, 20, 3 * cols + 2, 5, 3, 2, 3},
            {5, 2, 6, 7, cols + 4, 2, 4, 0, 1}, {2, 3, 5, 3 * cols + 3, 3 * cols + 3, 9, 9, 4, 3},
        };
        for (int[] v : convs) {
            int batch = v[0], ch = v[1], outC = v[2], h = v[3], w = v[4], kh = v[5], kw = v[6], pad = v[7];
            int stride = v[8];
            int oh = (h + 2 * pad - kh) / stride + 1;
            int ow = (w + 2 * pad - kw) / stride + 1;
            String what = Arrays.toString(v);
            assertTrue(SIMD.directPays(ch, kh, kw, stride, stride, 1, 1, ow), what);
            int k = ch * kh * kw;
            float[] wt = random(outC * k + 3, 60, -1f, 1f);
            float[] x = random(batch * ch * h * w + 2, 61, -1f, 1f);
            float[] e = new float[batch * outC * oh * ow + 5];
            REF.conv2dDirect(wt, 3, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, 1, 1, oh, ow, e, 5);
            Arrays.fill(e, 0, 5, Float.NaN);
            // the weight gradient from grad as the forward wrote it (image by image from 4 images)
            float[] g = random(batch * outC * oh * ow + 4, 62, -1f, 1f);
            float[] dw0 = random(outC * k + 6, 63, -1f, 1f);
            float[] ew = dw0.clone();
            REF.conv2dTapsWeightGrad(g, 4, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, 1, 1, oh, ow,
                    0.5f, ew, 6);
            double tolW = 2e-6 * Math.sqrt(batch * oh * ow) + 1e-6;
            float[] first = null;
            float[] firstW = null;
            for (int threads : new int[] {1, 2}) {
                Parallel.setThreads(threads);
                float[] a = new float[e.length];
                Arrays.fill(a, Float.NaN); // overwritten, never read
                SIMD.conv2dDirect(wt, 3, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, 1, 1, oh, ow,
                        a, 5);
                assertClose(e, a, 2e-6 * Math.sqrt(k) + 1e-6, "output " + what);
                float[] aw = dw0.clone();
                SIMD.conv2dTapsWeightGrad(g, 4, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, 1, 1,
                        oh, ow, 0.5f, aw, 6);
                assertClose(ew, aw, tolW, "weight gradient " + what);
                if (first == null) {
                    first = a;
                    firstW = aw;
                } else {
                    assertArrayEquals(first, a, "1 against 2 threads " + what);
                    assertArrayEquals(firstW, aw, "1 against 2 threads " + what);
                }
            }
        }
        // an infinite input, an odd depth (45), read by the last tap of output (2, 5): the outputs
        // that read it are infinite or NaN as in the reference, the rest (whose tiles load it past
        // their row or for their other channels) finite
        int ih = 20, iw = 3 * cols + 2, ioh = (ih + 2 - 5) / 3 + 1, iow = (iw + 2 - 3) / 3 + 1;
        float[] wi = random(11 * 3 * 15, 64, -1f, 1f);
        float[] xi = random(2 * 3 * ih * iw, 65, -1f, 1f);
        xi[(3 + 2) * ih * iw + 9 * iw + 16] = Float.POSITIVE_INFINITY;
        float[] ei = new float[2 * 11 * ioh * iow];
        REF.conv2dDirect(wi, 0, 11, xi, 0, 2, 3, ih, iw, 5, 3, 1, 1, 3, 3, 1, 1, ioh, iow, ei, 0);
        float[] ai = new float[ei.length];
        SIMD.conv2dDirect(wi, 0, 11, xi, 0, 2, 3, ih, iw, 5, 3, 1, 1, 3, 3, 1, 1, ioh, iow, ai, 0);
        assertClose(ei, ai, 1e-5, "an infinite input");
        assertTrue(IntStream.range(0, ei.length).filter(i -> Float.isInfinite(ei[i])).count() > 0);
        // not a first layer: five channels, dilation, rows narrower than a tile, a deep kernel
        assertTrue(!SIMD.directPays(5, 3, 3, 1, 1, 1, 1, 64));
        assertTrue(!SIMD.directPays(3, 3, 3, 1, 1, 2, 2, 64));
        assertTrue(!SIMD.directPays(3, 7, 7, 2, 2, 1, 1, cols - 1));
        assertTrue(!SIMD.directPays(4, 9, 9, 1, 1, 1, 1, 64));
        assertTrue(!SIMD.directPays(3, 3, 3, 5, 5, 1, 1, 64));
        assertTrue(!REF.directPays(3, 7, 7, 2, 2, 1, 1, 32));
    }

    /** Max pooling's backward over enough planes to run in ranges of planes: the reference's bits. */
    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threads")
    void maxPoolBackwardOverManyPlanes(int threads) {
        Parallel.setThreads(threads);
        int planes = 1024, h = 32, w = 32, oh = 16, ow = 16;
        float[] x = random(planes * h * w, 46, -1f, 1f);
        float[] p = new float[planes * oh * ow];
        long[] idx = new long[p.length];
        REF.maxPool2d(x, 0, planes, h, w, 3, 3, 1, 1, 2, 2, 1, 1, oh, ow, p, 0, idx, 0);
        float[] g = random(p.length + 1, 47, -1f, 1f);
        float[] e = random(planes * h * w + 2, 48, -1f, 1f);
        float[] a = e.clone();
        REF.maxPool2dBackward(g, 1, idx, 0, planes, h, w, oh, ow, e, 2);
        SIMD.maxPool2dBackward(g, 1, idx, 0, planes, h, w, oh, ow, a, 2);
        assertArrayEquals(e, a);
    }

    /**
     * A small weight gradient over a long depth is cut into chunks of images (conv1 at batch 16),
     * summed in chunk order: close to the reference, accumulating or fresh (NaN in dw not read),
     * and the same bits on one thread and on two.
     */
    @Test
    void deepWeightGradientInChunksOfImages() {
        int saved = PanamaKernels.deepChunk;
        PanamaKernels.deepChunk = 64;
        try {
            int[][] convs = {
                // batch, channels, h, w, outC, kH, kW, pad, stride, dilation
                {8, 3, 12, 12, 8, 3, 3, 1, 1, 1}, {9, 2, 9, 9, 5, 7, 7, 3, 2, 1}, {13, 3, 20, 20, 64, 7, 7, 3, 2, 1},
            };
            for (int[] v : convs) {
                int batch = v[0], ch = v[1], h = v[2], w = v[3], outC = v[4], kh = v[5], kw = v[6], pad = v[7],
                        stride = v[8], dil = v[9];
                int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
                int ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
                int k = ch * kh * kw;
                int n = batch * oh * ow;
                assertTrue(PanamaKernels.deepChunkImages(outC, k, batch, oh * ow) > 0, Arrays.toString(v));
                float[] x = random(batch * ch * h * w + 2, 41, -1f, 1f);
                float[] g = random(outC * n + 1, 42, -1f, 1f);
                for (float beta : new float[] {1f, 0f}) {
                    float[] dr = random(outC * k + 2, 43, -1f, 1f);
                    if (beta == 0f) {
                        Arrays.fill(dr, Float.NaN);
                    }
                    float[] d1 = dr.clone();
                    float[] d2 = dr.clone();
                    REF.conv2dWeightGrad(g, 1, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                            oh, ow, beta, dr, 2);
                    Parallel.setThreads(1);
                    SIMD.conv2dWeightGrad(g, 1, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                            oh, ow, beta, d1, 2);
                    Parallel.setThreads(2);
                    SIMD.conv2dWeightGrad(g, 1, outC, x, 2, batch, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil,
                            oh, ow, beta, d2, 2);
                    assertArrayEquals(d1, d2, "one thread and two, beta " + beta + " " + Arrays.toString(v));
                    assertClose(dr, d2, 2e-6 * Math.sqrt(n) + 1e-6, "against the reference, beta " + beta + " "
                            + Arrays.toString(v));
                }
            }
        } finally {
            PanamaKernels.deepChunk = saved;
        }
    }

    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threads")
    void convolutionAndPooling(int threads) {
        Parallel.setThreads(threads);
        int[][] convs = {
            // channels, h, w, kH, kW, pad, stride, dilation
            {3, 9, 11, 3, 3, 1, 1, 1}, {2, 10, 10, 3, 3, 1, 2, 1}, {4, 7, 7, 1, 1, 0, 1, 1},
            {2, 12, 13, 7, 7, 3, 2, 1}, {2, 9, 9, 3, 3, 2, 1, 2}, {1, 5, 6, 2, 3, 0, 3, 1},
            {64, 28, 28, 3, 3, 1, 1, 1}, {256, 4, 4, 3, 3, 1, 1, 1}, {128, 8, 8, 3, 3, 1, 2, 1},
            // ResNet-18's 1x1 stride-2 downsampling (col2im by runs, not through a padded copy)
            {64, 16, 16, 1, 1, 0, 2, 1}, {512, 8, 8, 1, 1, 0, 2, 1},
        };
        for (int[] v : convs) {
            int ch = v[0], h = v[1], w = v[2], kh = v[3], kw = v[4], pad = v[5], stride = v[6], dil = v[7];
            int oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
            int ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
            // images 1 and 2 of a batch of three, into columns [1*P, 3*P) of a wider matrix
            float[] x = random(3 * ch * h * w + 1, 18, -1f, 1f);
            int ld = 4 * oh * ow;
            float[] e = random(ch * kh * kw * ld + 3, 19, -1f, 1f);
            float[] a = e.clone();
            int xo = 1 + ch * h * w;
            REF.im2col(x, xo, 2, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, e, 3 + oh * ow, ld);
            SIMD.im2col(x, xo, 2, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, a, 3 + oh * ow, ld);
            assertArrayEquals(e, a, "im2col " + Arrays.toString(v));
            float[] xe = random(3 * ch * h * w + 1, 20, -1f, 1f);
            float[] xa = xe.clone();
            REF.col2imInto(e, 3 + oh * ow, ld, 2, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, xe, xo);
            SIMD.col2imInto(e, 3 + oh * ow, ld, 2, ch, h, w, kh, kw, pad, pad, stride, stride, dil, dil, oh, ow, xa, xo);
            assertArrayEquals(xe, xa, "col2im " + Arrays.toString(v));
            // max pooling on the same geometry (padding at most half the window, as PyTorch requires)
            int pp = Math.min(pad, kh / 2);
            int ph = (h + 2 * pp - dil * (kh - 1) - 1) / stride + 1;
            int pw = (w + 2 * pp - dil * (kw - 1) - 1) / stride + 1;
            float[] pe = new float[ch * ph * pw];
            float[] pa = new float[ch * ph * pw];
            long[] ie = new long[pe.length];
            long[] ia = new long[pe.length];
            REF.maxPool2d(x, 1, ch, h, w, kh, kw, pp, pp, stride, stride, dil, dil, ph, pw, pe, 0, ie, 0);
            SIMD.maxPool2d(x, 1, ch, h, w, kh, kw, pp, pp, stride, stride, dil, dil, ph, pw, pa, 0, ia, 0);
            assertArrayEquals(pe, pa, "maxPool2d");
            assertArrayEquals(ie, ia, "maxPool2d indices");
            float[] ge = new float[ch * h * w];
            float[] ga = new float[ch * h * w];
            REF.maxPool2dBackward(pe, 0, ie, 0, ch, h, w, ph, pw, ge, 0);
            SIMD.maxPool2dBackward(pe, 0, ia, 0, ch, h, w, ph, pw, ga, 0);
            assertArrayEquals(ge, ga, "maxPool2d backward");
            for (int[] o : new int[][] {{1, 1}, {3, 2}, {h, w}}) {
                float[] ae = new float[ch * o[0] * o[1]];
                float[] aa = new float[ch * o[0] * o[1]];
                REF.adaptiveAvgPool2d(x, 1, ch, h, w, o[0], o[1], ae, 0);
                SIMD.adaptiveAvgPool2d(x, 1, ch, h, w, o[0], o[1], aa, 0);
                assertClose(ae, aa, 1e-6, "adaptiveAvgPool2d " + Arrays.toString(o));
                float[] be = new float[ch * h * w];
                float[] ba = new float[ch * h * w];
                REF.adaptiveAvgPool2dBackward(ae, 0, ch, h, w, o[0], o[1], be, 0);
                SIMD.adaptiveAvgPool2dBackward(ae, 0, ch, h, w, o[0], o[1], ba, 0);
                assertClose(be, ba, 1e-6, "adaptiveAvgPool2d backward");
            }
        }
    }

    /**
     * Max pooling over awkward geometry (rows narrower and wider than a vector, odd widths, padding
     * 0/1, stride 1/2/3, kernel 1/2/3, dilation 1/2) and data with many ties (+0 and -0 too), NaN
     * and -inf: values and int64 indices must equal the reference exactly (first maximum in scan
     * order wins, the first NaN wins, an all -inf window takes its first valid tap). Offset 0 makes
     * the first block of the first row load across the array's start, offset 5 does not.
     */
    /**
     * PyTorch 1.13's indices for 2x2 windows with NaN (F.max_pool2d(..., return_indices=True) on
     * [[nan, 1], [nan, 2]], [[1, nan], [nan, 2]], [[nan, nan], [1, 2]]): the last NaN in scan order.
     * One window per plane, and 40 wide planes of the same (so the SIMD path sees them too).
     */
    @org.junit.jupiter.api.Test
    void maxPoolTakesTheLastNaNAsPyTorch() {
        float n = Float.NaN;
        float[][] windows = {{n, 1, n, 2}, {1, n, n, 2}, {n, n, 1, 2}};
        long[] expected = {2, 2, 1};
        for (Kernels k : new Kernels[] {REF, SIMD}) {
            for (int w = 0; w < windows.length; w++) {
                float[] out = new float[1];
                long[] idx = new long[1];
                k.maxPool2d(windows[w], 0, 1, 2, 2, 2, 2, 0, 0, 2, 2, 1, 1, 1, 1, out, 0, idx, 0);
                assertEquals(expected[w], idx[0], k.name() + " window " + w);
                assertEquals(Float.NaN, out[0]);
                // the same windows side by side in a 2 x 80 plane: 40 outputs, vector-wide rows
                float[] wide = new float[2 * 80];
                for (int j = 0; j < 40; j++) {
                    wide[2 * j] = windows[w][0];
                    wide[2 * j + 1] = windows[w][1];
                    wide[80 + 2 * j] = windows[w][2];
                    wide[80 + 2 * j + 1] = windows[w][3];
                }
                float[] outs = new float[40];
                long[] idxs = new long[40];
                k.maxPool2d(wide, 0, 1, 2, 80, 2, 2, 0, 0, 2, 2, 1, 1, 1, 40, outs, 0, idxs, 0);
                for (int j = 0; j < 40; j++) {
                    long e = expected[w] / 2 * 80 + expected[w] % 2 + 2 * j;
                    assertEquals(e, idxs[j], k.name() + " window " + w + " at output " + j);
                }
            }
        }
    }

    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threads")
    void maxPoolAwkward(int threads) {
        Parallel.setThreads(threads);
        float[] palette = {-1f, 0f, -0f, 1f, 2f, Float.NaN, Float.NEGATIVE_INFINITY};
        int ch = 3;
        for (int width : new int[] {1, 3, 7, 16, 17, 31, 32, 33, 50, 112}) {
            for (int height : new int[] {1, 4, 9}) {
                for (int data = 0; data < 4; data++) {
                    // 0: distinct values; 1: ties; 2: ties, rare NaN; 3: mostly -inf
                    SplittableRandom r = new SplittableRandom(31L * width + height + 1000L * data);
                    int offset = data % 2 == 0 ? 0 : 5;
                    float[] x = new float[offset + ch * height * width];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = switch (data) {
                            case 0 -> (float) r.nextDouble(-1, 1);
                            case 1 -> palette[r.nextInt(5)];
                            case 2 -> r.nextInt(40) == 0 ? Float.NaN : palette[r.nextInt(5)];
                            default -> r.nextInt(5) == 0 ? palette[r.nextInt(7)] : Float.NEGATIVE_INFINITY;
                        };
                    }
                    for (int k = 1; k <= 3; k++) {
                        for (int stride = 1; stride <= 3; stride++) {
                            for (int pad = 0; pad <= k / 2; pad++) {
                                for (int dil = 1; dil <= 2; dil++) {
                                    int oh = (height + 2 * pad - dil * (k - 1) - 1) / stride + 1;
                                    int ow = (width + 2 * pad - dil * (k - 1) - 1) / stride + 1;
                                    if (oh < 1 || ow < 1) {
                                        continue;
                                    }
                                    String what = "maxPool2d " + height + "x" + width + " k=" + k + " s=" + stride
                                            + " p=" + pad + " d=" + dil + " data=" + data;
                                    float[] pe = new float[ch * oh * ow + 2];
                                    float[] pa = new float[pe.length];
                                    long[] ie = new long[pe.length];
                                    long[] ia = new long[pe.length];
                                    REF.maxPool2d(x, offset, ch, height, width, k, k, pad, pad, stride, stride, dil, dil,
                                            oh, ow, pe, 1, ie, 2);
                                    SIMD.maxPool2d(x, offset, ch, height, width, k, k, pad, pad, stride, stride, dil, dil,
                                            oh, ow, pa, 1, ia, 2);
                                    assertArrayEquals(pe, pa, what);
                                    assertArrayEquals(ie, ia, what + " indices");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threads")
    void batchNorm(int threads) {
        Parallel.setThreads(threads);
        // planes below PanamaKernels.BN_ROW_PLANE take the row-wise passes; 40 and 17 images sum in chunks
        int[][] shapes = {{1, 1, 1}, {2, 3, 7}, {4, 5, 33}, {3, 2, 4099}, {8, 64, 196}, {40, 6, 4}, {17, 37, 16},
            {16, 20, 256}, {2, 300, 1}};
        for (int[] s : shapes) {
            int batch = s[0], ch = s[1], sp = s[2];
            int n = batch * ch * sp;
            float[] x = random(n, 21, -2f, 3f);
            float[] w = random(ch, 22, 0.5f, 1.5f);
            float[] bias = random(ch, 23, -1f, 1f);
            float[] eo = new float[n], ao = new float[n];
            float[] em = new float[ch], am = new float[ch], es = new float[ch], as = new float[ch];
            float[] ev = new float[ch], av = new float[ch];
            REF.batchNormTrain(x, 0, batch, ch, sp, w, bias, 1e-5f, eo, 0, em, es, ev);
            SIMD.batchNormTrain(x, 0, batch, ch, sp, w, bias, 1e-5f, ao, 0, am, as, av);
            String what = "batch norm " + Arrays.toString(s);
            assertClose(em, am, 1e-6, what + " mean");
            assertClose(es, as, 1e-5, what + " invstd");
            assertClose(ev, av, 1e-5, what + " var");
            // out = x * scale + shift, fused or not: the rounding of x * scale (|x| <= 3) is the bound
            // when a channel's variance is tiny (two values per channel) and scale large
            double maxScale = 0;
            for (int c = 0; c < ch; c++) {
                maxScale = Math.max(maxScale, es[c] * Math.abs(w[c]));
            }
            assertClose(eo, ao, 1e-5 + 3 * 3 * maxScale * Math.ulp(1f), what + " out");
            REF.batchNormEval(x, 0, batch, ch, sp, w, null, em, ev, 1e-5f, eo, 0);
            SIMD.batchNormEval(x, 0, batch, ch, sp, w, null, em, ev, 1e-5f, ao, 0);
            assertClose(eo, ao, 1e-6 + 3 * 3 * maxScale * Math.ulp(1f), what + " eval");
            float[] g = random(n, 24, -1f, 1f);
            float[] egi = random(n, 25, -1f, 1f), agi = egi.clone();
            float[] egw = new float[ch], agw = new float[ch], egb = new float[ch], agb = new float[ch];
            REF.batchNormTrainBackward(g, 0, x, 0, batch, ch, sp, w, em, es, egi, 0, true, egw, egb);
            SIMD.batchNormTrainBackward(g, 0, x, 0, batch, ch, sp, w, em, es, agi, 0, true, agw, agb);
            double tol = 1e-6 * Math.sqrt(batch * sp) + 1e-6;
            assertClose(egb, agb, tol, what + " grad bias");
            assertClose(egw, agw, tol, what + " grad weight");
            assertClose(egi, agi, 1e-5, what + " grad input");
            // overwriting: the same as accumulating into zeros, bit for bit, also in place over grad
            for (Kernels k : new Kernels[] {REF, SIMD}) {
                float[] zeros = new float[n];
                k.batchNormTrainBackward(g, 0, x, 0, batch, ch, sp, w, em, es, zeros, 0, true, null, null);
                float[] over = random(n, 27, -1f, 1f);
                k.batchNormTrainBackward(g, 0, x, 0, batch, ch, sp, w, em, es, over, 0, false, null, null);
                assertArrayEquals(zeros, over, what + " " + k.name() + " grad input overwritten");
                float[] inPlace = g.clone();
                float[] gw2 = new float[ch], gb2 = new float[ch];
                float[] gw1 = new float[ch], gb1 = new float[ch];
                k.batchNormTrainBackward(g, 0, x, 0, batch, ch, sp, w, em, es, null, 0, true, gw1, gb1);
                k.batchNormTrainBackward(inPlace, 0, x, 0, batch, ch, sp, w, em, es, inPlace, 0, false, gw2, gb2);
                assertArrayEquals(zeros, inPlace, what + " " + k.name() + " grad input in place over grad");
                assertArrayEquals(gw1, gw2, what + " " + k.name() + " grad weight with the input gradient in place");
                assertArrayEquals(gb1, gb2, what + " " + k.name() + " grad bias with the input gradient in place");
            }
        }
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("sizesAndThreads")
    void optimizers(int n, int threads) {
        Parallel.setThreads(threads);
        float[] g = random(n, 26, -1f, 1f);
        for (boolean nesterov : new boolean[] {false, true}) {
            for (boolean first : new boolean[] {false, true}) {
                float[] we = random(n, 27, -1f, 1f), wa = we.clone();
                float[] be = random(n, 28, -1f, 1f), ba = be.clone();
                REF.sgdStep(we, 0, g, 0, be, 0, n, 0.1f, 0.9f, 0.1f, 1e-4f, nesterov, first);
                SIMD.sgdStep(wa, 0, g, 0, ba, 0, n, 0.1f, 0.9f, 0.1f, 1e-4f, nesterov, first);
                assertArrayEquals(we, wa, "sgd w");
                assertArrayEquals(be, ba, "sgd buf");
            }
        }
        float[] we = random(n, 29, -1f, 1f), wa = we.clone();
        REF.sgdStep(we, 0, g, 0, null, 0, n, 0.1f, 0f, 0f, 0f, false, true);
        SIMD.sgdStep(wa, 0, g, 0, null, 0, n, 0.1f, 0f, 0f, 0f, false, true);
        assertArrayEquals(we, wa, "plain sgd");
        for (boolean decoupled : new boolean[] {false, true}) {
            float[] w1 = random(n, 30, -1f, 1f), w2 = w1.clone();
            float[] m1 = random(n, 31, -0.1f, 0.1f), m2 = m1.clone();
            float[] v1 = random(n, 32, 0f, 0.01f), v2 = v1.clone();
            REF.adamStep(w1, 0, g, 0, m1, v1, 0, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, 0.19f, 0.003f);
            SIMD.adamStep(w2, 0, g, 0, m2, v2, 0, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, 0.19f, 0.003f);
            assertArrayEquals(m1, m2, "adam m");
            assertArrayEquals(v1, v2, "adam v");
            assertClose(w1, w2, 1e-6, "adam w");
        }
    }
}
