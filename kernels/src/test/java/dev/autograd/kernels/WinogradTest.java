package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernelsTest.REF;
import static dev.autograd.kernels.PanamaKernelsTest.SIMD;
import static dev.autograd.kernels.PanamaKernelsTest.assertClose;
import static dev.autograd.kernels.PanamaKernelsTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Winograd F(2x2, 3x3) and F(4x4, 3x3): the reference transforms and 16 (36) products give the
 * direct convolution (im2col + GEMM) and its two gradients; each backward transform is the adjoint
 * of its forward one; the SIMD transforms equal the reference's, on 1 and 2 threads.
 */
class WinogradTest {

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    /** batch, channels, outC, height, width, pad. */
    static final int[][] SHAPES = {
        {1, 1, 1, 1, 1, 1}, {1, 1, 1, 3, 3, 0}, {2, 3, 5, 7, 9, 1}, {1, 2, 3, 6, 6, 0}, {3, 4, 2, 5, 4, 2},
        {2, 17, 33, 8, 8, 1}, {16, 20, 24, 2, 2, 1}, {2, 9, 7, 16, 16, 1}, {1, 3, 2, 11, 6, 1},
        {2, 5, 3, 13, 10, 1}, {1, 4, 6, 9, 9, 2},
    };

    static final int[] TILES = {2, 4};

    static Stream<Arguments> shapesAndThreads() {
        return Arrays.stream(TILES).boxed().flatMap(m -> Arrays.stream(SHAPES).flatMap(
                s -> Stream.of(Arguments.of(m, s, 1), Arguments.of(m, s, 2))));
    }

    /**
     * The error bound of a tile size relative to F(2x2, 3x3)'s: F(4x4, 3x3)'s transforms hold 4, 5, 8
     * and 1/24, and its outputs round 14x as far from the float64 convolution
     * ({@link #roundingAgainstFloat64}).
     */
    static double scale(int tile) {
        return tile == 2 ? 1 : 20;
    }

    /** The sizes of one shape and the convolution through each implementation's transforms. */
    record Conv(int tile, int batch, int channels, int outC, int height, int width, int pad) {
        Conv(int tile, int[] s) {
            this(tile, s[0], s[1], s[2], s[3], s[4], s[5]);
        }

        int points() {
            return (tile + 2) * (tile + 2);
        }

        int outH() {
            return height + 2 * pad - 2;
        }

        int outW() {
            return width + 2 * pad - 2;
        }

        int tiles() {
            return batch * ((outH() + tile - 1) / tile) * ((outW() + tile - 1) / tile);
        }

        int n() {
            return batch * outH() * outW();
        }

        float[] forward(Kernels k, float[] w, float[] x) {
            int t = tiles();
            int p = points();
            float[] u = new float[p * outC * channels];
            float[] v = new float[p * channels * t];
            float[] m = new float[p * outC * t];
            k.winogradWeights(tile, w, 0, outC, channels, u);
            k.winogradInput(tile, x, 0, batch, channels, height, width, pad, pad, outH(), outW(), v);
            k.sgemmBatch(p, false, false, outC, t, channels, 1f, u, 0, outC * channels, channels,
                    v, 0, channels * t, t, 0f, m, 0, outC * t, t);
            float[] out = new float[batch * outC * outH() * outW() + 2];
            out[out.length - 1] = 42f;
            k.winogradOutput(tile, m, batch, outC, outH(), outW(), out, 1);
            return out;
        }

        /** Input gradient accumulated into gx (offset 1) and weight gradient with beta into dw (offset 2). */
        void backward(Kernels k, float[] w, float[] x, float[] grad, float[] gx, float beta, float[] dw) {
            int t = tiles();
            int p = points();
            float[] u = new float[p * outC * channels];
            float[] v = new float[p * channels * t];
            float[] dm = new float[p * outC * t];
            float[] du = new float[p * outC * channels];
            float[] dv = new float[p * channels * t];
            k.winogradWeights(tile, w, 0, outC, channels, u);
            k.winogradInput(tile, x, 0, batch, channels, height, width, pad, pad, outH(), outW(), v);
            k.winogradGradOutput(tile, grad, 0, batch, outC, outH(), outW(), dm);
            k.sgemmBatch(p, false, true, outC, channels, t, 1f, dm, 0, outC * t, t, v, 0, channels * t, t,
                    0f, du, 0, outC * channels, channels);
            k.winogradWeightsBackward(tile, du, outC, channels, beta, dw, 2);
            k.sgemmBatch(p, true, false, channels, t, outC, 1f, u, 0, outC * channels, channels,
                    dm, 0, outC * t, t, 0f, dv, 0, channels * t, t);
            k.winogradInputBackward(tile, dv, batch, channels, height, width, pad, pad, outH(), outW(), gx, 1);
        }
    }

