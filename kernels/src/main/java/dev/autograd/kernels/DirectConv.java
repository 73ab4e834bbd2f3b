package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.S;

import jdk.incubator.vector.FloatVector;

/**
 * The forward of convolutions of few input channels over wide images, straight from the images: a
 * network's first layer (ResNet-18's conv1: 3 channels, 7x7, stride 2, 64 outputs; a depth of
 * 147). The im2col GEMM packs a column matrix as large as the output (147 x 16,384 floats at batch
 * 16) for that short depth, then copies its [outC, batch] result to NCHW.
 *
 * <p>Here each image is copied once, padded, with its columns split by phase modulo the stride:
 * plane {@code (c, r)} holds the padded columns {@code r, r + s, r + 2s, ...}. The inputs that tap
 * {@code (c, kh, kw)} reads for {@link #COLS} consecutive outputs of a row are then consecutive
 * floats of plane {@code (c, kw mod s)} from column {@code ow + kw / s}: two vector loads at an
 * offset from a table, nothing packed. A tile is {@link #ROWS} output channels by COLS outputs of
 * one row, the weights broadcast from a copy of W in panels of ROWS rows, stored straight into
 * NCHW. Every output is written by one task with one order of additions: the result does not
 * depend on the thread count.
 *
 * <p>The weight gradient stays on the GEMM (reading grad image by image as the forward wrote it:
 * {@code PanamaKernels.conv2dTapsWeightGrad}): done here as dot products along the rows (tiles of
 * five channels by two taps, each accumulator a vector of partial sums over one image), it ran
 * 6.6-8.3 against 5.4-5.9 ms at batch 16 (see docs/performance.md).
 */
final class DirectConv {

    /**
     * Output channels per tile (rows of W broadcast per step): 10 accumulators of AVX2's 16
     * registers. With six rows (12), C2 kept one broadcast too many live and spilled an accumulator
     * to the stack every step: conv1 at batch 16 took 5.5 and 6.7 ms against the GEMM's 4.8 and 6.2;
     * with five, 3.5 and 3.8 against 4.5 and 4.7.
     */
    static final int ROWS = 5;
    /** Outputs per forward tile: two vectors of one output row. */
    static final int COLS = 2 * L;
    /** The most input channels taken: a first layer's (RGB, RGBA, grey). */
    static final int MAX_CHANNELS = 4;
    /** The deepest (channels x kH x kW) taken: a W panel of at most 5 KB, in L1. */
    static final int MAX_DEPTH = 256;
    /** The most floats of phase-split images held at once: images are done in blocks of about this. */
    static final int IMAGES_MAX = 1 << 22;

    private static final ThreadLocal<float[]> IMAGES = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PANELS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<int[]> OFFSETS = ThreadLocal.withInitial(() -> new int[0]);

    private DirectConv() {
    }

    /**
     * Shapes taken: at most {@link #MAX_CHANNELS} input channels and a depth of at most
     * {@link #MAX_DEPTH}, dilation 1, strides up to 4, output rows of at least one tile's width.
     */
    static boolean pays(int channels, int kH, int kW, int strideH, int strideW, int dilationH, int dilationW,
                        int outW) {
        return channels > 0 && channels <= MAX_CHANNELS && kH > 0 && kW > 0
                && (long) channels * kH * kW <= MAX_DEPTH && dilationH == 1 && dilationW == 1
                && strideH > 0 && strideH <= 4 && strideW > 0 && strideW <= 4 && outW >= COLS;
    }

