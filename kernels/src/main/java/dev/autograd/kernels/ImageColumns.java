package dev.autograd.kernels;

import static dev.autograd.kernels.Gemm.NR;
import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;

/**
 * A convolution's column matrix (the im2col of a batch: row {@code r = (c*kH + ki)*kW + kj}, column
 * {@code j = (b*outH + oh)*outW + ow}) without writing it: a zero-padded copy of the images (the
 * caller's images themselves when nothing is padded) and two offset tables, so that element (r, j)
 * is {@code padded[rowOffsets[r] + columnOffsets[j]]}, always inside. {@link Gemm#conv} and
 * {@link Gemm#convWeightGrad} gather their B panels from it (the matrix, or its transpose: the
 * tables swap roles): the padded images are about the size of the input (1.3 MB for ResNet-18's
 * layer1 at batch 16), the column matrix kH*kW times that.
 *
 * <p>The arrays are the calling thread's scratch, reused by its next convolution: an instance is
 * valid until then. So is the instance itself (and its {@link #transposed}), kept per thread so that
 * a convolution allocates nothing.
 */
final class ImageColumns {

    private static final ThreadLocal<float[]> PADDED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<int[]> ROWS = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> COLUMNS = ThreadLocal.withInitial(() -> new int[0]);

    /** The calling thread's instance and its transpose (see the class comment). */
    private static final ThreadLocal<ImageColumns> MINE = ThreadLocal.withInitial(ImageColumns::new);
    private static final ThreadLocal<ImageColumns> MINE_TRANSPOSED = ThreadLocal.withInitial(ImageColumns::new);

    private float[] padded;
    private int[] rowOffsets;
    private int[] columnOffsets;
    private int k;
    private int n;

    private ImageColumns set(float[] padded, int[] rowOffsets, int[] columnOffsets, int k, int n) {
        this.padded = padded;
        this.rowOffsets = rowOffsets;
        this.columnOffsets = columnOffsets;
        this.k = k;
        this.n = n;
        return this;
    }

    /** The padded copy's size in floats, or -1 when it would not fit in an array. */
    static long paddedSize(int batch, int channels, int height, int width, int padH, int padW) {
        long size = (long) batch * channels * (height + 2L * padH) * (width + 2L * padW);
        return size > Integer.MAX_VALUE - 16 ? -1 : size;
    }

    /**
     * Pads the images {@code x[batch, channels, height, width]} (in parallel) and builds the tables.
     * Without padding (1x1 convolutions, e.g. ResNet's downsampling) the tables index x itself: no copy.
     */
    static ImageColumns of(float[] x, int xOffset, int batch, int channels, int height, int width,
                           int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                           int outH, int outW) {
        int hp = height + 2 * padH;
        int wp = width + 2 * padW;
        int plane = hp * wp;
        int planes = batch * channels;
        boolean padding = padH != 0 || padW != 0;
        float[] xp = padding ? scratch(PADDED, planes * plane) : x;
        if (padding) {
            Winograd.pad(x, xOffset, planes, height, width, padH, padW, hp, wp, xp);
        }
        int base = padding ? 0 : xOffset;
        // the tables padded with zeros to whole panels: a partial panel's gathers mask their lanes
        // past the end, whose offsets are checked all the same
        int k = channels * kH * kW;
        int[] rows = intScratch(ROWS, wholePanels(k));
        java.util.Arrays.fill(rows, k, wholePanels(k), 0);
        for (int c = 0, r = 0; c < channels; c++) {
            for (int ki = 0; ki < kH; ki++) {
                for (int kj = 0; kj < kW; kj++, r++) {
                    rows[r] = base + c * plane + ki * dilationH * wp + kj * dilationW;
                }
            }
        }
        int n = batch * outH * outW;
        int[] columns = intScratch(COLUMNS, wholePanels(n));
        java.util.Arrays.fill(columns, n, wholePanels(n), 0);
        for (int b = 0, j = 0; b < batch; b++) {
            for (int oh = 0; oh < outH; oh++) {
                int rowStart = b * channels * plane + oh * strideH * wp;
                for (int ow = 0; ow < outW; ow++, j++) {
                    columns[j] = rowStart + ow * strideW;
                }
            }
        }
        return MINE.get().set(xp, rows, columns, k, n);
    }