    /** The direct convolution through the reference: [B, O, outH, outW]. */
    static float[] direct(Conv s, float[] w, float[] x) {
        int n = s.n();
        int kk = 9 * s.channels();
        float[] col = new float[kk * n];
        REF.im2col(x, 0, s.batch(), s.channels(), s.height(), s.width(), 3, 3, s.pad(), s.pad(), 1, 1, 1, 1,
                s.outH(), s.outW(), col, 0, n);
        float[] t = new float[s.outC() * n];
        REF.sgemm(false, false, s.outC(), n, kk, 1f, w, 0, kk, col, 0, n, 0f, t, 0, n);
        return toImages(t, s.batch(), s.outC(), s.outH() * s.outW());
    }

    /** [O, B*P] to [B, O, P]. */
    static float[] toImages(float[] t, int batch, int outC, int plane) {
        float[] out = new float[t.length];
        for (int o = 0; o < outC; o++) {
            for (int b = 0; b < batch; b++) {
                System.arraycopy(t, (o * batch + b) * plane, out, (b * outC + o) * plane, plane);
            }
        }
        return out;
    }

    static float[] data(Conv s, long seed) {
        return random(s.batch() * s.channels() * s.height() * s.width(), seed, -1f, 1f);
    }

    @ParameterizedTest(name = "tile={0}")
    @MethodSource("tiles")
    void referenceEqualsTheDirectConvolutionAndItsGradients(int tile) {
        for (int[] shape : SHAPES) {
            Conv s = new Conv(tile, shape);
            String what = "F(" + tile + ") " + Arrays.toString(shape);
            float[] w = random(s.outC() * s.channels() * 9, 1, -1f, 1f);
            float[] x = data(s, 2);
            float[] out = s.forward(REF, w, x);
            assertEquals(42f, out[out.length - 1], what + ": past the output");
            float tol = (float) (1e-5 * scale(tile) * Math.sqrt(9 * s.channels()));
            assertClose(direct(s, w, x), Arrays.copyOfRange(out, 1, out.length - 1), tol, "forward " + what);

            // gradients against the direct ones: dx = col2im(W^T g), dW = g col^T
            int n = s.n();
            int kk = 9 * s.channels();
            int plane = s.outH() * s.outW();
            float[] grad = random(s.batch() * s.outC() * plane, 3, -1f, 1f);
            float[] gT = new float[grad.length]; // [O, B*P]
            for (int o = 0; o < s.outC(); o++) {
                for (int b = 0; b < s.batch(); b++) {
                    System.arraycopy(grad, (b * s.outC() + o) * plane, gT, (o * s.batch() + b) * plane, plane);
                }
            }
            float[] dcol = new float[kk * n];
            REF.sgemm(true, false, kk, n, s.outC(), 1f, w, 0, kk, gT, 0, n, 0f, dcol, 0, n);
            float[] gx0 = random(x.length + 1, 4, -1f, 1f);
            float[] gxe = gx0.clone();
            REF.col2imInto(dcol, 0, n, s.batch(), s.channels(), s.height(), s.width(), 3, 3, s.pad(), s.pad(),
                    1, 1, 1, 1, s.outH(), s.outW(), gxe, 1);
            float[] col = new float[kk * n];
            REF.im2col(x, 0, s.batch(), s.channels(), s.height(), s.width(), 3, 3, s.pad(), s.pad(), 1, 1, 1, 1,
                    s.outH(), s.outW(), col, 0, n);
            float[] dw0 = random(w.length + 2, 5, -1f, 1f);
            float[] dwe = dw0.clone();
            REF.sgemm(false, true, s.outC(), kk, n, 1f, gT, 0, n, col, 0, n, 1f, dwe, 2, kk);
            float[] gxa = gx0.clone();
            float[] dwa = dw0.clone();
            s.backward(REF, w, x, grad, gxa, 1f, dwa);
            assertClose(gxe, gxa, 1e-5 * scale(tile) * Math.sqrt(9 * s.outC()), "input gradient " + what);
            assertClose(dwe, dwa, 1e-5 * scale(tile) * Math.sqrt(n), "weight gradient " + what);
        }
    }