    /** The layout of the phase-split images of one call. */
    record Layout(int batch, int channels, int height, int width, int kH, int kW, int padH, int padW, int strideH,
                  int strideW, int outH, int outW, int rows, int cols, int image) {

        /** The calling thread's last layout: a training step asks for the same one every time. */
        private static final ThreadLocal<Layout[]> LAST = ThreadLocal.withInitial(() -> new Layout[1]);

        static Layout of(int batch, int channels, int height, int width, int kH, int kW, int padH, int padW,
                         int strideH, int strideW, int outH, int outW) {
            Layout[] last = LAST.get();
            Layout l = last[0];
            if (l != null && l.batch == batch && l.channels == channels && l.height == height && l.width == width
                    && l.kH == kH && l.kW == kW && l.padH == padH && l.padW == padW && l.strideH == strideH
                    && l.strideW == strideW && l.outH == outH && l.outW == outW) {
                return l;
            }
            int rows = (outH - 1) * strideH + kH;
            int cols = roundUp(outW, COLS) + (kW - 1) / strideW;
            int image = Math.multiplyExact(Math.multiplyExact(channels * strideW, rows), cols);
            last[0] = new Layout(batch, channels, height, width, kH, kW, padH, padW, strideH, strideW, outH, outW,
                    rows, cols, image);
            return last[0];
        }

        int depth() {
            return channels * kH * kW;
        }

        /** Where tap k = (c*kH + kh)*kW + kw reads, from the image's output origin. */
        int[] offsets() {
            int[] off = Scratch.ints(OFFSETS, depth());
            for (int c = 0, k = 0; c < channels; c++) {
                for (int kh = 0; kh < kH; kh++) {
                    for (int kw = 0; kw < kW; kw++, k++) {
                        off[k] = ((c * strideW + kw % strideW) * rows + kh) * cols + kw / strideW;
                    }
                }
            }
            return off;
        }

        /** Copies image b of x, padded and split by column phase, to {@code out} at {@code base}. */
        void split(float[] x, int xOffset, int b, float[] out, int base) {
            for (int c = 0; c < channels; c++) {
                int src = xOffset + (b * channels + c) * height * width;
                for (int r = 0; r < strideW; r++) {
                    int plane = base + (c * strideW + r) * rows * cols;
                    for (int h = 0; h < rows; h++) {
                        int ih = h - padH;
                        int dst = plane + h * cols;
                        if (ih < 0 || ih >= height) {
                            java.util.Arrays.fill(out, dst, dst + cols, 0f);
                            continue;
                        }
                        int row = src + ih * width;
                        for (int j = 0; j < cols; j++) {
                            int iw = j * strideW + r - padW;
                            out[dst + j] = iw >= 0 && iw < width ? x[row + iw] : 0f;
                        }
                    }
                }
            }
        }
    }

    private static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    /** The phase-split copies of images [from, to), made by the pool's threads. */
    private static float[] splitImages(Layout layout, float[] x, int xOffset, int from, int to) {
        float[] images = Scratch.floats(IMAGES, Math.multiplyExact(to - from, layout.image));
        int count = to - from;
        int tasks = Parallel.tasks(count);
        SplitCall call = SPLIT_CALLS.get();
        call.layout = layout;
        call.x = x;
        call.images = images;
        call.xOffset = xOffset;
        call.from = from;
        call.count = count;
        call.tasks = tasks;
        Parallel.run(tasks, call);
        return images;
    }

    /** {@link #splitImages}' images, for the pool (see {@link Parallel.Call}). */
    private static final class SplitCall extends Parallel.TaskCall {
        Layout layout;
        float[] x, images;
        int xOffset, from, count, tasks;

        @Override
        public void accept(int t) {
            for (int i = count * t / tasks; i < count * (t + 1) / tasks; i++) {
                layout.split(x, xOffset, from + i, images, i * layout.image);
            }
        }

        @Override
        void clear() {
            layout = null;
            x = images = null;
        }
    }

    private static final Parallel.Reused<SplitCall> SPLIT_CALLS = new Parallel.Reused<>(SplitCall::new);

    /** {@code out[batch, outC, outH, outW] = conv(x, w)}, overwritten. */
    static void forward(float[] w, int wOffset, int outC, float[] x, int xOffset, int batch, int channels,
                        int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                        int outH, int outW, float[] out, int outOffset) {
        Layout layout = Layout.of(batch, channels, height, width, kH, kW, padH, padW, strideH, strideW, outH, outW);
        int depth = layout.depth();
        int[] off = layout.offsets();
        // W in panels of ROWS rows, tap by tap (zero rows past outC): panel g at g * depth * ROWS
        int groups = (outC + ROWS - 1) / ROWS;
        float[] panels = Scratch.floats(PANELS, Math.multiplyExact(groups * ROWS, depth));
        for (int g = 0; g < groups; g++) {
            for (int k = 0; k < depth; k++) {
                for (int i = 0; i < ROWS; i++) {
                    int o = g * ROWS + i;
                    panels[(g * depth + k) * ROWS + i] = o < outC ? w[wOffset + o * depth + k] : 0f;
                }
            }
        }
        int plane = outH * outW;
        int block = Math.max(1, IMAGES_MAX / layout.image);
        for (int from = 0; from < batch; from += block) {
            int to = Math.min(batch, from + block);
            float[] images = splitImages(layout, x, xOffset, from, to);
            int first = from;
            int units = (to - from) * outH;
            int tasks = Parallel.tasks(units);
            ForwardCall call = FORWARD_CALLS.get();
            call.layout = layout;
            call.panels = panels;
            call.images = images;
            call.out = out;
            call.off = off;
            call.units = units;
            call.tasks = tasks;
            call.outH = outH;
            call.strideH = strideH;
            call.groups = groups;
            call.outC = outC;
            call.outOffset = outOffset;
            call.first = first;
            call.plane = plane;
            call.outW = outW;
            call.depth = depth;
            Parallel.run(tasks, call);
        }
    }

