package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The transforms of Winograd's F(4x4, 3x3) convolution (see {@link Kernels} for the matrices and
 * layouts), the same way as {@link Winograd}'s F(2x2, 3x3): vectorised across tiles (lane l holds
 * tile t0 + l), windows gathered from a zero-padded copy of the images through a table of tile
 * offsets, every 6-point transform one pass of a loop over the rows or columns of the 6x6 through
 * the staging array (the code shape that keeps C2 inlining the Vector API and not boxing). Each pass
 * writes its formula out with the matrices' zeros left out, so a NaN or an infinity reaches only
 * the values that depend on it. The tiles are 4 apart, windows 6 wide: 36 values per tile of 16
 * outputs where F(2x2, 3x3) has 16 per 4 (2.25 against 4 floats of every operand per output).
 */
final class Winograd4 {

    private static final float SIXTH = 1f / 6;
    private static final float TWELFTH = 1f / 12;
    private static final float TWENTY_FOURTH = 1f / 24;

    private Winograd4() {
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
        call.u = u;
        call.oc = oc;
        Winograd.split(groups, 54L * L, call);
    }

    /** {@link #weights}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class WeightsCall extends Parallel.RangeCall {
        float[] w, u;
        int wOffset, oc;

        @Override
        public void run(int from, int to) {
            float[] st = Winograd.stage();
            for (int g = from; g < to; g++) {
                int q = g * L;
                // the 9 taps of L kernels (tap k = 3*row + column), lane l from kernel q + l
                for (int k = 0; k < 9; k++) {
                    FloatVector.fromArray(S, w, wOffset + 9 * q + k, Winograd.NINES, 0).intoArray(st, k * L);
                }
                // G g, column j: row r staged at 9 + 3*r + j; then each row of it times G^T into u
                for (int j = 0; j < 3; j++) {
                    gPass(st, j * L, 3 * L, st, (9 + j) * L, 3 * L);
                }
                for (int i = 0; i < 6; i++) {
                    gPass(st, (9 + 3 * i) * L, L, u, 6 * i * oc + q, oc);
                }
            }
        }

        @Override
        void clear() {
            w = u = null;
        }
    }

    private static final Parallel.Reused<WeightsCall> WEIGHTS_CALLS = new Parallel.Reused<>(WeightsCall::new);

    /**
     * G (g0, g1, g2), the three values at {@code src + k*step}, to six at {@code dst + k*stride}:
     * (g0 / 4, -(g0 + g2 + g1) / 6, -(g0 + g2 - g1) / 6, g0 / 24 + g2 / 6 + g1 / 12,
     * g0 / 24 + g2 / 6 - g1 / 12, g2).
     */
    private static void gPass(float[] src, int from, int step, float[] dst, int at, int stride) {
        FloatVector g0 = FloatVector.fromArray(S, src, from);
        FloatVector g1 = FloatVector.fromArray(S, src, from + step);
        FloatVector g2 = FloatVector.fromArray(S, src, from + 2 * step);
        FloatVector outer = g0.add(g2);
        FloatVector even = g0.mul(TWENTY_FOURTH).add(g2.mul(SIXTH));
        FloatVector odd = g1.mul(TWELFTH);
        g0.mul(0.25f).intoArray(dst, at);
        outer.add(g1).mul(-SIXTH).intoArray(dst, at + stride);
        outer.sub(g1).mul(-SIXTH).intoArray(dst, at + 2 * stride);
        even.add(odd).intoArray(dst, at + 3 * stride);
        even.sub(odd).intoArray(dst, at + 4 * stride);
        g2.intoArray(dst, at + 5 * stride);
    }

    /** G (g0, g1, g2): the scalar form of {@link #gPass}. */
    private static void g(float g0, float g1, float g2, float[] out, int at, int stride) {
        float outer = g0 + g2;
        float even = g0 * TWENTY_FOURTH + g2 * SIXTH;
        float odd = g1 * TWELFTH;
        out[at] = g0 * 0.25f;
        out[at + stride] = (outer + g1) * -SIXTH;
        out[at + 2 * stride] = (outer - g1) * -SIXTH;
        out[at + 3 * stride] = even + odd;
        out[at + 4 * stride] = even - odd;
        out[at + 5 * stride] = g2;
    }