    static int[] tiles() {
        return TILES;
    }

    /**
     * How far each path's forward is from the convolution in float64, relative to the largest output:
     * where {@link #scale} comes from. A 64-channel layer (ResNet-18's layer1) at 16x16, batch 2.
     */
    static double errorAgainstFloat64(Kernels k, int tile) {
        Conv s = new Conv(tile == 0 ? 2 : tile, 2, 64, 64, 16, 16, 1);
        float[] w = random(s.outC() * s.channels() * 9, 21, -1f, 1f);
        float[] x = data(s, 22);
        float[] out = tile == 0 ? direct(s, w, x) : Arrays.copyOfRange(s.forward(k, w, x), 1, s.n() * s.outC() + 1);
        int plane = s.outH() * s.outW();
        double worst = 0;
        double largest = 0;
        for (int b = 0; b < s.batch(); b++) {
            for (int o = 0; o < s.outC(); o++) {
                for (int h = 0; h < s.outH(); h++) {
                    for (int v = 0; v < s.outW(); v++) {
                        double sum = 0;
                        for (int c = 0; c < s.channels(); c++) {
                            for (int i = 0; i < 3; i++) {
                                for (int j = 0; j < 3; j++) {
                                    int y = h - s.pad() + i;
                                    int z = v - s.pad() + j;
                                    if (y >= 0 && y < s.height() && z >= 0 && z < s.width()) {
                                        sum += (double) w[(o * s.channels() + c) * 9 + 3 * i + j]
                                                * x[((b * s.channels() + c) * s.height() + y) * s.width() + z];
                                    }
                                }
                            }
                        }
                        worst = Math.max(worst, Math.abs(sum - out[(b * s.outC() + o) * plane + h * s.outW() + v]));
                        largest = Math.max(largest, Math.abs(sum));
                    }
                }
            }
        }
        return worst / largest;
    }

    @Test
    void roundingAgainstFloat64() {
        // measured (of the largest output; float32's epsilon is 1.2e-7): the reference GEMM on im2col
        // 5.6e-8; F(2x2, 3x3) 1.3e-7 (reference), 3.2e-7 (SIMD); F(4x4, 3x3) 2.0e-6 and 4.5e-6, 14x
        // F(2x2)'s. Bounds of about twice each
        assertBelow(errorAgainstFloat64(REF, 0), 1.5e-7, "im2col + GEMM");
        for (Kernels k : new Kernels[] {REF, SIMD}) {
            assertBelow(errorAgainstFloat64(k, 2), 7e-7, k.name() + " F(2x2, 3x3)");
            assertBelow(errorAgainstFloat64(k, 4), 1e-5, k.name() + " F(4x4, 3x3)");
        }
    }

    /** {@code <a, b>} in double. */
    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    static void assertBelow(double error, double bound, String what) {
        org.junit.jupiter.api.Assertions.assertTrue(error <= bound, what + ": " + error + " of the largest output");
    }

