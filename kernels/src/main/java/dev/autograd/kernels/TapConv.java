package dev.autograd.kernels;

import static dev.autograd.kernels.Gemm.MR;
import static dev.autograd.kernels.Gemm.NR;
import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.S;

import jdk.incubator.vector.FloatVector;

/**
 * Convolutions of images so small that most of the column matrix is padding, by classes of output
 * positions. ResNet-18's layer4 at 64x64 inputs convolves 2x2 images with 3x3 kernels: every output
 * position sees 4 of its 9 taps inside the image, so 56% of im2col's entries are zeros and of the
 * GEMM's multiply-adds wasted. Positions whose kernel rows and columns fall inside the image alike
 * form a class (a corner, an edge, the interior); a class's rows of the product need only its valid
 * taps.
 *
 * <p>The (position, image) pairs of a class, its rows, are padded to whole panels, so a panel's rows
 * share their valid taps.
 * <ul>
 * <li>Forward, {@code out[o, row] = sum_k W[o, k] col[k, row]}: the class's columns of col over its
 * valid taps only, packed in panels of {@link #COLS} rows; {@link #FORWARD_ROWS} rows of W at a time
 * broadcast straight from W, which is neither copied nor transposed (a transposed copy of layer4's
 * 9.4 MB weight was 38% of the forward's time).
 * <li>Input gradient, {@code dcol[(c, tap), row] = sum_o W[o, (c, tap)] grad[o, row]}: per block of
 * channels, W's columns copied row by row (runs of 144 floats) to rows a constant apart; then tiles
 * of {@link #W_ROWS} (channel, valid tap) pairs of a class by COLS of its rows, the pairs' weights
 * broadcast from the copy, each tile added into its pixels' channels. (Gathering W's columns tap by tap, 9 floats
 * apart, into B panels for {@link Gemm#kernel} took half of the input gradient's time.)
 * <li>Weight gradient, {@code dW_t[o, c] = sum grad[o, rows_t] x_t[rows_t, c]} tap by tap, the depth
 * only the rows where tap t is inside the image, its products interleaved into dW's rows (taps
 * innermost) by gathers.
 * </ul>
 *
 * <p>ResNet-18's layer4 at batch 16 (512 channels, one JVM, alternating with the GEMM's way): see
 * the Kernels section of docs/performance.md.
 */
final class TapConv {

    /**
     * Used when a plan's multiply-adds are at most this fraction of the full GEMM's. At 0.6 layer4's
     * first convolution (stride 2 from 4x4, 0.69) kept the GEMM; taking it too, the B=16 step ran
     * p25 113.2 against 116.2 and 112.6 against 113.0 ms, and B=8 (with layer3's 4x4 convolutions,
     * not Winograd at that batch) 81.2 against 83.3 (step by step in one JVM).
     */
    static final double MAX_WORK = 0.7;

    private TapConv() {
    }

    /**
     * A bound that needs no plan: the fraction of (position, tap) pairs inside the image, rows times
     * columns, is at most {@link #MAX_WORK} (a plan's work is never below it); kernels of at most
     * {@link #COLUMN_STRIDE} taps.
     */
    static boolean mayPay(int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                          int dilationH, int dilationW, int outH, int outW) {
        if (kH * kW > COLUMN_STRIDE) {
            return false;
        }
        double rows = inside(height, kH, padH, strideH, dilationH, outH) / ((double) outH * kH);
        double cols = inside(width, kW, padW, strideW, dilationW, outW) / ((double) outW * kW);
        return rows * cols <= MAX_WORK;
    }

