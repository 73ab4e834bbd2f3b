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
 * <p>The GEMM rows are (class, position, image), padded to whole {@link Gemm#MR} panels per class,
 * so a panel's rows share their valid taps; the tiles are {@link Gemm#kernel}'s.
 * <ul>
 * <li>Forward, {@code out^T[row, o] = sum_k col^T[row, k] W[o, k]}: depth blocks of whole channels,
 * B = W^T packed with its rows tap by tap inside a block (eight rows of W transposed in registers at
 * a time), so a class's valid taps are runs of consecutive rows; A holds each class's rows over its
 * valid taps only, in the same order.
 * <li>Input gradient, {@code dcol^T[row, (tap, c)] = sum_o grad^T[row, o] W[o, (c, tap)]}: B is W with
 * its columns taken tap by tap (a gather of stride kH*kW), so every B panel belongs to one tap, and
 * a (class, panel) tile is computed only when that tap is valid for the class; then each valid
 * (position, tap) row segment is added into its input pixel's channels.
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
     * columns, is at most {@link #MAX_WORK} (a plan's work is never below it).
     */
    static boolean mayPay(int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                          int dilationH, int dilationW, int outH, int outW) {
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

    /** The classes of one convolution shape. Rows of class q: [rowStart[q], rowStart[q] + rowCount[q]). */
    static final class Plan {
        final int batch;
        final int taps;
        final int classes;
        final int[] rowStart;
        final int[] rowCount;
        /** Output positions of class q: {@code positions[posFrom[q] .. posFrom[q + 1])}. */
        final int[] positions;
        final int[] posFrom;
        /** Valid taps (ki*kW + kj, ascending) of class q: {@code validTaps[tapFrom[q] .. tapFrom[q + 1])}. */
        final int[] validTaps;
        final int[] tapFrom;
        /** Input pixel (ih*width + iw) of output position p through tap t: {@code pixel[p*taps + t]}, -1 if padding. */
        final int[] pixel;
        final int rows;
        final long work;

        Plan(int batch, int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
             int dilationH, int dilationW, int outH, int outW) {
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
            rowStart = new int[count];
            rowCount = new int[count];
            posFrom = new int[count + 1];
            tapFrom = new int[count + 1];
            positions = new int[plane];
            int[] tapList = new int[count * taps];
            int rowsSoFar = 0;
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
                rowStart[q] = rowsSoFar;
                rowCount[q] = (posSoFar - posFrom[q]) * batch;
                int padded = (rowCount[q] + MR - 1) / MR * MR;
                rowsSoFar += padded;
                multiplyAdds += (long) padded * (tapsSoFar - tapFrom[q]);
            }
            posFrom[count] = posSoFar;
            tapFrom[count] = tapsSoFar;
            validTaps = java.util.Arrays.copyOf(tapList, tapsSoFar);
            rows = rowsSoFar;
            work = multiplyAdds;
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
     * The forward's depth block in rows (channels x taps): 640, so 64 channels of a 3x3 kernel and a
     * B panel of 72 KB (L2). Half that (32 channels, 36 KB: L1) made the products of a class's tap
     * runs 64 deep for layer4 at batch 16 and ran at 2.43-2.61 against 2.11-2.24 ms on 2 threads
     * (one JVM, alternating; 1 thread within noise: 4.06-4.16 against 3.97-4.16); the B=16 step p25
     * 114.6 -> 113.3 and 117.1 -> 113.1 ms (150 steps each, alternating step by step). A figure of
     * its own: Gemm's KC depends on the vector width.
     */
    static final int SPAN_DEPTH = 640;
    /**
     * Whether the input gradient packs its B panels by gathers (8 or 16 floats 9 apart): AVX-512 keeps
     * the gathers it was built and measured with. On a Zen 3 (AVX2) one such gather of 8 floats took
     * 5.9-9.8 ns against 4.2-5.5 ns element by element (1.2 MB source, one thread).
     */
    private static final boolean GATHERS = L >= 16;
    private static final ThreadLocal<float[]> A = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PRODUCT = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<int[]> TABLE = ThreadLocal.withInitial(() -> new int[0]);
    /** The forward's first A index of each class (the calling thread's), and a panel's rows (each thread's). */
    private static final ThreadLocal<int[]> CLASS_STARTS = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> ROW_BASES = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> ROW_PIXELS = ThreadLocal.withInitial(() -> new int[0]);
    /** Lane offsets of the input gradient's tap gathers (lane j at j*taps), per thread. */
    private static final ThreadLocal<int[]> LANES = ThreadLocal.withInitial(() -> new int[0]);
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
        // depth blocks of whole channels (all their taps), a multiple of L so that the transposes
        // fill them; inside a block the rows go tap by tap, so a class's valid taps are runs of rows
        int span = Math.max(L, SPAN_DEPTH / taps / L * L);
        int blocks = (channels + span - 1) / span;
        int lastSpan = channels - (blocks - 1) * span;
        int[] rowOf = Scratch.ints(TABLE, 2 * span * taps);
        blockRows(rowOf, 0, span, taps);
        blockRows(rowOf, span * taps, lastSpan, taps);
        // A: class q's panel i (MR rows) at aFrom[q] + i * depth_q * MR; per block, its valid taps'
        // columns in the block's row order (tap, channel)
        long aSize = 0;
        int[] aFrom = Scratch.ints(CLASS_STARTS, plan.classes);
        for (int q = 0; q < plan.classes; q++) {
            aFrom[q] = (int) aSize;
            aSize += (long) (plan.rowCount[q] + MR - 1) / MR * MR * channels * (plan.tapFrom[q + 1] - plan.tapFrom[q]);
        }
        float[] a = Scratch.floats(A, Math.toIntExact(aSize));
        int ldc = (outC + NR - 1) / NR * NR;
        float[] product = Scratch.floats(PRODUCT, Math.multiplyExact(plan.rows, ldc));
        java.util.Arrays.fill(product, 0, plan.rows * ldc, 0f);
        Parallel.forRange(plan.rows / MR, 1, 1, (p0, p1) -> {
            // per row of the panel: its image's first element (-1: padding row) and the pixels of
            // its position's valid taps; then column by column, the panel's eight rows together
            // (row by row, the 64 KB panel was written eight times over with stores 32 bytes apart)
            int[] base = Scratch.ints(ROW_BASES, MR);
            int[] pixels = Scratch.ints(ROW_PIXELS, MR * taps);
            for (int panel = p0; panel < p1; panel++) {
                int q = classOfPanel(plan, panel);
                int first = panel * MR - plan.rowStart[q];
                int valid = plan.tapFrom[q + 1] - plan.tapFrom[q];
                for (int i = 0; i < MR; i++) {
                    int r = first + i;
                    base[i] = r < plan.rowCount[q] ? xOff + (r % batch) * channels * image : -1;
                    int p = r < plan.rowCount[q] ? plan.position(q, r) : 0;
                    for (int t = 0; t < valid; t++) {
                        pixels[t * MR + i] = plan.pixel[p * taps + plan.validTaps[plan.tapFrom[q] + t]];
                    }
                }
                int at = aFrom[q] + first * channels * valid;
                for (int c0 = 0; c0 < channels; c0 += span) {
                    int cn = Math.min(span, channels - c0);
                    for (int t = 0; t < valid; t++) {
                        for (int c = c0; c < c0 + cn; c++) {
                            for (int i = 0; i < MR; i++, at++) {
                                a[at] = base[i] < 0 ? 0f : x[base[i] + c * image + pixels[t * MR + i]];
                            }
                        }
                    }
                }
            }
        });
        Parallel.forRange(ldc / NR, 1, 1, (j0, j1) -> {
            float[] bufB = Scratch.floats(PANEL, span * taps * NR);
            for (int jr = j0; jr < j1; jr++) {
                int col = jr * NR;
                int nr = Math.min(NR, outC - col);
                for (int c0 = 0; c0 < channels; c0 += span) {
                    int cn = Math.min(span, channels - c0);
                    packTransposed(w, wOff, k, col, nr, c0 * taps, cn * taps, bufB, rowOf, cn == span ? 0 : span * taps);
                    for (int q = 0; q < plan.classes; q++) {
                        int valid = plan.tapFrom[q + 1] - plan.tapFrom[q];
                        int depth = channels * valid;
                        // runs of consecutive valid taps: consecutive rows of the panel
                        for (int ti = plan.tapFrom[q]; ti < plan.tapFrom[q + 1]; ) {
                            int t0 = plan.validTaps[ti];
                            int run = 1;
                            while (ti + run < plan.tapFrom[q + 1] && plan.validTaps[ti + run] == t0 + run) {
                                run++;
                            }
                            int aCol = c0 * valid + (ti - plan.tapFrom[q]) * cn;
                            for (int r = 0; r < plan.rowCount[q]; r += MR) {
                                Gemm.kernel(a, aFrom[q] + r * depth + aCol * MR, bufB, t0 * cn * NR, run * cn, product,
                                        (plan.rowStart[q] + r) * ldc + col, ldc, 1f, 1f, true, null);
                            }
                            ti += run;
                        }
                    }
                }
                // rows (class, position, image) to out[image, o, position]
                for (int q = 0; q < plan.classes; q++) {
                    for (int r = 0; r < plan.rowCount[q]; r++) {
                        int src = (plan.rowStart[q] + r) * ldc + col;
                        int dst = outOff + ((r % batch) * outC + col) * plane + plan.position(q, r);
                        for (int o = 0; o < nr; o++) {
                            out[dst + o * plane] = product[src + o];
                        }
                    }
                }
            }
        });
    }

    /** Where the block's natural row (channel c, tap t) goes, times NR: row t*channels + c of the panel. */
    private static void blockRows(int[] rowOf, int at, int channels, int taps) {
        for (int c = 0; c < channels; c++) {
            for (int t = 0; t < taps; t++) {
                rowOf[at + c * taps + t] = (t * channels + c) * NR;
            }
        }
    }

    /**
     * Rows [pc, pc + kc) of W^T, columns [col, col + nr), as a B panel (rows NR apart) in the order
     * {@code rowOf[rowsOff + p]} gives: eight rows of W at a time transposed in registers
     * ({@link Gemm#transpose8}). The GEMM's packing of a transposed B gathers each panel row from
     * NR rows of W: 1.4 against about 0.9 ms for layer4's 512 x 4608 weight, one thread.
     */
    private static void packTransposed(float[] w, int wOff, int k, int col, int nr, int pc, int kc, float[] buf,
                                       int[] rowOf, int rowsOff) {
        int p = 0;
        if (L >= 8 && nr == NR) {
            for (; p + L <= kc; p += L) {
                for (int g = 0; g < NR; g += 8) {
                    Gemm.transpose8(w, wOff + (col + g) * k + pc + p, k, buf, g, 0, rowOf, rowsOff + p);
                }
            }
        }
        for (; p < kc; p++) {
            int dst = rowOf[rowsOff + p];
            for (int j = 0; j < NR; j++) {
                buf[dst + j] = j < nr ? w[wOff + (col + j) * k + pc + p] : 0f;
            }
        }
    }

    private static int classOfPanel(Plan plan, int panel) {
        int q = plan.classes - 1;
        while (plan.rowStart[q] > panel * MR) {
            q--;
        }
        return q;
    }

    /** {@link Kernels#conv2dTapsInputGrad}: grad [batch, outC, outH, outW]; adds into gx [batch, channels, height, width]. */
    static void inputGrad(Plan plan, float[] w, int wOff, int outC, float[] grad, int gOff, int channels, int height,
                          int width, float[] gx, int gxOff) {
        int taps = plan.taps;
        int k = channels * taps;
        int image = height * width;
        int plane = plan.positions.length;
        int batch = plan.batch;
        int cPadded = (channels + NR - 1) / NR * NR;
        int ldc = taps * cPadded;
        // A: grad^T in the plan's rows, panel i (MR rows) at i * outC * MR, column o at + o*MR
        float[] a = Scratch.floats(A, Math.multiplyExact(plan.rows, outC));
        float[] product = Scratch.floats(PRODUCT, Math.multiplyExact(plan.rows, ldc));
        Parallel.forRange(plan.rows / MR, 1, 1, (p0, p1) -> {
            for (int panel = p0; panel < p1; panel++) {
                int q = classOfPanel(plan, panel);
                int first = panel * MR - plan.rowStart[q];
                int dst = panel * MR * outC;
                for (int i = 0; i < MR; i++) {
                    int r = first + i;
                    if (r >= plan.rowCount[q]) {
                        for (int o = 0; o < outC; o++) {
                            a[dst + o * MR + i] = 0f;
                        }
                        continue;
                    }
                    int src = gOff + (r % batch) * outC * plane + plan.position(q, r);
                    for (int o = 0; o < outC; o++) {
                        a[dst + o * MR + i] = grad[src + o * plane];
                    }
                }
            }
        });
        // B's panels: tap t, channels [c0, c0 + NR), each computed for the classes where t is valid.
        // All taps of a channel panel per depth block together: their gathers read the same lines of
        // W's rows (NR channels x taps floats each), which stay in L1 from one tap to the next; panel
        // by panel, every line came from beyond L2 once per tap (6.1 against 3.5 ms for the GEMM's
        // way, one thread, layer4 at batch 16).
        int cPanels = cPadded / NR;
        int kcStep = Gemm.kcStep(outC);
        boolean[] used = new boolean[taps];
        for (int q = 0; q < plan.classes; q++) {
            for (int i = plan.tapFrom[q]; i < plan.tapFrom[q + 1]; i++) {
                used[plan.validTaps[i]] = true;
            }
        }
        Parallel.forRange(cPanels, 1, 1, (u0, u1) -> {
            float[] bufB = Scratch.floats(PANEL, taps * kcStep * NR);
            int[] lanes = Scratch.ints(LANES, L);
            for (int i = 0; i < L; i++) {
                lanes[i] = i * taps;
            }
            for (int u = u0; u < u1; u++) {
                int c0 = u * NR;
                int nr = Math.min(NR, channels - c0);
                for (int pc = 0; pc < outC; pc += kcStep) {
                    int kc = Math.min(kcStep, outC - pc);
                    int src = wOff + pc * k + c0 * taps;
                    for (int p = 0; p < kc; p++, src += k) {
                        for (int t = 0; t < taps; t++) {
                            if (!used[t]) {
                                continue;
                            }
                            int dst = (t * kcStep + p) * NR;
                            if (nr == NR && GATHERS) {
                                FloatVector.fromArray(S, w, src + t, lanes, 0).intoArray(bufB, dst);
                                FloatVector.fromArray(S, w, src + t + L * taps, lanes, 0).intoArray(bufB, dst + L);
                            } else if (nr == NR) {
                                for (int j = 0; j < NR; j++) {
                                    bufB[dst + j] = w[src + t + j * taps];
                                }
                            } else {
                                for (int j = 0; j < NR; j++) {
                                    bufB[dst + j] = j < nr ? w[src + t + j * taps] : 0f;
                                }
                            }
                        }
                    }
                    boolean first = pc == 0;
                    for (int q = 0; q < plan.classes; q++) {
                        for (int ti = plan.tapFrom[q]; ti < plan.tapFrom[q + 1]; ti++) {
                            int t = plan.validTaps[ti];
                            for (int r = 0; r < plan.rowCount[q]; r += MR) {
                                int row = plan.rowStart[q] + r;
                                Gemm.kernel(a, row * outC + pc * MR, bufB, t * kcStep * NR, kc, product,
                                        row * ldc + t * cPadded + c0, ldc, 1f, first ? 0f : 1f, !first, null);
                            }
                        }
                    }
                }
            }
        });
        // each valid (position, tap) segment into its pixel's channels, image by image
        Parallel.forRange(batch, 1, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                for (int q = 0; q < plan.classes; q++) {
                    for (int pi = plan.posFrom[q]; pi < plan.posFrom[q + 1]; pi++) {
                        int p = plan.positions[pi];
                        int row = plan.rowStart[q] + (pi - plan.posFrom[q]) * batch + b;
                        for (int ti = plan.tapFrom[q]; ti < plan.tapFrom[q + 1]; ti++) {
                            int t = plan.validTaps[ti];
                            int src = row * ldc + t * cPadded;
                            int dst = gxOff + b * channels * image + plan.pixel[p * taps + t];
                            for (int c = 0; c < channels; c++) {
                                gx[dst + c * image] += product[src + c];
                            }
                        }
                    }
                }
            }
        });
    }

    /**
     * {@link Kernels#conv2dTapsWeightGrad}: {@code dw[o, (c, t)] = beta dw + sum grad[b, o, p] x[b, c,
     * pixel(p, t)]} over the (position p, image b) rows where tap t lands inside the image, grad
     * [batch, outC, outH, outW]. Tap by tap, a product {@code dW_t[o, c] = sum_r grad_t[o, r]
     * x_t[r, c]} whose depth is only tap t's rows r (the GEMM on im2col multiplies every tap by
     * every row, padding included: 2.25x the multiply-adds for layer4's 2x2 images); each MR rows of
     * o, the taps' products go to a thread buffer and are interleaved into dW's rows (taps
     * innermost) with one gather per vector.
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
        // A: tap t's panel i (MR rows of o) at MR * (oPanels * rows[t] + i * depth_t), k-major;
        // B: tap t's panel u (NR channels) at NR * (cPanels * rows[t] + u * depth_t)
        float[] a = Scratch.floats(TAP_A, Math.multiplyExact(oPanels * MR, pairs));
        float[] bp = Scratch.floats(TAP_B, Math.multiplyExact(cPadded, pairs));
        Parallel.forRange(oPanels + cPanels, 1, 1, (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                for (int t = 0; t < taps; t++) {
                    int first = rows[t];
                    int depth = rows[t + 1] - first;
                    if (u < oPanels) {
                        int o0 = u * MR;
                        int at = MR * (oPanels * first + u * depth);
                        for (int kk = 0; kk < depth; kk++) {
                            int src = rows[gAt + first + kk];
                            for (int i = 0; i < MR; i++, at++) {
                                a[at] = o0 + i < outC ? grad[src + (o0 + i) * plane] : 0f;
                            }
                        }
                    } else {
                        int c0 = (u - oPanels) * NR;
                        int at = NR * (cPanels * first + (u - oPanels) * depth);
                        for (int kk = 0; kk < depth; kk++) {
                            int src = rows[xAt + first + kk];
                            for (int j = 0; j < NR; j++, at++) {
                                bp[at] = c0 + j < channels ? x[src + (c0 + j) * image] : 0f;
                            }
                        }
                    }
                }
            }
        });
        // dW's element j = c*taps + t of a row comes from the products at t*MR*cPadded + c
        int[] from = Scratch.ints(INTERLEAVE, k);
        for (int j = 0; j < k; j++) {
            from[j] = j % taps * MR * cPadded + j / taps;
        }
        Parallel.forRange(oPanels, 1, 1, (p0, p1) -> {
            float[] product = Scratch.floats(PRODUCT, taps * MR * cPadded);
            for (int panel = p0; panel < p1; panel++) {
                for (int t = 0; t < taps; t++) {
                    int first = rows[t];
                    int depth = rows[t + 1] - first;
                    int dst = t * MR * cPadded;
                    if (depth == 0) {
                        java.util.Arrays.fill(product, dst, dst + MR * cPadded, 0f);
                        continue;
                    }
                    for (int u = 0; u < cPanels; u++) {
                        Gemm.kernel(a, MR * (oPanels * first + panel * depth), bp, NR * (cPanels * first + u * depth),
                                depth, product, dst + u * NR, cPadded, 1f, 0f, false, null);
                    }
                }
                for (int i = 0; i < MR && panel * MR + i < outC; i++) {
                    interleaveRow(product, i * cPadded, from, k, beta, dw, dwOff + (panel * MR + i) * k);
                }
            }
        });
    }

    private static boolean validIn(Plan plan, int q, int t) {
        for (int i = plan.tapFrom[q]; i < plan.tapFrom[q + 1]; i++) {
            if (plan.validTaps[i] == t) {
                return true;
            }
        }
        return false;
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