    /** {@link #weights} for kernel q alone (the kernels past the last whole vector). */
    private static void weightsAt(float[] w, int wOffset, int oc, int q, float[] u) {
        float[] h = new float[18];
        int at = wOffset + 9 * q;
        for (int j = 0; j < 3; j++) {
            g(w[at + j], w[at + 3 + j], w[at + 6 + j], h, j, 3);
        }
        for (int i = 0; i < 6; i++) {
            g(h[3 * i], h[3 * i + 1], h[3 * i + 2], u, 6 * i * oc + q, oc);
        }
    }

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
        Winograd.split(groups, 54L * L, call);
    }

    /** {@link #weightsBackward}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class WeightsBackwardCall extends Parallel.RangeCall {
        float[] du, dw;
        int oc, dwOffset;
        float beta;

        @Override
        public void run(int g0, int g1) {
            float[] st = Winograd.stage();
            for (int g = g0; g < g1; g++) {
                int q = g * L;
                // column j of G^T dU, staged at 9 + 6*r + j; then each row of it times G: taps 3*r + k
                // at vectors 0..8
                for (int j = 0; j < 6; j++) {
                    gtPass(du, j * oc + q, 6 * oc, st, (9 + j) * L, 6 * L);
                }
                for (int r = 0; r < 3; r++) {
                    gtPass(st, (9 + 6 * r) * L, L, st, 3 * r * L, L);
                }
                Winograd.scatterKernels(st, beta, dw, dwOffset + 9 * q);
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
     * G^T (u0..u5), the six values at {@code src + k*step}, to three at {@code dst + k*stride} (all
     * read before any is written): (u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24,
     * (u2 - u1) / 6 + (u3 - u4) / 12, ((u3 + u4) - (u1 + u2)) / 6 + u5).
     */
    private static void gtPass(float[] src, int from, int step, float[] dst, int at, int stride) {
        FloatVector u0 = FloatVector.fromArray(S, src, from);
        FloatVector u1 = FloatVector.fromArray(S, src, from + step);
        FloatVector u2 = FloatVector.fromArray(S, src, from + 2 * step);
        FloatVector u3 = FloatVector.fromArray(S, src, from + 3 * step);
        FloatVector u4 = FloatVector.fromArray(S, src, from + 4 * step);
        FloatVector u5 = FloatVector.fromArray(S, src, from + 5 * step);
        FloatVector s12 = u1.add(u2);
        FloatVector s34 = u3.add(u4);
        u0.mul(0.25f).sub(s12.mul(SIXTH)).add(s34.mul(TWENTY_FOURTH)).intoArray(dst, at);
        u2.sub(u1).mul(SIXTH).add(u3.sub(u4).mul(TWELFTH)).intoArray(dst, at + stride);
        s34.sub(s12).mul(SIXTH).add(u5).intoArray(dst, at + 2 * stride);
    }

    /** G^T (u0..u5) into out[at], out[at + stride], out[at + 2*stride]: the scalar form of {@link #gtPass}. */
    private static void gt(float[] u, int from, int step, float[] out, int at, int stride) {
        float u0 = u[from];
        float u1 = u[from + step];
        float u2 = u[from + 2 * step];
        float u3 = u[from + 3 * step];
        float u4 = u[from + 4 * step];
        float u5 = u[from + 5 * step];
        float s12 = u1 + u2;
        float s34 = u3 + u4;
        out[at] = u0 * 0.25f - s12 * SIXTH + s34 * TWENTY_FOURTH;
        out[at + stride] = (u2 - u1) * SIXTH + (u3 - u4) * TWELFTH;
        out[at + 2 * stride] = (s34 - s12) * SIXTH + u5;
    }

    /** {@link #weightsBackward} for kernel q alone. */
    private static void weightsBackwardAt(float[] du, int oc, int q, float beta, float[] dw, int dwOffset) {
        float[] h = new float[18];
        for (int j = 0; j < 6; j++) {
            gt(du, j * oc + q, 6 * oc, h, j, 6);
        }
        float[] taps = new float[9];
        for (int r = 0; r < 3; r++) {
            gt(h, 6 * r, 1, taps, 3 * r, 1);
        }
        int at = dwOffset + 9 * q;
        for (int k = 0; k < 9; k++) {
            dw[at + k] = beta == 0f ? taps[k] : Math.fma(beta, dw[at + k], taps[k]);
        }
    }

    // ================================================================ input and its adjoint

    static void input(float[] x, int xOffset, int batch, int channels, int height, int width,
                      int padH, int padW, int outH, int outW, float[] v) {
        int tilesH = (outH + 3) / 4;
        int tilesW = (outW + 3) / 4;
        int tiles = batch * tilesH * tilesW;
        int planeW = 4 * tilesW + 2;
        int plane = (4 * tilesH + 2) * planeW;
        float[] xp = Winograd.floats(Math.multiplyExact(batch * channels, plane));
        Winograd.pad(x, xOffset, batch * channels, height, width, padH, padW, 4 * tilesH + 2, planeW, xp);
        int[] offsets = Winograd.tileOffsets(4, batch, tilesH, tilesW, channels * plane, planeW);
        int[] window = Winograd.positions(6, 6, planeW);
        int ct = channels * tiles;
        InputCall call = INPUT_CALLS.get();
        call.tiles = tiles;
        call.xp = xp;
        call.plane = plane;
        call.window = window;
        call.offsets = offsets;
        call.v = v;
        call.channels = channels;
        call.ct = ct;
        Winograd.split(channels, 36L * tiles, call);
    }

    /** {@link #input}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class InputCall extends Parallel.RangeCall {
        int tiles, plane, channels, ct;
        float[] xp, v;
        int[] window, offsets;

        @Override
        public void run(int c0, int c1) {
            float[] st = Winograd.stage();
            for (int c = c0; c < c1; c++) {
                for (int t = 0; t < tiles; t += L) {
                    Winograd.gatherWindows(xp, c * plane, window, 36, offsets, t, st);
                    // column j of B^T d, row r staged at 36 + 6*r + j; then each row of it times B
                    // into v (the lanes past the last tile not stored)
                    for (int j = 0; j < 6; j++) {
                        btPass(st, j * L, 6 * L, st, (36 + j) * L, 6 * L, L);
                    }
                    for (int i = 0; i < 6; i++) {
                        btPass(st, (36 + 6 * i) * L, L, v, (6 * i * channels + c) * tiles + t, ct, tiles - t);
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

    /**
     * B^T (d0..d5), the six values at {@code src + k*step}, to {@code dst + k*stride}, the first
     * {@code lanes} lanes of each (all when lanes >= L): (4 d0 - 5 d2 + d4, d3 + d4 - 4 (d1 + d2),
     * d4 - d3 + 4 (d1 - d2), d4 - d2 + 2 (d3 - d1), d4 - d2 - 2 (d3 - d1), 4 d1 - 5 d3 + d5).
     */
    private static void btPass(float[] src, int from, int step, float[] dst, int at, int stride, int lanes) {
        VectorMask<Float> m = S.indexInRange(0, lanes);
        FloatVector d0 = FloatVector.fromArray(S, src, from);
        FloatVector d1 = FloatVector.fromArray(S, src, from + step);
        FloatVector d2 = FloatVector.fromArray(S, src, from + 2 * step);
        FloatVector d3 = FloatVector.fromArray(S, src, from + 3 * step);
        FloatVector d4 = FloatVector.fromArray(S, src, from + 4 * step);
        FloatVector d5 = FloatVector.fromArray(S, src, from + 5 * step);
        FloatVector s12 = d1.add(d2);
        FloatVector d12 = d1.sub(d2);
        FloatVector e = d4.sub(d2);
        FloatVector o = d3.sub(d1).mul(2f);
        d0.mul(4f).add(d4).sub(d2.mul(5f)).intoArray(dst, at, m);
        d3.add(d4).sub(s12.mul(4f)).intoArray(dst, at + stride, m);
        d4.sub(d3).add(d12.mul(4f)).intoArray(dst, at + 2 * stride, m);
        e.add(o).intoArray(dst, at + 3 * stride, m);
        e.sub(o).intoArray(dst, at + 4 * stride, m);
        d1.mul(4f).add(d5).sub(d3.mul(5f)).intoArray(dst, at + 5 * stride, m);
    }

    static void inputBackward(float[] dv, int batch, int channels, int height, int width,
                              int padH, int padW, int outH, int outW, float[] gx, int gxOffset) {
        int tilesH = (outH + 3) / 4;
        int tilesW = (outW + 3) / 4;
        int tiles = batch * tilesH * tilesW;
        int planeW = 4 * tilesW + 2;
        int plane = (4 * tilesH + 2) * planeW;
        float[] gp = Winograd.floats(Math.multiplyExact(batch * channels, plane));
        int[] offsets = Winograd.tileOffsets(4, batch, tilesH, tilesW, channels * plane, planeW);
        int[] window = Winograd.positions(6, 6, planeW);
        int ct = channels * tiles;
        InputBackwardCall call = INPUT_BACKWARD_CALLS.get();
        call.batch = batch;
        call.channels = channels;
        call.plane = plane;
        call.gp = gp;
        call.tiles = tiles;
        call.dv = dv;
        call.window = window;
        call.offsets = offsets;
        call.gx = gx;
        call.padH = padH;
        call.planeW = planeW;
        call.padW = padW;
        call.gxOffset = gxOffset;
        call.height = height;
        call.width = width;
        Winograd.split(channels, 72L * tiles, call);
    }

    /** {@link #inputBackward}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class InputBackwardCall extends Parallel.RangeCall {
        int batch, channels, plane, tiles, padH, planeW, padW, gxOffset, height, width;
        float[] gp, dv, gx;
        int[] window, offsets;

        @Override
        public void run(int c0, int c1) {
            float[] st = Winograd.stage();
            for (int c = c0; c < c1; c++) {
                Winograd.clearPlanes(gp, c, batch, channels, plane);
                for (int t = 0; t < tiles; t += L) {
                    VectorMask<Float> m = S.indexInRange(t, tiles);
                    for (int k = 0; k < 36; k++) {
                        FloatVector.fromArray(S, dv, (k * channels + c) * tiles + t, m).intoArray(st, (36 + k) * L);
                    }
                    // column j of B dV to row r at 6*r + j, then each row of that times B^T in place
                    for (int j = 0; j < 6; j++) {
                        bPass(st, (36 + j) * L, 6 * L, st, j * L, 6 * L);
                    }
                    for (int r = 0; r < 6; r++) {
                        bPass(st, 6 * r * L, L, st, 6 * r * L, L);
                    }
                    Winograd.scatterAddWindows(st, gp, c * plane, window, 36, offsets, t, tiles);
                }
                Winograd.addInside(gp, c, batch, channels, plane, planeW, padH, padW, gx, gxOffset, height,
                        width);
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
     * B (v0..v5) = (B^T)^T v, the six values at {@code src + k*step}, to {@code dst + k*stride}
     * (all six read before any is written, so dst may be src): (4 v0, 4 (v2 - v1 + v5) + 2 (v4 - v3),
     * -5 v0 - 4 (v1 + v2) - (v3 + v4), v1 - v2 + 2 (v3 - v4) - 5 v5, v0 + v1 + v2 + v3 + v4, v5).
     */
    private static void bPass(float[] src, int from, int step, float[] dst, int at, int stride) {
        FloatVector v0 = FloatVector.fromArray(S, src, from);
        FloatVector v1 = FloatVector.fromArray(S, src, from + step);
        FloatVector v2 = FloatVector.fromArray(S, src, from + 2 * step);
        FloatVector v3 = FloatVector.fromArray(S, src, from + 3 * step);
        FloatVector v4 = FloatVector.fromArray(S, src, from + 4 * step);
        FloatVector v5 = FloatVector.fromArray(S, src, from + 5 * step);
        FloatVector s12 = v1.add(v2);
        FloatVector d21 = v2.sub(v1);
        FloatVector s34 = v3.add(v4);
        FloatVector d43 = v4.sub(v3);
        v0.mul(4f).intoArray(dst, at);
        d21.add(v5).mul(4f).add(d43.mul(2f)).intoArray(dst, at + stride);
        v0.mul(-5f).sub(s12.mul(4f)).sub(s34).intoArray(dst, at + 2 * stride);
        d43.mul(-2f).sub(d21).sub(v5.mul(5f)).intoArray(dst, at + 3 * stride);
        v0.add(s12).add(s34).intoArray(dst, at + 4 * stride);
        v5.intoArray(dst, at + 5 * stride);
    }

    // ================================================================ output and its adjoint

    static void output(float[] mm, int batch, int outC, int outH, int outW, float[] out, int outOffset) {
        int tilesH = (outH + 3) / 4;
        int tilesW = (outW + 3) / 4;
        int tiles = batch * tilesH * tilesW;
        boolean whole = outH % 4 == 0 && outW % 4 == 0;
        // other sizes: whole tiles into planes of 4*tilesH x 4*tilesW, then the image cut out of them
        int planeW = whole ? outW : 4 * tilesW;
        int plane = whole ? outH * outW : 16 * tilesH * tilesW;
        float[] dst = whole ? out : Winograd.floats(Math.multiplyExact(batch * outC, plane));
        int dstOffset = whole ? outOffset : 0;
        int[] offsets = Winograd.tileOffsets(4, batch, tilesH, tilesW, outC * plane, planeW);
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
        Winograd.split(outC, 36L * tiles, call);
        if (!whole) {
            Winograd.cut(dst, batch * outC, plane, planeW, outH, outW, out, outOffset);
        }
    }

    /** {@link #output}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class OutputCall extends Parallel.RangeCall {
        int dstOffset, plane, tiles, ot, planeW;
        float[] mm, dst;
        int[] offsets;

        @Override
        public void run(int o0, int o1) {
            float[] st = Winograd.stage();
            for (int o = o0; o < o1; o++) {
                int base = dstOffset + o * plane;
                for (int t = 0; t < tiles; t += L) {
                    VectorMask<Float> m = S.indexInRange(t, tiles);
                    int at = o * tiles + t;
                    // column j of A^T M: (m0 + m1 + m2 + m3 + m4, m1 - m2 + 2 (m3 - m4),
                    // m1 + m2 + 4 (m3 + m4), m1 - m2 + 8 (m3 - m4) + m5), row i staged at 6*i + j
                    for (int j = 0; j < 6; j++) {
                        FloatVector m0 = FloatVector.fromArray(S, mm, at + j * ot, m);
                        FloatVector m1 = FloatVector.fromArray(S, mm, at + (6 + j) * ot, m);
                        FloatVector m2 = FloatVector.fromArray(S, mm, at + (12 + j) * ot, m);
                        FloatVector m3 = FloatVector.fromArray(S, mm, at + (18 + j) * ot, m);
                        FloatVector m4 = FloatVector.fromArray(S, mm, at + (24 + j) * ot, m);
                        FloatVector m5 = FloatVector.fromArray(S, mm, at + (30 + j) * ot, m);
                        FloatVector s12 = m1.add(m2);
                        FloatVector d12 = m1.sub(m2);
                        FloatVector s34 = m3.add(m4);
                        FloatVector d34 = m3.sub(m4);
                        m0.add(s12).add(s34).intoArray(st, j * L);
                        d12.add(d34.mul(2f)).intoArray(st, (6 + j) * L);
                        s12.add(s34.mul(4f)).intoArray(st, (12 + j) * L);
                        d12.add(d34.mul(8f)).add(m5).intoArray(st, (18 + j) * L);
                    }
                    // each row times A, scattered to the tile's row
                    for (int i = 0; i < 4; i++) {
                        int h = 6 * i * L;
                        FloatVector m0 = FloatVector.fromArray(S, st, h);
                        FloatVector m1 = FloatVector.fromArray(S, st, h + L);
                        FloatVector m2 = FloatVector.fromArray(S, st, h + 2 * L);
                        FloatVector m3 = FloatVector.fromArray(S, st, h + 3 * L);
                        FloatVector m4 = FloatVector.fromArray(S, st, h + 4 * L);
                        FloatVector m5 = FloatVector.fromArray(S, st, h + 5 * L);
                        FloatVector s12 = m1.add(m2);
                        FloatVector d12 = m1.sub(m2);
                        FloatVector s34 = m3.add(m4);
                        FloatVector d34 = m3.sub(m4);
                        int row = base + i * planeW;
                        FloatVector y0 = m0.add(s12).add(s34);
                        FloatVector y1 = d12.add(d34.mul(2f));
                        FloatVector y2 = s12.add(s34.mul(4f));
                        FloatVector y3 = d12.add(d34.mul(8f)).add(m5);
                        int staged = Winograd.SCATTER_STAGE;
                        y0.intoArray(st, staged);
                        y1.intoArray(st, staged + L);
                        y2.intoArray(st, staged + 2 * L);
                        y3.intoArray(st, staged + 3 * L);
                        Winograd.scatterStaged(st, 4, dst, row, offsets, t, tiles);
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
        int tilesH = (outH + 3) / 4;
        int tilesW = (outW + 3) / 4;
        int tiles = batch * tilesH * tilesW;
        boolean whole = outH % 4 == 0 && outW % 4 == 0;
        int planeW = whole ? outW : 4 * tilesW;
        int plane = whole ? outH * outW : 16 * tilesH * tilesW;
        float[] src = grad;
        int srcOffset = gradOffset;
        if (!whole) {
            // other sizes: the gradient padded with zeros to whole tiles
            src = Winograd.floats(Math.multiplyExact(batch * outC, plane));
            Winograd.pad(grad, gradOffset, batch * outC, outH, outW, 0, 0, 4 * tilesH, planeW, src);
            srcOffset = 0;
        }
        float[] g = src;
        int gOffset = srcOffset;
        int[] offsets = Winograd.tileOffsets(4, batch, tilesH, tilesW, outC * plane, planeW);
        int[] tile = Winograd.positions(4, 4, planeW);
        int ot = outC * tiles;
        GradOutputCall call = GRAD_OUTPUT_CALLS.get();
        call.tiles = tiles;
        call.g = g;
        call.gOffset = gOffset;
        call.plane = plane;
        call.tile = tile;
        call.offsets = offsets;
        call.dm = dm;
        call.outC = outC;
        call.ot = ot;
        Winograd.split(outC, 36L * tiles, call);
    }

    /** {@link #gradOutput}'s ranges, for the pool (see {@link Parallel.Call}). */
    private static final class GradOutputCall extends Parallel.RangeCall {
        int tiles, gOffset, plane, outC, ot;
        float[] g, dm;
        int[] tile, offsets;

        @Override
        public void run(int o0, int o1) {
            float[] st = Winograd.stage();
            for (int o = o0; o < o1; o++) {
                for (int t = 0; t < tiles; t += L) {
                    Winograd.gatherWindows(g, gOffset + o * plane, tile, 16, offsets, t, st);
                    // column j of A dY, row r staged at 16 + 4*r + j; then each row of it times A^T
                    // into dm (the lanes past the last tile not stored)
                    for (int j = 0; j < 4; j++) {
                        aPass(st, j * L, 4 * L, st, (16 + j) * L, 4 * L, L);
                    }
                    for (int r = 0; r < 6; r++) {
                        aPass(st, (16 + 4 * r) * L, L, dm, (6 * r * outC + o) * tiles + t, ot, tiles - t);
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

    /**
     * A (y0..y3) = (A^T)^T y, the four values at {@code src + k*step}, to six at {@code dst + k*stride},
     * the first {@code lanes} lanes of each: (y0, (y0 + y2) + (y1 + y3), (y0 + y2) - (y1 + y3),
     * (y0 + 4 y2) + (2 y1 + 8 y3), (y0 + 4 y2) - (2 y1 + 8 y3), y3).
     */
    private static void aPass(float[] src, int from, int step, float[] dst, int at, int stride, int lanes) {
        VectorMask<Float> m = S.indexInRange(0, lanes);
        FloatVector y0 = FloatVector.fromArray(S, src, from);
        FloatVector y1 = FloatVector.fromArray(S, src, from + step);
        FloatVector y2 = FloatVector.fromArray(S, src, from + 2 * step);
        FloatVector y3 = FloatVector.fromArray(S, src, from + 3 * step);
        FloatVector e = y0.add(y2);
        FloatVector od = y1.add(y3);
        FloatVector e4 = y0.add(y2.mul(4f));
        FloatVector o4 = y1.mul(2f).add(y3.mul(8f));
        y0.intoArray(dst, at, m);
        e.add(od).intoArray(dst, at + stride, m);
        e.sub(od).intoArray(dst, at + 2 * stride, m);
        e4.add(o4).intoArray(dst, at + 3 * stride, m);
        e4.sub(o4).intoArray(dst, at + 4 * stride, m);
        y3.intoArray(dst, at + 5 * stride, m);
    }
}