    /** {@link #forward}'s rows of output, for the pool (see {@link Parallel.Call}). */
    private static final class ForwardCall extends Parallel.TaskCall {
        Layout layout;
        float[] panels, images, out;
        int[] off;
        int units, tasks, outH, strideH, groups, outC, outOffset, first, plane, outW, depth;

        @Override
        public void accept(int t) {
            for (int u = (int) ((long) units * t / tasks); u < (long) units * (t + 1) / tasks; u++) {
                int i = u / outH;
                int oh = u % outH;
                int origin = i * layout.image + oh * strideH * layout.cols;
                for (int g = 0; g < groups; g++) {
                    int rows = Math.min(ROWS, outC - g * ROWS);
                    int o = outOffset + ((first + i) * outC + g * ROWS) * plane + oh * outW;
                    for (int ow = 0; ow < outW; ow += COLS) {
                        forwardTile(panels, g * depth * ROWS, depth, images, origin + ow, off, out, o + ow,
                                plane, rows, Math.min(COLS, outW - ow));
                    }
                }
            }
        }

        @Override
        void clear() {
            layout = null;
            panels = images = out = null;
            off = null;
        }
    }

    private static final Parallel.Reused<ForwardCall> FORWARD_CALLS = new Parallel.Reused<>(ForwardCall::new);

    /** One tile: ROWS channels (the first {@code rows} stored) by {@code cols} outputs of a row. */
    private static void forwardTile(float[] panels, int wi, int depth, float[] images, int origin, int[] off,
                                    float[] out, int o, int plane, int rows, int cols) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        // the depth loop unrolled twice, as Gemm.kernel6 (not unrolled, C2 kept a broadcast too many
        // live and spilled an accumulator: 5.5 against 4.8 ms for the im2col GEMM)
        int k = 0;
        for (; k + 2 <= depth; k += 2, wi += 2 * ROWS) {
            int xi = origin + off[k];
            FloatVector b0 = FloatVector.fromArray(S, images, xi);
            FloatVector b1 = FloatVector.fromArray(S, images, xi + L);
            FloatVector a;
            a = FloatVector.broadcast(S, panels[wi]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, panels[wi + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, panels[wi + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, panels[wi + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, panels[wi + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            // the next tap: its own input registers, so its loads need not wait for the FMAs above
            int xj = origin + off[k + 1];
            FloatVector b2 = FloatVector.fromArray(S, images, xj);
            FloatVector b3 = FloatVector.fromArray(S, images, xj + L);
            a = FloatVector.broadcast(S, panels[wi + ROWS]);
            c00 = a.fma(b2, c00);
            c01 = a.fma(b3, c01);
            a = FloatVector.broadcast(S, panels[wi + ROWS + 1]);
            c10 = a.fma(b2, c10);
            c11 = a.fma(b3, c11);
            a = FloatVector.broadcast(S, panels[wi + ROWS + 2]);
            c20 = a.fma(b2, c20);
            c21 = a.fma(b3, c21);
            a = FloatVector.broadcast(S, panels[wi + ROWS + 3]);
            c30 = a.fma(b2, c30);
            c31 = a.fma(b3, c31);
            a = FloatVector.broadcast(S, panels[wi + ROWS + 4]);
            c40 = a.fma(b2, c40);
            c41 = a.fma(b3, c41);
        }
        if (k < depth) {
            // an odd depth's last tap (a zero tap instead would turn an infinite input into NaN)
            int xi = origin + off[k];
            FloatVector b0 = FloatVector.fromArray(S, images, xi);
            FloatVector b1 = FloatVector.fromArray(S, images, xi + L);
            FloatVector a;
            a = FloatVector.broadcast(S, panels[wi]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, panels[wi + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, panels[wi + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, panels[wi + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, panels[wi + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
        }
        boolean whole = cols == COLS && rows == ROWS;
        // an edge tile goes through a buffer of the whole tile, then its valid part to out
        float[] edge = whole ? out : Scratch.floats(EDGE, ROWS * COLS);
        int at = whole ? o : 0;
        int step = whole ? plane : COLS;
        c00.intoArray(edge, at);
        c01.intoArray(edge, at + L);
        c10.intoArray(edge, at + step);
        c11.intoArray(edge, at + step + L);
        c20.intoArray(edge, at + 2 * step);
        c21.intoArray(edge, at + 2 * step + L);
        c30.intoArray(edge, at + 3 * step);
        c31.intoArray(edge, at + 3 * step + L);
        c40.intoArray(edge, at + 4 * step);
        c41.intoArray(edge, at + 4 * step + L);
        if (!whole) {
            for (int i = 0; i < rows; i++) {
                System.arraycopy(edge, i * COLS, out, o + i * plane, cols);
            }
        }
    }
}
