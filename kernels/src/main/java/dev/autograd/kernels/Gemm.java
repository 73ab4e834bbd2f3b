package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * SGEMM, GotoBLAS/BLIS style, on {@link PanamaKernels#S}: {@code C = alpha op(A) op(B) + beta C}.
 *
 * <p><b>Micro-kernel.</b> An {@value #MR} x {@code NR} tile of C (NR = two vectors: 32 floats at
 * 512 bits) lives in {@code 2*MR} = 16 vector accumulators for the whole depth loop; each step loads
 * two vectors of a B row, broadcasts MR values of an A column and issues 16 independent FMAs
 * (two FMA ports x 4 cycles latency need at least 8 chains; 16 leave headroom for the loads).
 * 16 accumulators + 2 B vectors + 1 broadcast = 19 of the 32 AVX-512 registers: no spills.
 *
 * <p><b>Blocking</b> for this CPU (Sapphire Rapids: 48 KB L1d, 2 MB L2 per core). Loop order
 * jc (NC) / pc (KC) / ic (MC) / ir (MR) / jr (NR): the A micro-panel (MR x KC = 8 KB at KC=256)
 * stays in L1 while the micro-kernel sweeps the packed B panel (KC x NC = 1 MB at NC=1024), which
 * stays in L2 for all MC rows of the block. KC bounds both and sets how often C is re-read (once per
 * KC). Edge tiles run the same micro-kernel on zero-padded panels or with masked loads and stores.
 *
 * <p><b>Packing.</b> B is packed (row panels of NR, zero-padded) when it is transposed or large;
 * A is packed (column panels of MR) when it is large. A product small enough for L2 reads A and B
 * in place (A through strides, B rows directly): packing would cost as much as it saves. Every
 * transpose combination is read through the packing (or the strides): no transpose is materialised.
 * Skinny products (n below {@value #SKINNY_N}, A not transposed) are dot products of A rows with B
 * columns instead, since a 32-wide tile would waste most of its lanes.
 *
 * <p><b>Threads.</b> C is cut into strips (of rows or columns) with one task each; every element of
 * C is computed by one task, with the same KC split and FMA order whatever the strip. Results are
 * therefore bit-identical for every thread count.
 */
final class Gemm {

    static final int MR = 8;
    static final int NR = 2 * L;
    static final int KC = Integer.getInteger("autograd.gemm.kc", 256);
    static final int MC = Integer.getInteger("autograd.gemm.mc", 144);
    static final int NC = Integer.getInteger("autograd.gemm.nc", 1024);
    /** Below this n (and with A not transposed) the product is done as dot products. */
    static final int SKINNY_N = 8;
    /** Products with fewer multiply-adds stay on one thread. */
    static final long PARALLEL_FLOPS = 1L << 18;

    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[2][]);

    private Gemm() {
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
        long flops = (long) m * n * k;
        if (n < SKINNY_N && !transA) {
            skinny(transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, flops);
            return;
        }
        // packing decisions depend on the shape only, never on the strip: same arithmetic anyway
        boolean packB = transB || (long) k * n > 64 * 1024;
        boolean packA = (long) m * k > 64 * 1024;
        int tasks = flops < PARALLEL_FLOPS ? 1 : Parallel.parallelism();
        if (tasks <= 1) {
            block(transA, transB, 0, m, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, packA, packB);
            return;
        }
        // strips along the longer side, aligned to the tile so only the true edges are partial
        if (n >= m) {
            int units = (n + NR - 1) / NR;
            int t = Math.min(tasks, units);
            Parallel.run(t, i -> {
                int j0 = Math.min(n, units * i / t * NR);
                int j1 = Math.min(n, units * (i + 1) / t * NR);
                if (j0 < j1) {
                    block(transA, transB, 0, m, j0, j1, k, alpha, a, aOff, lda, b, bOff, ldb, beta,
                            c, cOff, ldc, packA, packB);
                }
            });
        } else {
            int units = (m + MR - 1) / MR;
            int t = Math.min(tasks, units);
            Parallel.run(t, i -> {
                int i0 = Math.min(m, units * i / t * MR);
                int i1 = Math.min(m, units * (i + 1) / t * MR);
                if (i0 < i1) {
                    block(transA, transB, i0, i1, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta,
                            c, cOff, ldc, packA, packB);
                }
            });
        }
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

    private static float[] buffer(int which, int size) {
        float[][] bufs = BUFFERS.get();
        float[] buf = bufs[which];
        if (buf == null || buf.length < size) {
            buf = new float[size];
            bufs[which] = buf;
        }
        return buf;
    }

    /** The blocked product for rows [i0, i1) and columns [j0, j1) of C, on the calling thread. */
    static void block(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k, float alpha,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc, boolean packA, boolean packB) {
        float[] bufB = packB ? buffer(1, KC * (NC + NR)) : null;
        float[] bufA = packA ? buffer(0, KC * (MC + MR)) : null;
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean first = pc == 0;
                // beta applies on the first depth block only; later blocks accumulate into C
                float betaEff = first ? beta : 1f;
                boolean readC = !(first && beta == 0f);
                if (packB) {
                    packB(transB, b, bOff, ldb, pc, kc, jc, nc, bufB);
                }
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    if (packA) {
                        packA(transA, a, aOff, lda, ic, mc, pc, kc, bufA);
                    }
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = Math.min(MR, mc - ir);
                        float[] aSrc;
                        int aIdx;
                        int ars;
                        int acs;
                        if (packA) {
                            aSrc = bufA;
                            aIdx = ir * kc; // panel ir/MR starts at (ir/MR)*MR*kc
                            ars = 1;
                            acs = MR;
                        } else if (transA) {
                            aSrc = a;
                            aIdx = aOff + pc * lda + ic + ir;
                            ars = 1;
                            acs = lda;
                        } else {
                            aSrc = a;
                            aIdx = aOff + (ic + ir) * lda + pc;
                            ars = lda;
                            acs = 1;
                        }
                        int cRow = cOff + (ic + ir) * ldc + jc;
                        for (int jr = 0; jr < nc; jr += NR) {
                            int nr = Math.min(NR, nc - jr);
                            float[] bSrc;
                            int bIdx;
                            int bs;
                            if (packB) {
                                bSrc = bufB;
                                bIdx = jr * kc; // panel jr/NR starts at (jr/NR)*NR*kc
                                bs = NR;
                            } else {
                                bSrc = b;
                                bIdx = bOff + pc * ldb + jc + jr;
                                bs = ldb;
                            }
                            if (mr == MR && nr == NR) {
                                kernel(aSrc, aIdx, ars, acs, bSrc, bIdx, bs, kc,
                                        c, cRow + jr, ldc, alpha, betaEff, readC);
                            } else {
                                edgeKernel(aSrc, aIdx, ars, acs, mr, bSrc, bIdx, bs, nr, !packB, kc,
                                        c, cRow + jr, ldc, alpha, betaEff, readC);
                            }
                        }
                    }
                }
            }
        }
    }

    /** op(B)[pc..pc+kc, jc..jc+nc] into row panels of NR columns: panel q, row p at q*NR*kc + p*NR. */
    static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc, float[] buf) {
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int dst = jr * kc;
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
            } else {
                // B stored n x k: column j of op(B) is row j of B, contiguous in p
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

    /** op(A)[ic..ic+mc, pc..pc+kc] into column panels of MR rows: panel q, column p at q*MR*kc + p*MR. */
    static void packA(boolean transA, float[] a, int aOff, int lda, int ic, int mc, int pc, int kc, float[] buf) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int dst = ir * kc;
            if (transA) {
                // A stored k x m: the MR values of column p are contiguous
                int src = aOff + pc * lda + ic + ir;
                for (int p = 0; p < kc; p++, src += lda, dst += MR) {
                    System.arraycopy(a, src, buf, dst, mr);
                    for (int r = mr; r < MR; r++) {
                        buf[dst + r] = 0f;
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
     * The full 8 x 2-vector tile. A element (r, p) is {@code a[aIdx + r*ars + p*acs]}; B row p is
     * {@code b[bIdx + p*bs ..]}. C tile = alpha * acc + betaEff * C (C not read unless readC).
     */
    static void kernel(float[] a, int aIdx, int ars, int acs, float[] b, int bIdx, int bs, int kc,
                       float[] c, int cIdx, int ldc, float alpha, float betaEff, boolean readC) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        int r1 = ars, r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars, r6 = 6 * ars, r7 = 7 * ars;
        int ai = aIdx;
        int bi = bIdx;
        for (int p = 0; p < kc; p++, ai += acs, bi += bs) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + r1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + r2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + r3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + r4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + r5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ai + r6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ai + r7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        store(c00, c01, c, cIdx, alpha, betaEff, readC);
        store(c10, c11, c, cIdx + ldc, alpha, betaEff, readC);
        store(c20, c21, c, cIdx + 2 * ldc, alpha, betaEff, readC);
        store(c30, c31, c, cIdx + 3 * ldc, alpha, betaEff, readC);
        store(c40, c41, c, cIdx + 4 * ldc, alpha, betaEff, readC);
        store(c50, c51, c, cIdx + 5 * ldc, alpha, betaEff, readC);
        store(c60, c61, c, cIdx + 6 * ldc, alpha, betaEff, readC);
        store(c70, c71, c, cIdx + 7 * ldc, alpha, betaEff, readC);
    }

    private static void store(FloatVector v0, FloatVector v1, float[] c, int idx, float alpha, float betaEff,
                              boolean readC) {
        if (readC) {
            v0.fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, c, idx).mul(betaEff)).intoArray(c, idx);
            v1.fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, c, idx + L).mul(betaEff)).intoArray(c, idx + L);
        } else {
            v0.mul(alpha).intoArray(c, idx);
            v1.mul(alpha).intoArray(c, idx + L);
        }
    }

    /**
     * A partial tile (mr <= MR rows, nr <= NR columns): the same FMA sequence as {@link #kernel}, so
     * edge elements round exactly like interior ones. Rows past mr re-read row 0 (valid memory, never
     * stored); B loads are masked when B is read in place ({@code maskB}), padded panels need none.
     */
    static void edgeKernel(float[] a, int aIdx, int ars, int acs, int mr, float[] b, int bIdx, int bs, int nr,
                           boolean maskB, int kc, float[] c, int cIdx, int ldc, float alpha, float betaEff,
                           boolean readC) {
        VectorMask<Float> m0 = S.indexInRange(0, nr);
        VectorMask<Float> m1 = S.indexInRange(L, nr);
        VectorMask<Float> lm0 = maskB ? m0 : S.maskAll(true);
        VectorMask<Float> lm1 = maskB ? m1 : S.maskAll(true);
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        int r1 = mr > 1 ? ars : 0, r2 = mr > 2 ? 2 * ars : 0, r3 = mr > 3 ? 3 * ars : 0;
        int r4 = mr > 4 ? 4 * ars : 0, r5 = mr > 5 ? 5 * ars : 0, r6 = mr > 6 ? 6 * ars : 0;
        int r7 = mr > 7 ? 7 * ars : 0;
        boolean twoVectors = nr > L || !maskB; // a masked-off second vector may lie past the array
        int ai = aIdx;
        int bi = bIdx;
        for (int p = 0; p < kc; p++, ai += acs, bi += bs) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi, lm0);
            FloatVector b1 = twoVectors ? FloatVector.fromArray(S, b, bi + L, lm1) : FloatVector.zero(S);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + r1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + r2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + r3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + r4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + r5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ai + r6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ai + r7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        storeMasked(c00, c01, c, cIdx, m0, m1, alpha, betaEff, readC);
        if (mr > 1) storeMasked(c10, c11, c, cIdx + ldc, m0, m1, alpha, betaEff, readC);
        if (mr > 2) storeMasked(c20, c21, c, cIdx + 2 * ldc, m0, m1, alpha, betaEff, readC);
        if (mr > 3) storeMasked(c30, c31, c, cIdx + 3 * ldc, m0, m1, alpha, betaEff, readC);
        if (mr > 4) storeMasked(c40, c41, c, cIdx + 4 * ldc, m0, m1, alpha, betaEff, readC);
        if (mr > 5) storeMasked(c50, c51, c, cIdx + 5 * ldc, m0, m1, alpha, betaEff, readC);
        if (mr > 6) storeMasked(c60, c61, c, cIdx + 6 * ldc, m0, m1, alpha, betaEff, readC);
        if (mr > 7) storeMasked(c70, c71, c, cIdx + 7 * ldc, m0, m1, alpha, betaEff, readC);
    }

    private static void storeMasked(FloatVector v0, FloatVector v1, float[] c, int idx,
                                    VectorMask<Float> m0, VectorMask<Float> m1,
                                    float alpha, float betaEff, boolean readC) {
        if (readC) {
            v0.fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, c, idx, m0).mul(betaEff)).intoArray(c, idx, m0);
        } else {
            v0.mul(alpha).intoArray(c, idx, m0);
        }
        if (m1.anyTrue()) {
            if (readC) {
                v1.fma(FloatVector.broadcast(S, alpha), FloatVector.fromArray(S, c, idx + L, m1).mul(betaEff)).intoArray(c, idx + L, m1);
            } else {
                v1.mul(alpha).intoArray(c, idx + L, m1);
            }
        }
    }

    // ---------------------------------------------------------------- skinny: n < SKINNY_N

    /**
     * C[i, j] = alpha * dot(A row i, op(B) column j) + beta * C[i, j], with A rows contiguous. op(B)
     * columns are B rows when transB, else gathered once into a small n x k buffer. Two rows of A
     * against up to four columns: 8 independent FMA chains, and each A vector loaded once feeds 4
     * FMAs, so the stream over A (the big operand) runs at memory speed. Rows are split over threads.
     */
    static void skinny(boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                       float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, long flops) {
        float[] bt;
        int btOff;
        int ldbt;
        if (transB) {
            bt = b;
            btOff = bOff;
            ldbt = ldb;
        } else {
            bt = new float[n * k]; // n x k, at most 7 k floats: cheap next to the m x k stream over A
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < n; j++) {
                    bt[j * k + p] = b[bOff + p * ldb + j];
                }
            }
            btOff = 0;
            ldbt = k;
        }
        int tasks = flops < PARALLEL_FLOPS ? 1 : Parallel.parallelism();
        int units = (m + 1) / 2;
        int t = Math.min(tasks, units);
        Parallel.run(t, task -> {
            int i0 = Math.min(m, units * task / t * 2);
            int i1 = Math.min(m, units * (task + 1) / t * 2);
            for (int i = i0; i < i1; i += 2) {
                boolean two = i + 1 < i1;
                int a0 = aOff + i * lda;
                int a1 = two ? a0 + lda : a0;
                for (int j = 0; j < n; j += 4) {
                    int nj = Math.min(4, n - j);
                    dot2x4(a, a0, a1, bt, btOff, ldbt, j, nj, k, alpha, beta, c, cOff + i * ldc + j,
                            two ? cOff + (i + 1) * ldc + j : -1);
                }
            }
        });
    }

    private static void dot2x4(float[] a, int a0, int a1, float[] bt, int btOff, int ldbt, int j, int nj, int k,
                               float alpha, float beta, float[] c, int c0, int c1) {
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
        put(c, c0, 0, s00, alpha, beta);
        if (nj > 1) put(c, c0, 1, s01, alpha, beta);
        if (nj > 2) put(c, c0, 2, s02, alpha, beta);
        if (nj > 3) put(c, c0, 3, s03, alpha, beta);
        if (c1 >= 0) {
            put(c, c1, 0, s10, alpha, beta);
            if (nj > 1) put(c, c1, 1, s11, alpha, beta);
            if (nj > 2) put(c, c1, 2, s12, alpha, beta);
            if (nj > 3) put(c, c1, 3, s13, alpha, beta);
        }
    }

    private static void put(float[] c, int row, int j, FloatVector s, float alpha, float beta) {
        float v = alpha * PanamaKernels.addLanes(s);
        c[row + j] = beta == 0f ? v : v + beta * c[row + j];
    }
}