    /** n rounded up to a multiple of NR (n is a convolution's k or n, at most 2^31 - 1 - NR: PanamaKernels.fromImages). */
    private static int wholePanels(int n) {
        return (int) (((long) n + NR - 1) / NR * NR);
    }

    private static float[] scratch(ThreadLocal<float[]> local, int size) {
        return Scratch.floats(local, size);
    }

    private static int[] intScratch(ThreadLocal<int[]> local, int size) {
        return Scratch.ints(local, size);
    }

    /** Drops the images after the product: without padding they are the caller's x, not scratch. */
    void release() {
        padded = null;
    }

    /** Rows of this matrix: channels x kH x kW (batch x outH x outW when transposed). */
    int k() {
        return k;
    }

    /** Columns of this matrix: batch x outH x outW (channels x kH x kW when transposed). */
    int n() {
        return n;
    }

    /** The transpose, on the same padded images: element (j, r) is element (r, j) of this. */
    ImageColumns transposed() {
        return MINE_TRANSPOSED.get().set(padded, columnOffsets, rowOffsets, n, k);
    }

    private static final ThreadLocal<float[]> LANE_INDEX = ThreadLocal.withInitial(() -> new float[L]);

    /** The most runs of consecutive offsets a half is loaded in, one load each, before it is gathered. */
    static final int MAX_RUNS = 4;
    /** Lanes {@code [start, L)}: where a run that begins at lane start is blended in. */
    private static final VectorMask<Float>[] FROM_LANE = fromLane();

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] fromLane() {
        VectorMask<Float>[] masks = new VectorMask[L];
        for (int start = 0; start < L; start++) {
            masks[start] = S.indexInRange(-start, L - start);
        }
        return masks;
    }

    /**
     * Columns [j, j+L) of rows [pc, pc+kc) into one vector-wide half of panel rows (stride NR from
     * dst). Their offsets in a row of the padded images (increasing in j, by construction) decide how:
     * <ul>
     *   <li>consecutive (one output row of stride 1 holds them all): a plain vector load;</li>
     *   <li>in at most {@link #MAX_RUNS} runs of consecutive offsets (short output rows of stride 1;
     *       in the transpose, a kernel row's taps: conv1's 7): one load per run, each run blended
     *       into its lanes;</li>
     *   <li>within 2L floats (output rows of stride 2): two loads and a two-vector permute
     *       ({@link Pick}), with the lane pattern computed once here;</li>
     *   <li>else: a gather through the column table.</li>
     * </ul>
     */
    private void packHalf(int pc, int kc, int j, float[] buf, int dst, float[] lanes) {
        int base = columnOffsets[j];
        int span = columnOffsets[j + L - 1] - base;
        if (span == L - 1) {
            for (int p = 0; p < kc; p++, dst += NR) {
                FloatVector.fromArray(S, padded, rowOffsets[pc + p] + base).intoArray(buf, dst);
            }
        } else if (packRuns(pc, kc, j, buf, dst)) {
            return;
        } else if (span < 2 * L) {
            for (int i = 0; i < L; i++) {
                lanes[i] = columnOffsets[j + i] - base;
            }
            FloatVector index = FloatVector.fromArray(S, lanes, 0);
            VectorShuffle<Float> shuffle = Pick.lanes(index);
            VectorMask<Float> second = Pick.second(index);
            int last = padded.length - 2 * L;
            for (int p = 0; p < kc; p++, dst += NR) {
                int at = rowOffsets[pc + p] + base;
                if (at <= last) {
                    Pick.from(index, shuffle, second, FloatVector.fromArray(S, padded, at),
                            FloatVector.fromArray(S, padded, at + L)).intoArray(buf, dst);
                } else {
                    FloatVector.fromArray(S, padded, rowOffsets[pc + p], columnOffsets, j).intoArray(buf, dst);
                }
            }
        } else {
            for (int p = 0; p < kc; p++, dst += NR) {
                FloatVector.fromArray(S, padded, rowOffsets[pc + p], columnOffsets, j).intoArray(buf, dst);
            }
        }
    }

    /**
     * {@link #packHalf} of columns whose offsets form 2 to {@link #MAX_RUNS} runs of consecutive
     * floats: run r (from lane s_r) is one load from {@code s_r} floats before its first offset,
     * blended into lanes [s_r, L); false (nothing written) for other columns. Offsets increase, so
     * every load lies between the elements of lanes 0 and L-1. ResNet-18's conv1 weight gradient
     * (kernel rows of 7 taps): two loads and a blend where it gathered.
     */
    private boolean packRuns(int pc, int kc, int j, float[] buf, int dst) {
        int base = columnOffsets[j];
        // the lane each run starts at, and how far its load starts past base
        int s1 = 0, s2 = 0, s3 = 0;
        int d1 = 0, d2 = 0, d3 = 0;
        int runs = 1;
        for (int i = 1; i < L; i++) {
            int at = columnOffsets[j + i];
            if (at == columnOffsets[j + i - 1] + 1) {
                continue;
            }
            if (runs == MAX_RUNS) {
                return false;
            }
            if (runs == 1) {
                s1 = i;
                d1 = at - base - i;
            } else if (runs == 2) {
                s2 = i;
                d2 = at - base - i;
            } else {
                s3 = i;
                d3 = at - base - i;
            }
            runs++;
        }
        VectorMask<Float> m1 = FROM_LANE[s1];
        VectorMask<Float> m2 = FROM_LANE[s2];
        VectorMask<Float> m3 = FROM_LANE[s3];
        for (int p = 0; p < kc; p++, dst += NR) {
            int at = rowOffsets[pc + p] + base;
            FloatVector v = FloatVector.fromArray(S, padded, at).blend(FloatVector.fromArray(S, padded, at + d1), m1);
            if (runs > 2) {
                v = v.blend(FloatVector.fromArray(S, padded, at + d2), m2);
                if (runs > 3) {
                    v = v.blend(FloatVector.fromArray(S, padded, at + d3), m3);
                }
            }
            v.intoArray(buf, dst);
        }
        return true;
    }

    /**
     * Rows [pc, pc+kc) and columns [jc, jc+nc) into row panels of NR columns, as {@link Gemm#packB}
     * lays them out (panel q, row p at bufOff + q*NR*kc + p*NR), zero-padded past nc: a full panel
     * as two vector-wide halves ({@link #packHalf}).
     */
    void pack(int pc, int kc, int jc, int nc, float[] buf, int bufOff) {
        float[] lanes = LANE_INDEX.get();
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int dst = bufOff + jr * kc;
            int j0 = jc + jr;
            if (nr == NR) {
                packHalf(pc, kc, j0, buf, dst, lanes);
                packHalf(pc, kc, j0 + L, buf, dst + L, lanes);
            } else {
                // the last, partial panel: whole gathers (the tables are padded to whole panels with
                // offset 0, so every lane reads inside the images) with the lanes past nc then set to
                // zero, and a half past nc zeros (ResNet-18's conv1 weight gradient: 147 taps, 3 or 19
                // in the last panel with 256- or 512-bit vectors; element by element it was 15% of the
                // product). Not a masked gather: AVX2 has none, and there the Vector API gathers lane
                // by lane in Java, allocating as it goes.
                for (int h = 0; h < NR; h += L) {
                    int at = dst + h;
                    if (h >= nr) {
                        for (int p = 0; p < kc; p++, at += NR) {
                            java.util.Arrays.fill(buf, at, at + L, 0f);
                        }
                        continue;
                    }
                    VectorMask<Float> past = S.indexInRange(h, nr).not();
                    for (int p = 0; p < kc; p++, at += NR) {
                        FloatVector.fromArray(S, padded, rowOffsets[pc + p], columnOffsets, j0 + h).blend(0f, past)
                                .intoArray(buf, at);
                    }
                }
            }
        }
    }
}