    @ParameterizedTest(name = "tile={0} shape={1} threads={2}")
    @MethodSource("shapesAndThreads")
    void backwardTransformsAreTheAdjoints(int tile, int[] shape, int threads) {
        Parallel.setThreads(threads);
        Conv s = new Conv(tile, shape);
        int p = s.points();
        for (Kernels k : new Kernels[] {REF, SIMD}) {
            String what = k.name() + " F(" + tile + ") " + Arrays.toString(shape);
            int t = s.tiles();
            // output: <A^T M A, y> = <M, A y A^T>
            float[] m = random(p * s.outC() * t, 6, -1f, 1f);
            float[] y = random(s.batch() * s.outC() * s.outH() * s.outW(), 7, -1f, 1f);
            float[] am = new float[y.length];
            k.winogradOutput(tile, m, s.batch(), s.outC(), s.outH(), s.outW(), am, 0);
            float[] ay = new float[m.length];
            k.winogradGradOutput(tile, y, 0, s.batch(), s.outC(), s.outH(), s.outW(), ay);
            assertClose((float) dot(am, y), (float) dot(m, ay), 1e-5 * scale(tile), "output " + what);
            // input: <B^T d B, dv> = <d, B dv B^T>
            float[] x = data(s, 8);
            float[] dv = random(p * s.channels() * t, 9, -1f, 1f);
            float[] v = new float[dv.length];
            k.winogradInput(tile, x, 0, s.batch(), s.channels(), s.height(), s.width(), s.pad(), s.pad(), s.outH(), s.outW(), v);
            float[] bx = new float[x.length];
            k.winogradInputBackward(tile, dv, s.batch(), s.channels(), s.height(), s.width(), s.pad(), s.pad(),
                    s.outH(), s.outW(), bx, 0);
            assertClose((float) dot(v, dv), (float) dot(x, bx), 1e-5 * scale(tile), "input " + what);
            // weights: <G g G^T, du> = <g, G^T du G>
            float[] g = random(s.outC() * s.channels() * 9, 10, -1f, 1f);
            float[] du = random(p * s.outC() * s.channels(), 11, -1f, 1f);
            float[] u = new float[du.length];
            k.winogradWeights(tile, g, 0, s.outC(), s.channels(), u);
            float[] gg = new float[g.length + 2];
            k.winogradWeightsBackward(tile, du, s.outC(), s.channels(), 0f, gg, 2);
            assertClose((float) dot(u, du), (float) dot(g, Arrays.copyOfRange(gg, 2, gg.length)), 1e-5 * scale(tile),
                    "weights " + what);
        }
    }

    @ParameterizedTest(name = "tile={0} shape={1} threads={2}")
    @MethodSource("shapesAndThreads")
    void simdEqualsTheReference(int tile, int[] shape, int threads) {
        Parallel.setThreads(threads);
        Conv s = new Conv(tile, shape);
        String what = "F(" + tile + ") " + Arrays.toString(shape);
        float[] w = random(s.outC() * s.channels() * 9, 12, -1f, 1f);
        float[] x = data(s, 13);
        float tol = (float) (1e-5 * scale(tile) * Math.sqrt(9 * s.channels()));
        assertClose(s.forward(REF, w, x), s.forward(SIMD, w, x), tol, "forward " + what);
        float[] grad = random(s.batch() * s.outC() * s.outH() * s.outW(), 14, -1f, 1f);
        for (float beta : new float[] {1f, 0f}) {
            float[] gx = random(x.length + 1, 15, -1f, 1f);
            float[] dw = random(w.length + 2, 16, -1f, 1f);
            if (beta == 0f) {
                Arrays.fill(dw, 2, dw.length, Float.NaN);
            }
            float[] gxr = gx.clone();
            float[] dwr = dw.clone();
            s.backward(REF, w, x, grad, gxr, beta, dwr);
            s.backward(SIMD, w, x, grad, gx, beta, dw);
            assertClose(gxr, gx, 1e-5 * scale(tile) * Math.sqrt(9 * s.outC()), "input gradient, beta " + beta + " " + what);
            assertClose(dwr, dw, 1e-5 * scale(tile) * Math.sqrt(s.n()), "weight gradient, beta " + beta + " " + what);
        }
    }

    @ParameterizedTest(name = "threads={0}")
    @MethodSource("dev.autograd.kernels.PanamaKernelsTest#threads")
    void batchedProductsEqualOneAtATime(int threads) {
        Parallel.setThreads(threads);
        int m = 40;
        int n = 70;
        int k = 50;
        float[] a = random(16 * m * k + 1, 17, -1f, 1f);
        float[] b = random(16 * k * n + 2, 18, -1f, 1f);
        float[] c = random(16 * m * n + 3, 19, -1f, 1f);
        float[] expected = c.clone();
        for (int i = 0; i < 16; i++) {
            SIMD.sgemm(true, false, m, n, k, 0.5f, a, 1 + i * m * k, m, b, 2 + i * k * n, n, 1f, expected, 3 + i * m * n, n);
        }
        SIMD.sgemmBatch(16, true, false, m, n, k, 0.5f, a, 1, m * k, m, b, 2, k * n, n, 1f, c, 3, m * n, n);
        assertArrayEquals(expected, c);
    }
}