    /** (output index, kernel index) pairs along one axis that land inside the image. */
    private static long inside(int size, int kernel, int pad, int stride, int dilation, int out) {
        long count = 0;
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < kernel; i++) {
                long at = (long) o * stride - pad + (long) i * dilation;
                if (at >= 0 && at < size) {
                    count++;
                }
            }
        }
        return count;
    }

    /** The classes of one convolution shape. Class q has rowCount[q] rows: its (position, image) pairs. */
    static final class Plan {
        final int batch;
        final int taps;
        final int classes;
        final int[] rowCount;
        /** Output positions of class q: {@code positions[posFrom[q] .. posFrom[q + 1])}. */
        final int[] positions;
        final int[] posFrom;
        /** Valid taps (ki*kW + kj, ascending) of class q: {@code validTaps[tapFrom[q] .. tapFrom[q + 1])}. */
        final int[] validTaps;
        final int[] tapFrom;
        /** Input pixel (ih*width + iw) of output position p through tap t: {@code pixel[p*taps + t]}, -1 if padding. */
        final int[] pixel;
        /** Multiply-adds per output and input channel, each class's rows padded to MR (as when MAX_WORK was set). */
        final long work;

        /** The shape this plan is for: batch, then the arguments after it, as {@link #isFor} takes them. */
        private final int[] shape;

        Plan(int batch, int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
             int dilationH, int dilationW, int outH, int outW) {
            this.shape = new int[] {batch, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                    outH, outW};
            this.batch = batch;
            this.taps = kH * kW;
            int plane = outH * outW;
            pixel = new int[plane * taps];
            int[] rowMask = new int[outH];
            int[] colMask = new int[outW];
            for (int oh = 0; oh < outH; oh++) {
                for (int ki = 0; ki < kH; ki++) {
                    int ih = oh * strideH - padH + ki * dilationH;
                    if (ih >= 0 && ih < height) {
                        rowMask[oh] |= 1 << ki;
                    }
                }
            }
            for (int ow = 0; ow < outW; ow++) {
                for (int kj = 0; kj < kW; kj++) {
                    int iw = ow * strideW - padW + kj * dilationW;
                    if (iw >= 0 && iw < width) {
                        colMask[ow] |= 1 << kj;
                    }
                }
            }
            // classes in order of their first position; class of each position
            int[] classOf = new int[plane];
            long[] keys = new long[plane];
            int count = 0;
            for (int p = 0; p < plane; p++) {
                long key = (long) rowMask[p / outW] << 32 | colMask[p % outW];
                int q = 0;
                while (q < count && keys[q] != key) {
                    q++;
                }
                if (q == count) {
                    keys[count++] = key;
                }
                classOf[p] = q;
                int oh = p / outW;
                int ow = p % outW;
                for (int t = 0; t < taps; t++) {
                    int ih = oh * strideH - padH + (t / kW) * dilationH;
                    int iw = ow * strideW - padW + (t % kW) * dilationW;
                    pixel[p * taps + t] = ih >= 0 && ih < height && iw >= 0 && iw < width ? ih * width + iw : -1;
                }
            }
            classes = count;
            rowCount = new int[count];
            posFrom = new int[count + 1];
            tapFrom = new int[count + 1];
            positions = new int[plane];
            int[] tapList = new int[count * taps];
            int posSoFar = 0;
            int tapsSoFar = 0;
            long multiplyAdds = 0;
            for (int q = 0; q < count; q++) {
                posFrom[q] = posSoFar;
                for (int p = 0; p < plane; p++) {
                    if (classOf[p] == q) {
                        positions[posSoFar++] = p;
                    }
                }
                tapFrom[q] = tapsSoFar;
                int first = positions[posFrom[q]];
                for (int t = 0; t < taps; t++) {
                    if (pixel[first * taps + t] >= 0) {
                        tapList[tapsSoFar++] = t;
                    }
                }
                rowCount[q] = (posSoFar - posFrom[q]) * batch;
                int padded = (rowCount[q] + MR - 1) / MR * MR;
                multiplyAdds += (long) padded * (tapsSoFar - tapFrom[q]);
            }
            posFrom[count] = posSoFar;
            tapFrom[count] = tapsSoFar;
            validTaps = java.util.Arrays.copyOf(tapList, tapsSoFar);
            work = multiplyAdds;
        }

        /** True when this plan is for the shape of these arguments (the constructor's). */
        boolean isFor(int batch, int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                      int dilationH, int dilationW, int outH, int outW) {
            int[] s = shape;
            return s[0] == batch && s[1] == height && s[2] == width && s[3] == kH && s[4] == kW && s[5] == padH
                    && s[6] == padW && s[7] == strideH && s[8] == strideW && s[9] == dilationH && s[10] == dilationW
                    && s[11] == outH && s[12] == outW;
        }

        /** True when the classes' products are at most {@link #MAX_WORK} of the full GEMM's. */
        boolean pays() {
            return work <= MAX_WORK * (long) batch * (posFrom[classes]) * taps;
        }

        /** Output position and image of row r of class q (r below rowCount[q]). */
        int position(int q, int r) {
            return positions[posFrom[q] + r / batch];
        }
    }

    /**
     * Channels per block of the forward: a tile's rows of W over a block (five: 12 KB; ten at 512
     * bits: 23 KB) stay in L1 while every class uses them.
     */
    static final int SPAN_CHANNELS = Integer.getInteger("autograd.tapSpan", 64);
    /**
     * Columns per panel of the forward and the input gradient: two vectors below 512 bits, one at
     * 512 (16 columns either way above 128 bits). A class's rows are padded to whole panels, and
     * ResNet-18's layer4 at batch 16 has classes of 16 rows (a corner's position in 16 images): in
     * panels of 32 columns half of every tile was padding. At 512 bits the tiles are twice as tall
     * instead ({@link #W_ROWS}, {@link #FORWARD_ROWS}: AVX-512 has 32 registers). The Zen 4's B=16
     * training step: see the Kernels section of docs/performance.md.
     */
    static final int COLS = L > 8 ? L : 2 * L;
    /** Rows of W per tile of the input gradient's kernel: 12 accumulators ({@link #columnKernel}). */
    static final int W_ROWS = L > 8 ? 12 : 6;
    /**
     * Rows of W per tile of the forward's kernel: 10 accumulators ({@link #wKernel}). Below 512 bits
     * a row is two vectors: with six rows (12), C2 kept four of them on the stack on AVX2's 16
     * registers, a load and a store around every FMA; four rows (8) were slower than six (2.93
     * against 2.56 ms).
     */
    static final int FORWARD_ROWS = L > 8 ? 10 : 5;
    /** The channel stride of the weight as the forward's kernel reads it: a 3x3 kernel's taps. */
    static final int TAP_STRIDE = 9;
    /**
     * The input gradient's copy of a block of W's columns: rows this many floats apart (16 channels
     * of a 3x3 kernel). Kernels of more than this many taps do not take these classes.
     */
    static final int COLUMN_STRIDE = 16 * TAP_STRIDE;
    /**
     * Rows of W per depth chunk of the input gradient: the chunk's 74 KB of the copy stay in L2 while
     * every tile reads them. 32 rows (18 KB, L1) was slower for layer4 at batch 16: 4.00 against
     * 3.83 ms, 15 of 21 rounds (2 threads, alternating).
     */
    static final int COLUMN_DEPTH = Math.max(1, Integer.getInteger("autograd.tapDepth", 128));
    /** A tile's pairs in the input gradient's table: W_ROWS columns of the copy, then W_ROWS taps. */
    private static final int TILE_INTS = 2 * W_ROWS;
    /** The forward's and the input gradient's B panels (the caller's: read by every thread). */
    private static final ThreadLocal<float[]> B_PANELS = ThreadLocal.withInitial(() -> new float[0]);
    /** Each thread's products: the forward's block of out, the input gradient's tiles, the weight gradient's panel. */
    private static final ThreadLocal<float[]> PRODUCT = ThreadLocal.withInitial(() -> new float[0]);
    /** Each thread's copy of a block of W's columns (input gradient). */
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[0]);
    /** The forward's first B index of each class, and each class's first column (the caller's). */
    private static final ThreadLocal<int[]> CLASS_STARTS = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> COLUMN_STARTS = ThreadLocal.withInitial(() -> new int[0]);
    /** The weight of a kernel size other than 3x3 in the forward's layout (the caller's). */
    private static final ThreadLocal<float[]> WEIGHTS = ThreadLocal.withInitial(() -> new float[0]);
    /** Each thread's: a panel's image offsets (forward), a block's tile table (input gradient). */
    private static final ThreadLocal<int[]> ROW_BASES = ThreadLocal.withInitial(() -> new int[0]);
    /**
     * A panel's pixels per tap (forward, each thread's); each column's image and position (input
     * gradient, the caller's).
     */
    private static final ThreadLocal<int[]> ROW_PIXELS = ThreadLocal.withInitial(() -> new int[0]);
    /** The weight gradient's packed operands (the caller's: read by every thread). */
    private static final ThreadLocal<float[]> TAP_A = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> TAP_B = ThreadLocal.withInitial(() -> new float[0]);
    /** The weight gradient's rows tap by tap (first row of tap t, then each row's grad and x offsets). */
    private static final ThreadLocal<int[]> TAP_ROWS = ThreadLocal.withInitial(() -> new int[0]);
    /** Where dW's element j of a row comes from in a panel's products (tap-major), per thread. */
    private static final ThreadLocal<int[]> INTERLEAVE = ThreadLocal.withInitial(() -> new int[0]);

    /** {@link Kernels#conv2dTaps}: out [batch, outC, outH, outW], overwritten. */
    static void forward(Plan plan, float[] w, int wOff, int outC, float[] x, int xOff, int channels, int height,
                        int width, float[] out, int outOff) {
        int taps = plan.taps;
        int k = channels * taps;
        int image = height * width;
        int plane = plan.positions.length;
        int batch = plan.batch;
        int span = Math.max(1, Math.min(channels, SPAN_CHANNELS));
        // B: class q's rows in panels of COLS columns, panel i at bFrom[q] + i * depth_q * COLS; inside
        // a panel, channel block by block, each block tap by tap (the class's valid taps), channel
        // by channel: the order in which wKernel walks them
        int[] columnFrom = Scratch.ints(COLUMN_STARTS, plan.classes + 1);
        int columns = classColumns(plan, columnFrom);
        int[] bFrom = Scratch.ints(CLASS_STARTS, plan.classes);
        long bSize = 0;
        for (int q = 0; q < plan.classes; q++) {
            bFrom[q] = (int) bSize;
            bSize += (long) (columnFrom[q + 1] - columnFrom[q]) * channels * (plan.tapFrom[q + 1] - plan.tapFrom[q]);
        }
        float[] b = Scratch.floats(B_PANELS, Math.toIntExact(bSize));
        int ldp = columns;
        ForwardPanelsCall panels = FORWARD_PANELS_CALLS.get();
        panels.plan = plan;
        panels.columnFrom = columnFrom;
        panels.bFrom = bFrom;
        panels.b = b;
        panels.x = x;
        panels.xOff = xOff;
        panels.batch = batch;
        panels.channels = channels;
        panels.image = image;
        panels.taps = taps;
        panels.span = span;
        Parallel.forRange(columns / COLS, 1, 1, panels);
        // out[o, column] by blocks of FORWARD_ROWS rows of W, whose values the kernel broadcasts from
        // W as it stands (no transposed copy of W); then the block's rows to out[image, o, position].
        // Other kernel sizes than 3x3: W copied with its taps in groups of TAP_STRIDE (see wKernel)
        boolean asIs = taps == TAP_STRIDE;
        int ldw = asIs ? k : Math.multiplyExact((taps + TAP_STRIDE - 1) / TAP_STRIDE * TAP_STRIDE, channels);
        float[] wk = asIs ? w : regrouped(w, wOff, outC, channels, taps, ldw);
        int wkOff = asIs ? wOff : 0;
        int blocksO = (outC + FORWARD_ROWS - 1) / FORWARD_ROWS;
        ForwardRowsCall call = FORWARD_ROWS_CALLS.get();
        call.plan = plan;
        call.columnFrom = columnFrom;
        call.bFrom = bFrom;
        call.wk = wk;
        call.b = b;
        call.out = out;
        call.ldp = ldp;
        call.outC = outC;
        call.channels = channels;
        call.span = span;
        call.wkOff = wkOff;
        call.ldw = ldw;
        call.batch = batch;
        call.outOff = outOff;
        call.plane = plane;
        Parallel.forRange(blocksO, 1, 1, call);
    }

    /** {@link #forward}'s blocks of rows of W, for the pool (see {@link Parallel.Call}). */
    private static final class ForwardRowsCall extends Parallel.RangeCall {
        Plan plan;
        int[] columnFrom, bFrom;
        float[] wk, b, out;
        int ldp, outC, channels, span, wkOff, ldw, batch, outOff, plane;

        @Override
        public void run(int o0, int o1) {
            float[] product = Scratch.floats(PRODUCT, FORWARD_ROWS * ldp);
            for (int ob = o0; ob < o1; ob++) {
                int row0 = ob * FORWARD_ROWS;
                int rows = Math.min(FORWARD_ROWS, outC - row0);
                for (int c0 = 0; c0 < channels; c0 += span) {
                    int cn = Math.min(span, channels - c0);
                    for (int q = 0; q < plan.classes; q++) {
                        int valid = plan.tapFrom[q + 1] - plan.tapFrom[q];
                        int depth = channels * valid;
                        for (int col = columnFrom[q]; col < columnFrom[q + 1]; col += COLS) {
                            wKernel(wk, wkOff + row0 * ldw, ldw, rows, plan.validTaps, plan.tapFrom[q],
                                    valid, c0, cn, channels, b, bFrom[q] + (col - columnFrom[q]) * depth
                                            + c0 * valid * COLS, product, col, ldp, c0 > 0);
                        }
                    }
                }
                for (int q = 0; q < plan.classes; q++) {
                    for (int r = 0; r < plan.rowCount[q]; r++) {
                        int src = columnFrom[q] + r;
                        int dst = outOff + ((r % batch) * outC + row0) * plane + plan.position(q, r);
                        for (int i = 0; i < rows; i++) {
                            out[dst + i * plane] = product[src + i * ldp];
                        }
                    }
                }
            }
        }

        @Override
        void clear() {
            plan = null;
            columnFrom = bFrom = null;
            wk = b = out = null;
        }
    }

    private static final Parallel.Reused<ForwardRowsCall> FORWARD_ROWS_CALLS =
            new Parallel.Reused<>(ForwardRowsCall::new);

    /** {@link #forward}'s panels of B, for the pool (see {@link Parallel.Call}). */
    private static final class ForwardPanelsCall extends Parallel.RangeCall {
        Plan plan;
        int[] columnFrom, bFrom;
        float[] b, x;
        int xOff, batch, channels, image, taps, span;

        @Override
        public void run(int u0, int u1) {
            int[] base = Scratch.ints(ROW_BASES, COLS);
            int[] pixels = Scratch.ints(ROW_PIXELS, COLS * taps);
            for (int unit = u0; unit < u1; unit++) {
                int q = classOfColumn(columnFrom, plan.classes, unit * COLS);
                int first = unit * COLS - columnFrom[q];
                int valid = plan.tapFrom[q + 1] - plan.tapFrom[q];
                for (int i = 0; i < COLS; i++) {
                    int r = first + i;
                    base[i] = r < plan.rowCount[q] ? xOff + (r % batch) * channels * image : -1;
                    int p = r < plan.rowCount[q] ? plan.position(q, r) : 0;
                    for (int t = 0; t < valid; t++) {
                        pixels[t * COLS + i] = plan.pixel[p * taps + plan.validTaps[plan.tapFrom[q] + t]];
                    }
                }
                int at = bFrom[q] + first * channels * valid;
                for (int c0 = 0; c0 < channels; c0 += span) {
                    int cn = Math.min(span, channels - c0);
                    for (int t = 0; t < valid; t++) {
                        for (int c = c0; c < c0 + cn; c++) {
                            for (int i = 0; i < COLS; i++, at++) {
                                b[at] = base[i] < 0 ? 0f : x[base[i] + c * image + pixels[t * COLS + i]];
                            }
                        }
                    }
                }
            }
        }

        @Override
        void clear() {
            plan = null;
            columnFrom = bFrom = null;
            b = x = null;
        }
    }

    private static final Parallel.Reused<ForwardPanelsCall> FORWARD_PANELS_CALLS =
            new Parallel.Reused<>(ForwardPanelsCall::new);

    /** W [outC, channels * taps] with each row's taps at {@link #tapColumn}, rows ldw apart (the caller's scratch). */
    private static float[] regrouped(float[] w, int wOff, int outC, int channels, int taps, int ldw) {
        float[] wk = Scratch.floats(WEIGHTS, Math.multiplyExact(outC, ldw));
        int k = channels * taps;
        for (int o = 0; o < outC; o++) {
            for (int c = 0; c < channels; c++) {
                for (int t = 0; t < taps; t++) {
                    wk[o * ldw + tapColumn(t, c, 0, channels)] = w[wOff + o * k + c * taps + t];
                }
            }
        }
        return wk;
    }

    /** The class whose columns hold column {@code col}. */
    private static int classOfColumn(int[] columnFrom, int classes, int col) {
        int q = classes - 1;
        while (columnFrom[q] > col) {
            q--;
        }
        return q;
    }

    /**
     * Where tap t of channel c sits in a row of the weight as wKernel reads it: {@code c*9 + t} for
     * a 3x3 kernel (W as it stands); other sizes in groups of nine taps, group by group.
     */
    private static int tapColumn(int t, int c, int c0, int channels) {
        return (t / TAP_STRIDE * channels + c0 + c) * TAP_STRIDE + t % TAP_STRIDE;
    }

    /**
     * C[i, 0..COLS) (+)= sum over the block's valid taps t and channels c of W[row i, (c, t)] x
     * B[(t, c), 0..COLS), for FORWARD_ROWS rows of W from {@code w[wRow0 ..]} (rows past {@code rows}
     * read the last one again; their results land in C's spare rows). A's values are broadcast
     * straight from W's rows, so W is not transposed. Its channels are {@link #TAP_STRIDE} floats apart, a
     * constant: with the stride in a variable the forward of layer4 at batch 16 took 3.16 against
     * 2.54 ms (15 of 15 rounds, alternating), though C2's inner loop looks the same in both (49
     * instructions per 12 FMAs).
     */
    private static void wKernel(float[] w, int wRow0, int ldw, int rows, int[] validTaps, int tapFrom, int valid,
                                int c0, int cn, int channels, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                                boolean accumulate) {
        if (COLS == L) {
            wKernel10(w, wRow0, ldw, rows, validTaps, tapFrom, valid, c0, cn, channels, bp, bIdx, c, cIdx, ldc,
                    accumulate);
            return;
        }
        int r1 = wRow0 + Math.min(1, rows - 1) * ldw;
        int r2 = wRow0 + Math.min(2, rows - 1) * ldw;
        int r3 = wRow0 + Math.min(3, rows - 1) * ldw;
        int r4 = wRow0 + Math.min(4, rows - 1) * ldw;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41;
        if (accumulate) {
            c00 = FloatVector.fromArray(S, c, cIdx);
            c01 = FloatVector.fromArray(S, c, cIdx + L);
            c10 = FloatVector.fromArray(S, c, cIdx + ldc);
            c11 = FloatVector.fromArray(S, c, cIdx + ldc + L);
            c20 = FloatVector.fromArray(S, c, cIdx + 2 * ldc);
            c21 = FloatVector.fromArray(S, c, cIdx + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, cIdx + 3 * ldc);
            c31 = FloatVector.fromArray(S, c, cIdx + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, c, cIdx + 4 * ldc);
            c41 = FloatVector.fromArray(S, c, cIdx + 4 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = FloatVector.zero(S);
        }
        int bi = bIdx;
        for (int t = 0; t < valid; t++) {
            int off = tapColumn(validTaps[tapFrom + t], 0, c0, channels);
            for (int ch = 0; ch < cn; ch++, bi += COLS) {
                int a = off + ch * TAP_STRIDE;
                FloatVector b0 = FloatVector.fromArray(S, bp, bi);
                FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
                FloatVector av;
                av = FloatVector.broadcast(S, w[wRow0 + a]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, w[r1 + a]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, w[r2 + a]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, w[r3 + a]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
                av = FloatVector.broadcast(S, w[r4 + a]);
                c40 = av.fma(b0, c40);
                c41 = av.fma(b1, c41);
            }
        }
        c00.intoArray(c, cIdx);
        c01.intoArray(c, cIdx + L);
        c10.intoArray(c, cIdx + ldc);
        c11.intoArray(c, cIdx + ldc + L);
        c20.intoArray(c, cIdx + 2 * ldc);
        c21.intoArray(c, cIdx + 2 * ldc + L);
        c30.intoArray(c, cIdx + 3 * ldc);
        c31.intoArray(c, cIdx + 3 * ldc + L);
        c40.intoArray(c, cIdx + 4 * ldc);
        c41.intoArray(c, cIdx + 4 * ldc + L);
    }

    /**
     * {@link #wKernel} at 512 bits: ten rows of W by one vector of B's panel (16 columns), 10
     * accumulators + 1 B vector + 1 broadcast of AVX-512's 32 registers.
     */
    private static void wKernel10(float[] w, int wRow0, int ldw, int rows, int[] validTaps, int tapFrom, int valid,
                                  int c0, int cn, int channels, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                                  boolean accumulate) {
        int r1 = wRow0 + Math.min(1, rows - 1) * ldw;
        int r2 = wRow0 + Math.min(2, rows - 1) * ldw;
        int r3 = wRow0 + Math.min(3, rows - 1) * ldw;
        int r4 = wRow0 + Math.min(4, rows - 1) * ldw;
        int r5 = wRow0 + Math.min(5, rows - 1) * ldw;
        int r6 = wRow0 + Math.min(6, rows - 1) * ldw;
        int r7 = wRow0 + Math.min(7, rows - 1) * ldw;
        int r8 = wRow0 + Math.min(8, rows - 1) * ldw;
        int r9 = wRow0 + Math.min(9, rows - 1) * ldw;
        FloatVector s0, s1, s2, s3, s4, s5, s6, s7, s8, s9;
        if (accumulate) {
            s0 = FloatVector.fromArray(S, c, cIdx);
            s1 = FloatVector.fromArray(S, c, cIdx + ldc);
            s2 = FloatVector.fromArray(S, c, cIdx + 2 * ldc);
            s3 = FloatVector.fromArray(S, c, cIdx + 3 * ldc);
            s4 = FloatVector.fromArray(S, c, cIdx + 4 * ldc);
            s5 = FloatVector.fromArray(S, c, cIdx + 5 * ldc);
            s6 = FloatVector.fromArray(S, c, cIdx + 6 * ldc);
            s7 = FloatVector.fromArray(S, c, cIdx + 7 * ldc);
            s8 = FloatVector.fromArray(S, c, cIdx + 8 * ldc);
            s9 = FloatVector.fromArray(S, c, cIdx + 9 * ldc);
        } else {
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = FloatVector.zero(S);
        }
        int bi = bIdx;
        for (int t = 0; t < valid; t++) {
            int off = tapColumn(validTaps[tapFrom + t], 0, c0, channels);
            for (int ch = 0; ch < cn; ch++, bi += COLS) {
                int a = off + ch * TAP_STRIDE;
                FloatVector b0 = FloatVector.fromArray(S, bp, bi);
                s0 = FloatVector.broadcast(S, w[wRow0 + a]).fma(b0, s0);
                s1 = FloatVector.broadcast(S, w[r1 + a]).fma(b0, s1);
                s2 = FloatVector.broadcast(S, w[r2 + a]).fma(b0, s2);
                s3 = FloatVector.broadcast(S, w[r3 + a]).fma(b0, s3);
                s4 = FloatVector.broadcast(S, w[r4 + a]).fma(b0, s4);
                s5 = FloatVector.broadcast(S, w[r5 + a]).fma(b0, s5);
                s6 = FloatVector.broadcast(S, w[r6 + a]).fma(b0, s6);
                s7 = FloatVector.broadcast(S, w[r7 + a]).fma(b0, s7);
                s8 = FloatVector.broadcast(S, w[r8 + a]).fma(b0, s8);
                s9 = FloatVector.broadcast(S, w[r9 + a]).fma(b0, s9);
            }
        }
        s0.intoArray(c, cIdx);
        s1.intoArray(c, cIdx + ldc);
        s2.intoArray(c, cIdx + 2 * ldc);
        s3.intoArray(c, cIdx + 3 * ldc);
        s4.intoArray(c, cIdx + 4 * ldc);
        s5.intoArray(c, cIdx + 5 * ldc);
        s6.intoArray(c, cIdx + 6 * ldc);
        s7.intoArray(c, cIdx + 7 * ldc);
        s8.intoArray(c, cIdx + 8 * ldc);
        s9.intoArray(c, cIdx + 9 * ldc);
    }

    /** {@link Kernels#conv2dTapsInputGrad}: grad [batch, outC, outH, outW]; adds into gx [batch, channels, height, width]. */
    static void inputGrad(Plan plan, float[] w, int wOff, int outC, float[] grad, int gOff, int channels, int height,
                          int width, float[] gx, int gxOff) {
        int taps = plan.taps;
        int k = channels * taps;
        int image = height * width;
        int plane = plan.positions.length;
        int batch = plan.batch;
        // B: grad over each class's rows (columns here), in panels of COLS: the panel of column col at
        // col * outC, row o at + o * COLS
        int[] columnFrom = Scratch.ints(COLUMN_STARTS, plan.classes + 1);
        int columns = classColumns(plan, columnFrom);
        float[] b = Scratch.floats(B_PANELS, Math.multiplyExact(columns, outC));
        InputGradPanelsCall panels = INPUT_GRAD_PANELS_CALLS.get();
        panels.plan = plan;
        panels.columnFrom = columnFrom;
        panels.b = b;
        panels.grad = grad;
        panels.outC = outC;
        panels.gOff = gOff;
        panels.batch = batch;
        panels.plane = plane;
        Parallel.forRange(columns / COLS, 1, 1, panels);
        // blocks of channels: their columns of W copied to rows COLUMN_STRIDE apart, then per class
        // tiles of W_ROWS (channel, tap) pairs by COLS columns, each added into its pixels' gradient. A
        // block's channels are its own, so the sums into gx run in one order on any thread count.
        int groups = (taps + TAP_STRIDE - 1) / TAP_STRIDE;
        int span = COLUMN_STRIDE / (groups * TAP_STRIDE);
        int blocks = (channels + span - 1) / span;
        int tiles = 0;
        for (int q = 0; q < plan.classes; q++) {
            int pairs = (plan.tapFrom[q + 1] - plan.tapFrom[q]) * span;
            tiles += (pairs + W_ROWS - 1) / W_ROWS * ((columnFrom[q + 1] - columnFrom[q]) / COLS);
        }
        int tileCount = tiles;
        // each column's image (its offset in gx), then each column's output position
        int[] columnAt = Scratch.ints(ROW_PIXELS, 2 * columns);
        for (int q = 0; q < plan.classes; q++) {
            for (int col = columnFrom[q]; col < columnFrom[q + 1]; col++) {
                int r = Math.min(col - columnFrom[q], plan.rowCount[q] - 1);
                columnAt[col] = gxOff + (r % batch) * channels * image;
                columnAt[columns + col] = plan.position(q, r);
            }
        }
        InputGradBlocksCall call = INPUT_GRAD_BLOCKS_CALLS.get();
        call.plan = plan;
        call.columnFrom = columnFrom;
        call.columnAt = columnAt;
        call.w = w;
        call.b = b;
        call.gx = gx;
        call.outC = outC;
        call.tileCount = tileCount;
        call.span = span;
        call.channels = channels;
        call.wOff = wOff;
        call.taps = taps;
        call.k = k;
        call.columns = columns;
        call.image = image;
        Parallel.forRange(blocks, 1, 1, call);
    }

    /** {@link #inputGrad}'s blocks of channels, for the pool (see {@link Parallel.Call}). */
    private static final class InputGradBlocksCall extends Parallel.RangeCall {
        Plan plan;
        int[] columnFrom, columnAt;
        float[] w, b, gx;
        int outC, tileCount, span, channels, wOff, taps, k, columns, image;

        @Override
        public void run(int k0, int k1) {
            float[] cols = Scratch.floats(PANEL, outC * COLUMN_STRIDE);
            float[] acc = Scratch.floats(PRODUCT, tileCount * W_ROWS * COLS);
            int[] pair = Scratch.ints(ROW_BASES, tileCount * TILE_INTS);
            for (int blk = k0; blk < k1; blk++) {
                int c0 = blk * span;
                int cn = Math.min(span, channels - c0);
                copyColumns(w, wOff + c0 * taps, k, outC, cn, taps, span, cols);
                // each tile's W_ROWS pairs once per block (their columns in the copy, their taps)
                int made = 0;
                for (int q = 0; q < plan.classes; q++) {
                    int pairs = (plan.tapFrom[q + 1] - plan.tapFrom[q]) * cn;
                    for (int e0 = 0; e0 < pairs; e0 += W_ROWS, made++) {
                        tilePairs(plan, q, e0, pairs, cn, span, pair, made * TILE_INTS);
                    }
                }
                // depth chunks of COLUMN_DEPTH rows of W: the chunk's lines of the copy and of B stay
                // in the cache while every tile reads them; the tiles add up in acc across chunks
                for (int o0 = 0; o0 < outC; o0 += COLUMN_DEPTH) {
                    int kc = Math.min(COLUMN_DEPTH, outC - o0);
                    int at = 0;
                    int tile = 0;
                    for (int q = 0; q < plan.classes; q++) {
                        int pairs = (plan.tapFrom[q + 1] - plan.tapFrom[q]) * cn;
                        for (int e0 = 0; e0 < pairs; e0 += W_ROWS, tile++) {
                            for (int col = columnFrom[q]; col < columnFrom[q + 1]; col += COLS, at += W_ROWS * COLS) {
                                columnKernel(cols, o0 * COLUMN_STRIDE, pair, tile * TILE_INTS, b,
                                        col * outC + o0 * COLS, kc, acc, at, o0 > 0);
                            }
                        }
                    }
                }
                // each tile's sums into its pixels' gradient
                int at = 0;
                int tile = 0;
                for (int q = 0; q < plan.classes; q++) {
                    int valid = plan.tapFrom[q + 1] - plan.tapFrom[q];
                    for (int e0 = 0; e0 < valid * cn; e0 += W_ROWS, tile++) {
                        int count = Math.min(W_ROWS, valid * cn - e0);
                        for (int col = columnFrom[q]; col < columnFrom[q + 1]; col += COLS, at += W_ROWS * COLS) {
                            int rows = Math.min(COLS, plan.rowCount[q] - (col - columnFrom[q]));
                            for (int i = 0; i < count; i++) {
                                int c = c0 + (e0 + i) / valid;
                                int t = pair[tile * TILE_INTS + W_ROWS + i];
                                for (int j = 0; j < rows; j++) {
                                    int pixel = plan.pixel[columnAt[columns + col + j] * taps + t];
                                    gx[columnAt[col + j] + c * image + pixel] += acc[at + i * COLS + j];
                                }
                            }
                        }
                    }
                }
            }
        }

        @Override
        void clear() {
            plan = null;
            columnFrom = columnAt = null;
            w = b = gx = null;
        }
    }

    private static final Parallel.Reused<InputGradBlocksCall> INPUT_GRAD_BLOCKS_CALLS =
            new Parallel.Reused<>(InputGradBlocksCall::new);

    /** {@link #inputGrad}'s panels of B, for the pool (see {@link Parallel.Call}). */
    private static final class InputGradPanelsCall extends Parallel.RangeCall {
        Plan plan;
        int[] columnFrom;
        float[] b, grad;
        int outC, gOff, batch, plane;

        @Override
        public void run(int u0, int u1) {
            for (int unit = u0; unit < u1; unit++) {
                int q = classOfColumn(columnFrom, plan.classes, unit * COLS);
                int first = unit * COLS - columnFrom[q];
                int dst = unit * COLS * outC;
                for (int i = 0; i < COLS; i++) {
                    int r = first + i;
                    int src = r < plan.rowCount[q] ? gOff + (r % batch) * outC * plane + plan.position(q, r) : -1;
                    for (int o = 0; o < outC; o++) {
                        b[dst + o * COLS + i] = src < 0 ? 0f : grad[src + o * plane];
                    }
                }
            }
        }

        @Override
        void clear() {
            plan = null;
            columnFrom = null;
            b = grad = null;
        }
    }

    private static final Parallel.Reused<InputGradPanelsCall> INPUT_GRAD_PANELS_CALLS =
            new Parallel.Reused<>(InputGradPanelsCall::new);

    /**
     * Pairs e0 .. e0 + W_ROWS - 1 of class q in a block of cn channels, channel by channel and in each
     * its valid taps (so a tile's columns of the copy share cache lines), from pair[at]: pair[at + i]
     * its column in the copy, pair[at + W_ROWS + i] its tap; past the last pair, the last one again.
     */
    private static void tilePairs(Plan plan, int q, int e0, int pairs, int cn, int span, int[] pair, int at) {
        int valid = plan.tapFrom[q + 1] - plan.tapFrom[q];
        int count = Math.min(W_ROWS, pairs - e0);
        for (int i = 0; i < W_ROWS; i++) {
            int e = e0 + Math.min(i, count - 1);
            int t = plan.validTaps[plan.tapFrom[q] + e % valid];
            pair[at + i] = tapColumn(t, e / valid, 0, span);
            pair[at + W_ROWS + i] = t;
        }
    }

    /**
     * Rows [0, kc) of W from {@code w[src ..]} (rows k apart), channels [0, cn) of a block of span, to
     * rows {@link #COLUMN_STRIDE} apart in cols, each channel's taps at {@link #tapColumn}: runs of
     * cn * 9 floats for a 3x3 kernel.
     */
    private static void copyColumns(float[] w, int src, int k, int kc, int cn, int taps, int span, float[] cols) {
        for (int o = 0; o < kc; o++, src += k) {
            if (taps == TAP_STRIDE) {
                System.arraycopy(w, src, cols, o * COLUMN_STRIDE, cn * taps);
                continue;
            }
            for (int c = 0; c < cn; c++) {
                for (int t = 0; t < taps; t++) {
                    cols[o * COLUMN_STRIDE + tapColumn(t, c, 0, span)] = w[src + c * taps + t];
                }
            }
        }
    }

    /** Each class's columns from columnFrom[q], rounded up to whole COLS panels; returns their total. */
    private static int classColumns(Plan plan, int[] columnFrom) {
        int columns = 0;
        for (int q = 0; q < plan.classes; q++) {
            columnFrom[q] = columns;
            columns += (plan.rowCount[q] + COLS - 1) / COLS * COLS;
        }
        columnFrom[plan.classes] = columns;
        return columns;
    }

    /**
     * {@code tile[i, 0..COLS) (+)= sum_p cols[p, pair[i]] x bp[bIdx + p*COLS ..]}, p below kc, for W_ROWS
     * columns of the block copy of W from row {@code cols[from]} (rows {@link #COLUMN_STRIDE} apart, a
     * constant, so the loop keeps no bounds checks); the tile at {@code tile[at ..]}, rows COLS apart.
     */
    private static void columnKernel(float[] cols, int from, int[] pair, int pairAt, float[] bp, int bIdx, int kc,
                                     float[] tile, int at, boolean accumulate) {
        if (COLS == L) {
            columnKernel12(cols, from, pair, pairAt, bp, bIdx, kc, tile, at, accumulate);
            return;
        }
        int a0 = from + pair[pairAt];
        int a1 = from + pair[pairAt + 1];
        int a2 = from + pair[pairAt + 2];
        int a3 = from + pair[pairAt + 3];
        int a4 = from + pair[pairAt + 4];
        int a5 = from + pair[pairAt + 5];
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate) {
            c00 = FloatVector.fromArray(S, tile, at);
            c01 = FloatVector.fromArray(S, tile, at + L);
            c10 = FloatVector.fromArray(S, tile, at + COLS);
            c11 = FloatVector.fromArray(S, tile, at + COLS + L);
            c20 = FloatVector.fromArray(S, tile, at + 2 * COLS);
            c21 = FloatVector.fromArray(S, tile, at + 2 * COLS + L);
            c30 = FloatVector.fromArray(S, tile, at + 3 * COLS);
            c31 = FloatVector.fromArray(S, tile, at + 3 * COLS + L);
            c40 = FloatVector.fromArray(S, tile, at + 4 * COLS);
            c41 = FloatVector.fromArray(S, tile, at + 4 * COLS + L);
            c50 = FloatVector.fromArray(S, tile, at + 5 * COLS);
            c51 = FloatVector.fromArray(S, tile, at + 5 * COLS + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            int row = p * COLUMN_STRIDE;
            int bi = bIdx + p * COLS;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector av;
            av = FloatVector.broadcast(S, cols[a0 + row]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, cols[a1 + row]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, cols[a2 + row]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, cols[a3 + row]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, cols[a4 + row]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, cols[a5 + row]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        c00.intoArray(tile, at);
        c01.intoArray(tile, at + L);
        c10.intoArray(tile, at + COLS);
        c11.intoArray(tile, at + COLS + L);
        c20.intoArray(tile, at + 2 * COLS);
        c21.intoArray(tile, at + 2 * COLS + L);
        c30.intoArray(tile, at + 3 * COLS);
        c31.intoArray(tile, at + 3 * COLS + L);
        c40.intoArray(tile, at + 4 * COLS);
        c41.intoArray(tile, at + 4 * COLS + L);
        c50.intoArray(tile, at + 5 * COLS);
        c51.intoArray(tile, at + 5 * COLS + L);
    }

    /**
     * {@link #columnKernel} at 512 bits: twelve columns of the copy by one vector of B's panel (16
     * columns), 12 accumulators + 1 B vector + 1 broadcast of AVX-512's 32 registers.
     */
    private static void columnKernel12(float[] cols, int from, int[] pair, int pairAt, float[] bp, int bIdx, int kc,
                                       float[] tile, int at, boolean accumulate) {
        int a0 = from + pair[pairAt];
        int a1 = from + pair[pairAt + 1];
        int a2 = from + pair[pairAt + 2];
        int a3 = from + pair[pairAt + 3];
        int a4 = from + pair[pairAt + 4];
        int a5 = from + pair[pairAt + 5];
        int a6 = from + pair[pairAt + 6];
        int a7 = from + pair[pairAt + 7];
        int a8 = from + pair[pairAt + 8];
        int a9 = from + pair[pairAt + 9];
        int a10 = from + pair[pairAt + 10];
        int a11 = from + pair[pairAt + 11];
        FloatVector s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11;
        if (accumulate) {
            s0 = FloatVector.fromArray(S, tile, at);
            s1 = FloatVector.fromArray(S, tile, at + COLS);
            s2 = FloatVector.fromArray(S, tile, at + 2 * COLS);
            s3 = FloatVector.fromArray(S, tile, at + 3 * COLS);
            s4 = FloatVector.fromArray(S, tile, at + 4 * COLS);
            s5 = FloatVector.fromArray(S, tile, at + 5 * COLS);
            s6 = FloatVector.fromArray(S, tile, at + 6 * COLS);
            s7 = FloatVector.fromArray(S, tile, at + 7 * COLS);
            s8 = FloatVector.fromArray(S, tile, at + 8 * COLS);
            s9 = FloatVector.fromArray(S, tile, at + 9 * COLS);
            s10 = FloatVector.fromArray(S, tile, at + 10 * COLS);
            s11 = FloatVector.fromArray(S, tile, at + 11 * COLS);
        } else {
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = s10 = s11 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            int row = p * COLUMN_STRIDE;
            FloatVector b0 = FloatVector.fromArray(S, bp, bIdx + p * COLS);
            s0 = FloatVector.broadcast(S, cols[a0 + row]).fma(b0, s0);
            s1 = FloatVector.broadcast(S, cols[a1 + row]).fma(b0, s1);
            s2 = FloatVector.broadcast(S, cols[a2 + row]).fma(b0, s2);
            s3 = FloatVector.broadcast(S, cols[a3 + row]).fma(b0, s3);
            s4 = FloatVector.broadcast(S, cols[a4 + row]).fma(b0, s4);
            s5 = FloatVector.broadcast(S, cols[a5 + row]).fma(b0, s5);
            s6 = FloatVector.broadcast(S, cols[a6 + row]).fma(b0, s6);
            s7 = FloatVector.broadcast(S, cols[a7 + row]).fma(b0, s7);
            s8 = FloatVector.broadcast(S, cols[a8 + row]).fma(b0, s8);
            s9 = FloatVector.broadcast(S, cols[a9 + row]).fma(b0, s9);
            s10 = FloatVector.broadcast(S, cols[a10 + row]).fma(b0, s10);
            s11 = FloatVector.broadcast(S, cols[a11 + row]).fma(b0, s11);
        }
        s0.intoArray(tile, at);
        s1.intoArray(tile, at + COLS);
        s2.intoArray(tile, at + 2 * COLS);
        s3.intoArray(tile, at + 3 * COLS);
        s4.intoArray(tile, at + 4 * COLS);
        s5.intoArray(tile, at + 5 * COLS);
        s6.intoArray(tile, at + 6 * COLS);
        s7.intoArray(tile, at + 7 * COLS);
        s8.intoArray(tile, at + 8 * COLS);
        s9.intoArray(tile, at + 9 * COLS);
        s10.intoArray(tile, at + 10 * COLS);
        s11.intoArray(tile, at + 11 * COLS);
    }

    /**
     * {@link Kernels#conv2dTapsWeightGrad}: {@code dw[o, (c, t)] = beta dw + sum grad[b, o, p] x[b, c,
     * pixel(p, t)]} over the (position p, image b) rows where tap t lands inside the image, grad
     * [batch, outC, outH, outW]. Tap by tap, a product {@code dW_t[o, c] = sum_r grad_t[o, r]
     * x_t[r, c]} whose depth is only tap t's rows r (the GEMM on im2col multiplies every tap by
     * every row, padding included: 2.25x the multiply-adds for layer4's 2x2 images). For each MR
     * rows of o and NR channels, the taps' products go to a thread buffer in L1 and are interleaved
     * into dW's rows (taps innermost), where they fill a contiguous run of NR * taps floats.
     */
    static void weightGrad(Plan plan, float[] grad, int gOff, int outC, float[] x, int xOff, int channels,
                           int height, int width, float beta, float[] dw, int dwOff) {
        int taps = plan.taps;
        int k = channels * taps;
        int image = height * width;
        int plane = plan.positions.length;
        int batch = plan.batch;
        int cPadded = (channels + NR - 1) / NR * NR;
        int oPanels = (outC + MR - 1) / MR;
        int cPanels = cPadded / NR;
        // rows of tap t: rows[t] .. rows[t + 1] (class by class, position, image); then per row the
        // offset of its (image, position) in grad and of its (image, pixel) in x
        int pairs = 0;
        for (int q = 0; q < plan.classes; q++) {
            pairs += (plan.tapFrom[q + 1] - plan.tapFrom[q]) * (plan.posFrom[q + 1] - plan.posFrom[q]) * batch;
        }
        int[] rows = Scratch.ints(TAP_ROWS, taps + 1 + 2 * pairs);
        int gAt = taps + 1;
        int xAt = gAt + pairs;
        int r = 0;
        for (int t = 0; t < taps; t++) {
            rows[t] = r;
            for (int q = 0; q < plan.classes; q++) {
                if (!validIn(plan, q, t)) {
                    continue;
                }
                for (int pi = plan.posFrom[q]; pi < plan.posFrom[q + 1]; pi++) {
                    int p = plan.positions[pi];
                    for (int b = 0; b < batch; b++, r++) {
                        rows[gAt + r] = gOff + b * outC * plane + p;
                        rows[xAt + r] = xOff + b * channels * image + plan.pixel[p * taps + t];
                    }
                }
            }
        }
        rows[taps] = r;
        // A: panel i (MR rows of o), tap t at MR * (i * panelDepth + rows[t]), k-major; B: panel u
        // (NR channels), tap t at NR * (u * panelDepth + rows[t]). A panel's taps lie one after
        // another, in the order the products below read them (laid out tap by tap, as before, this
        // loop order made layer4's first convolution's weight gradient 5-7% slower)
        int panelDepth = pairs;
        float[] a = Scratch.floats(TAP_A, Math.multiplyExact(oPanels * MR, pairs));
        float[] bp = Scratch.floats(TAP_B, Math.multiplyExact(cPadded, pairs));
        WeightGradPanelsCall panels = WEIGHT_GRAD_PANELS_CALLS.get();
        panels.rows = rows;
        panels.a = a;
        panels.bp = bp;
        panels.grad = grad;
        panels.x = x;
        panels.taps = taps;
        panels.oPanels = oPanels;
        panels.panelDepth = panelDepth;
        panels.gAt = gAt;
        panels.xAt = xAt;
        panels.outC = outC;
        panels.plane = plane;
        panels.channels = channels;
        panels.image = image;
        Parallel.forRange(oPanels + cPanels, 1, 1, panels);
        // c panel by c panel: each tap's MR x NR product to a thread buffer of taps tiles (in L1),
        // then the panel's part of dW's rows, its NR channels by every tap (taps innermost, so
        // contiguous in dW). Element j = c*taps + t of that part is tile element t*MR*NR + c: a 3x3
        // kernel's overwritten dW copies them one by one (threeByThree), others gather them
        boolean threeByThree = taps == TAP_STRIDE && beta == 0f;
        int[] from = Scratch.ints(INTERLEAVE, NR * taps);
        for (int j = 0; j < NR * taps; j++) {
            from[j] = j % taps * MR * NR + j / taps;
        }
        WeightGradPanelCall call = WEIGHT_GRAD_PANEL_CALLS.get();
        call.rows = rows;
        call.from = from;
        call.a = a;
        call.bp = bp;
        call.dw = dw;
        call.threeByThree = threeByThree;
        call.beta = beta;
        call.taps = taps;
        call.outC = outC;
        call.cPanels = cPanels;
        call.panelDepth = panelDepth;
        call.channels = channels;
        call.dwOff = dwOff;
        call.k = k;
        Parallel.forRange(oPanels, 1, 1, call);
    }

    /** {@link #weightGrad}'s panels of dW's rows, for the pool (see {@link Parallel.Call}). */
    private static final class WeightGradPanelCall extends Parallel.RangeCall {
        int[] rows, from;
        float[] a, bp, dw;
        boolean threeByThree;
        float beta;
        int taps, outC, cPanels, panelDepth, channels, dwOff, k;

        @Override
        public void run(int p0, int p1) {
            float[] product = Scratch.floats(PRODUCT, taps * MR * NR);
            for (int panel = p0; panel < p1; panel++) {
                int rowsHere = Math.min(MR, outC - panel * MR);
                for (int u = 0; u < cPanels; u++) {
                    for (int t = 0; t < taps; t++) {
                        int first = rows[t];
                        int depth = rows[t + 1] - first;
                        int dst = t * MR * NR;
                        if (depth == 0) {
                            java.util.Arrays.fill(product, dst, dst + MR * NR, 0f);
                            continue;
                        }
                        Gemm.kernel(a, MR * (panel * panelDepth + first), bp, NR * (u * panelDepth + first),
                                depth, product, dst, NR, 1f, 0f, false, null);
                    }
                    int cn = Math.min(NR, channels - u * NR);
                    for (int i = 0; i < rowsHere; i++) {
                        int at = dwOff + (panel * MR + i) * k + u * NR * taps;
                        if (threeByThree) {
                            interleaveRow3x3(product, i * NR, cn, dw, at);
                        } else {
                            interleaveRow(product, i * NR, from, cn * taps, beta, dw, at);
                        }
                    }
                }
            }
        }

        @Override
        void clear() {
            rows = from = null;
            a = bp = dw = null;
        }
    }

    private static final Parallel.Reused<WeightGradPanelCall> WEIGHT_GRAD_PANEL_CALLS =
            new Parallel.Reused<>(WeightGradPanelCall::new);

    /** {@link #weightGrad}'s panels of A and B, for the pool (see {@link Parallel.Call}). */
    private static final class WeightGradPanelsCall extends Parallel.RangeCall {
        int[] rows;
        float[] a, bp, grad, x;
        int taps, oPanels, panelDepth, gAt, xAt, outC, plane, channels, image;

        @Override
        public void run(int u0, int u1) {
            for (int u = u0; u < u1; u++) {
                for (int t = 0; t < taps; t++) {
                    int first = rows[t];
                    int depth = rows[t + 1] - first;
                    if (u < oPanels) {
                        int o0 = u * MR;
                        int at = MR * (u * panelDepth + first);
                        for (int kk = 0; kk < depth; kk++) {
                            int src = rows[gAt + first + kk];
                            for (int i = 0; i < MR; i++, at++) {
                                a[at] = o0 + i < outC ? grad[src + (o0 + i) * plane] : 0f;
                            }
                        }
                    } else {
                        int c0 = (u - oPanels) * NR;
                        int at = NR * ((u - oPanels) * panelDepth + first);
                        for (int kk = 0; kk < depth; kk++) {
                            int src = rows[xAt + first + kk];
                            for (int j = 0; j < NR; j++, at++) {
                                bp[at] = c0 + j < channels ? x[src + (c0 + j) * image] : 0f;
                            }
                        }
                    }
                }
            }
        }

        @Override
        void clear() {
            rows = null;
            a = bp = grad = x = null;
        }
    }

    private static final Parallel.Reused<WeightGradPanelsCall> WEIGHT_GRAD_PANELS_CALLS =
            new Parallel.Reused<>(WeightGradPanelsCall::new);

    private static boolean validIn(Plan plan, int q, int t) {
        for (int i = plan.tapFrom[q]; i < plan.tapFrom[q + 1]; i++) {
            if (plan.validTaps[i] == t) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code dw[at + c*9 + t] = product[t*MR*NR + base + c]} for channels c below cn and the nine taps
     * t of a 3x3 kernel, element by element. With {@link #interleaveRow}'s gathers (two per 16 floats)
     * instead, layer4's weight gradient at batch 16 was no quicker than before its products moved
     * to L1; with this, 3-8% quicker. 8x8 transposes in registers were no faster than this. The taps
     * are written out: a loop over them was slower than the gathers.
     */
    private static void interleaveRow3x3(float[] product, int base, int cn, float[] dw, int at) {
        for (int c = 0; c < cn; c++) {
            int src = base + c;
            int dst = at + c * TAP_STRIDE;
            dw[dst] = product[src];
            dw[dst + 1] = product[src + MR * NR];
            dw[dst + 2] = product[src + 2 * MR * NR];
            dw[dst + 3] = product[src + 3 * MR * NR];
            dw[dst + 4] = product[src + 4 * MR * NR];
            dw[dst + 5] = product[src + 5 * MR * NR];
            dw[dst + 6] = product[src + 6 * MR * NR];
            dw[dst + 7] = product[src + 7 * MR * NR];
            dw[dst + 8] = product[src + 8 * MR * NR];
        }
    }

    /** {@code dw[at + j] = beta dw[at + j] + product[base + from[j]]}, j < k; dw not read when beta is 0. */
    private static void interleaveRow(float[] product, int base, int[] from, int k, float beta, float[] dw, int at) {
        int j = 0;
        for (int bound = S.loopBound(k); j < bound; j += L) {
            FloatVector v = FloatVector.fromArray(S, product, base, from, j);
            if (beta != 0f) {
                v = FloatVector.fromArray(S, dw, at + j).fma(FloatVector.broadcast(S, beta), v);
            }
            v.intoArray(dw, at + j);
        }
        for (; j < k; j++) {
            float v = product[base + from[j]];
            dw[at + j] = beta == 0f ? v : Math.fma(dw[at + j], beta, v);
        }
    }
}
