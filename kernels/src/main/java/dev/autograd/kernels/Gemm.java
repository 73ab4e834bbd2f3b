package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * SGEMM, GotoBLAS/BLIS style, on {@link PanamaKernels#S}: {@code C = alpha op(A) op(B) + beta C}.
 *
 * <p><b>Micro-kernel.</b> An {@link #MR} x {@code NR} tile of C (NR = two vectors: 32 floats at
 * 512 bits) lives in {@code 2*MR} vector accumulators for the whole depth loop; each step loads
 * two vectors of a B row, broadcasts MR values of an A column and issues 2*MR independent FMAs
 * (two FMA ports x 4 cycles latency need at least 8 chains). With 512-bit vectors MR is 8:
 * 16 accumulators + 2 B vectors + 1 broadcast = 19 of the 32 AVX-512 registers, no spills. With
 * narrower ones (AVX2 has 16 registers) MR is 6: 12 + 2 + 1 = 15 ({@link #kernel6}).
 *
 * <p><b>Blocking.</b> Loop order jc (NC) / pc (KC) / ic (MC) / jr (NR) / ir (MR): the B
 * micro-panel (KC x NR) is reused by the MC/MR A micro-panels that stream past it from the A block
 * (MC x KC, in L2). KC also sets how often C is re-read: once per depth block. Measured on three
 * CPUs, each configuration alternating with the others in fresh JVMs or class loaders; override
 * with {@code -Dautograd.gemm.kc/mc/nc} to re-tune on another CPU:
 * <ul>
 * <li>Zen 4 EPYC (the issue's CPU; AVX-512, 32 KB L1d, 1 MB L2 per core), 2 threads, medians of 5
 * fresh JVMs: 1024^3 at KC 256 190, 512 203, 1024 211 GFLOPS; 64x256x576 at KC 256 (3 blocks of
 * 192) 170, 288 171, 576 183; the ResNet-18 training step at B=16 took 110 ms at KC 256 and 104 at
 * KC 1024 (medians of 6, 20 s of warm-up each). MC 48 (at KC 1024) and 72 (at KC 512) were within
 * noise of MC 144.
 * <li>Zen 3 EPYC (AVX2, 32 KB L1d, 512 KB L2 per core), one JVM, alternating product by product
 * after 15 s of warm-up, 1024^3 on two threads: KC 256 93, 512 105, 1024 111 GFLOPS (medians of
 * 30; KC 256 fastest in 1 of 30 rounds); on one thread 54, 60, 61; 64x256x576 on two 69, 73, 82.
 * MC 24, 48 and 144 were within noise of each other.
 * <li>Sapphire Rapids (48 KB L1d, 2 MB L2 per core), 1024^3 on one thread with the machine shared
 * (so +-10%): KC 128..512, MC 48..512, NC 512..4096 all within noise of each other (100-125 GFLOPS);
 * jr-outer beat ir-outer by 5-10%; a 12-row tile was no better than 8.
 * </ul>
 * A depth block as deep as the whole product never re-reads C, and with two cores busy C's tiles
 * (rows 4 KB apart, out of the prefetchers' reach) were what the threads waited for. The B
 * micro-panel (128 KB at KC 1024 and 512 bits) then streams from L2 instead of sitting in L1, which
 * cost nothing measurable; the A block (MC x KC: 576 KB at 512 bits, 192 KB below) stays in L2.
 *
 * <p><b>Packing.</b> A and B are always packed (A in column panels of MR, B in row panels of NR,
 * zero-padded at the edges; a convolution's B straight from its images, {@link ImageColumns}), whatever their transposition: every transpose combination is read
 * through the packing, none is materialised, and the micro-kernel sees constant strides (reading A
 * and B in place through strides measured 107 instead of 167 GFLOPS per core). Edge tiles run the
 * same micro-kernel into a small tile buffer, then update the valid part of C. Skinny products
 * (n below {@value #SKINNY_N}, or up to {@value #SKINNY_TALL_N} for B^T or tall A; A not
 * transposed) skip packing altogether: they are dot products of A rows with B columns, since a
 * 32-wide tile would waste most of its lanes; a single row times B^T runs as B times the row. So
 * do products with at most {@value #WIDE_M} rows and B not transposed ({@link #wide}): an 8-row
 * tile would be mostly padding; and products of depth at most {@value #SHALLOW_K} ({@link #shallow}):
 * one pass over C.
 *
 * <p><b>Threads.</b> C is cut into strips of rows or columns, about four per thread, taken from one
 * counter, each thread packing the uncut operand whole once ({@link #balanced}). Where that operand
 * is over {@value #WHOLE_MAX} floats, big products with both sides above 256
 * ({@link #SHARED_MIN_SIDE}, {@link #shared}) pack each B panel once, together, then hand out (row
 * block, column range) tasks against it, and the others take one strip per thread. Either way
 * every element of C is computed by one task, with the same depth blocks and FMA order as on one
 * thread: results are bit-identical for every thread count.
 */
final class Gemm {

    /**
     * Rows of the micro-kernel's tile: 8 with 512-bit vectors (16 accumulators of AVX-512's 32
     * registers), 6 with narrower ones. An 8 x 16 tile on AVX2 needs 16 accumulators + 2 B vectors
     * + 1 broadcast of its 16 registers and spills: 47-53 GFLOPS on one Zen 3 core, against 65-78
     * for 6 x 16 with the depth loop unrolled twice ({@link #kernel6}; 42 not unrolled).
     */
    static final int MR = L >= 16 ? 8 : 6;
    static final int NR = 2 * L;
    static final int KC = tuning("autograd.gemm.kc", 1024);
    static final int MC = tuning("autograd.gemm.mc", L >= 16 ? 144 : 48);
    static final int NC = tuning("autograd.gemm.nc", 1024);
    /** Below this n (and with A not transposed) the product is done as dot products. */
    static final int SKINNY_N = 8;
    /**
     * ... and up to this n for B transposed (its rows are op(B)'s columns) or at least
     * {@value #SKINNY_TALL_M} rows. Measured against the packed path, paired runs on 2 threads:
     * 256x16x2304 0.53 (B^T) and 0.71 (B), 512x16x4608 0.44 and 0.61, 1000x16x512 0.60 and 0.61
     * of its time; 16x16x4608 0.22 with B^T but 1.73 with B (transposing B then dominates); at
     * n = 32 the packed path wins (1.08 and 1.27).
     */
    static final int SKINNY_TALL_N = 16;
    static final int SKINNY_TALL_M = 64;
    /**
     * Up to this m (with B not transposed) the product is done as rows of axpys over B: see
     * {@link #wide}. Against the packed path with m = 16, paired runs: 16x2304x256 0.92, 8x1152x128
     * 0.78, 16x576x64 0.15 of its time, 16x4608x512 equal (B streamed from memory either way).
     */
    static final int WIDE_M = 16;
    /** Rows of B per pass of {@link #wide}: that many streams over B at once, one page each. */
    static final int WIDE_DEPTH = tuning("autograd.gemm.wideDepth", 16);
    /**
     * ... and at most this many columns per block of a thread's share: the running sums (16 x 4096
     * floats at most, 256 KB) stay bounded whatever n is.
     */
    static final int WIDE_COLS = 4096;
    /** Rows of B per task of {@link #byDepth}, at least (a 64 x 4608 chunk of layer4's weight: 1.2 MB) ... */
    static final int DEPTH_CHUNK = 64;
    /** ... and at most this many chunks (deeper ones for a deeper B) ... */
    static final int DEPTH_CHUNKS_MAX = 16;
    /** ... while their partial products take at most this many floats (4 MB); else {@link #wide}'s bands. */
    static final long DEPTH_PARTIALS_MAX = 1L << 20;
    /** Columns per task of the sum of {@link #byDepth}'s partials. */
    static final int DEPTH_SUM_GRAIN = 512;
    /** Up to this depth the product is done as rows of short FMA chains over op(B): see {@link #shallow}. */
    static final int SHALLOW_K = 8;
    /** Columns of C per block in {@link #shallow} (a multiple of 4 vectors up to 1024-bit ones). */
    static final int SHALLOW_COLS = tuning("autograd.gemm.shallowCols", 1024);
    /**
     * Products whose operand along the uncut side is too big for {@link #balanced} (over
     * {@link #WHOLE_MAX} floats) and with at least this many multiply-adds share one packed B panel
     * between the threads ({@link #shared}); smaller ones (a fraction of a millisecond) are cut into
     * strips of C, one parallel job in all instead of two per depth block. Where both would do,
     * balanced strips won (one JVM, alternating, 2 threads, 2026-11-22): ResNet-18's layer4 weight
     * gradient 512x4608x64 2.10-3.22 against 2.50-3.52 ms, 512^3 110-137 against 95-108 GFLOPS,
     * 300x1100x260 55-81 against 43-55; 2048x512x512 148-163 against 152-167 (within noise).
     */
    static final long SHARED_FLOPS = Long.getLong("autograd.gemm.shared", 1L << 25);
    /** ... and A's depth block, packed whole, at most this many floats (8 MB): m x min(k, KC). */
    static final long SHARED_MAX_A = 1L << 21;
    /**
     * ... and more than this many rows and columns. With a side this short, packing the other operand
     * once per thread is cheap, while the shared panels cost three parallel jobs per depth block:
     * strips, one job in all, were faster in three of three alternating runs on 2 threads, for
     * 512x64x4608 (2.4-2.8 against 2.9-3.9 ms), 64x4608x512 with A transposed (2.4-2.7 against
     * 2.9-3.5) and 256x256x2304 (2.0-2.5 against 2.6-2.9): ResNet-18's convolutions at batch 16.
     */
    static final int SHARED_MIN_SIDE = Integer.getInteger("autograd.gemm.sharedMinSide", 256);
    /** Products with fewer multiply-adds stay on one thread. */
    static final long PARALLEL_FLOPS = 1L << 18;

    /**
     * Per thread: 0 an A block, 1 a B panel, 2 an edge tile, 3 {@link #shared}'s A, 4 {@link #balanced}'s
     * whole operand, 5 {@link #transpose}'s copy.
     */
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[6][]);
    /** {@link #byDepth}'s partial products, taken on the calling thread and filled by its tasks. */
    private static final ThreadLocal<float[]> PARTIALS = ThreadLocal.withInitial(() -> new float[0]);

    private Gemm() {
    }

    /** A block size from a system property (for re-tuning on another CPU), at least 1: 0 would never advance. */
    private static int tuning(String property, int fallback) {
        return Math.max(1, Integer.getInteger(property, fallback));
    }

    static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc) {
        if (m <= 0 || n <= 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            scaleC(m, n, beta, c, cOff, ldc);
            return;
        }
        if (rowTimesBt(transB, m, n)) {
            // a row times B^T: as C^T = B x op(A)^T, dot products of B's rows with the row (the
            // packed path would pack all of B for one row of C); C^T has C's layout
            sgemm(false, !transA, n, 1, k, alpha, b, bOff, ldb, a, aOff, lda, beta, c, cOff, 1);
            return;
        }
        long flops = (long) m * n * k;
        if (!transA && skinny(transB, m, n)) {
            skinny(transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, flops);
            return;
        }
        if (m <= WIDE_M && !transB) {
            wide(transA, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, flops);
            return;
        }
        if (k <= SHALLOW_K && n >= L) {
            shallow(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, flops);
            return;
        }
        packed(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, null, beta, c, cOff, ldc);
    }

    /** True when {@link #sgemm} takes the packed paths for this shape (A not transposed). */
    static boolean packs(boolean transB, int m, int n, int k) {
        return m > 0 && n > 0 && k > 0 && !rowTimesBt(transB, m, n) && !skinny(transB, m, n)
                && !(m <= WIDE_M && !transB) && !(k <= SHALLOW_K && n >= L);
    }

    /** A single row times B^T, done as B times the row: see {@link #sgemm}. */
    private static boolean rowTimesBt(boolean transB, int m, int n) {
        return m == 1 && transB && n >= SKINNY_N;
    }

    /** Few columns (with A not transposed): dot products, {@link #skinny}. */
    private static boolean skinny(boolean transB, int m, int n) {
        return n < SKINNY_N || n <= SKINNY_TALL_N && (transB || m >= SKINNY_TALL_M);
    }

    /**
     * A convolution's forward as one packed GEMM, {@code out[outC, batch*P] = w[outC, K] x im2col(x)},
     * with B's panels gathered straight from a padded copy of the images ({@link ImageColumns}):
     * the K x batch*P column matrix is never written, nor read back. The same blocking and FMA order
     * as sgemm on that matrix, so the result is bit-identical to im2col + sgemm. Only for shapes
     * that {@link #packs}.
     */
    static void conv(float[] w, int wOff, int outC, ImageColumns columns, float[] out, int outOff) {
        int n = columns.n();
        int k = columns.k();
        packed(false, false, outC, n, k, 1f, w, wOff, k, null, 0, 0, columns, 0f, out, outOff, n);
        columns.release();
    }

    /**
     * A convolution's weight gradient as one packed GEMM, {@code dw[outC, K] = beta dw + grad[outC, N]
     * x im2col(x)^T}, B's panels gathered from the images as in {@link #conv}: bit-identical to
     * im2col + {@code sgemm(false, true, ...)}. grad's rows are {@code ldGrad} apart (at least N: the
     * columns of some images of a wider gradient). Only for shapes that {@link #packs} with B transposed.
     */
    static void convWeightGrad(float[] grad, int gradOff, int ldGrad, int outC, ImageColumns columns, float beta,
                               float[] dw, int dwOff) {
        int n = columns.n();
        int k = columns.k();
        ImageColumns transposed = columns.transposed();
        packed(false, true, outC, k, n, 1f, grad, gradOff, ldGrad, null, 0, 0, transposed, beta, dw, dwOff, k);
        transposed.release();
        columns.release();
    }

    /**
     * The packed paths (one thread, shared panels, or strips), with op(B) read from {@code b} or,
     * when {@code columns} is not null, packed from its images.
     */
    private static void packed(boolean transA, boolean transB, int m, int n, int k, float alpha,
                               float[] a, int aOff, int lda, float[] b, int bOff, int ldb, ImageColumns columns,
                               float beta, float[] c, int cOff, int ldc) {
        long flops = (long) m * n * k;
        int threads = flops < PARALLEL_FLOPS ? 1 : Parallel.parallelism();
        if (threads <= 1) {
            block(transA, transB, 0, m, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff, ldc);
            return;
        }
        // Strips of C. Each thread packs all of the operand along the other side: cut along M to
        // re-pack B (cheap when not transposed: vector copies), along N to re-pack A (cheap when
        // transposed: row copies), whichever costs less, on a side long enough to give every
        // thread whole tiles.
        long costM = (long) n * (transB ? 3 : 1);
        long costN = (long) m * (transA ? 1 : 3);
        boolean mLong = m >= threads * MR;
        boolean nLong = n >= threads * NR;
        boolean alongM = mLong && (!nLong || costM <= costN);
        int align = alongM ? MR : NR;
        int extent = alongM ? m : n;
        int units = (extent + align - 1) / align;
        long whole = alongM ? (long) roundUp(n, NR) * k : (long) roundUp(m, MR) * k;
        if (whole <= wholeMax) {
            balanced(alongM, units, threads, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns,
                    beta, c, cOff, ldc);
            return;
        }
        // that operand too big to pack whole per thread: big products share packed panels, the
        // others take one strip per thread, packing the other operand block by block
        if (flops >= SHARED_FLOPS && (long) m * kcStep(k) <= SHARED_MAX_A && Math.min(m, n) > SHARED_MIN_SIDE) {
            shared(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff, ldc, threads);
            return;
        }
        int strips = Math.min(units, threads);
        StripsCall call = STRIPS_CALLS.get();
        call.product(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff, ldc);
        call.alongM = alongM;
        call.extent = extent;
        call.units = units;
        call.strips = strips;
        call.align = align;
        Parallel.run(strips, call);
    }

    /**
     * The most floats of an operand that {@link #balanced} packs whole on each thread: 2 MB, a core's
     * L2. At 1024^3 (B whole: 4 MB per thread) the shared panels did better, one JVM, alternating,
     * 2 threads: medians of 17 runs 179 and 146 against 166 and 131 GFLOPS.
     */
    static final int WHOLE_MAX = 1 << 19;
    /** {@link #WHOLE_MAX}, but the tests set 0 to take the one-strip-per-thread path. */
    static int wholeMax = WHOLE_MAX;

    /** Per thread: the {@link #balanced} call (its id) whose operand its buffer 4 holds. */
    private static final ThreadLocal<long[]> WHOLE_FOR = ThreadLocal.withInitial(() -> new long[1]);
    private static final java.util.concurrent.atomic.AtomicLong CALL_IDS = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Strips of C taken from one counter, about {@link Parallel#RANGES_PER_THREAD} per thread: each
     * thread packs the operand along the other side whole (all depth blocks) once, on its first
     * strip, and packs only its strips' share of the cut one. One strip per thread let the host's
     * slowdown of one vCPU (60% for seconds here) hold the whole product up; several strips each
     * re-packing the whole operand cost more than they balanced. Per element the same depth blocks
     * and FMA order as {@link #block}: bit-identical to one thread.
     */
    private static void balanced(boolean alongM, int units, int threads, boolean transA, boolean transB, int m,
                                 int n, int k, float alpha, float[] a, int aOff, int lda, float[] b, int bOff,
                                 int ldb, ImageColumns columns, float beta, float[] c, int cOff, int ldc) {
        int align = alongM ? MR : NR;
        int extent = alongM ? m : n;
        int strips = Math.min(units, Parallel.RANGES_PER_THREAD * threads);
        int kcStep = kcStep(k);
        int side = alongM ? roundUp(n, NR) : roundUp(m, MR);
        BalancedCall call = BALANCED_CALLS.get();
        call.product(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff, ldc);
        call.id = CALL_IDS.incrementAndGet();
        call.alongM = alongM;
        call.extent = extent;
        call.units = units;
        call.strips = strips;
        call.align = align;
        call.kcStep = kcStep;
        call.side = side;
        Parallel.run(strips, call);
    }

    /** C = beta * C, not reading C when beta is 0. */
    static void scaleC(int m, int n, float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            int row = cOff + i * ldc;
            if (beta == 0f) {
                java.util.Arrays.fill(c, row, row + n, 0f);
            } else if (beta != 1f) {
                for (int j = 0; j < n; j++) {
                    c[row + j] *= beta;
                }
            }
        }
    }

    /** Lane offsets for packB's gathers (L rows), per thread. */
    private static final ThreadLocal<int[]> B_LANES = ThreadLocal.withInitial(Gemm::noLanes);

    private static int[] noLanes() {
        int[] map = new int[L + 1];
        map[L] = -1; // no ld yet
        return map;
    }

    /**
     * Lane i at row {@code i % rows}, column {@code i / rows} of rows {@code ld} apart, kept in
     * {@code map} (its last slot remembers ld) until ld changes.
     */
    private static int[] laneOffsets(int[] map, int ld, int rows) {
        if (map[L] != ld) {
            for (int i = 0; i < L; i++) {
                map[i] = (i % rows) * ld + i / rows;
            }
            map[L] = ld;
        }
        return map;
    }

    /** The most floats {@link #transpose} keeps per thread between calls (4 MB); bigger ones are made per call. */
    static final int TRANSPOSE_KEPT = 1 << 20;

    /**
     * A dense copy of the transpose of the rows x cols matrix at {@code src[off]} (rows {@code ld}
     * apart), in the calling thread's buffer 5 (valid until its next call) when it is at most
     * {@link #TRANSPOSE_KEPT} floats: a skinny product allocated its k x n copy of B on every call
     * (74 KB per 512x4x4608 product in JMH's {@code -prof gc}).
     */
    static float[] transpose(float[] src, int off, int ld, int rows, int cols) {
        int size = rows * cols;
        float[] out = size <= TRANSPOSE_KEPT ? buffer(5, size) : new float[size];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = src[off + r * ld + c];
            }
        }
        return out;
    }

    /** The thread's buffer {@code which}, at least {@code size} floats and {@link Scratch#SLACK} more. */
    private static float[] buffer(int which, int size) {
        float[][] bufs = BUFFERS.get();
        bufs[which] = Scratch.atLeast(bufs[which], size);
        return bufs[which];
    }

    /** The blocked product for rows [i0, i1) and columns [j0, j1) of C, on the calling thread. */
    static void block(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb, ImageColumns columns,
                      float beta, float[] c, int cOff, int ldc) {
        float[] bufB = buffer(1, KC * (NC + NR));
        float[] bufA = buffer(0, KC * (MC + MR));
        int kcStep = kcStep(k);
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += kcStep) {
                int kc = Math.min(kcStep, k - pc);
                packB(transB, b, bOff, ldb, columns, pc, kc, jc, nc, bufB, 0);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    packA(transA, a, aOff, lda, ic, mc, pc, kc, bufA, 0);
                    macro(bufA, 0, mc, bufB, 0, 0, nc, kc, pc == 0, alpha, beta, c, cOff + ic * ldc + jc, ldc);
                }
            }
        }
    }

    /**
     * Depth blocks of equal size, at most KC: at KC 1024, k = 1152 (ResNet-18's 3 x 3 x 128) runs as
     * 2 x 576, not 1024 + 128, whose second pass over C would be for a block too short to pay for it.
     */
    static int kcStep(int k) {
        int depthBlocks = (k + KC - 1) / KC;
        return (k + depthBlocks - 1) / depthBlocks;
    }

    /**
     * The macro-kernel: an mc x kc block of packed A (at {@code aBase}) times the packed B panels for columns
     * [jFrom, jTo) of the block (panel jr/NR at bBase + jr*kc), into C at {@code cIdx} (the block's top-left
     * element) on the calling thread. beta applies on the first depth block only; later blocks add.
     */
    private static void macro(float[] bufA, int aBase, int mc, float[] bufB, int bBase, int jFrom, int jTo, int kc,
                              boolean firstDepth, float alpha, float beta, float[] c, int cIdx, int ldc) {
        float betaEff = firstDepth ? beta : 1f;
        boolean readC = !(firstDepth && beta == 0f);
        float[] tile = buffer(2, MR * NR);
        // jr outer, ir inner: the B micro-panel (KC x NR: up to 128 KB at 512 bits, 64 KB below, in
        // L2) is reused by all MC/MR A micro-panels, which stream from L2 too (measured 5-10% faster
        // than ir outer at 512 bits)
        for (int jr = jFrom; jr < jTo; jr += NR) {
            int nr = Math.min(NR, jTo - jr);
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                int at = cIdx + ir * ldc + jr;
                // panel ir/MR of A starts at aBase + ir*kc, panel jr/NR of B at bBase + jr*kc
                if (mr == MR && nr == NR) {
                    kernel(bufA, aBase + ir * kc, bufB, bBase + jr * kc, kc, c, at, ldc, alpha, betaEff, readC, null);
                } else {
                    kernel(bufA, aBase + ir * kc, bufB, bBase + jr * kc, kc, null, 0, 0, 0f, 0f, false, tile);
                    edgeUpdate(tile, mr, nr, c, at, ldc, alpha, betaEff, readC);
                }
            }
        }
    }

    /**
     * Big products on several threads with one packed copy of each operand for all of them: per
     * depth block the threads pack all of A's KC columns together (a share of its MR panels each),
     * then per column block the KC x NC panel of B (a share of its NR panels each), then take (MC
     * row block, column range) tasks from one counter; with a single column block and no ranges
     * each task packs its own row block of A instead. Nothing is packed twice, and the tasks are small
     * enough that a thread whose core is slowed by its neighbours takes fewer of them (on this VM
     * one core at a time runs at 60% for seconds). Every element of C gets the same depth blocks
     * and FMA order as in {@link #block}: bit-identical results for any thread count.
     */
    static void shared(boolean transA, boolean transB, int m, int n, int k, float alpha,
                       float[] a, int aOff, int lda, float[] b, int bOff, int ldb, ImageColumns columns,
                       float beta, float[] c, int cOff, int ldc, int threads) {
        int kcStep = kcStep(k);
        int mPanels = (m + MR - 1) / MR;
        // the caller's buffers, read by every thread (helpers only write their tiles)
        float[] bufB = buffer(1, KC * (NC + NR));
        // row blocks of at most MC rows, as many as a multiple of the threads: 1024 rows run as
        // 8 x 128, not 7 x 144 + 16, which left one thread 576 rows and the other 448
        int rowBlocks = roundUp((m + MC - 1) / MC, threads);
        int mcStep = roundUp((m + rowBlocks - 1) / rowBlocks, MR);
        int blocks = (m + mcStep - 1) / mcStep;
        // With one column block cut into no column ranges, every task packs its own rows of A (MC x
        // KC, into its thread's buffer, where the macro-kernel then finds it in L2) instead of the
        // threads packing all of A together beforehand (m x KC floats, out to L3 and read back).
        // Alternating in one JVM, 2 threads: 1024^3 147 -> 150 GFLOPS (faster in 27 of 40 rounds),
        // 768x1024x2304 137 -> 141 (22 of 40).
        boolean ownA = n <= NC && ranges((n + NR - 1) / NR, blocks, threads) == 1;
        float[] bufA = ownA ? null : buffer(3, mPanels * MR * kcStep);
        SharedCall call = SHARED_CALLS.get();
        call.mPanels = mPanels;
        call.mcStep = mcStep;
        call.ownA = ownA;
        call.bufA = bufA;
        call.bufB = bufB;
        for (int pc = 0; pc < k; pc += kcStep) {
            int kc = Math.min(kcStep, k - pc);
            boolean first = pc == 0;
            for (int jc = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                int panels = (nc + NR - 1) / NR;
                // each thread packs a share of the B panel and, unless the tasks pack their own A,
                // with the depth block's first column block a share of all of op(A)[:, pc..pc+kc]
                // (every column block uses it): one parallel job for both
                boolean withA = jc == 0 && !ownA;
                int packTasks = Math.min(Math.max(panels, withA ? mPanels : 0), threads);
                call.product(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff, ldc);
                call.packing = true;
                call.panels = panels;
                call.packTasks = packTasks;
                call.p0 = pc;
                call.kc = kc;
                call.jc = jc;
                call.nc = nc;
                call.withA = withA;
                Parallel.run(packTasks, call);
                int ranges = ranges(panels, blocks, threads);
                call.product(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff, ldc);
                call.packing = false;
                call.ranges = ranges;
                call.first = first;
                Parallel.run(blocks * ranges, call);
            }
        }
    }

    /** {@link #shared}'s column ranges of whole panels: enough for about 4 tasks per thread. */
    private static int ranges(int panels, int blocks, int threads) {
        return Math.min(panels, Math.max(1, (4 * threads + blocks - 1) / blocks));
    }

    private static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    /**
     * Lane picks of {@link #transpose8}: round g (1, 2, 4) interleaves groups of g lanes of two
     * vectors, the first half of the groups into LO, the second into HI (unpacklo/hi of width g).
     */
    private static final Pick LO1 = interleave(1, false), HI1 = interleave(1, true);
    private static final Pick LO2 = interleave(2, false), HI2 = interleave(2, true);
    private static final Pick LO4 = interleave(4, false), HI4 = interleave(4, true);

    private static Pick interleave(int g, boolean high) {
        float[] index = new float[L];
        for (int i = 0; i < L; i++) {
            int group = i / (2 * g) + (high ? L / (2 * g) : 0);
            int within = i % (2 * g);
            index[i] = within < g ? group * g + within : L + group * g + within - g;
        }
        return Pick.of(FloatVector.fromArray(S, index, 0));
    }

    /** Lanes [0, MR) of a vector: one column of a packed A panel, where L >= MR. */
    private static final VectorMask<Float> PANEL_ROWS = VectorMask.fromLong(S, (1L << Math.min(MR, L)) - 1);

    /** Lanes [8q, 8q+8) of a vector, for {@link #transpose8}'s stores of one column of eight. */
    private static final VectorMask<Float>[] EIGHTS = eights();

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] eights() {
        VectorMask<Float>[] masks = new VectorMask[Math.max(1, L / 8)];
        for (int q = 0; q < masks.length; q++) {
            boolean[] bits = new boolean[L];
            for (int i = 8 * q; i < Math.min(L, 8 * q + 8); i++) {
                bits[i] = true;
            }
            masks[q] = VectorMask.fromArray(S, bits, 0);
        }
        return masks;
    }

    /**
     * Columns [0, L) of eight rows of A (row r at {@code src + r*lda}) transposed: column c's eight
     * values to {@code out[dst + c*ldo ..]}. Interleaving rows in pairs, then pairs of pairs, then
     * quads leaves vector j holding columns j*L/8 .. (j+1)*L/8 - 1 of rows 0..7, in column order:
     * with {@code ldo == 8} (packA's panels) each is one store; otherwise one masked store per
     * column. Needs L >= 8.
     */
    static void transpose8(float[] a, int src, int lda, float[] out, int dst, int ldo) {
        transpose8(a, src, lda, out, dst, ldo, 8);
    }

    /**
     * {@link #transpose8} of the first {@code height} (6 or 8) rows: rows 6 and 7 are then copies of
     * row 5, read from nowhere beyond A's six rows.
     */
    static void transpose8(float[] a, int src, int lda, float[] out, int dst, int ldo, int height) {
        FloatVector r0 = FloatVector.fromArray(S, a, src);
        FloatVector r1 = FloatVector.fromArray(S, a, src + lda);
        FloatVector r2 = FloatVector.fromArray(S, a, src + 2 * lda);
        FloatVector r3 = FloatVector.fromArray(S, a, src + 3 * lda);
        FloatVector r4 = FloatVector.fromArray(S, a, src + 4 * lda);
        FloatVector r5 = FloatVector.fromArray(S, a, src + 5 * lda);
        FloatVector r6 = height > 6 ? FloatVector.fromArray(S, a, src + 6 * lda) : r5;
        FloatVector r7 = height > 6 ? FloatVector.fromArray(S, a, src + 7 * lda) : r5;
        FloatVector a0 = LO1.from(r0, r1), a1 = HI1.from(r0, r1);
        FloatVector a2 = LO1.from(r2, r3), a3 = HI1.from(r2, r3);
        FloatVector a4 = LO1.from(r4, r5), a5 = HI1.from(r4, r5);
        FloatVector a6 = LO1.from(r6, r7), a7 = HI1.from(r6, r7);
        FloatVector b0 = LO2.from(a0, a2), b1 = HI2.from(a0, a2);
        FloatVector b2 = LO2.from(a1, a3), b3 = HI2.from(a1, a3);
        FloatVector b4 = LO2.from(a4, a6), b5 = HI2.from(a4, a6);
        FloatVector b6 = LO2.from(a5, a7), b7 = HI2.from(a5, a7);
        int cols = L / 8;
        if (L == 8 || ldo == 8) {
            // one plain store per column, written out here: the eight calls to store8 (and the
            // picks' own calls) ran C2's inlining budget out in this method, so that the last
            // vector went to store8 boxed, a new object per call (JFR, the B=1 step's packA)
            LO4.from(b0, b4).intoArray(out, dst);
            HI4.from(b0, b4).intoArray(out, dst + cols * ldo);
            LO4.from(b1, b5).intoArray(out, dst + 2 * cols * ldo);
            HI4.from(b1, b5).intoArray(out, dst + 3 * cols * ldo);
            LO4.from(b2, b6).intoArray(out, dst + 4 * cols * ldo);
            HI4.from(b2, b6).intoArray(out, dst + 5 * cols * ldo);
            LO4.from(b3, b7).intoArray(out, dst + 6 * cols * ldo);
            HI4.from(b3, b7).intoArray(out, dst + 7 * cols * ldo);
            return;
        }
        store8(LO4.from(b0, b4), out, dst, ldo, 0);
        store8(HI4.from(b0, b4), out, dst, ldo, cols);
        store8(LO4.from(b1, b5), out, dst, ldo, 2 * cols);
        store8(HI4.from(b1, b5), out, dst, ldo, 3 * cols);
        store8(LO4.from(b2, b6), out, dst, ldo, 4 * cols);
        store8(HI4.from(b2, b6), out, dst, ldo, 5 * cols);
        store8(LO4.from(b3, b7), out, dst, ldo, 6 * cols);
        store8(HI4.from(b3, b7), out, dst, ldo, 7 * cols);
    }

    /**
     * Lane group q (8 floats, column {@code col + q}) of v to {@code out[dst + (col + q)*ldo ..]}, one
     * masked store each: vectors of several groups whose columns are not contiguous ({@link #transpose8}
     * stores whole vectors itself otherwise; a masked store, vmaskmovps, is slow on AMD).
     */
    private static void store8(FloatVector v, float[] out, int dst, int ldo, int col) {
        for (int q = 0; q < L / 8; q++) {
            // lanes 8q..8q+7 land at the column's place: the vector's offset is 8q below that
            v.intoArray(out, dst + (col + q) * ldo - 8 * q, EIGHTS[q]);
        }
    }

    /** op(B)[pc..pc+kc, jc..jc+nc] into row panels of NR columns: panel q, row p at bufOff + q*NR*kc + p*NR. */
    static void packB(boolean transB, float[] b, int bOff, int ldb, ImageColumns columns,
                      int pc, int kc, int jc, int nc, float[] buf, int bufOff) {
        if (columns != null) {
            columns.pack(pc, kc, jc, nc, buf, bufOff);
            return;
        }
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int dst = bufOff + jr * kc;
            if (!transB) {
                int src = bOff + pc * ldb + jc + jr;
                if (nr == NR) {
                    for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
                        FloatVector.fromArray(S, b, src).intoArray(buf, dst);
                        FloatVector.fromArray(S, b, src + L).intoArray(buf, dst + L);
                    }
                } else {
                    for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
                        System.arraycopy(b, src, buf, dst, nr);
                        java.util.Arrays.fill(buf, dst + nr, dst + NR, 0f);
                    }
                }
            } else if (nr == NR) {
                // B stored n x k: row p of the panel is column p of NR rows of B, two gathers of L
                // rows each (a 256 x 2304 weight: see the Kernels section of docs/performance.md)
                int[] map = laneOffsets(B_LANES.get(), ldb, L);
                int src = bOff + (jc + jr) * ldb + pc;
                int half = L * ldb;
                for (int p = 0; p < kc; p++, dst += NR) {
                    FloatVector.fromArray(S, b, src + p, map, 0).intoArray(buf, dst);
                    FloatVector.fromArray(S, b, src + half + p, map, 0).intoArray(buf, dst + L);
                }
            } else {
                // the last, partial panel: row by row of B, contiguous in p
                for (int j = 0; j < NR; j++) {
                    if (j < nr) {
                        int src = bOff + (jc + jr + j) * ldb + pc;
                        for (int p = 0; p < kc; p++) {
                            buf[dst + p * NR + j] = b[src + p];
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            buf[dst + p * NR + j] = 0f;
                        }
                    }
                }
            }
        }
    }

    /** op(A)[ic..ic+mc, pc..pc+kc] into column panels of MR rows: panel q, column p at bufOff + q*MR*kc + p*MR. */
    static void packA(boolean transA, float[] a, int aOff, int lda, int ic, int mc, int pc, int kc, float[] buf, int bufOff) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int dst = bufOff + ir * kc;
            if (transA && mr == MR && L >= MR) {
                // A stored k x m: the MR values of column p are contiguous, one masked vector copy
                // each. System.arraycopy of 8 floats per column took a third of the Winograd input
                // gradient's products U^T dM (layer3 at batch 16: 16 x 256 x 64 x 256)
                int src = aOff + pc * lda + ic + ir;
                int p = 0;
                if (L == 8 && MR < L) {
                    // AVX2: whole vectors while another column follows (it overwrites the L - MR
                    // floats past this one) and the row has L floats left; masked stores
                    // (vmaskmovps) are slow on AMD. AVX-512's masked stores are not
                    for (; p + 1 < kc && src + L <= a.length; p++, src += lda, dst += MR) {
                        FloatVector.fromArray(S, a, src).intoArray(buf, dst);
                    }
                }
                for (; p < kc; p++, src += lda, dst += MR) {
                    FloatVector.fromArray(S, a, src, PANEL_ROWS).intoArray(buf, dst, PANEL_ROWS);
                }
            } else if (transA) {
                int src = aOff + pc * lda + ic + ir;
                for (int p = 0; p < kc; p++, src += lda, dst += MR) {
                    System.arraycopy(a, src, buf, dst, mr);
                    for (int r = mr; r < MR; r++) {
                        buf[dst + r] = 0f;
                    }
                }
            } else if (mr == MR) {
                // eight row streams read in step, the panel written sequentially: L columns of the
                // eight rows (eight loads) transposed in registers by three rounds of two-vector
                // permutes, then one column at a time. All of ResNet-18 layer4's weight (512 x 4608),
                // one thread: 1.33-1.42 ms with a gather per L/MR columns, 0.79-0.93 ms with the permutes
                int src = aOff + (ic + ir) * lda + pc;
                int p = 0;
                if (MR == 8 && L >= 8) {
                    for (; p + L <= kc; p += L, dst += L * MR) {
                        transpose8(a, src + p, lda, buf, dst, MR);
                    }
                } else if (MR == 6 && L == 8) {
                    // six rows transposed as eight (the last two copies of row 5): each column's
                    // store of eight runs two floats into the next column, which is stored after
                    // it, so a block is taken only while a column follows it in this panel
                    for (; p + L < kc; p += L, dst += L * MR) {
                        transpose8(a, src + p, lda, buf, dst, MR, MR);
                    }
                }
                for (; p < kc; p++, dst += MR) {
                    for (int r = 0; r < MR; r++) {
                        buf[dst + r] = a[src + r * lda + p];
                    }
                }
            } else {
                for (int r = 0; r < MR; r++) {
                    if (r < mr) {
                        int src = aOff + (ic + ir + r) * lda + pc;
                        for (int p = 0; p < kc; p++) {
                            buf[dst + p * MR + r] = a[src + p];
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            buf[dst + p * MR + r] = 0f;
                        }
                    }
                }
            }
        }
    }

    /**
     * The micro-kernel: an 8 x 2-vector tile of C from packed panels (A column p at
     * {@code ap[aIdx + p*MR ..]}, B row p at {@code bp[bIdx + p*NR ..]}). Constant strides matter:
     * the same loop with strides passed in ran at 107 instead of 167 GFLOPS on one core here, and
     * calling a helper with vector arguments boxed them, so the tile update below is written out.
     * With {@code tile == null} it updates C directly: {@code C = fma(acc, alpha, betaEff * C)}, or
     * {@code acc * alpha} when C is not read; otherwise it leaves the raw sums in {@code tile}
     * (MR x NR) for {@link #edgeUpdate}, which applies the same formula to the valid part.
     */
    static void kernel(float[] ap, int aIdx, float[] bp, int bIdx, int kc,
                       float[] c, int cIdx, int ldc, float alpha, float betaEff, boolean readC, float[] tile) {
        if (MR == 6) {
            kernel6(ap, aIdx, bp, bIdx, kc, c, cIdx, ldc, alpha, betaEff, readC, tile);
            return;
        }
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        for (int p = 0, ai = aIdx, bi = bIdx; p < kc; p++, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector av;
            av = FloatVector.broadcast(S, ap[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        if (tile != null) {
            c00.intoArray(tile, 0 * NR);
            c01.intoArray(tile, 0 * NR + L);
            c10.intoArray(tile, 1 * NR);
            c11.intoArray(tile, 1 * NR + L);
            c20.intoArray(tile, 2 * NR);
            c21.intoArray(tile, 2 * NR + L);
            c30.intoArray(tile, 3 * NR);
            c31.intoArray(tile, 3 * NR + L);
            c40.intoArray(tile, 4 * NR);
            c41.intoArray(tile, 4 * NR + L);
            c50.intoArray(tile, 5 * NR);
            c51.intoArray(tile, 5 * NR + L);
            c60.intoArray(tile, 6 * NR);
            c61.intoArray(tile, 6 * NR + L);
            c70.intoArray(tile, 7 * NR);
            c71.intoArray(tile, 7 * NR + L);
            return;
        }
        FloatVector va = FloatVector.broadcast(S, alpha);
        if (readC) {
            c00.fma(va, FloatVector.fromArray(S, c, cIdx).mul(betaEff)).intoArray(c, cIdx);
            c01.fma(va, FloatVector.fromArray(S, c, cIdx + L).mul(betaEff)).intoArray(c, cIdx + L);
            c10.fma(va, FloatVector.fromArray(S, c, cIdx + 1 * ldc).mul(betaEff)).intoArray(c, cIdx + 1 * ldc);
            c11.fma(va, FloatVector.fromArray(S, c, cIdx + 1 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 1 * ldc + L);
            c20.fma(va, FloatVector.fromArray(S, c, cIdx + 2 * ldc).mul(betaEff)).intoArray(c, cIdx + 2 * ldc);
            c21.fma(va, FloatVector.fromArray(S, c, cIdx + 2 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 2 * ldc + L);
            c30.fma(va, FloatVector.fromArray(S, c, cIdx + 3 * ldc).mul(betaEff)).intoArray(c, cIdx + 3 * ldc);
            c31.fma(va, FloatVector.fromArray(S, c, cIdx + 3 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 3 * ldc + L);
            c40.fma(va, FloatVector.fromArray(S, c, cIdx + 4 * ldc).mul(betaEff)).intoArray(c, cIdx + 4 * ldc);
            c41.fma(va, FloatVector.fromArray(S, c, cIdx + 4 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 4 * ldc + L);
            c50.fma(va, FloatVector.fromArray(S, c, cIdx + 5 * ldc).mul(betaEff)).intoArray(c, cIdx + 5 * ldc);
            c51.fma(va, FloatVector.fromArray(S, c, cIdx + 5 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 5 * ldc + L);
            c60.fma(va, FloatVector.fromArray(S, c, cIdx + 6 * ldc).mul(betaEff)).intoArray(c, cIdx + 6 * ldc);
            c61.fma(va, FloatVector.fromArray(S, c, cIdx + 6 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 6 * ldc + L);
            c70.fma(va, FloatVector.fromArray(S, c, cIdx + 7 * ldc).mul(betaEff)).intoArray(c, cIdx + 7 * ldc);
            c71.fma(va, FloatVector.fromArray(S, c, cIdx + 7 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 7 * ldc + L);
        } else {
            c00.mul(va).intoArray(c, cIdx);
            c01.mul(va).intoArray(c, cIdx + L);
            c10.mul(va).intoArray(c, cIdx + 1 * ldc);
            c11.mul(va).intoArray(c, cIdx + 1 * ldc + L);
            c20.mul(va).intoArray(c, cIdx + 2 * ldc);
            c21.mul(va).intoArray(c, cIdx + 2 * ldc + L);
            c30.mul(va).intoArray(c, cIdx + 3 * ldc);
            c31.mul(va).intoArray(c, cIdx + 3 * ldc + L);
            c40.mul(va).intoArray(c, cIdx + 4 * ldc);
            c41.mul(va).intoArray(c, cIdx + 4 * ldc + L);
            c50.mul(va).intoArray(c, cIdx + 5 * ldc);
            c51.mul(va).intoArray(c, cIdx + 5 * ldc + L);
            c60.mul(va).intoArray(c, cIdx + 6 * ldc);
            c61.mul(va).intoArray(c, cIdx + 6 * ldc + L);
            c70.mul(va).intoArray(c, cIdx + 7 * ldc);
            c71.mul(va).intoArray(c, cIdx + 7 * ldc + L);
        }
    }

    /**
     * {@link #kernel} for {@code MR == 6} (vectors narrower than 512 bits): a 6 x 2-vector tile, 12
     * accumulators + 2 B vectors + 1 broadcast of AVX2's 16 registers, the depth loop unrolled twice
     * (one Zen 3 core: 65-78 GFLOPS, 42 not unrolled, in a loop over packed panels alone).
     */
    private static void kernel6(float[] ap, int aIdx, float[] bp, int bIdx, int kc,
                                float[] c, int cIdx, int ldc, float alpha, float betaEff, boolean readC, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        int p = 0;
        int ai = aIdx;
        int bi = bIdx;
        for (; p + 2 <= kc; p += 2, ai += 2 * MR, bi += 2 * NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector av;
            av = FloatVector.broadcast(S, ap[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            // the next depth step: its own B registers, so its loads need not wait for the FMAs above
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + NR);
            FloatVector b3 = FloatVector.fromArray(S, bp, bi + NR + L);
            av = FloatVector.broadcast(S, ap[ai + MR]);
            c00 = av.fma(b2, c00);
            c01 = av.fma(b3, c01);
            av = FloatVector.broadcast(S, ap[ai + MR + 1]);
            c10 = av.fma(b2, c10);
            c11 = av.fma(b3, c11);
            av = FloatVector.broadcast(S, ap[ai + MR + 2]);
            c20 = av.fma(b2, c20);
            c21 = av.fma(b3, c21);
            av = FloatVector.broadcast(S, ap[ai + MR + 3]);
            c30 = av.fma(b2, c30);
            c31 = av.fma(b3, c31);
            av = FloatVector.broadcast(S, ap[ai + MR + 4]);
            c40 = av.fma(b2, c40);
            c41 = av.fma(b3, c41);
            av = FloatVector.broadcast(S, ap[ai + MR + 5]);
            c50 = av.fma(b2, c50);
            c51 = av.fma(b3, c51);
        }
        if (p < kc) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector av;
            av = FloatVector.broadcast(S, ap[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        if (tile != null) {
            c00.intoArray(tile, 0 * NR);
            c01.intoArray(tile, 0 * NR + L);
            c10.intoArray(tile, 1 * NR);
            c11.intoArray(tile, 1 * NR + L);
            c20.intoArray(tile, 2 * NR);
            c21.intoArray(tile, 2 * NR + L);
            c30.intoArray(tile, 3 * NR);
            c31.intoArray(tile, 3 * NR + L);
            c40.intoArray(tile, 4 * NR);
            c41.intoArray(tile, 4 * NR + L);
            c50.intoArray(tile, 5 * NR);
            c51.intoArray(tile, 5 * NR + L);
            return;
        }
        FloatVector va = FloatVector.broadcast(S, alpha);
        if (readC) {
            c00.fma(va, FloatVector.fromArray(S, c, cIdx).mul(betaEff)).intoArray(c, cIdx);
            c01.fma(va, FloatVector.fromArray(S, c, cIdx + L).mul(betaEff)).intoArray(c, cIdx + L);
            c10.fma(va, FloatVector.fromArray(S, c, cIdx + 1 * ldc).mul(betaEff)).intoArray(c, cIdx + 1 * ldc);
            c11.fma(va, FloatVector.fromArray(S, c, cIdx + 1 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 1 * ldc + L);
            c20.fma(va, FloatVector.fromArray(S, c, cIdx + 2 * ldc).mul(betaEff)).intoArray(c, cIdx + 2 * ldc);
            c21.fma(va, FloatVector.fromArray(S, c, cIdx + 2 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 2 * ldc + L);
            c30.fma(va, FloatVector.fromArray(S, c, cIdx + 3 * ldc).mul(betaEff)).intoArray(c, cIdx + 3 * ldc);
            c31.fma(va, FloatVector.fromArray(S, c, cIdx + 3 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 3 * ldc + L);
            c40.fma(va, FloatVector.fromArray(S, c, cIdx + 4 * ldc).mul(betaEff)).intoArray(c, cIdx + 4 * ldc);
            c41.fma(va, FloatVector.fromArray(S, c, cIdx + 4 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 4 * ldc + L);
            c50.fma(va, FloatVector.fromArray(S, c, cIdx + 5 * ldc).mul(betaEff)).intoArray(c, cIdx + 5 * ldc);
            c51.fma(va, FloatVector.fromArray(S, c, cIdx + 5 * ldc + L).mul(betaEff)).intoArray(c, cIdx + 5 * ldc + L);
        } else {
            c00.mul(va).intoArray(c, cIdx);
            c01.mul(va).intoArray(c, cIdx + L);
            c10.mul(va).intoArray(c, cIdx + 1 * ldc);
            c11.mul(va).intoArray(c, cIdx + 1 * ldc + L);
            c20.mul(va).intoArray(c, cIdx + 2 * ldc);
            c21.mul(va).intoArray(c, cIdx + 2 * ldc + L);
            c30.mul(va).intoArray(c, cIdx + 3 * ldc);
            c31.mul(va).intoArray(c, cIdx + 3 * ldc + L);
            c40.mul(va).intoArray(c, cIdx + 4 * ldc);
            c41.mul(va).intoArray(c, cIdx + 4 * ldc + L);
            c50.mul(va).intoArray(c, cIdx + 5 * ldc);
            c51.mul(va).intoArray(c, cIdx + 5 * ldc + L);
        }
    }

    /** The valid mr x nr part of a tile left by {@link #kernel}, with the same per-element formula. */
    static void edgeUpdate(float[] tile, int mr, int nr, float[] c, int cIdx, int ldc,
                           float alpha, float betaEff, boolean readC) {
        for (int r = 0; r < mr; r++) {
            int row = cIdx + r * ldc;
            for (int j = 0; j < nr; j++) {
                float acc = tile[r * NR + j];
                c[row + j] = readC ? Math.fma(acc, alpha, c[row + j] * betaEff) : acc * alpha;
            }
        }
    }

    // ---------------------------------------------------------------- wide: m <= WIDE_M, B not transposed

    /**
     * C[0..m) = alpha * op(A) B + beta C for at most {@value #WIDE_M} rows: each step p broadcasts
     * the m values of column p of op(A) and multiplies them into a row of B, read in place. B (the
     * big operand: a weight in the input gradient of a convolution over few positions) is read
     * exactly once and never packed, where the blocked path would copy all of it and fill half of
     * each 8-row tile with padding. Four vectors of columns per step: 16 independent FMA chains.
     *
     * <p>B is read in passes of {@value #WIDE_DEPTH} rows, each pass along the rows' whole width
     * (the thread's columns, in blocks of up to {@value #WIDE_COLS}), with the running sums of all m
     * rows in a per-thread array between passes (m x the block's columns: 36 KB for ResNet-18's
     * layer4 at batch 1). Holding the sums
     * in registers for the whole depth instead (one chunk of 4 vectors of columns from the first
     * row of B to the last) read B 256 bytes per row, a new page at every step, which no
     * prefetcher follows. Measured at 4x4608x512 on 2 threads with the 9.4 MB weight in the cache:
     * 9-12 GB/s that way, 24-32 GB/s in passes of 16 rows (8: 16-21), 41-46 for a plain read of it.
     * Columns are split over threads; every element is one FMA chain over p = 0..k-1 (the sums
     * leave and re-enter the chain exactly), then {@code alpha * sum + beta * C}, so results do not
     * depend on the split or the passes.
     *
     * <p>That is the way for a B of fewer than two {@link #byDepth} chunks of rows; deeper ones go
     * by depth, reading B's rows whole and in order, which was about twice as fast.
     */
    static void wide(boolean transA, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                     float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, long flops) {
        // op(A)[i, p] at a[row(i) + p * step], in groups of four rows; rows past m repeat the
        // group's first row (their sums land in padding rows of the sums array and are dropped)
        int step = transA ? lda : 1;
        int rowStep = transA ? 1 : lda;
        int depth = Math.max(DEPTH_CHUNK, (k + DEPTH_CHUNKS_MAX - 1) / DEPTH_CHUNKS_MAX);
        int chunks = (k + depth - 1) / depth;
        int padded = (m + 3) / 4 * 4;
        if (chunks >= 2 && (long) chunks * padded * n <= DEPTH_PARTIALS_MAX) {
            byDepth(m, n, k, depth, chunks, alpha, a, aOff, step, rowStep, b, bOff, ldb, beta, c, cOff, ldc, flops);
            return;
        }
        int chunk = 4 * L;
        int units = (n + chunk - 1) / chunk;
        int tasks = Math.min(units, flops < PARALLEL_FLOPS ? 1 : Parallel.parallelism());
        WideCall call = WIDE_CALLS.get();
        call.product(transA, false, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, null, beta, c, cOff, ldc);
        call.units = units;
        call.tasks = tasks;
        call.padded = padded;
        call.step = step;
        call.rowStep = rowStep;
        Parallel.run(tasks, call);
    }

    /** Columns [j0, j1) of {@link #wide}'s product on the calling thread. */
    private static void wideBlock(int m, int k, int padded, float alpha, float[] a, int aOff, int step, int rowStep,
                                  float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, int j0, int j1) {
        int chunk = 4 * L;
        int w = j1 - j0;
        // row r of the running sums at sums[r * w ..], column j at j - j0
        float[] sums = buffer(2, padded * w);
        java.util.Arrays.fill(sums, 0, padded * w, 0f);
        for (int p0 = 0, p1; p0 < k; p0 = p1) {
            p1 = (int) Math.min(k, (long) p0 + WIDE_DEPTH);
            int j = j0;
            for (; j + chunk <= j1; j += chunk) {
                for (int g = 0; g < m; g += 4) {
                    int rows = Math.min(4, m - g);
                    wide4(p0, p1, a, groupRow(aOff, g, 0, rows, rowStep), groupRow(aOff, g, 1, rows, rowStep),
                            groupRow(aOff, g, 2, rows, rowStep), groupRow(aOff, g, 3, rows, rowStep), step,
                            b, bOff + j, ldb, sums, g * w + j - j0, w);
                }
            }
            for (; j < j1; j += L) {
                VectorMask<Float> mask = S.indexInRange(j, j1);
                for (int g = 0; g < m; g += 4) {
                    int rows = Math.min(4, m - g);
                    wide1(p0, p1, a, groupRow(aOff, g, 0, rows, rowStep), groupRow(aOff, g, 1, rows, rowStep),
                            groupRow(aOff, g, 2, rows, rowStep), groupRow(aOff, g, 3, rows, rowStep), step,
                            b, bOff + j, ldb, sums, g * w + j - j0, w, mask);
                }
            }
        }
        // row r of C takes alpha * sum + beta * C (C not read when beta is 0), as the blocked path
        FloatVector va = FloatVector.broadcast(S, alpha);
        for (int r = 0; r < m; r++) {
            int si = r * w;
            int ci = cOff + r * ldc + j0;
            for (int j = 0; j < w; j += L) {
                VectorMask<Float> mask = S.indexInRange(j, w);
                FloatVector s = FloatVector.fromArray(S, sums, si + j, mask);
                if (beta == 0f) {
                    s.mul(va).intoArray(c, ci + j, mask);
                } else {
                    s.fma(va, FloatVector.fromArray(S, c, ci + j, mask).mul(beta)).intoArray(c, ci + j, mask);
                }
            }
        }
    }

    /**
     * {@link #wide}'s product by depth: B is cut into chunks of {@code depth} whole rows, and each
     * task reads the rows of its chunk from end to end, in order, into its own partial product
     * (m x n floats, rows padded to a multiple of four); the partials are then summed in chunk
     * order. Four rows of B at a time, each vector of them loaded once for the FMAs of every row of
     * a group of four of op(A). The column bands read each row of B a band at a time, 16 rows at
     * once, and that pattern ran at about half the speed of a plain read here.
     *
     * <p>ResNet-18's input gradients at batch 1 (layer4 4x4608x512, a 9.4 MB weight; layer3
     * 16x2304x256) and its fc's at batch 16 (16x512x1000), with A transposed, on the Zen 3, one JVM
     * alternating with the bands (2026-11-23): on 2 threads with B from memory 0.79-0.96 -> 0.40-0.53
     * ms, 0.69-0.70 -> 0.34-0.38 and 0.46 -> 0.28; with B in the cache 0.47 -> 0.33 and 0.46 -> 0.31
     * ms; on 1 thread from memory 1.58 -> 0.82, 1.54 -> 0.57, 0.91 -> 0.64 ms (a plain sum of the
     * 9.4 MB weight: 0.36-0.46 ms on 2 threads). Each element is a chain over every chunk, then the
     * chunks' sums in order: the same for any number of threads.
     */
    private static void byDepth(int m, int n, int k, int depth, int chunks, float alpha, float[] a, int aOff,
                                int step, int rowStep, float[] b, int bOff, int ldb, float beta, float[] c,
                                int cOff, int ldc, long flops) {
        int padded = (m + 3) / 4 * 4;
        int part = padded * n;
        float[] partials = Scratch.floats(PARTIALS, chunks * part);
        int tasks = flops < PARALLEL_FLOPS ? 1 : chunks;
        ByDepthCall call = BY_DEPTH_CALLS.get();
        call.product(false, false, m, n, k, alpha, a, aOff, 0, b, bOff, ldb, null, beta, c, cOff, ldc);
        call.depth = depth;
        call.chunks = chunks;
        call.tasks = tasks;
        call.part = part;
        call.step = step;
        call.rowStep = rowStep;
        call.partials = partials;
        Parallel.run(tasks, call);
        // C = alpha * (chunk 0 + chunk 1 + ...) + beta * C, the chunks added in order
        ChunkSumCall sum = CHUNK_SUM_CALLS.get();
        sum.m = m;
        sum.n = n;
        sum.part = part;
        sum.chunks = chunks;
        sum.alpha = alpha;
        sum.beta = beta;
        sum.partials = partials;
        sum.c = c;
        sum.cOff = cOff;
        sum.ldc = ldc;
        Parallel.forRange(n, DEPTH_SUM_GRAIN, L, sum);
    }

    /** One vector of C from {@link #byDepth}'s partials: alpha * (chunk 0 + chunk 1 + ...) + beta * C. */
    private static void sumChunks(float[] partials, int pi, int part, int chunks, float alpha, float beta, float[] c,
                                  int ci, VectorMask<Float> mask) {
        FloatVector sum = FloatVector.fromArray(S, partials, pi, mask);
        for (int q = 1; q < chunks; q++) {
            sum = sum.add(FloatVector.fromArray(S, partials, pi + q * part, mask));
        }
        FloatVector out = beta == 0f ? sum.mul(alpha)
                : sum.fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, c, ci, mask).mul(beta));
        out.intoArray(c, ci, mask);
    }

    /**
     * Rows p..p+3 of B (from {@code bi}, {@code ldb} apart) times column p..p+3 of four rows of
     * op(A) (at {@code r + ai}, {@code step} apart), added into a partial product of four rows of n
     * (set instead on the chunk's first rows). Each vector of B is loaded once for its four FMAs.
     */
    private static void depthRows4(float[] a, int r0, int r1, int r2, int r3, int ai, int step, float[] b, int bi,
                                   int ldb, int n, float[] part, int off, boolean first) {
        FloatVector x00 = FloatVector.broadcast(S, a[r0 + ai]);
        FloatVector x01 = FloatVector.broadcast(S, a[r0 + ai + step]);
        FloatVector x02 = FloatVector.broadcast(S, a[r0 + ai + 2 * step]);
        FloatVector x03 = FloatVector.broadcast(S, a[r0 + ai + 3 * step]);
        FloatVector x10 = FloatVector.broadcast(S, a[r1 + ai]);
        FloatVector x11 = FloatVector.broadcast(S, a[r1 + ai + step]);
        FloatVector x12 = FloatVector.broadcast(S, a[r1 + ai + 2 * step]);
        FloatVector x13 = FloatVector.broadcast(S, a[r1 + ai + 3 * step]);
        FloatVector x20 = FloatVector.broadcast(S, a[r2 + ai]);
        FloatVector x21 = FloatVector.broadcast(S, a[r2 + ai + step]);
        FloatVector x22 = FloatVector.broadcast(S, a[r2 + ai + 2 * step]);
        FloatVector x23 = FloatVector.broadcast(S, a[r2 + ai + 3 * step]);
        FloatVector x30 = FloatVector.broadcast(S, a[r3 + ai]);
        FloatVector x31 = FloatVector.broadcast(S, a[r3 + ai + step]);
        FloatVector x32 = FloatVector.broadcast(S, a[r3 + ai + 2 * step]);
        FloatVector x33 = FloatVector.broadcast(S, a[r3 + ai + 3 * step]);
        FloatVector zero = FloatVector.zero(S);
        int s1 = off + n;
        int s2 = s1 + n;
        int s3 = s2 + n;
        int bound = S.loopBound(n);
        int j = 0;
        for (; j < bound; j += L) {
            FloatVector u0 = FloatVector.fromArray(S, b, bi + j);
            FloatVector u1 = FloatVector.fromArray(S, b, bi + ldb + j);
            FloatVector u2 = FloatVector.fromArray(S, b, bi + 2 * ldb + j);
            FloatVector u3 = FloatVector.fromArray(S, b, bi + 3 * ldb + j);
            FloatVector v0 = first ? zero : FloatVector.fromArray(S, part, off + j);
            FloatVector v1 = first ? zero : FloatVector.fromArray(S, part, s1 + j);
            FloatVector v2 = first ? zero : FloatVector.fromArray(S, part, s2 + j);
            FloatVector v3 = first ? zero : FloatVector.fromArray(S, part, s3 + j);
            x03.fma(u3, x02.fma(u2, x01.fma(u1, x00.fma(u0, v0)))).intoArray(part, off + j);
            x13.fma(u3, x12.fma(u2, x11.fma(u1, x10.fma(u0, v1)))).intoArray(part, s1 + j);
            x23.fma(u3, x22.fma(u2, x21.fma(u1, x20.fma(u0, v2)))).intoArray(part, s2 + j);
            x33.fma(u3, x32.fma(u2, x31.fma(u1, x30.fma(u0, v3)))).intoArray(part, s3 + j);
        }
        if (j < n) {
            depthTail4(a, r0, r1, r2, r3, ai, step, j, b, bi, ldb, n, part, off, first);
        }
    }

    /**
     * {@link #depthRows4}'s last columns, masked: the same lanes, so the same chains, as unmasked. A
     * method of its own: with both loops in one, C1 gave up on it ("out of virtual registers"), and
     * it ran in the interpreter until C2 compiled it. Takes A's values, not the broadcasts: vectors
     * passed to a method that is not inlined are boxed.
     */
    private static void depthTail4(float[] a, int r0, int r1, int r2, int r3, int ai, int step, int j, float[] b,
                                   int bi, int ldb, int n, float[] part, int off, boolean first) {
        VectorMask<Float> mask = S.indexInRange(j, n);
        FloatVector u0 = FloatVector.fromArray(S, b, bi + j, mask);
        FloatVector u1 = FloatVector.fromArray(S, b, bi + ldb + j, mask);
        FloatVector u2 = FloatVector.fromArray(S, b, bi + 2 * ldb + j, mask);
        FloatVector u3 = FloatVector.fromArray(S, b, bi + 3 * ldb + j, mask);
        for (int g = 0; g < 4; g++) {
            int r = (g == 0 ? r0 : g == 1 ? r1 : g == 2 ? r2 : r3) + ai;
            int si = off + g * n + j;
            FloatVector v = first ? FloatVector.zero(S) : FloatVector.fromArray(S, part, si, mask);
            v = FloatVector.broadcast(S, a[r]).fma(u0, v);
            v = FloatVector.broadcast(S, a[r + step]).fma(u1, v);
            v = FloatVector.broadcast(S, a[r + 2 * step]).fma(u2, v);
            v = FloatVector.broadcast(S, a[r + 3 * step]).fma(u3, v);
            v.intoArray(part, si, mask);
        }
    }

    /** As {@link #depthRows4} for one row of B (a chunk's last rows). */
    private static void depthRow(float[] a, int r0, int r1, int r2, int r3, int ai, float[] b, int bi, int n,
                                 float[] part, int off, boolean first) {
        FloatVector x0 = FloatVector.broadcast(S, a[r0 + ai]);
        FloatVector x1 = FloatVector.broadcast(S, a[r1 + ai]);
        FloatVector x2 = FloatVector.broadcast(S, a[r2 + ai]);
        FloatVector x3 = FloatVector.broadcast(S, a[r3 + ai]);
        FloatVector zero = FloatVector.zero(S);
        int s1 = off + n;
        int s2 = s1 + n;
        int s3 = s2 + n;
        int bound = S.loopBound(n);
        int j = 0;
        for (; j < bound; j += L) {
            FloatVector u = FloatVector.fromArray(S, b, bi + j);
            x0.fma(u, first ? zero : FloatVector.fromArray(S, part, off + j)).intoArray(part, off + j);
            x1.fma(u, first ? zero : FloatVector.fromArray(S, part, s1 + j)).intoArray(part, s1 + j);
            x2.fma(u, first ? zero : FloatVector.fromArray(S, part, s2 + j)).intoArray(part, s2 + j);
            x3.fma(u, first ? zero : FloatVector.fromArray(S, part, s3 + j)).intoArray(part, s3 + j);
        }
        if (j < n) {
            VectorMask<Float> mask = S.indexInRange(j, n);
            FloatVector u = FloatVector.fromArray(S, b, bi + j, mask);
            x0.fma(u, first ? zero : FloatVector.fromArray(S, part, off + j, mask)).intoArray(part, off + j, mask);
            x1.fma(u, first ? zero : FloatVector.fromArray(S, part, s1 + j, mask)).intoArray(part, s1 + j, mask);
            x2.fma(u, first ? zero : FloatVector.fromArray(S, part, s2 + j, mask)).intoArray(part, s2 + j, mask);
            x3.fma(u, first ? zero : FloatVector.fromArray(S, part, s3 + j, mask)).intoArray(part, s3 + j, mask);
        }
    }

    /** Where row r of the group of {@code rows} rows from g starts; rows past the group repeat its first. */
    private static int groupRow(int aOff, int g, int r, int rows, int rowStep) {
        return aOff + (g + (r < rows ? r : 0)) * rowStep;
    }

    /**
     * Depth rows [p0, p1) of B times four rows of op(A), into the running sums of four vectors of
     * columns (row r's at {@code sums[sIdx + r * ldSums ..]}, zeros before the first pass).
     */
    private static void wide4(int p0, int p1, float[] a, int r0, int r1, int r2, int r3, int step,
                              float[] b, int bIdx, int ldb, float[] sums, int sIdx, int ldSums) {
        int s1 = sIdx + ldSums;
        int s2 = s1 + ldSums;
        int s3 = s2 + ldSums;
        FloatVector s00 = FloatVector.fromArray(S, sums, sIdx);
        FloatVector s01 = FloatVector.fromArray(S, sums, sIdx + L);
        FloatVector s02 = FloatVector.fromArray(S, sums, sIdx + 2 * L);
        FloatVector s03 = FloatVector.fromArray(S, sums, sIdx + 3 * L);
        FloatVector s10 = FloatVector.fromArray(S, sums, s1);
        FloatVector s11 = FloatVector.fromArray(S, sums, s1 + L);
        FloatVector s12 = FloatVector.fromArray(S, sums, s1 + 2 * L);
        FloatVector s13 = FloatVector.fromArray(S, sums, s1 + 3 * L);
        FloatVector s20 = FloatVector.fromArray(S, sums, s2);
        FloatVector s21 = FloatVector.fromArray(S, sums, s2 + L);
        FloatVector s22 = FloatVector.fromArray(S, sums, s2 + 2 * L);
        FloatVector s23 = FloatVector.fromArray(S, sums, s2 + 3 * L);
        FloatVector s30 = FloatVector.fromArray(S, sums, s3);
        FloatVector s31 = FloatVector.fromArray(S, sums, s3 + L);
        FloatVector s32 = FloatVector.fromArray(S, sums, s3 + 2 * L);
        FloatVector s33 = FloatVector.fromArray(S, sums, s3 + 3 * L);
        for (int p = p0, ai = p0 * step, bi = bIdx + p0 * ldb; p < p1; p++, ai += step, bi += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector b2 = FloatVector.fromArray(S, b, bi + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, b, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(S, a[r0 + ai]);
            s00 = x.fma(b0, s00);
            s01 = x.fma(b1, s01);
            s02 = x.fma(b2, s02);
            s03 = x.fma(b3, s03);
            x = FloatVector.broadcast(S, a[r1 + ai]);
            s10 = x.fma(b0, s10);
            s11 = x.fma(b1, s11);
            s12 = x.fma(b2, s12);
            s13 = x.fma(b3, s13);
            x = FloatVector.broadcast(S, a[r2 + ai]);
            s20 = x.fma(b0, s20);
            s21 = x.fma(b1, s21);
            s22 = x.fma(b2, s22);
            s23 = x.fma(b3, s23);
            x = FloatVector.broadcast(S, a[r3 + ai]);
            s30 = x.fma(b0, s30);
            s31 = x.fma(b1, s31);
            s32 = x.fma(b2, s32);
            s33 = x.fma(b3, s33);
        }
        s00.intoArray(sums, sIdx);
        s01.intoArray(sums, sIdx + L);
        s02.intoArray(sums, sIdx + 2 * L);
        s03.intoArray(sums, sIdx + 3 * L);
        s10.intoArray(sums, s1);
        s11.intoArray(sums, s1 + L);
        s12.intoArray(sums, s1 + 2 * L);
        s13.intoArray(sums, s1 + 3 * L);
        s20.intoArray(sums, s2);
        s21.intoArray(sums, s2 + L);
        s22.intoArray(sums, s2 + 2 * L);
        s23.intoArray(sums, s2 + 3 * L);
        s30.intoArray(sums, s3);
        s31.intoArray(sums, s3 + L);
        s32.intoArray(sums, s3 + 2 * L);
        s33.intoArray(sums, s3 + 3 * L);
    }

    /** As {@link #wide4} for one vector of columns (the last ones: masked). */
    private static void wide1(int p0, int p1, float[] a, int r0, int r1, int r2, int r3, int step,
                              float[] b, int bIdx, int ldb, float[] sums, int sIdx, int ldSums, VectorMask<Float> mask) {
        int s1 = sIdx + ldSums;
        int s2 = s1 + ldSums;
        int s3 = s2 + ldSums;
        FloatVector v0 = FloatVector.fromArray(S, sums, sIdx, mask);
        FloatVector v1 = FloatVector.fromArray(S, sums, s1, mask);
        FloatVector v2 = FloatVector.fromArray(S, sums, s2, mask);
        FloatVector v3 = FloatVector.fromArray(S, sums, s3, mask);
        for (int p = p0, ai = p0 * step, bi = bIdx + p0 * ldb; p < p1; p++, ai += step, bi += ldb) {
            FloatVector bv = FloatVector.fromArray(S, b, bi, mask);
            v0 = FloatVector.broadcast(S, a[r0 + ai]).fma(bv, v0);
            v1 = FloatVector.broadcast(S, a[r1 + ai]).fma(bv, v1);
            v2 = FloatVector.broadcast(S, a[r2 + ai]).fma(bv, v2);
            v3 = FloatVector.broadcast(S, a[r3 + ai]).fma(bv, v3);
        }
        v0.intoArray(sums, sIdx, mask);
        v1.intoArray(sums, s1, mask);
        v2.intoArray(sums, s2, mask);
        v3.intoArray(sums, s3, mask);
    }

    // ---------------------------------------------------------------- shallow: k <= SHALLOW_K

    /**
     * C = alpha op(A) op(B) + beta C for a depth of at most {@value #SHALLOW_K}: C is the big operand
     * (the weight gradient of a convolution over few positions: 512 x 4608 from depth 4), so the
     * product is a pass over C, one vector of a row at a time, each the k-term FMA chain over the
     * rows of op(B) (copied once to k x n when B is transposed: at most 8 rows). Tiles of the
     * blocked path would each run a 4-step loop and pack A and B around it. Rows of C are split into
     * a few tasks per thread ({@link Parallel#tasks}); every element is the same FMA chain over
     * p = 0..k-1 whatever the split. Against one task per thread, alternating, 512x4608x4 with C
     * from memory: 0.90-1.06 -> 0.81-0.95 ms (faster in 35-39 of 40 rounds).
     */
    static void shallow(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                        float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, long flops) {
        // op(B) as k x n rows: a transposed B is copied (at most 8 rows: small next to C)
        float[] bRows = transB ? transpose(b, bOff, ldb, n, k) : b;
        int bRowsOff = transB ? 0 : bOff;
        int ldRows = transB ? n : ldb;
        // op(A)[i, p] at a[i * rowStep + p * colStep]
        int rowStep = transA ? 1 : lda;
        int colStep = transA ? lda : 1;
        int tasks = flops < PARALLEL_FLOPS ? 1 : Parallel.tasks(m);
        ShallowCall call = SHALLOW_CALLS.get();
        call.product(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, null, beta, c, cOff, ldc);
        call.bRows = bRows;
        call.bRowsOff = bRowsOff;
        call.ldRows = ldRows;
        call.rowStep = rowStep;
        call.colStep = colStep;
        call.tasks = tasks;
        Parallel.run(tasks, call);
    }

    /** {@code c = alpha * s + beta * c} on the lanes of the mask; C is not read when beta is 0. */
    private static void shallowStore(FloatVector s, float alpha, float beta, float[] c, int ci, VectorMask<Float> mask) {
        FloatVector out = beta == 0f ? s.mul(alpha) : s.fma(FloatVector.broadcast(S, alpha),
                FloatVector.fromArray(S, c, ci, mask).mul(beta));
        out.intoArray(c, ci, mask);
    }

    // ---------------------------------------------------------------- skinny: n < SKINNY_N

    /**
     * C[i, j] = alpha * dot(A row i, op(B) column j) + beta * C[i, j], with A rows contiguous. op(B)
     * columns are B rows when transB, else gathered once into a small n x k buffer. Two rows of A
     * against up to four columns: 8 independent FMA chains, and each A vector loaded once feeds 4
     * FMAs, so the stream over A (the big operand) runs at memory speed. Rows are split into a few
     * tasks per thread ({@link Parallel#tasks}; at 512x4x4608 as fast as one per thread).
     */
    static void skinny(boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                       float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, long flops) {
        // op(B) columns as n x k rows: B's rows when transposed, else gathered once (at most 7 k
        // floats: cheap next to the m x k stream over A)
        float[] bt = transB ? b : transpose(b, bOff, ldb, k, n);
        int btOff = transB ? bOff : 0;
        int ldbt = transB ? ldb : k;
        int units = (m + 1) / 2;
        int t = flops < PARALLEL_FLOPS ? 1 : Parallel.tasks(units);
        SkinnyCall call = SKINNY_CALLS.get();
        call.product(false, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, null, beta, c, cOff, ldc);
        call.bt = bt;
        call.btOff = btOff;
        call.ldbt = ldbt;
        call.units = units;
        call.tasks = t;
        Parallel.run(t, call);
    }

    /**
     * Two rows of A against up to four columns of op(B), into C. The eight sums are reduced here by
     * addLanes' tree, its rounds written out: handing the vectors to {@code addLanes}, which C2 did
     * not inline into this method, boxed each of them on the heap, and storing them for
     * {@link PanamaKernels#laneSum} (scalar adds through memory) took 30% of the product's time at
     * 512x4x4608 on one thread (0.69 against 0.49 ms).
     */
    private static void dot2x4(float[] a, int a0, int a1, float[] bt, int btOff, int ldbt, int j, int nj, int k,
                               float alpha, float beta, float[] c, int c0, int c1, float[] sums) {
        // columns past nj re-read column j (results discarded)
        int b0 = btOff + j * ldbt;
        int b1 = nj > 1 ? b0 + ldbt : b0;
        int b2 = nj > 2 ? b0 + 2 * ldbt : b0;
        int b3 = nj > 3 ? b0 + 3 * ldbt : b0;
        FloatVector s00 = FloatVector.zero(S), s01 = FloatVector.zero(S);
        FloatVector s02 = FloatVector.zero(S), s03 = FloatVector.zero(S);
        FloatVector s10 = FloatVector.zero(S), s11 = FloatVector.zero(S);
        FloatVector s12 = FloatVector.zero(S), s13 = FloatVector.zero(S);
        int p = 0;
        int bound = S.loopBound(k);
        for (; p < bound; p += L) {
            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p);
            FloatVector x1 = FloatVector.fromArray(S, a, a1 + p);
            FloatVector y = FloatVector.fromArray(S, bt, b0 + p);
            s00 = x0.fma(y, s00);
            s10 = x1.fma(y, s10);
            y = FloatVector.fromArray(S, bt, b1 + p);
            s01 = x0.fma(y, s01);
            s11 = x1.fma(y, s11);
            y = FloatVector.fromArray(S, bt, b2 + p);
            s02 = x0.fma(y, s02);
            s12 = x1.fma(y, s12);
            y = FloatVector.fromArray(S, bt, b3 + p);
            s03 = x0.fma(y, s03);
            s13 = x1.fma(y, s13);
        }
        if (p < k) {
            // masked tail: the same lanes and order for any row split
            VectorMask<Float> mk = S.indexInRange(p, k);
            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p, mk);
            FloatVector x1 = FloatVector.fromArray(S, a, a1 + p, mk);
            FloatVector y = FloatVector.fromArray(S, bt, b0 + p, mk);
            s00 = x0.fma(y, s00);
            s10 = x1.fma(y, s10);
            y = FloatVector.fromArray(S, bt, b1 + p, mk);
            s01 = x0.fma(y, s01);
            s11 = x1.fma(y, s11);
            y = FloatVector.fromArray(S, bt, b2 + p, mk);
            s02 = x0.fma(y, s02);
            s12 = x1.fma(y, s12);
            y = FloatVector.fromArray(S, bt, b3 + p, mk);
            s03 = x0.fma(y, s03);
            s13 = x1.fma(y, s13);
        }
        if (L > 16) {
            // wider than 512 bits: through memory, the same additions (see laneSum)
            s00.intoArray(sums, 0);
            s01.intoArray(sums, L);
            s02.intoArray(sums, 2 * L);
            s03.intoArray(sums, 3 * L);
            s10.intoArray(sums, 4 * L);
            s11.intoArray(sums, 5 * L);
            s12.intoArray(sums, 6 * L);
            s13.intoArray(sums, 7 * L);
            for (int q = 0; q < nj; q++) {
                put(c, c0, q, PanamaKernels.laneSum(sums, q * L), alpha, beta);
                if (c1 >= 0) {
                    put(c, c1, q, PanamaKernels.laneSum(sums, (4 + q) * L), alpha, beta);
                }
            }
            return;
        }
        // addLanes' rounds (lane j + lane j + w, w = L/2 .. 1) on the eight sums side by side,
        // written out in this method: the rounds of the other widths fold away (L is constant)
        if (L >= 16) {
            s00 = s00.add(s00.rearrange(PanamaKernels.ROTATE_8));
            s01 = s01.add(s01.rearrange(PanamaKernels.ROTATE_8));
            s02 = s02.add(s02.rearrange(PanamaKernels.ROTATE_8));
            s03 = s03.add(s03.rearrange(PanamaKernels.ROTATE_8));
            s10 = s10.add(s10.rearrange(PanamaKernels.ROTATE_8));
            s11 = s11.add(s11.rearrange(PanamaKernels.ROTATE_8));
            s12 = s12.add(s12.rearrange(PanamaKernels.ROTATE_8));
            s13 = s13.add(s13.rearrange(PanamaKernels.ROTATE_8));
        }
        if (L >= 8) {
            s00 = s00.add(s00.rearrange(PanamaKernels.ROTATE_4));
            s01 = s01.add(s01.rearrange(PanamaKernels.ROTATE_4));
            s02 = s02.add(s02.rearrange(PanamaKernels.ROTATE_4));
            s03 = s03.add(s03.rearrange(PanamaKernels.ROTATE_4));
            s10 = s10.add(s10.rearrange(PanamaKernels.ROTATE_4));
            s11 = s11.add(s11.rearrange(PanamaKernels.ROTATE_4));
            s12 = s12.add(s12.rearrange(PanamaKernels.ROTATE_4));
            s13 = s13.add(s13.rearrange(PanamaKernels.ROTATE_4));
        }
        if (L >= 4) {
            s00 = s00.add(s00.rearrange(PanamaKernels.ROTATE_2));
            s01 = s01.add(s01.rearrange(PanamaKernels.ROTATE_2));
            s02 = s02.add(s02.rearrange(PanamaKernels.ROTATE_2));
            s03 = s03.add(s03.rearrange(PanamaKernels.ROTATE_2));
            s10 = s10.add(s10.rearrange(PanamaKernels.ROTATE_2));
            s11 = s11.add(s11.rearrange(PanamaKernels.ROTATE_2));
            s12 = s12.add(s12.rearrange(PanamaKernels.ROTATE_2));
            s13 = s13.add(s13.rearrange(PanamaKernels.ROTATE_2));
        }
        float d00 = s00.lane(0) + s00.lane(1);
        float d01 = s01.lane(0) + s01.lane(1);
        float d02 = s02.lane(0) + s02.lane(1);
        float d03 = s03.lane(0) + s03.lane(1);
        float d10 = s10.lane(0) + s10.lane(1);
        float d11 = s11.lane(0) + s11.lane(1);
        float d12 = s12.lane(0) + s12.lane(1);
        float d13 = s13.lane(0) + s13.lane(1);
        put(c, c0, 0, d00, alpha, beta);
        if (nj > 1) {
            put(c, c0, 1, d01, alpha, beta);
        }
        if (nj > 2) {
            put(c, c0, 2, d02, alpha, beta);
        }
        if (nj > 3) {
            put(c, c0, 3, d03, alpha, beta);
        }
        if (c1 >= 0) {
            put(c, c1, 0, d10, alpha, beta);
            if (nj > 1) {
                put(c, c1, 1, d11, alpha, beta);
            }
            if (nj > 2) {
                put(c, c1, 2, d12, alpha, beta);
            }
            if (nj > 3) {
                put(c, c1, 3, d13, alpha, beta);
            }
        }
    }

    private static void put(float[] c, int row, int j, float sum, float alpha, float beta) {
        float v = alpha * sum;
        c[row + j] = beta == 0f ? v : v + beta * c[row + j];
    }

    // ---------------------------------------------------------------- the pool's calls

    /**
     * A product's arguments for the pool's tasks, held in fields instead of captured by a lambda
     * (see {@link Parallel.Call}: nothing allocated per call); each way of cutting a product into
     * tasks adds the state its tasks read. Only the fields a way sets are meaningful to it.
     */
    private abstract static class ProductCall extends Parallel.TaskCall {
        boolean transA, transB;
        int m, n, k, aOff, lda, bOff, ldb, cOff, ldc;
        float alpha, beta;
        float[] a, b, c;
        ImageColumns columns;

        final void product(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff,
                           int lda, float[] b, int bOff, int ldb, ImageColumns columns, float beta, float[] c,
                           int cOff, int ldc) {
            this.transA = transA;
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            this.alpha = alpha;
            this.a = a;
            this.aOff = aOff;
            this.lda = lda;
            this.b = b;
            this.bOff = bOff;
            this.ldb = ldb;
            this.columns = columns;
            this.beta = beta;
            this.c = c;
            this.cOff = cOff;
            this.ldc = ldc;
        }

        @Override
        void clear() {
            a = b = c = null;
            columns = null;
        }
    }

    /** {@link #packed}'s strips of C, one per thread. */
    private static final class StripsCall extends ProductCall {
        boolean alongM;
        int extent, units, strips, align;

        @Override
        public void accept(int i) {
            int from = Math.min(extent, units * i / strips * align);
            int to = Math.min(extent, units * (i + 1) / strips * align);
            if (from < to) {
                if (alongM) {
                    block(transA, transB, from, to, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff,
                            ldc);
                } else {
                    block(transA, transB, 0, m, from, to, k, alpha, a, aOff, lda, b, bOff, ldb, columns, beta, c, cOff,
                            ldc);
                }
            }
        }
    }

    private static final Parallel.Reused<StripsCall> STRIPS_CALLS = new Parallel.Reused<>(StripsCall::new);

    /** {@link #balanced}'s strips of C, taken from one counter. */
    private static final class BalancedCall extends ProductCall {
        /** Which call this is, for {@link #WHOLE_FOR}. */
        long id;
        boolean alongM;
        int extent, units, strips, align, kcStep, side;

        @Override
        public void accept(int i) {
            int from = (int) Math.min(extent, (long) units * i / strips * align);
            int to = (int) Math.min(extent, (long) units * (i + 1) / strips * align);
            if (from >= to) {
                return;
            }
            float[] whole = buffer(4, side * k);
            long[] holds = WHOLE_FOR.get();
            if (holds[0] != id) {
                // depth block pc at side * pc, its panels as packA / packB lay them out
                for (int pc = 0; pc < k; pc += kcStep) {
                    int kc = Math.min(kcStep, k - pc);
                    if (alongM) {
                        packB(transB, b, bOff, ldb, columns, pc, kc, 0, n, whole, side * pc);
                    } else {
                        packA(transA, a, aOff, lda, 0, m, pc, kc, whole, side * pc);
                    }
                }
                holds[0] = id;
            }
            if (alongM) {
                float[] bufA = buffer(0, KC * (MC + MR));
                for (int jc = 0; jc < n; jc += NC) {
                    int nc = Math.min(NC, n - jc);
                    for (int pc = 0; pc < k; pc += kcStep) {
                        int kc = Math.min(kcStep, k - pc);
                        for (int ic = from; ic < to; ic += MC) {
                            int mc = Math.min(MC, to - ic);
                            packA(transA, a, aOff, lda, ic, mc, pc, kc, bufA, 0);
                            macro(bufA, 0, mc, whole, side * pc + jc * kc, 0, nc, kc, pc == 0, alpha, beta, c,
                                    cOff + ic * ldc + jc, ldc);
                        }
                    }
                }
            } else {
                float[] bufB = buffer(1, KC * (NC + NR));
                for (int jc = from; jc < to; jc += NC) {
                    int nc = Math.min(NC, to - jc);
                    for (int pc = 0; pc < k; pc += kcStep) {
                        int kc = Math.min(kcStep, k - pc);
                        packB(transB, b, bOff, ldb, columns, pc, kc, jc, nc, bufB, 0);
                        for (int ic = 0; ic < m; ic += MC) {
                            int mc = Math.min(MC, m - ic);
                            macro(whole, side * pc + ic * kc, mc, bufB, 0, 0, nc, kc, pc == 0, alpha, beta, c,
                                    cOff + ic * ldc + jc, ldc);
                        }
                    }
                }
            }
        }
    }

    private static final Parallel.Reused<BalancedCall> BALANCED_CALLS = new Parallel.Reused<>(BalancedCall::new);

    /**
     * {@link #shared}'s two jobs per block of B: packing (a share of the B panel and of A per task),
     * then the products ((row block, column range) per task).
     */
    private static final class SharedCall extends ProductCall {
        boolean packing, withA, ownA, first;
        int mPanels, mcStep, panels, packTasks, ranges, p0, kc, jc, nc;
        /** The caller's packing buffers (kept by its thread anyway: not cleared). */
        float[] bufA, bufB;

        @Override
        public void accept(int t) {
            if (packing) {
                pack(t);
            } else {
                multiply(t);
            }
        }

        private void pack(int t) {
            int from = panels * t / packTasks * NR;
            int to = Math.min(nc, panels * (t + 1) / packTasks * NR);
            if (from < to) {
                packB(transB, b, bOff, ldb, columns, p0, kc, jc + from, to - from, bufB, from * kc);
            }
            if (withA) {
                int aFrom = mPanels * t / packTasks * MR;
                int aTo = Math.min(m, mPanels * (t + 1) / packTasks * MR);
                if (aFrom < aTo) {
                    packA(transA, a, aOff, lda, aFrom, aTo - aFrom, p0, kc, bufA, aFrom * kc);
                }
            }
        }

        private void multiply(int t) {
            int ic = t / ranges * mcStep;
            int r = t % ranges;
            int from = panels * r / ranges * NR;
            int to = Math.min(nc, panels * (r + 1) / ranges * NR);
            int mc = Math.min(mcStep, m - ic);
            if (ownA) {
                float[] own = buffer(0, KC * (MC + MR));
                packA(transA, a, aOff, lda, ic, mc, p0, kc, own, 0);
                macro(own, 0, mc, bufB, 0, from, to, kc, first, alpha, beta, c, cOff + ic * ldc + jc, ldc);
            } else {
                macro(bufA, ic * kc, mc, bufB, 0, from, to, kc, first, alpha, beta,
                        c, cOff + ic * ldc + jc, ldc);
            }
        }
    }

    private static final Parallel.Reused<SharedCall> SHARED_CALLS = new Parallel.Reused<>(SharedCall::new);

    /** {@link #wide}'s columns of C, in chunks of four vectors per task. */
    private static final class WideCall extends ProductCall {
        int units, tasks, padded, step, rowStep;

        @Override
        public void accept(int t) {
            int chunk = 4 * L;
            int from = Math.min(n, units * t / tasks * chunk);
            int to = Math.min(n, units * (t + 1) / tasks * chunk);
            // the thread's columns in blocks of at most WIDE_COLS: the sums array stays small
            for (int j0 = from, j1; j0 < to; j0 = j1) {
                j1 = (int) Math.min(to, (long) j0 + WIDE_COLS);
                wideBlock(m, k, padded, alpha, a, aOff, step, rowStep, b, bOff, ldb, beta, c, cOff, ldc, j0, j1);
            }
        }
    }

    private static final Parallel.Reused<WideCall> WIDE_CALLS = new Parallel.Reused<>(WideCall::new);

    /** {@link #byDepth}'s chunks of B's rows, each into its own partial product. */
    private static final class ByDepthCall extends ProductCall {
        int depth, chunks, tasks, part, step, rowStep;
        float[] partials;

        @Override
        public void accept(int t) {
            for (int q = t; q < chunks; q += tasks) {
                int p0 = q * depth;
                int p1 = Math.min(k, p0 + depth);
                int p = p0;
                // four rows of B at a time, for each group of four rows of op(A) in turn (rows past
                // m repeat the group's first: their sums land in padding rows and are dropped)
                for (; p < p1; p += 4) {
                    for (int g = 0; g < m; g += 4) {
                        int rows = Math.min(4, m - g);
                        int r0 = groupRow(aOff, g, 0, rows, rowStep);
                        int r1 = groupRow(aOff, g, 1, rows, rowStep);
                        int r2 = groupRow(aOff, g, 2, rows, rowStep);
                        int r3 = groupRow(aOff, g, 3, rows, rowStep);
                        int off = q * part + g * n;
                        if (p + 4 <= p1) {
                            depthRows4(a, r0, r1, r2, r3, p * step, step, b, bOff + p * ldb, ldb, n, partials, off,
                                    p == p0);
                        } else {
                            for (int pp = p; pp < p1; pp++) {
                                depthRow(a, r0, r1, r2, r3, pp * step, b, bOff + pp * ldb, n, partials, off, pp == p0);
                            }
                        }
                    }
                }
            }
        }

        @Override
        void clear() {
            super.clear();
            partials = null;
        }
    }

    private static final Parallel.Reused<ByDepthCall> BY_DEPTH_CALLS = new Parallel.Reused<>(ByDepthCall::new);

    /** {@link #byDepth}'s sum of the partials into C, by ranges of columns. */
    private static final class ChunkSumCall extends Parallel.RangeCall {
        int m, n, part, chunks, cOff, ldc;
        float alpha, beta;
        float[] partials, c;

        @Override
        public void run(int j0, int j1) {
            for (int r = 0; r < m; r++) {
                int j = j0;
                for (int bound = j0 + (j1 - j0) / L * L; j < bound; j += L) {
                    sumChunks(partials, r * n + j, part, chunks, alpha, beta, c, cOff + r * ldc + j, S.maskAll(true));
                }
                if (j < j1) {
                    // masked stores are slow below 512 bits: only the last vector of C's row
                    sumChunks(partials, r * n + j, part, chunks, alpha, beta, c, cOff + r * ldc + j,
                            S.indexInRange(j, j1));
                }
            }
        }

        @Override
        void clear() {
            partials = c = null;
        }
    }

    private static final Parallel.Reused<ChunkSumCall> CHUNK_SUM_CALLS = new Parallel.Reused<>(ChunkSumCall::new);

    /** {@link #shallow}'s rows of C, a few tasks per thread. */
    private static final class ShallowCall extends ProductCall {
        float[] bRows;
        int bRowsOff, ldRows, rowStep, colStep, tasks;

        @Override
        public void accept(int t) {
            int i0 = (int) ((long) m * t / tasks);
            int i1 = (int) ((long) m * (t + 1) / tasks);
            // column blocks of SHALLOW_COLS: the block of op(B) (k x 1024 floats, 32 KB at k = 8)
            // stays in L1 while the thread's rows of C pass
            for (int jb = 0, je; jb < n; jb = je) {
                je = (int) Math.min(n, (long) jb + SHALLOW_COLS);
                for (int i = i0; i < i1; i++) {
                    int ai = aOff + i * rowStep;
                    int ci = cOff + i * ldc;
                    int j = jb;
                    // four vectors at a time: each broadcast of A[i, p] feeds four FMAs
                    for (; j + 4 * L <= je; j += 4 * L) {
                        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
                        FloatVector s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
                        for (int p = 0, bi = bRowsOff + j, ap = ai; p < k; p++, bi += ldRows, ap += colStep) {
                            FloatVector x = FloatVector.broadcast(S, a[ap]);
                            s0 = x.fma(FloatVector.fromArray(S, bRows, bi), s0);
                            s1 = x.fma(FloatVector.fromArray(S, bRows, bi + L), s1);
                            s2 = x.fma(FloatVector.fromArray(S, bRows, bi + 2 * L), s2);
                            s3 = x.fma(FloatVector.fromArray(S, bRows, bi + 3 * L), s3);
                        }
                        shallowStore(s0, alpha, beta, c, ci + j, S.maskAll(true));
                        shallowStore(s1, alpha, beta, c, ci + j + L, S.maskAll(true));
                        shallowStore(s2, alpha, beta, c, ci + j + 2 * L, S.maskAll(true));
                        shallowStore(s3, alpha, beta, c, ci + j + 3 * L, S.maskAll(true));
                    }
                    for (; j < je; j += L) {
                        VectorMask<Float> mask = S.indexInRange(j, je);
                        FloatVector s0 = FloatVector.zero(S);
                        for (int p = 0, bi = bRowsOff + j, ap = ai; p < k; p++, bi += ldRows, ap += colStep) {
                            s0 = FloatVector.broadcast(S, a[ap]).fma(FloatVector.fromArray(S, bRows, bi, mask), s0);
                        }
                        shallowStore(s0, alpha, beta, c, ci + j, mask);
                    }
                }
            }
        }

        @Override
        void clear() {
            super.clear();
            bRows = null;
        }
    }

    private static final Parallel.Reused<ShallowCall> SHALLOW_CALLS = new Parallel.Reused<>(ShallowCall::new);

    /** {@link #skinny}'s pairs of rows of A, a few tasks per thread. */
    private static final class SkinnyCall extends ProductCall {
        float[] bt;
        int btOff, ldbt, units, tasks;

        @Override
        public void accept(int task) {
            int i0 = Math.min(m, units * task / tasks * 2);
            int i1 = Math.min(m, units * (task + 1) / tasks * 2);
            float[] sums = buffer(2, 8 * L); // the tile scratch of macro, which skinny never runs inside
            for (int i = i0; i < i1; i += 2) {
                boolean two = i + 1 < i1;
                int a0 = aOff + i * lda;
                int a1 = two ? a0 + lda : a0;
                for (int j = 0; j < n; j += 4) {
                    int nj = Math.min(4, n - j);
                    dot2x4(a, a0, a1, bt, btOff, ldbt, j, nj, k, alpha, beta, c, cOff + i * ldc + j,
                            two ? cOff + (i + 1) * ldc + j : -1, sums);
                }
            }
        }

        @Override
        void clear() {
            super.clear();
            bt = null;
        }
    }

    private static final Parallel.Reused<SkinnyCall> SKINNY_CALLS = new Parallel.Reused<>(SkinnyCall::new);
}
