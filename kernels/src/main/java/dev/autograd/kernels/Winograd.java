package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.PARALLEL_GRAIN;
import static dev.autograd.kernels.PanamaKernels.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The transforms of Winograd's F(2x2, 3x3) convolution (see {@link Kernels} for the formulas and
 * layouts), vectorised across tiles: lane l of a vector holds tile t0 + l, so the 16 values of a
 * transform are 16 vectors, the arithmetic is vector FMAs, and each of the 16 outputs is one
 * contiguous store into its GEMM operand (the tiles are its fastest index). Windows are gathered
 * from a zero-padded copy of the images through a table of tile offsets, so no lane needs a bounds
 * check; the output and the input gradient, whose tiles do not cover whole rows of the image, are
 * scattered through the same kind of table. Work is split over channels (or output channels), each
 * writing its own rows of the operands.
 *
 * <p>{@link Winograd4} (F(4x4, 3x3)) shares the helpers: padding, tile offsets, the staging array,
 * window gathers and scatter-adds, the parallel split.
 *
 * <p><b>Code shape.</b> A transform's 16 (or 9) vectors go through a small staging array, and
 * every step is a loop over the rows or columns of the 4x4 (each pass one row's formula), not 16
 * unrolled expressions: C2 stops inlining the Vector API into a body with 16 gathers and their
 * arithmetic (its node count cut-off), and boxes a vector a call it did not inline returns, or one
 * merged from two branches. The unrolled first versions allocated 0.1-67 MB per call and ran 2-10x
 * slower. The formulas skip the matrices' zeros (no 0 * x), so a NaN or an infinity reaches only
 * the values that depend on it.
 */
final class Winograd {

    private static final ThreadLocal<float[]> PADDED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<int[]> OFFSETS = ThreadLocal.withInitial(() -> new int[0]);
    /** Lane l reads element 9*l: one float of each of L consecutive 3x3 kernels. */
    static final int[] NINES = nines();

    private Winograd() {
    }

    private static int[] nines() {
        int[] t = new int[L];
        for (int l = 0; l < L; l++) {
            t[l] = 9 * l;
        }
        return t;
    }

    static float[] floats(int size) {
        return Scratch.floats(PADDED, size);
    }

    /**
     * Offsets of every tile's top-left element (tiles {@code step} apart) in images of
     * {@code planeH x planeW} planes, channel 0 ({@code images} floats apart), rounded up to whole
     * vectors with zeros (the tail lanes read element 0 of a plane and are never stored).
     */
    static int[] tileOffsets(int step, int batch, int tilesH, int tilesW, int images, int planeW) {
        int tiles = batch * tilesH * tilesW;
        int size = (tiles + L - 1) / L * L;
        int[] t = Scratch.ints(OFFSETS, size);
        for (int b = 0, q = 0; b < batch; b++) {
            for (int th = 0; th < tilesH; th++) {
                for (int tw = 0; tw < tilesW; tw++, q++) {
                    t[q] = b * images + step * (th * planeW + tw);
                }
            }
        }
        java.util.Arrays.fill(t, tiles, size, 0);
        return t;
    }

    /** Splits [0, n) over the pool when the job, {@code work} floats per index, is large enough. */
    static void split(int n, long work, Parallel.RangeCall call) {
        int grain = n * work < PARALLEL_GRAIN ? Math.max(1, n) : (int) Math.max(1, PARALLEL_GRAIN / Math.max(1, work));
        Parallel.forRange(n, grain, 1, call);
    }

    /**
     * Copies {@code planes} planes of height x width into planes of planeH x planeW at row padH,
     * column padW, zeros around (planeH >= height + padH, planeW >= width + padW).
     */
    static void pad(float[] x, int xOffset, int planes, int height, int width,
                    int padH, int padW, int planeH, int planeW, float[] out) {
        int plane = planeH * planeW;
        PadCall call = PAD_CALLS.get();
        call.plane = plane;
        call.out = out;
        call.xOffset = xOffset;
        call.height = height;
        call.width = width;
        call.x = x;
        call.padH = padH;
        call.planeW = planeW;
        call.padW = padW;
        split(planes, plane, call);
    }

    /** {@link #pad}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class PadCall extends Parallel.RangeCall {
        int plane, xOffset, height, width, padH, planeW, padW;
        float[] out, x;

        @Override
        public void run(int p0, int p1) {
            for (int p = p0; p < p1; p++) {
                int dst = p * plane;
                java.util.Arrays.fill(out, dst, dst + plane, 0f);
                int src = xOffset + p * height * width;
                for (int h = 0; h < height; h++) {
                    copyRow(x, src + h * width, out, dst + (h + padH) * planeW + padW, width);
                }
            }
        }

        @Override
        void clear() {
            out = x = null;
        }
    }

    private static final Parallel.Reused<PadCall> PAD_CALLS = new Parallel.Reused<>(PadCall::new);

    /**
     * {@code n} floats from {@code src[from]} to {@code dst[to]} by vectors, the last one masked. The
     * rows here are short (16, 8, 4 floats for layers 1-3 at 64x64): {@link #pad} of layer1's 1,024
     * planes at batch 16 took 108-114 us with {@code System.arraycopy} per row, 71-74 this way; the
     * whole input transform, alternating call by call: layer1 365 -> 337 us (p25), layer2 216 -> 200,
     * layer3 169 -> 157; the output transform's {@link #cut} unchanged (196 against 197).
     */
    static void copyRow(float[] src, int from, float[] dst, int to, int n) {
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector.fromArray(S, src, from + j).intoArray(dst, to + j);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector.fromArray(S, src, from + j, m).intoArray(dst, to + j, m);
        }
    }

    /**
     * The adjoint of {@link #pad} at row and column 0: the top-left outH x outW of each of
     * {@code planes} planes ({@code plane} floats apart, rows planeW apart) into contiguous images.
     */
    static void cut(float[] src, int planes, int plane, int planeW, int outH, int outW, float[] out, int outOffset) {
        CutCall call = CUT_CALLS.get();
        call.outH = outH;
        call.src = src;
        call.plane = plane;
        call.planeW = planeW;
        call.out = out;
        call.outOffset = outOffset;
        call.outW = outW;
        split(planes, plane, call);
    }

    /** {@link #cut}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class CutCall extends Parallel.RangeCall {
        int outH, plane, planeW, outOffset, outW;
        float[] src, out;

        @Override
        public void run(int p0, int p1) {
            for (int p = p0; p < p1; p++) {
                for (int h = 0; h < outH; h++) {
                    copyRow(src, p * plane + h * planeW, out, outOffset + (p * outH + h) * outW, outW);
                }
            }
        }

        @Override
        void clear() {
            src = out = null;
        }
    }

    private static final Parallel.Reused<CutCall> CUT_CALLS = new Parallel.Reused<>(CutCall::new);

    // ================================================================ tables

    /** B^T's rows as (row a, row b, sign): row i of B^T d is d[a] + sign * d[b]. */
    private static final int[] BT_A = {0, 1, 2, 1};
    private static final int[] BT_B = {2, 2, 1, 3};
    private static final float[] BT_SIGN = {-1f, 1f, -1f, -1f};

    private static final ThreadLocal<float[]> STAGE = ThreadLocal.withInitial(() -> new float[76 * L]);
    /** Where the outputs wait for {@link #scatterStaged}: four vectors past every transform's 72. */
    static final int SCATTER_STAGE = 72 * L;

    /**
     * The calling thread's staging array for one transform: 72 vectors (a transform's operands and
     * its intermediate rows; F(4x4, 3x3)'s input transform uses them all), then four at
     * {@link #SCATTER_STAGE} for the output transforms' scatters. Each task takes it once; no
     * transform calls another.
     */
    static float[] stage() {
        return STAGE.get();
    }

    /**
     * {@code st[k*L ..] = a[at + rowOffsets[k] + offsets[t ..]]} for k < n: the n elements of each
     * tile's window. Gathers on AVX2 too: element by element, layer3's F(2x2) input and weight
     * transforms at batch 16 took a median 1050 against 985 us on a Zen 3 (alternating in one JVM),
     * layer1's F(4x4) the same.
     */
    static void gatherWindows(float[] a, int at, int[] positions, int n, int[] offsets, int t, float[] st) {
        for (int k = 0; k < n; k++) {
            FloatVector.fromArray(S, a, at + positions[k], offsets, t).intoArray(st, k * L);
        }
    }

    /** {@link #positions}' array, per thread. */
    private static final ThreadLocal<int[]> POSITIONS = ThreadLocal.withInitial(() -> new int[0]);

    /**
     * Window positions (i, j) of a rows x cols window in rows planeW apart, row-major, in the calling
     * thread's scratch (longer than rows x cols; valid until its next call).
     */
    static int[] positions(int rows, int cols, int planeW) {
        int[] p = Scratch.ints(POSITIONS, rows * cols);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                p[i * cols + j] = i * planeW + j;
            }
        }
        return p;
    }

    // ================================================================ weights

    static void weights(float[] w, int wOffset, int outC, int channels, float[] u) {
        int oc = outC * channels;
        int groups = oc / L;
        for (int q = groups * L; q < oc; q++) {
            weightsAt(w, wOffset, oc, q, u);
        }
        WeightsCall call = WEIGHTS_CALLS.get();
        call.w = w;
        call.wOffset = wOffset;
        call.oc = oc;
        call.u = u;
        split(groups, 25L * L, call);
    }

    /** {@link #weights}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class WeightsCall extends Parallel.RangeCall {
        float[] w, u;
        int wOffset, oc;

        @Override
        public void run(int g0, int g1) {
            float[] st = stage();
            for (int g = g0; g < g1; g++) {
                int q = g * L;
                // the 9 taps of L kernels (tap k = 3*row + column), lane l from kernel q + l
                for (int k = 0; k < 9; k++) {
                    FloatVector.fromArray(S, w, wOffset + 9 * q + k, NINES, 0).intoArray(st, k * L);
                }
                // G g, column j: (g0, (g0 + g2 + g1)/2, (g0 + g2 - g1)/2, g2), row r staged at 9 + 3*r + j
                for (int j = 0; j < 3; j++) {
                    FloatVector top = FloatVector.fromArray(S, st, j * L);
                    FloatVector middle = FloatVector.fromArray(S, st, (3 + j) * L);
                    FloatVector bottom = FloatVector.fromArray(S, st, (6 + j) * L);
                    FloatVector outer = top.add(bottom);
                    int h = (9 + j) * L;
                    top.intoArray(st, h);
                    outer.add(middle).mul(0.5f).intoArray(st, h + 3 * L);
                    outer.sub(middle).mul(0.5f).intoArray(st, h + 6 * L);
                    bottom.intoArray(st, h + 9 * L);
                }
                // each row (a, b, c) of G g times G^T: (a, (a + c + b)/2, (a + c - b)/2, c)
                for (int i = 0; i < 4; i++) {
                    int h = (9 + 3 * i) * L;
                    FloatVector a = FloatVector.fromArray(S, st, h);
                    FloatVector b = FloatVector.fromArray(S, st, h + L);
                    FloatVector c = FloatVector.fromArray(S, st, h + 2 * L);
                    FloatVector ac = a.add(c);
                    int at = 4 * i * oc + q;
                    a.intoArray(u, at);
                    ac.add(b).mul(0.5f).intoArray(u, at + oc);
                    ac.sub(b).mul(0.5f).intoArray(u, at + 2 * oc);
                    c.intoArray(u, at + 3 * oc);
                }
            }
        }

        @Override
        void clear() {
            w = u = null;
        }
    }

    private static final Parallel.Reused<WeightsCall> WEIGHTS_CALLS = new Parallel.Reused<>(WeightsCall::new);

    static void weightsBackward(float[] du, int outC, int channels, float beta, float[] dw, int dwOffset) {
        int oc = outC * channels;
        int groups = oc / L;
        for (int q = groups * L; q < oc; q++) {
            weightsBackwardAt(du, oc, q, beta, dw, dwOffset);
        }
        WeightsBackwardCall call = WEIGHTS_BACKWARD_CALLS.get();
        call.du = du;
        call.oc = oc;
        call.beta = beta;
        call.dw = dw;
        call.dwOffset = dwOffset;
        split(groups, 25L * L, call);
    }

    /** {@link #weightsBackward}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class WeightsBackwardCall extends Parallel.RangeCall {
        float[] du, dw;
        int oc, dwOffset;
        float beta;

        @Override
        public void run(int g0, int g1) {
            float[] st = stage();
            for (int g = g0; g < g1; g++) {
                int q = g * L;
                kernelGradRows(du, q, oc, st);
                scatterKernels(st, beta, dw, dwOffset + 9 * q);
            }
        }

        @Override
        void clear() {
            du = dw = null;
        }
    }

    private static final Parallel.Reused<WeightsBackwardCall> WEIGHTS_BACKWARD_CALLS =
            new Parallel.Reused<>(WeightsBackwardCall::new);

    /**
     * G^T dU G for L kernels into the staging array, taps row-major: column j of G^T dU is
     * (u0 + (u1 + u2)/2, (u1 - u2)/2, (u1 + u2)/2 + u3), staged at vectors 9.. ; each row (a, b, c, d)
     * of it times G is (a + (b + c)/2, (b - c)/2, (b + c)/2 + d). Written without the zeros of G, so
     * that a NaN reaches only the taps that depend on it, as in the reference.
     */
    private static void kernelGradRows(float[] du, int q, int oc, float[] st) {
        for (int j = 0; j < 4; j++) {
            FloatVector u0 = FloatVector.fromArray(S, du, j * oc + q);
            FloatVector u1 = FloatVector.fromArray(S, du, (4 + j) * oc + q);
            FloatVector u2 = FloatVector.fromArray(S, du, (8 + j) * oc + q);
            FloatVector u3 = FloatVector.fromArray(S, du, (12 + j) * oc + q);
            FloatVector s = u1.add(u2).mul(0.5f);
            u0.add(s).intoArray(st, (9 + j) * L);
            u1.sub(u2).mul(0.5f).intoArray(st, (13 + j) * L);
            s.add(u3).intoArray(st, (17 + j) * L);
        }
        for (int i = 0; i < 3; i++) {
            int r = (9 + 4 * i) * L;
            FloatVector a = FloatVector.fromArray(S, st, r);
            FloatVector b = FloatVector.fromArray(S, st, r + L);
            FloatVector c = FloatVector.fromArray(S, st, r + 2 * L);
            FloatVector d = FloatVector.fromArray(S, st, r + 3 * L);
            FloatVector h = b.add(c).mul(0.5f);
            a.add(h).intoArray(st, 3 * i * L);
            b.sub(c).mul(0.5f).intoArray(st, (3 * i + 1) * L);
            h.add(d).intoArray(st, (3 * i + 2) * L);
        }
    }

    /** The staged taps into {@code dw[at + 9*l + k]}: beta times what is there (not read when beta is 0) plus the tap. */
    static void scatterKernels(float[] st, float beta, float[] dw, int at) {
        for (int k = 0; k < 9; k++) {
            for (int l = 0; l < L; l++) {
                int to = at + k + 9 * l;
                dw[to] = beta != 0f ? dw[to] * beta + st[k * L + l] : st[k * L + l];
            }
        }
    }

    /** {@link #weights} for kernel q alone (the kernels past the last whole vector). */
    private static void weightsAt(float[] w, int wOffset, int oc, int q, float[] u) {
        float[] h = new float[12];
        int at = wOffset + 9 * q;
        for (int j = 0; j < 3; j++) {
            float a = w[at + j];
            float b = w[at + 3 + j];
            float c = w[at + 6 + j];
            h[j] = a;
            h[3 + j] = (a + c + b) * 0.5f;
            h[6 + j] = (a + c - b) * 0.5f;
            h[9 + j] = c;
        }
        for (int i = 0; i < 4; i++) {
            float a = h[3 * i];
            float b = h[3 * i + 1];
            float c = h[3 * i + 2];
            u[4 * i * oc + q] = a;
            u[(4 * i + 1) * oc + q] = (a + c + b) * 0.5f;
            u[(4 * i + 2) * oc + q] = (a + c - b) * 0.5f;
            u[(4 * i + 3) * oc + q] = c;
        }
    }

    /** {@link #weightsBackward} for kernel q alone. */
    private static void weightsBackwardAt(float[] du, int oc, int q, float beta, float[] dw, int dwOffset) {
        float[] r = new float[12];
        for (int j = 0; j < 4; j++) {
            float u0 = du[j * oc + q];
            float u1 = du[(4 + j) * oc + q];
            float u2 = du[(8 + j) * oc + q];
            float u3 = du[(12 + j) * oc + q];
            float s = (u1 + u2) * 0.5f;
            r[j] = u0 + s;
            r[4 + j] = (u1 - u2) * 0.5f;
            r[8 + j] = s + u3;
        }
        int at = dwOffset + 9 * q;
        for (int i = 0; i < 3; i++) {
            float u0 = r[4 * i];
            float u1 = r[4 * i + 1];
            float u2 = r[4 * i + 2];
            float u3 = r[4 * i + 3];
            float s = (u1 + u2) * 0.5f;
            float[] g = {u0 + s, (u1 - u2) * 0.5f, s + u3};
            for (int j = 0; j < 3; j++) {
                int d = at + 3 * i + j;
                dw[d] = beta == 0f ? g[j] : Math.fma(beta, dw[d], g[j]);
            }
        }
    }

    // ================================================================ input and its adjoint

    static void input(float[] x, int xOffset, int batch, int channels, int height, int width,
                      int padH, int padW, int outH, int outW, float[] v) {
        int tilesH = (outH + 1) / 2;
        int tilesW = (outW + 1) / 2;
        int tiles = batch * tilesH * tilesW;
        int planeW = 2 * tilesW + 2;
        int plane = (2 * tilesH + 2) * planeW;
        float[] xp = floats(Math.multiplyExact(batch * channels, plane));
        pad(x, xOffset, batch * channels, height, width, padH, padW, 2 * tilesH + 2, planeW, xp);
        int[] offsets = tileOffsets(2, batch, tilesH, tilesW, channels * plane, planeW);
        int[] window = positions(4, 4, planeW);
        int ct = channels * tiles;
        InputCall call = INPUT_CALLS.get();
        call.tiles = tiles;
        call.xp = xp;
        call.plane = plane;
        call.window = window;
        call.offsets = offsets;
        call.channels = channels;
        call.v = v;
        call.ct = ct;
        split(channels, 16L * tiles, call);
    }

    /** {@link #input}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class InputCall extends Parallel.RangeCall {
        int tiles, plane, channels, ct;
        float[] xp, v;
        int[] window, offsets;

        @Override
        public void run(int c0, int c1) {
            float[] st = stage();
            for (int c = c0; c < c1; c++) {
                for (int t = 0; t < tiles; t += L) {
                    gatherWindows(xp, c * plane, window, 16, offsets, t, st);
                    VectorMask<Float> m = S.indexInRange(t, tiles);
                    // row i of B^T d, d[a] + sign * d[b] = (a, b, c, d), times B: (a - c, b + c, c - b, b - d)
                    for (int i = 0; i < 4; i++) {
                        FloatVector sign = FloatVector.broadcast(S, BT_SIGN[i]);
                        int ra = 4 * BT_A[i] * L;
                        int rb = 4 * BT_B[i] * L;
                        FloatVector a = FloatVector.fromArray(S, st, rb).fma(sign, FloatVector.fromArray(S, st, ra));
                        FloatVector b = FloatVector.fromArray(S, st, rb + L).fma(sign, FloatVector.fromArray(S, st, ra + L));
                        FloatVector cc = FloatVector.fromArray(S, st, rb + 2 * L).fma(sign, FloatVector.fromArray(S, st, ra + 2 * L));
                        FloatVector d = FloatVector.fromArray(S, st, rb + 3 * L).fma(sign, FloatVector.fromArray(S, st, ra + 3 * L));
                        int at = (4 * i * channels + c) * tiles + t;
                        a.sub(cc).intoArray(v, at, m);
                        b.add(cc).intoArray(v, at + ct, m);
                        cc.sub(b).intoArray(v, at + 2 * ct, m);
                        b.sub(d).intoArray(v, at + 3 * ct, m);
                    }
                }
            }
        }

        @Override
        void clear() {
            xp = v = null;
            window = offsets = null;
        }
    }

    private static final Parallel.Reused<InputCall> INPUT_CALLS = new Parallel.Reused<>(InputCall::new);

    static void inputBackward(float[] dv, int batch, int channels, int height, int width,
                              int padH, int padW, int outH, int outW, float[] gx, int gxOffset) {
        int tilesH = (outH + 1) / 2;
        int tilesW = (outW + 1) / 2;
        int tiles = batch * tilesH * tilesW;
        int planeH = 2 * tilesH + 2;
        int planeW = 2 * tilesW + 2;
        int plane = planeH * planeW;
        float[] gp = floats(Math.multiplyExact(batch * channels, plane));
        int[] offsets = tileOffsets(2, batch, tilesH, tilesW, channels * plane, planeW);
        int[] window = positions(4, 4, planeW);
        int ct = channels * tiles;
        InputBackwardCall call = INPUT_BACKWARD_CALLS.get();
        call.batch = batch;
        call.channels = channels;
        call.plane = plane;
        call.gp = gp;
        call.tiles = tiles;
        call.dv = dv;
        call.ct = ct;
        call.window = window;
        call.offsets = offsets;
        call.gx = gx;
        call.padH = padH;
        call.planeW = planeW;
        call.padW = padW;
        call.gxOffset = gxOffset;
        call.height = height;
        call.width = width;
        split(channels, 32L * tiles, call);
    }

    /** {@link #inputBackward}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class InputBackwardCall extends Parallel.RangeCall {
        int batch, channels, plane, tiles, ct, padH, planeW, padW, gxOffset, height, width;
        float[] gp, dv, gx;
        int[] window, offsets;

        @Override
        public void run(int c0, int c1) {
            float[] st = stage();
            for (int c = c0; c < c1; c++) {
                clearPlanes(gp, c, batch, channels, plane);
                for (int t = 0; t < tiles; t += L) {
                    windowRows(dv, c * tiles + t, ct, t, tiles, st);
                    scatterAddWindows(st, gp, c * plane, window, 16, offsets, t, tiles);
                }
                addInside(gp, c, batch, channels, plane, planeW, padH, padW, gx, gxOffset, height, width);
            }
        }

        @Override
        void clear() {
            gp = dv = gx = null;
            window = offsets = null;
        }
    }

    private static final Parallel.Reused<InputBackwardCall> INPUT_BACKWARD_CALLS =
            new Parallel.Reused<>(InputBackwardCall::new);

    /**
     * B dV B^T for the tiles t.. into the staging array, row-major: dV staged at vectors 16.., row i
     * of B dV, sum over r of B[i][r] * dV[r] ((v0, v1 - v2 + v3, v1 + v2 - v0, -v3)), and each row
     * (a, b, c, d) of it times B^T, (a, b - c + d, b + c - a, -d).
     */
    private static void windowRows(float[] dv, int at, int ct, int t, int tiles, float[] st) {
        VectorMask<Float> m = S.indexInRange(t, tiles);
        for (int k = 0; k < 16; k++) {
            FloatVector.fromArray(S, dv, at + k * ct, m).intoArray(st, (16 + k) * L);
        }
        // column j of B dV: (v0, v1 - v2 + v3, v1 + v2 - v0, -v3)
        for (int j = 0; j < 4; j++) {
            FloatVector v0 = FloatVector.fromArray(S, st, (16 + j) * L);
            FloatVector v1 = FloatVector.fromArray(S, st, (20 + j) * L);
            FloatVector v2 = FloatVector.fromArray(S, st, (24 + j) * L);
            FloatVector v3 = FloatVector.fromArray(S, st, (28 + j) * L);
            v0.intoArray(st, j * L);
            v1.sub(v2).add(v3).intoArray(st, (4 + j) * L);
            v1.add(v2).sub(v0).intoArray(st, (8 + j) * L);
            v3.neg().intoArray(st, (12 + j) * L);
        }
        for (int i = 0; i < 4; i++) {
            int k = 4 * i * L;
            FloatVector a = FloatVector.fromArray(S, st, k);
            FloatVector b = FloatVector.fromArray(S, st, k + L);
            FloatVector c = FloatVector.fromArray(S, st, k + 2 * L);
            FloatVector d = FloatVector.fromArray(S, st, k + 3 * L);
            b.sub(c).add(d).intoArray(st, k + L);
            b.add(c).sub(a).intoArray(st, k + 2 * L);
            d.neg().intoArray(st, k + 3 * L);
        }
    }

    /** Zeroes channel c's padded planes of gp, image by image, before its windows add into them. */
    static void clearPlanes(float[] gp, int c, int batch, int channels, int plane) {
        for (int b = 0; b < batch; b++) {
            int p = (b * channels + c) * plane;
            java.util.Arrays.fill(gp, p, p + plane, 0f);
        }
    }

    /** Adds the part of channel c's padded planes of gp inside the image (after padH, padW) into gx. */
    static void addInside(float[] gp, int c, int batch, int channels, int plane, int planeW, int padH, int padW,
                          float[] gx, int gxOffset, int height, int width) {
        for (int b = 0; b < batch; b++) {
            int p = (b * channels + c) * plane + padH * planeW + padW;
            int g = gxOffset + (b * channels + c) * height * width;
            for (int h = 0; h < height; h++) {
                addRow(gp, p + h * planeW, gx, g + h * width, width);
            }
        }
    }

    /**
     * The staged window values (one per position of {@code window}'s first n) added into each lane's window:
     * within one vector every lane's element is a different one (the lanes' tiles start at different
     * offsets and one add handles one window position).
     */
    static void scatterAddWindows(float[] st, float[] gp, int base, int[] window, int n, int[] offsets,
                                  int t, int tiles) {
        int lanes = Math.min(L, tiles - t);
        for (int k = 0; k < n; k++) {
            int to = base + window[k];
            for (int l = 0; l < lanes; l++) {
                gp[to + offsets[t + l]] += st[k * L + l];
            }
        }
    }

    /**
     * {@code dst[at + r + offsets[t + l]] = st[SCATTER_STAGE + r*L + l]} for r < rows and the lanes l
     * below {@code tiles - t}: the output transforms' scatter, element by element. The rows are
     * staged first, so no vector or mask crosses a call (C2 does not inline into the output
     * transforms' bodies, and boxed what it was passed: 16 MB a B=16 step).
     *
     * <p>No index-mapped stores ({@code intoArray} with an index map) anywhere in the kernels: AVX2
     * has no scatter, and the Vector API then stores lane by lane in Java through a lambda per lane
     * (4.4% of a B=16 step's samples on a Zen 3); AVX-512 has one, but the Zen 4's was slower than
     * these loops. Layer1-3's 3x3 convolutions of the B=16 step (Winograd, and two of stride 2 by
     * GEMM and col2im: every such store), 2 runs each, alternating: forward 18.9 and 19.8 ms with
     * scatters, 16.7 and 16.1 without; backward 34.9 and 33.3 against 29.9 and 28.4.
     */
    static void scatterStaged(float[] st, int rows, float[] dst, int at, int[] offsets, int t, int tiles) {
        int lanes = Math.min(L, tiles - t);
        for (int r = 0; r < rows; r++) {
            for (int l = 0; l < lanes; l++) {
                dst[at + r + offsets[t + l]] = st[SCATTER_STAGE + r * L + l];
            }
        }
    }

    /** {@code y[yOff + i] += x[xOff + i]} for i < n. */
    static void addRow(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, y, yOff + i).add(FloatVector.fromArray(S, x, xOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    // ================================================================ output and its adjoint

    static void output(float[] mm, int batch, int outC, int outH, int outW, float[] out, int outOffset) {
        int tilesH = (outH + 1) / 2;
        int tilesW = (outW + 1) / 2;
        int tiles = batch * tilesH * tilesW;
        boolean even = outH % 2 == 0 && outW % 2 == 0;
        // odd sizes: whole tiles into planes of 2*tilesH x 2*tilesW, then the image cut out of them
        int planeW = even ? outW : 2 * tilesW;
        int plane = even ? outH * outW : 4 * tilesH * tilesW;
        float[] dst = even ? out : floats(Math.multiplyExact(batch * outC, plane));
        int dstOffset = even ? outOffset : 0;
        int[] offsets = tileOffsets(2, batch, tilesH, tilesW, outC * plane, planeW);
        int ot = outC * tiles;
        OutputCall call = OUTPUT_CALLS.get();
        call.dstOffset = dstOffset;
        call.plane = plane;
        call.tiles = tiles;
        call.mm = mm;
        call.ot = ot;
        call.planeW = planeW;
        call.dst = dst;
        call.offsets = offsets;
        split(outC, 16L * tiles, call);
        if (!even) {
            cut(dst, batch * outC, plane, planeW, outH, outW, out, outOffset);
        }
    }

    /** {@link #output}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class OutputCall extends Parallel.RangeCall {
        int dstOffset, plane, tiles, ot, planeW;
        float[] mm, dst;
        int[] offsets;

        @Override
        public void run(int o0, int o1) {
            float[] st = stage();
            for (int o = o0; o < o1; o++) {
                int base = dstOffset + o * plane;
                for (int t = 0; t < tiles; t += L) {
                    VectorMask<Float> m = S.indexInRange(t, tiles);
                    int at = o * tiles + t;
                    // column j of A^T M: (m0 + m1 + m2, m1 - m2 - m3), staged
                    for (int j = 0; j < 4; j++) {
                        FloatVector m0 = FloatVector.fromArray(S, mm, at + j * ot, m);
                        FloatVector m1 = FloatVector.fromArray(S, mm, at + (4 + j) * ot, m);
                        FloatVector m2 = FloatVector.fromArray(S, mm, at + (8 + j) * ot, m);
                        FloatVector m3 = FloatVector.fromArray(S, mm, at + (12 + j) * ot, m);
                        m0.add(m1).add(m2).intoArray(st, j * L);
                        m1.sub(m2).sub(m3).intoArray(st, (4 + j) * L);
                    }
                    // each row (a, b, c, d) times A, (a + b + c, b - c - d), scattered to the tile's row
                    for (int i = 0; i < 2; i++) {
                        FloatVector a = FloatVector.fromArray(S, st, 4 * i * L);
                        FloatVector b = FloatVector.fromArray(S, st, (4 * i + 1) * L);
                        FloatVector c = FloatVector.fromArray(S, st, (4 * i + 2) * L);
                        FloatVector d = FloatVector.fromArray(S, st, (4 * i + 3) * L);
                        int row = base + i * planeW;
                        FloatVector y0 = a.add(b).add(c);
                        FloatVector y1 = b.sub(c).sub(d);
                        y0.intoArray(st, SCATTER_STAGE);
                        y1.intoArray(st, SCATTER_STAGE + L);
                        scatterStaged(st, 2, dst, row, offsets, t, tiles);
                    }
                }
            }
        }

        @Override
        void clear() {
            mm = dst = null;
            offsets = null;
        }
    }

    private static final Parallel.Reused<OutputCall> OUTPUT_CALLS = new Parallel.Reused<>(OutputCall::new);

    static void gradOutput(float[] grad, int gradOffset, int batch, int outC, int outH, int outW, float[] dm) {
        int tilesH = (outH + 1) / 2;
        int tilesW = (outW + 1) / 2;
        int tiles = batch * tilesH * tilesW;
        boolean even = outH % 2 == 0 && outW % 2 == 0;
        int planeW = even ? outW : 2 * tilesW;
        int plane = even ? outH * outW : 4 * tilesH * tilesW;
        float[] src = grad;
        int srcOffset = gradOffset;
        if (!even) {
            // odd sizes: the gradient padded with zeros to whole tiles
            src = floats(Math.multiplyExact(batch * outC, plane));
            pad(grad, gradOffset, batch * outC, outH, outW, 0, 0, 2 * tilesH, planeW, src);
            srcOffset = 0;
        }
        float[] g = src;
        int gOffset = srcOffset;
        int[] offsets = tileOffsets(2, batch, tilesH, tilesW, outC * plane, planeW);
        int[] tile = positions(2, 2, planeW);
        int ot = outC * tiles;
        GradOutputCall call = GRAD_OUTPUT_CALLS.get();
        call.tiles = tiles;
        call.g = g;
        call.gOffset = gOffset;
        call.plane = plane;
        call.tile = tile;
        call.offsets = offsets;
        call.outC = outC;
        call.dm = dm;
        call.ot = ot;
        split(outC, 16L * tiles, call);
    }

    /** {@link #gradOutput}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class GradOutputCall extends Parallel.RangeCall {
        int tiles, gOffset, plane, outC, ot;
        float[] g, dm;
        int[] tile, offsets;

        @Override
        public void run(int o0, int o1) {
            float[] st = stage();
            for (int o = o0; o < o1; o++) {
                for (int t = 0; t < tiles; t += L) {
                    gatherWindows(g, gOffset + o * plane, tile, 4, offsets, t, st);
                    // rows (p, q) of A dY, (y0, y0 + y1, y0 - y1, -y1), staged at vectors 4..11
                    FloatVector y00 = FloatVector.fromArray(S, st, 0);
                    FloatVector y01 = FloatVector.fromArray(S, st, L);
                    FloatVector y10 = FloatVector.fromArray(S, st, 2 * L);
                    FloatVector y11 = FloatVector.fromArray(S, st, 3 * L);
                    y00.intoArray(st, 4 * L);
                    y01.intoArray(st, 5 * L);
                    y00.add(y10).intoArray(st, 6 * L);
                    y01.add(y11).intoArray(st, 7 * L);
                    y00.sub(y10).intoArray(st, 8 * L);
                    y01.sub(y11).intoArray(st, 9 * L);
                    y10.neg().intoArray(st, 10 * L);
                    y11.neg().intoArray(st, 11 * L);
                    // each row times A^T: (p, p + q, p - q, -q)
                    VectorMask<Float> m = S.indexInRange(t, tiles);
                    for (int i = 0; i < 4; i++) {
                        FloatVector p = FloatVector.fromArray(S, st, (4 + 2 * i) * L);
                        FloatVector q = FloatVector.fromArray(S, st, (5 + 2 * i) * L);
                        int at = (4 * i * outC + o) * tiles + t;
                        p.intoArray(dm, at, m);
                        p.add(q).intoArray(dm, at + ot, m);
                        p.sub(q).intoArray(dm, at + 2 * ot, m);
                        q.neg().intoArray(dm, at + 3 * ot, m);
                    }
                }
            }
        }

        @Override
        void clear() {
            g = dm = null;
            tile = offsets = null;
        }
    }

    private static final Parallel.Reused<GradOutputCall> GRAD_OUTPUT_CALLS = new Parallel.Reused<>(GradOutputCall::new);
}
