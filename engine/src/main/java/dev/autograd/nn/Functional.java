package dev.autograd.nn;

import dev.autograd.Autograd;
import dev.autograd.AutogradException;
import dev.autograd.DType;
import dev.autograd.Grads;
import dev.autograd.Node;
import dev.autograd.Tensor;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Kernels.Binary;
import dev.autograd.kernels.Kernels.Unary;

/**
 * PyTorch's {@code torch.nn.functional}: the primitive ops of the layers, each one static method with
 * its forward (kernels on raw {@code float[]}) and, right under it, the recorded backward closure, as
 * in PyTorch's {@code derivatives.yaml}. grad_fn names are PyTorch 1.13's.
 *
 * <p>No gradient work is done for an input that does not need one ({@code g.needs(i)}): a frozen conv
 * weight costs no weight-gradient GEMM, an input that does not require grad costs no col2im.
 *
 * <p>Layout: NCHW, contiguous. Convolutions fold the batch into the GEMM's N dimension
 * ({@code [O, K] x [K, B*oH*oW]}) and transpose the result to NCHW when B > 1; the columns are
 * recomputed in backward rather than kept (they are 9x the input), and only when the weight needs a
 * gradient. Large temporary buffers come from a per-thread {@link Workspace}.
 */
public final class Functional {

    private static final Kernels K = KernelProvider.get();

    /**
     * GEMM orientation thresholds on the number of output columns N of a convolution: the SGEMM's
     * register tile is two vectors wide (32 floats at 512 bits), so a product with 8 <= N < 32 runs
     * mostly masked edge tiles; transposing the product puts the wide dimension on N. Below 8 the
     * SGEMM's dot-product path already streams the weights at memory speed.
     */
    static final int WIDE = 32;
    static final int SKINNY = 8;
    /**
     * The input gradient {@code W^T x grad} reads W transposed, which the SGEMM packs row by row;
     * measured on this machine, {@code (grad^T x W)^T} (W read as stored) is faster up to 64 columns
     * (2x at 512x4608x64, 5x at 512x4608x4) and slower from 256 on.
     */
    static final int INPUT_GRAD_WIDE = 128;
    /**
     * ... and so is it for products with at least {@link #DEEP_INPUT_GRAD_MIN_OUT} output channels
     * (the product's depth) and N x O at least this, on the Zen 3 of 2026-11-23 (2 threads,
     * alternating call by call, equal results on these shapes): ResNet-18's stride-2 3x3 convolutions,
     * layer2.0.conv1 at batch 16 2.88 -> 2.64 ms (15 of 15 rounds), at 32 6.80 -> 6.15 (15 of 15),
     * at 8 (N x O = 65,536) even (9 of 15), at 4 slower (4 of 15); layer3.0.conv1 at batch 16 3.12
     * -> 2.78 (12 of 15), at 32 5.92 -> 5.14 (15 of 15), at 8 1.77 -> 1.76 (11 of 15). With 64 output
     * channels it was slower: conv1 (9.6 -> 14.4 ms), a 3x3 layer of one 32x32 image (1.85 -> 2.90).
     * Not final: the tests lower it to compare the two ways.
     */
    static long deepInputGradMinWork = 1 << 16;
    static final int DEEP_INPUT_GRAD_MIN_OUT = 128;
    /**
     * A stride-1 input gradient is computed as a convolution of the output gradient with the flipped
     * weight when N is at least this many times O: it copies the weight (O x K) instead of writing the
     * K x N column gradient and scattering it back. ResNet-18, paired in-process runs (conv time over
     * GEMM + col2im time, with the conv's panels loaded rather than gathered): batch 16 layer1 (N/O = 64)
     * 0.59-0.70, layer2 (8) 0.91-0.97, layer3 (1) 1.27-1.39, layer4 (1/8) 2.0-2.2; batch 1 layer1 (4)
     * 0.67-0.92, layer2 (1/2) 1.4-1.9.
     */
    static final int TRANSPOSED_CONV_RATIO = 4;
    /**
     * 3x3 stride-1 convolutions with at least this many output tiles of 2x2 (batch x tiles per image)
     * run as Winograd F(2x2, 3x3): 16 products with 2.25x fewer multiplies than the GEMM on im2col,
     * plus transforms that read and write every operand once more, and a weight transform whose
     * cost does not shrink with the batch. See docs/performance.md for the measured shapes. Not final:
     * the tests move it to run both paths on one shape.
     */
    static int winogradMinTiles = Integer.getInteger("autograd.winogradMinTiles", 64);
    /**
     * And with at least this many output tiles of 4x4 as F(4x4, 3x3): 36 products with 4x fewer
     * multiplies than the GEMM, and transforms that move 2.25 floats per output and channel where
     * F(2x2, 3x3)'s move 4, at the price of more rounding (see WinogradTest). Below it, at few tiles,
     * the products' N (the tiles) is too short for the packed GEMM. Not final either.
     */
    static int winograd4MinTiles = Integer.getInteger("autograd.winograd4MinTiles", 64);
    /**
     * A Winograd convolution recorded for backward keeps its transformed weight and input (arrays
     * from {@link Workspace#kept}, handed back when its node is freed) instead of transforming them
     * again in backward. Not final: the tests run both.
     */
    static boolean keepWinogradTransforms = true;

    /**
     * Convolutions of images so small that most of the column matrix is padding run by classes of
     * output positions, skipping the taps on padding, where the kernels say it pays
     * ({@code Kernels.tapsPay}: ResNet-18's layer4 at 64x64 inputs from batch 8, its layer3 too when
     * that is not Winograd). Not final: the tests turn it off to compare with the GEMM path.
     */
    static boolean tapConvs = true;

    /**
     * The forward of a first layer (few input channels over wide rows: ResNet-18's conv1) straight
     * from the images where the kernels say it pays ({@code Kernels.directPays}). Not final: the tests
     * turn it off to compare with the GEMM path.
     */
    static boolean directConvs = true;

    private Functional() {
    }

    // ================================================================== convolution

    /** {@code F.conv2d(x, weight, bias, stride, padding)} with square stride/padding and dilation 1. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(x, weight, bias, stride, stride, padding, padding, 1, 1);
    }

    /**
     * {@code F.conv2d} (groups = 1). conv: self: col2im(W^T grad), weight: grad x col^T (one GEMM over
     * the batch), bias: grad summed over batch and space.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW,
                                int padH, int padW, int dilationH, int dilationW) {
        checkFloat(x, "input");
        if (strideH <= 0 || strideW <= 0) {
            throw new AutogradException("non-positive stride is not supported");
        }
        if (padH < 0 || padW < 0) {
            throw new AutogradException("negative padding is not supported");
        }
        if (dilationH <= 0 || dilationW <= 0) {
            throw new AutogradException("dilation should be greater than zero, but got [" + dilationH + ", " + dilationW + "]");
        }
        if (x.dim() != 4 || weight.dim() != 4) {
            throw new AutogradException("Expected 4-dimensional input for 4-dimensional weight " + sizeList(weight.shape())
                    + ", but got " + x.dim() + "-dimensional input of size " + sizeList(x.shape()) + " instead");
        }
        int[] xs = x.shape();
        int[] ws = weight.shape();
        int batch = xs[0];
        int channels = xs[1];
        int height = xs[2];
        int width = xs[3];
        int outC = ws[0];
        int kH = ws[2];
        int kW = ws[3];
        if (ws[1] != channels) {
            throw new AutogradException("Given groups=1, weight of size " + sizeList(ws) + ", expected input"
                    + sizeList(xs) + " to have " + ws[1] + " channels, but got " + channels + " channels instead");
        }
        if (bias != null && (bias.dim() != 1 || bias.size(0) != outC)) {
            throw new AutogradException("Given weight of size " + sizeList(ws) + ", expected bias to be 1-dimensional with "
                    + outC + " elements, but got bias of size " + sizeList(bias.shape()) + " instead");
        }
        int outH = (height + 2 * padH - dilationH * (kH - 1) - 1) / strideH + 1;
        int outW = (width + 2 * padW - dilationW * (kW - 1) - 1) / strideW + 1;
        if (outH <= 0 || outW <= 0 || height + 2 * padH < dilationH * (kH - 1) + 1
                || width + 2 * padW < dilationW * (kW - 1) + 1) {
            throw new AutogradException("Calculated padded input size per channel: (" + (height + 2 * padH) + " x "
                    + (width + 2 * padW) + "). Kernel size: (" + (dilationH * (kH - 1) + 1) + " x "
                    + (dilationW * (kW - 1) + 1) + "). Kernel size can't be greater than actual input size");
        }
        ConvShape s = new ConvShape(batch, channels, height, width, outC, kH, kW, padH, padW, strideH, strideW,
                dilationH, dilationW, outH, outW);
        Tensor xc = x.contiguous();
        Tensor wc = weight.contiguous();
        float[] out = new float[batch * outC * s.plane()];
        Workspace ws0 = Workspace.get();
        int n = s.n();
        int tile = s.winogradTile();
        boolean winograd = tile != 0;
        boolean taps = !winograd && tapConvs && K.tapsPay(batch, height, width, kH, kW, padH, padW, strideH, strideW,
                dilationH, dilationW, outH, outW);
        // a first layer (few input channels, wide rows): the forward straight from the images into
        // NCHW; the weight gradient from grad as it is, the input gradient by the GEMM
        boolean direct = !winograd && !taps && directConvs
                && K.directPays(channels, kH, kW, strideH, strideW, dilationH, dilationW, outW);
        // Winograd's transformed weight (which the input gradient reads) and transformed input (which
        // the weight gradient reads) are kept for backward when it will need them, not made again there
        boolean keep = winograd && keepWinogradTransforms && Autograd.isGradEnabled();
        float[] keptU = keep && x.requiresGrad() ? ws0.kept((long) s.points(tile) * outC * channels) : null;
        float[] keptV = keep && weight.requiresGrad()
                ? ws0.kept((long) s.points(tile) * channels * s.tiles(tile)) : null;
        if (winograd) {
            int tiles = s.tiles(tile);
            int points = s.points(tile);
            float[] u = keptU != null ? keptU : ws0.kernels((long) points * outC * channels);
            K.winogradWeights(tile, wc.data(), wc.offset(), outC, channels, u);
            float[] v = keptV != null ? keptV : ws0.columns((long) points * channels * tiles);
            K.winogradInput(tile, xc.data(), xc.offset(), batch, channels, height, width, padH, padW, outH, outW, v);
            float[] m = ws0.transposed((long) points * outC * tiles);
            K.sgemmBatch(points, false, false, outC, tiles, channels, 1f, u, 0, outC * channels, channels,
                    v, 0, channels * tiles, tiles, 0f, m, 0, outC * tiles, tiles);
            K.winogradOutput(tile, m, batch, outC, outH, outW, out, 0);
        } else if (taps) {
            K.conv2dTaps(wc.data(), wc.offset(), outC, xc.data(), xc.offset(), batch, channels, height, width, kH, kW,
                    padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, out, 0);
        } else if (direct) {
            K.conv2dDirect(wc.data(), wc.offset(), outC, xc.data(), xc.offset(), batch, channels, height, width, kH,
                    kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, out, 0);
        } else if (s.isPointwise() && batch == 1) {
            // a 1x1 stride-1 convolution of one image is a plain GEMM on the input: no columns
            K.sgemm(false, false, outC, n, channels, 1f, wc.data(), wc.offset(), channels,
                    xc.data(), xc.offset(), n, 0f, out, 0, n);
        } else if (n >= WIDE) {
            // W x im2col(x), the column matrix packed straight from the images by the kernels (which
            // may still build it for shapes their packed GEMM does not take: the same size limit)
            Workspace.checked(s.k() * (long) n);
            float[] o = batch == 1 ? out : ws0.transposed((long) outC * n);
            K.conv2dGemm(wc.data(), wc.offset(), outC, xc.data(), xc.offset(), batch, channels, height, width, kH, kW,
                    padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, o, 0);
            if (batch > 1) {
                // [O, B, P] -> [B, O, P]
                K.copyStrided(new int[] {batch, outC, s.plane()}, o, 0, new int[] {s.plane(), n, 1}, out, 0);
            }
        } else {
            float[] col = ws0.columns(s.k() * (long) n);
            s.im2col(xc, col);
            if (n >= SKINNY) {
                // few columns: out^T[N, O] = col^T x W^T keeps the GEMM's wide side on O, then transpose
                float[] tmp = ws0.transposed((long) outC * n);
                K.sgemm(true, true, n, outC, s.k(), 1f, col, 0, n, wc.data(), wc.offset(), s.k(), 0f, tmp, 0, outC);
                // [B, P, O] -> [B, O, P]
                K.copyStrided(new int[] {batch, outC, s.plane()}, tmp, 0, new int[] {s.plane() * outC, 1, outC}, out, 0);
            } else {
                // fewer columns than a dot-product block: one pass over W (ResNet-18's layer4 at batch 1)
                float[] o = batch == 1 ? out : ws0.transposed((long) outC * n);
                K.sgemm(false, false, outC, n, s.k(), 1f, wc.data(), wc.offset(), s.k(), col, 0, n, 0f, o, 0, n);
                if (batch > 1) {
                    K.copyStrided(new int[] {batch, outC, s.plane()}, o, 0, new int[] {s.plane(), n, 1}, out, 0);
                }
            }
        }
        if (bias != null) {
            addChannelBias(out, bias.contiguous(), batch, outC, s.plane());
        }
        Tensor y = Tensor.wrap(out, batch, outC, outH, outW);
        Node node = Autograd.record(y, "ConvolutionBackward0", (grad, g) -> {
            boolean needX = g.needs(0);
            boolean needW = g.needs(1);
            boolean needB = bias != null && g.needs(2);
            Workspace w = Workspace.get();
            float[] gd = grad.data(); // contiguous, offset 0, [B, O, P]
            if (winograd) {
                winogradBackward(s, tile, gd, xc, wc, weight, bias != null && needB ? g.buffer(2) : null,
                        needW, needX ? g.buffer(0) : null, g, w, keptU, keptV);
                return;
            }
            // [O, B*P] for the GEMMs; the tap classes' kernels, and the weight gradient of a direct
            // forward, read grad as it is
            float[] gT = gd;
            if (batch > 1 && (needB || !taps && (needX || needW && !direct))) {
                gT = w.transposed((long) outC * n);
                K.copyStrided(new int[] {outC, batch, s.plane()}, gd, 0, new int[] {s.plane(), outC * s.plane(), 1}, gT, 0);
            }
            if (needB) {
                float[] sums = w.small(outC);
                K.sumDim(gT, 0, outC, n, 1, sums, 0);
                K.axpy(1f, sums, 0, g.buffer(2), 0, outC);
            }
            if (needW) {
                // dW[O, K] += grad[O, N] x col[K, N]^T. When the weight has no .grad yet (zero_grad
                // set it to None) the GEMM overwrites an array (beta 0) that becomes .grad: the zeros
                // of a buffer are never read back, and the array is the cleared gradient's when
                // zero_grad could keep it (Tensor.clearGrad).
                boolean fresh = weight.isLeaf() && weight.peekGrad() == null;
                float[] dw = fresh ? weight.newGradStorage(false) : g.buffer(1);
                float beta = fresh ? 0f : 1f;
                if (taps || direct) {
                    K.conv2dTapsWeightGrad(gd, 0, outC, xc.data(), xc.offset(), batch, channels, height, width, kH, kW,
                            padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, beta, dw, 0);
                } else if (s.isPointwise() && batch == 1) {
                    K.sgemm(false, true, outC, channels, n, 1f, gT, 0, n, xc.data(), xc.offset(), n, beta, dw, 0, channels);
                } else if (n >= WIDE) {
                    // grad x im2col(x)^T, the columns gathered from the images by the kernels
                    Workspace.checked(s.k() * (long) n);
                    K.conv2dWeightGrad(gT, 0, outC, xc.data(), xc.offset(), batch, channels, height, width, kH, kW,
                            padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, beta, dw, 0);
                } else {
                    float[] col = w.columns(s.k() * (long) n);
                    s.im2col(xc, col);
                    K.sgemm(false, true, outC, s.k(), n, 1f, gT, 0, n, col, 0, n, beta, dw, 0, s.k());
                }
                if (fresh) {
                    g.accumulateFresh(1, Tensor.wrap(dw, ws));
                }
            }
            if (needX) {
                float[] gx = g.buffer(0);
                if (taps) {
                    K.conv2dTapsInputGrad(wc.data(), wc.offset(), outC, gd, 0, batch, channels, height, width, kH, kW,
                            padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, gx, 0);
                } else if (s.isPointwise() && batch == 1) {
                    K.sgemm(true, false, channels, n, outC, 1f, wc.data(), wc.offset(), channels, gT, 0, n, 1f, gx, 0, n);
                } else if (s.transposesAsConv() && n >= WIDE && TRANSPOSED_CONV_RATIO * outC <= n) {
                    // stride 1: the input gradient is the convolution of the output gradient (as an image
                    // [B, O, outH, outW]) with the flipped, transposed weight [C, O, kH, kW], padded
                    // kH-1-padH: one GEMM from the gradient's image, no column matrix and no col2im
                    float[] flipped = w.small((long) outC * s.k());
                    K.copyStrided(new int[] {channels, outC, kH, kW}, wc.data(), wc.offset() + kH * kW - 1,
                            new int[] {kH * kW, s.k(), -kW, -1}, flipped, 0);
                    int plane = height * width;
                    Workspace.checked((long) outC * kH * kW * batch * plane);
                    float[] d = w.columns((long) channels * batch * plane); // [C, B, H*W]
                    K.conv2dGemm(flipped, 0, channels, gd, 0, batch, outC, outH, outW, kH, kW, kH - 1 - padH, kW - 1 - padW,
                            1, 1, 1, 1, height, width, d, 0);
                    for (int c = 0; c < channels; c++) {
                        for (int b = 0; b < batch; b++) {
                            K.axpy(1f, d, (c * batch + b) * plane, gx, (b * channels + c) * plane, plane);
                        }
                    }
                } else {
                    // dcol[K, N] = W^T[K, O] x grad[O, N], then scattered back per image
                    boolean deep = outC >= DEEP_INPUT_GRAD_MIN_OUT && (long) n * outC >= deepInputGradMinWork;
                    if (n < INPUT_GRAD_WIDE || deep) {
                        // few columns, or a deep product: dcol^T[N, K] = grad^T x W reads W as stored,
                        // scattered back as is
                        float[] dcolT = n < INPUT_GRAD_WIDE ? w.small((long) s.k() * n) : w.columns((long) s.k() * n);
                        K.sgemm(true, false, n, s.k(), outC, 1f, gT, 0, n, wc.data(), wc.offset(), s.k(), 0f, dcolT, 0, s.k());
                        s.col2imTransposed(dcolT, gx);
                    } else {
                        float[] dcol = w.columns(s.k() * (long) n);
                        K.sgemm(true, false, s.k(), n, outC, 1f, wc.data(), wc.offset(), s.k(), gT, 0, n, 0f, dcol, 0, n);
                        s.col2im(dcol, gx);
                    }
                }
            }
        }, x, weight, bias);
        if (node != null) {
            node.save(xc, wc);
            if (keptU != null || keptV != null) {
                node.onRelease(() -> {
                    Workspace pool = Workspace.get();
                    pool.handBack(keptU);
                    pool.handBack(keptV);
                });
            }
        }
        return y;
    }

    /**
     * The backward of a Winograd convolution: dM = A dY A^T per tile, then the weight gradient
     * dU_xi = dM_xi V_xi^T and G^T dU G, and the input gradient dV_xi = U_xi^T dM_xi scattered back
     * as B dV B^T; the bias gradient sums the output gradient. U and V are forward's when it kept
     * them ({@code keptU}, {@code keptV}; read only, so a retained graph can run again), else made
     * again from the weight and x.
     */
    private static void winogradBackward(ConvShape s, int tile, float[] gd, Tensor xc, Tensor wc, Tensor weight, float[] gb,
                                         boolean needW, float[] gx, Grads g, Workspace w, float[] keptU,
                                         float[] keptV) {
        int outC = s.outC();
        int channels = s.channels();
        int tiles = s.tiles(tile);
        int points = s.points(tile);
        int plane = s.plane();
        if (gb != null) {
            float[] sums = w.small((long) s.batch() * outC + outC);
            K.sumDim(gd, 0, s.batch() * outC, plane, 1, sums, 0);
            K.sumDim(sums, 0, 1, s.batch(), outC, sums, s.batch() * outC);
            K.axpy(1f, sums, s.batch() * outC, gb, 0, outC);
        }
        float[] dm = w.transposed((long) points * outC * tiles);
        K.winogradGradOutput(tile, gd, 0, s.batch(), outC, s.outH(), s.outW(), dm);
        if (needW) {
            float[] v = keptV;
            if (v == null) {
                v = w.columns((long) points * channels * tiles);
                K.winogradInput(tile, xc.data(), xc.offset(), s.batch(), channels, s.height(), s.width(), s.padH(),
                        s.padW(), s.outH(), s.outW(), v);
            }
            float[] du = w.kernelGrads((long) points * outC * channels);
            K.sgemmBatch(points, false, true, outC, channels, tiles, 1f, dm, 0, outC * tiles, tiles,
                    v, 0, channels * tiles, tiles, 0f, du, 0, outC * channels, channels);
            // as in the GEMM path: a weight without .grad gets an array written by the transform
            boolean fresh = weight.isLeaf() && weight.peekGrad() == null;
            float[] dw = fresh ? weight.newGradStorage(false) : g.buffer(1);
            K.winogradWeightsBackward(tile, du, outC, channels, fresh ? 0f : 1f, dw, 0);
            if (fresh) {
                g.accumulateFresh(1, Tensor.wrap(dw, weight.shape()));
            }
        }
        if (gx != null) {
            float[] u = keptU;
            if (u == null) {
                u = w.kernels((long) points * outC * channels);
                K.winogradWeights(tile, wc.data(), wc.offset(), outC, channels, u);
            }
            float[] dv = w.columns((long) points * channels * tiles);
            K.sgemmBatch(points, true, false, channels, tiles, outC, 1f, u, 0, outC * channels, channels,
                    dm, 0, outC * tiles, tiles, 0f, dv, 0, channels * tiles, tiles);
            K.winogradInputBackward(tile, dv, s.batch(), channels, s.height(), s.width(), s.padH(), s.padW(),
                    s.outH(), s.outW(), gx, 0);
        }
    }

    /** The sizes of one convolution; {@code n()} is the GEMM's N with the batch folded in. */
    private record ConvShape(int batch, int channels, int height, int width, int outC, int kH, int kW,
                             int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                             int outH, int outW) {
        int plane() {
            return outH * outW;
        }

        int n() {
            return batch * outH * outW;
        }

        int k() {
            return channels * kH * kW;
        }

        /** Stride 1, dilation 1, padding below the kernel: the input gradient is a convolution too. */
        boolean transposesAsConv() {
            return strideH == 1 && strideW == 1 && dilationH == 1 && dilationW == 1 && padH < kH && padW < kW;
        }

        /** Output tiles of m x m of a Winograd F(m x m, 3x3) convolution, all images. */
        int tiles(int m) {
            return batch * ((outH + m - 1) / m) * ((outW + m - 1) / m);
        }

        /** The products of F(m x m, 3x3): one per point of its (m + 2) x (m + 2) transforms. */
        int points(int m) {
            return (m + 2) * (m + 2);
        }

        /**
         * The output tile of the Winograd convolution for this shape, 4 or 2, or 0 for the GEMM: a 3x3
         * stride-1 convolution with enough tiles for Winograd to pay (see {@link #winograd4MinTiles}
         * and {@link #winogradMinTiles}).
         */
        int winogradTile() {
            if (kH != 3 || kW != 3 || strideH != 1 || strideW != 1 || dilationH != 1 || dilationW != 1) {
                return 0;
            }
            if (tiles(4) >= winograd4MinTiles && fits(4)) {
                return 4;
            }
            return tiles(2) >= winogradMinTiles && fits(2) ? 2 : 0;
        }

        /** Every operand of F(m x m, 3x3) and the padded copies of x and of the gradient fit in an array. */
        private boolean fits(int m) {
            return (long) points(m) * Math.max(channels, outC) * Math.max(tiles(m), Math.min(channels, outC))
                    <= Integer.MAX_VALUE - 8
                    && (long) batch * Math.max(channels, outC) * (outH + m + 1) * (outW + m + 1) <= Integer.MAX_VALUE - 8;
        }

        boolean isPointwise() {
            return kH == 1 && kW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0;
        }

        /** Columns [K, B*P] of every image (image b at column offset b*P). */
        void im2col(Tensor xc, float[] col) {
            K.im2col(xc.data(), xc.offset(), batch, channels, height, width, kH, kW, padH, padW,
                    strideH, strideW, dilationH, dilationW, outH, outW, col, 0, n());
        }

        /** Scatter-adds the transposed columns [B*P, K] into the input gradient [B, C, H, W]. */
        void col2imTransposed(float[] colT, float[] gx) {
            K.col2imTransposedInto(colT, 0, k(), batch, channels, height, width, kH, kW, padH, padW,
                    strideH, strideW, dilationH, dilationW, outH, outW, gx, 0);
        }

        /** Scatter-adds columns [K, B*P] into the input gradient [B, C, H, W]. */
        void col2im(float[] col, float[] gx) {
            K.col2imInto(col, 0, n(), batch, channels, height, width, kH, kW, padH, padW,
                    strideH, strideW, dilationH, dilationW, outH, outW, gx, 0);
        }
    }

    /** {@code out[b, c, :] += bias[c]}: one kernel call per (image, channel) row. */
    private static void addChannelBias(float[] out, Tensor bias, int batch, int channels, int plane) {
        float[] bd = bias.data();
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                int o = (b * channels + c) * plane;
                K.binaryScalar(Binary.ADD, out, o, bd[bias.offset() + c], out, o, plane);
            }
        }
    }

    // ================================================================== batch norm

    /**
     * {@code F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)} over
     * {@code [B, C, ...]}. Training: batch statistics (biased variance to normalise), and the running
     * statistics, when given, move by {@code momentum} towards the batch mean and the unbiased variance.
     * Eval: the running statistics. The backward (NativeBatchNormBackward0) is one fused kernel per
     * channel; each of input, weight and bias gets a gradient only if it needs one.
     */
    public static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, float momentum, float eps) {
        checkFloat(x, "input");
        if (x.dim() < 2) {
            throw new AutogradException("expected 2D or higher input (got " + x.dim() + "D input)");
        }
        int[] xs = x.shape();
        final int batch = xs[0];
        final int channels = xs[1];
        final int spatial = x.numel() / Math.max(1, batch * channels);
        if (training && (long) batch * spatial == 1) {
            throw AutogradException.valueError("Expected more than 1 value per channel when training, got input size "
                    + Tensors.sizeString(xs));
        }
        checkChannels("weight", weight, channels);
        checkChannels("bias", bias, channels);
        checkChannels("running_mean", runningMean, channels);
        checkChannels("running_var", runningVar, channels);
        if (!training && (runningMean == null || runningVar == null)) {
            throw new AutogradException("running_mean and running_var must be defined in evaluation mode");
        }
        Tensor xc = x.contiguous();
        float[] w = weight == null ? null : Tensors.array(weight);
        float[] bi = bias == null ? null : Tensors.array(bias);
        float[] out = new float[x.numel()];
        float[] mean = new float[channels];
        float[] invStd = new float[channels];
        if (training) {
            float[] unbiased = runningVar == null ? null : new float[channels];
            K.batchNormTrain(xc.data(), xc.offset(), batch, channels, spatial, w, bi, eps, out, 0, mean, invStd, unbiased);
            if (runningMean != null) {
                // running = (1 - momentum) * running + momentum * batch statistic
                float[] rm = runningMean.data();
                K.scale(rm, runningMean.offset(), 1f - momentum, rm, runningMean.offset(), channels);
                K.axpy(momentum, mean, 0, rm, runningMean.offset(), channels);
                runningMean.bumpVersion();
            }
            if (runningVar != null) {
                float[] rv = runningVar.data();
                K.scale(rv, runningVar.offset(), 1f - momentum, rv, runningVar.offset(), channels);
                K.axpy(momentum, unbiased, 0, rv, runningVar.offset(), channels);
                runningVar.bumpVersion();
            }
        } else {
            float[] rm = runningMean.contiguous().toArray();
            float[] rv = runningVar.contiguous().toArray();
            K.batchNormEval(xc.data(), xc.offset(), batch, channels, spatial, w, bi, rm, rv, eps, out, 0);
            System.arraycopy(rm, 0, mean, 0, channels);
            // invStd = 1 / sqrt(var + eps), as the eval kernel computes it
            K.binaryScalar(Binary.ADD, rv, 0, eps, invStd, 0, channels);
            K.unary(Unary.SQRT, invStd, 0, invStd, 0, channels);
            K.scalarBinary(Binary.DIV, 1f, invStd, 0, invStd, 0, channels);
        }
        Tensor y = Tensor.wrap(out, xs);
        final float[] fw = w;
        Node node = Autograd.record(y, "NativeBatchNormBackward0", (grad, g) -> {
            float[] gw = weight != null && g.needs(1) ? g.buffer(1) : null;
            float[] gb = bias != null && g.needs(2) ? g.buffer(2) : null;
            if (training) {
                // x's first gradient overwrites an array instead of accumulating into zeros: the
                // incoming gradient itself when it is this call's alone (after a ReLU's backward)
                boolean fresh = g.needs(0) && g.isEmpty(0);
                float[] gx = !g.needs(0) ? null
                        : !fresh ? g.buffer(0)
                        : g.ownsGrad() ? grad.data() : g.fresh(grad.numel());
                K.batchNormTrainBackward(grad.data(), 0, xc.data(), xc.offset(), batch, channels, spatial, fw,
                        mean, invStd, gx, 0, !fresh, gw, gb);
                if (fresh) {
                    g.accumulateFresh(0, gx == grad.data() ? grad : Tensor.wrap(gx, xs));
                }
            } else {
                // y = (x - rm) * invStd * w + b with constant statistics: dx = grad * invStd * w
                if (gw != null || gb != null) {
                    K.batchNormTrainBackward(grad.data(), 0, xc.data(), xc.offset(), batch, channels, spatial, fw,
                            mean, invStd, null, 0, true, gw, gb);
                }
                float[] gx = g.needs(0) ? g.buffer(0) : null;
                if (gx != null) {
                    for (int n = 0; n < batch; n++) {
                        for (int c = 0; c < channels; c++) { // one axpy per (image, channel) row
                            int o = (n * channels + c) * spatial;
                            K.axpy(fw == null ? invStd[c] : invStd[c] * fw[c], grad.data(), o, gx, o, spatial);
                        }
                    }
                }
            }
        }, x, weight, bias);
        if (node != null) {
            node.save(xc);
            if (weight != null) {
                node.save(weight);
            }
        }
        return y;
    }

    // ================================================================== pooling

    /** {@code F.max_pool2d(x, kernel, stride, padding)}: square windows, dilation 1, floor mode. */
    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) {
        checkFloat(x, "input");
        if (x.dim() != 4) {
            throw new AutogradException("max_pool2d: expected 4D input [N, C, H, W], got " + x.dim() + "D");
        }
        if (kernel <= 0) {
            throw new AutogradException("kernel size should be greater than zero, but got kH: " + kernel + " kW: " + kernel);
        }
        if (stride == 0) {
            throw new AutogradException("stride should not be zero");
        }
        if (stride < 0) {
            throw new AutogradException("stride should be greater than zero, but got dH: " + stride + " dW: " + stride);
        }
        if (padding < 0) {
            throw new AutogradException("pad must be non-negative, but got pad: " + padding);
        }
        if (padding > kernel / 2) {
            throw new AutogradException("pad should be at most half of kernel size, but got pad=" + padding
                    + " and kernel_size=" + kernel);
        }
        int[] xs = x.shape();
        int planes = xs[0] * xs[1];
        int height = xs[2];
        int width = xs[3];
        int outH = (height + 2 * padding - (kernel - 1) - 1) / stride + 1;
        int outW = (width + 2 * padding - (kernel - 1) - 1) / stride + 1;
        // PyTorch: the last window must start inside the input or the left padding
        if ((outH - 1) * stride >= height + padding) {
            outH--;
        }
        if ((outW - 1) * stride >= width + padding) {
            outW--;
        }
        if (outH <= 0 || outW <= 0) {
            throw new AutogradException("Given input size: (" + xs[1] + "x" + height + "x" + width
                    + "). Calculated output size: (" + xs[1] + "x" + outH + "x" + outW + "). Output size is too small");
        }
        Tensor xc = x.contiguous();
        float[] out = new float[planes * outH * outW];
        long[] indices = new long[out.length];
        K.maxPool2d(xc.data(), xc.offset(), planes, height, width, kernel, kernel, padding, padding, stride, stride,
                1, 1, outH, outW, out, 0, indices, 0);
        Tensor y = Tensor.wrap(out, xs[0], xs[1], outH, outW);
        final int oh = outH;
        final int ow = outW;
        Autograd.record(y, "MaxPool2DWithIndicesBackward0", (grad, g) ->
                K.maxPool2dBackward(grad.data(), 0, indices, 0, planes, height, width, oh, ow, g.buffer(0), 0), x);
        return y;
    }

    /**
     * {@code F.adaptive_avg_pool2d(x, (outH, outW))}. For a 1x1 output PyTorch computes a mean over the
     * last two dims, so its grad_fn is MeanBackward1; otherwise AdaptiveAvgPool2DBackward0.
     */
    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        checkFloat(x, "input");
        if (x.dim() != 4) {
            throw new AutogradException("adaptive_avg_pool2d(): Expected 4D tensor, but got " + sizeList(x.shape()));
        }
        if (outH < 0 || outW < 0) {
            throw new AutogradException("adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 "
                    + "but received {" + outH + ", " + outW + "}");
        }
        int[] xs = x.shape();
        int planes = xs[0] * xs[1];
        int height = xs[2];
        int width = xs[3];
        Tensor xc = x.contiguous();
        float[] out = new float[planes * outH * outW];
        K.adaptiveAvgPool2d(xc.data(), xc.offset(), planes, height, width, outH, outW, out, 0);
        Tensor y = Tensor.wrap(out, xs[0], xs[1], outH, outW);
        String name = outH == 1 && outW == 1 ? "MeanBackward1" : "AdaptiveAvgPool2DBackward0";
        Autograd.record(y, name, (grad, g) ->
                K.adaptiveAvgPool2dBackward(grad.data(), 0, planes, height, width, outH, outW, g.buffer(0), 0), x);
        return y;
    }

    // ================================================================== linear

    /**
     * {@code F.linear(x, weight, bias)}: {@code x W^T + b} over the last dimension (AddmmBackward0, or
     * MmBackward0 without bias). addmm: self: grad summed over rows, mat1: grad W, mat2: grad^T x.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        checkFloat(x, "input");
        if (x.dim() == 0 || weight.dim() == 0) {
            throw new AutogradException("both arguments to matmul need to be at least 1D, but they are " + x.dim() + "D and "
                    + weight.dim() + "D");
        }
        int[] xs = x.shape();
        int in = xs[xs.length - 1];
        int outF = weight.size(0);
        if (weight.dim() != 2 || weight.size(1) != in) {
            int rows = x.numel() / Math.max(in, 1);
            throw new AutogradException("mat1 and mat2 shapes cannot be multiplied (" + rows + "x" + in + " and "
                    + weight.size(1) + "x" + outF + ")");
        }
        int m = x.numel() / Math.max(in, 1);
        if (bias != null && (bias.dim() != 1 || bias.size(0) != outF)) {
            int[] target = xs.clone();
            target[target.length - 1] = outF;
            throw new AutogradException("The expanded size of the tensor (" + outF + ") must match the existing size ("
                    + (bias.dim() == 0 ? 1 : bias.size(-1)) + ") at non-singleton dimension " + (target.length - 1)
                    + ".  Target sizes: " + sizeList(target) + ".  Tensor sizes: " + sizeList(bias.shape()));
        }
        Tensor xc = x.contiguous();
        Tensor wc = weight.contiguous();
        float[] out = new float[m * outF];
        float beta = 0f;
        if (bias != null) {
            Tensor bc = bias.contiguous();
            for (int r = 0; r < m; r++) { // one row copy per sample
                System.arraycopy(bc.data(), bc.offset(), out, r * outF, outF);
            }
            beta = 1f;
        }
        K.sgemm(false, true, m, outF, in, 1f, xc.data(), xc.offset(), in, wc.data(), wc.offset(), in, beta, out, 0, outF);
        int[] ys = xs.clone();
        ys[ys.length - 1] = outF;
        Tensor y = Tensor.wrap(out, ys);
        Node node = Autograd.record(y, bias != null ? "AddmmBackward0" : "MmBackward0", (grad, g) -> {
            float[] gd = grad.data();
            if (g.needs(0)) {
                K.sgemm(false, false, m, in, outF, 1f, gd, 0, outF, wc.data(), wc.offset(), in, 1f, g.buffer(0), 0, in);
            }
            if (g.needs(1)) {
                if (g.isEmpty(1)) {
                    // the first gradient of the weight: the product overwrites an array (beta 0), the
                    // cleared gradient's when zero_grad kept it, instead of accumulating into zeros
                    float[] dw = weight.isLeaf() ? weight.newGradStorage(false) : new float[outF * in];
                    K.sgemm(true, false, outF, in, m, 1f, gd, 0, outF, xc.data(), xc.offset(), in, 0f, dw, 0, in);
                    g.accumulateFresh(1, Tensor.wrap(dw, outF, in));
                } else {
                    K.sgemm(true, false, outF, in, m, 1f, gd, 0, outF, xc.data(), xc.offset(), in, 1f, g.buffer(1), 0, in);
                }
            }
            if (bias != null && g.needs(2)) {
                float[] sums = Workspace.get().small(outF);
                K.sumDim(gd, 0, 1, m, outF, sums, 0);
                K.axpy(1f, sums, 0, g.buffer(2), 0, outF);
            }
        }, x, weight, bias);
        if (node != null) {
            node.save(xc, wc);
        }
        return y;
    }

    // ================================================================== activations and losses

    /** {@code F.relu(x)} (ReluBackward0). */
    public static Tensor relu(Tensor x) {
        return x.relu();
    }

    /**
     * {@code F.log_softmax(x, dim)}: {@code x - max - log(sum(exp(x - max)))}, stable.
     * log_softmax: self: grad - exp(result) * grad.sum(dim, keepdim).
     */
    public static Tensor logSoftmax(Tensor x, int dim) {
        checkFloat(x, "input");
        int[] xs = x.shape();
        int d = dim < 0 ? dim + xs.length : dim;
        if (d < 0 || d >= Math.max(xs.length, 1)) {
            throw AutogradException.indexError("Dimension out of range (expected to be in range of [" + (-Math.max(xs.length, 1))
                    + ", " + (Math.max(xs.length, 1) - 1) + "], but got " + dim + ")");
        }
        int before = 1;
        int after = 1;
        for (int i = 0; i < d; i++) {
            before *= xs[i];
        }
        for (int i = d + 1; i < xs.length; i++) {
            after *= xs[i];
        }
        final int outer = before;
        final int inner = after;
        int reduce = xs.length == 0 ? 1 : xs[d];
        int[] shape3 = {outer, reduce, inner};
        int[] full = {reduce * inner, inner, 1};
        int[] bcast = {inner, 0, 1};
        Tensor xc = x.contiguous();
        float[] max = new float[outer * inner];
        K.maxDim(xc.data(), xc.offset(), outer, reduce, inner, max, 0, null);
        float[] shifted = new float[x.numel()];
        K.binaryStrided(Binary.SUB, shape3, xc.data(), xc.offset(), full, max, 0, bcast, shifted, 0);
        float[] e = new float[x.numel()];
        K.unary(Unary.EXP, shifted, 0, e, 0, e.length);
        float[] logSum = new float[outer * inner];
        K.sumDim(e, 0, outer, reduce, inner, logSum, 0);
        K.unary(Unary.LOG, logSum, 0, logSum, 0, logSum.length);
        float[] out = new float[x.numel()];
        K.binaryStrided(Binary.SUB, shape3, shifted, 0, full, logSum, 0, bcast, out, 0);
        Tensor y = Tensor.wrap(out, xs);
        Node node = Autograd.record(y, "LogSoftmaxBackward0", (grad, g) -> {
            float[] gd = grad.data();
            float[] sumG = new float[outer * inner];
            K.sumDim(gd, 0, outer, reduce, inner, sumG, 0);
            float[] p = new float[out.length];
            K.unary(Unary.EXP, out, 0, p, 0, p.length);
            float[] ps = new float[out.length];
            K.binaryStrided(Binary.MUL, shape3, p, 0, full, sumG, 0, bcast, ps, 0);
            K.binary(Binary.SUB, gd, 0, ps, 0, ps, 0, ps.length);
            g.accumulateFresh(0, Tensor.wrap(ps, xs));
        }, x);
        if (node != null) {
            node.save(y);
        }
        return y;
    }

    /**
     * {@code F.nll_loss(logProbs, target)} with mean reduction over the batch; logProbs is [N, C],
     * target holds N class indices (int64). nll_loss: self: -grad / N at each target position.
     */
    public static Tensor nllLoss(Tensor logProbs, Tensor target) {
        checkFloat(logProbs, "input");
        if (logProbs.dim() != 2) {
            throw new AutogradException("nll_loss: expected a 2D input [N, C], got " + logProbs.dim() + "D");
        }
        if (target.dtype() != DType.INT64) {
            throw new AutogradException("expected scalar type Long but found " + dtypeName(target.dtype()));
        }
        int n = logProbs.size(0);
        int c = logProbs.size(1);
        if (target.dim() != 1 || target.size(0) != n) {
            throw new AutogradException("Expected input batch_size (" + n + ") to match target batch_size ("
                    + (target.dim() == 0 ? 1 : target.size(0)) + ").");
        }
        long[] t = target.toLongArray();
        int[] picks = new int[n];
        for (int i = 0; i < n; i++) { // N indices, not elements
            if (t[i] < 0 || t[i] >= c) {
                throw new AutogradException("Target " + t[i] + " is out of bounds.");
            }
            picks[i] = i * c + (int) t[i];
        }
        Tensor lc = logProbs.contiguous();
        float[] ld = lc.data();
        double sum = 0;
        for (int pick : picks) {
            sum += ld[lc.offset() + pick];
        }
        Tensor y = Tensor.scalar((float) (-sum / n));
        Autograd.record(y, "NllLossBackward0", (grad, g) -> {
            float gv = -grad.data()[0] / n;
            float[] gx = g.buffer(0);
            for (int pick : picks) {
                gx[pick] += gv;
            }
        }, logProbs);
        return y;
    }

    /** {@code F.cross_entropy(logits, target)}: {@code nll_loss(log_softmax(logits, 1), target)}, mean. */
    public static Tensor crossEntropy(Tensor logits, Tensor target) {
        return nllLoss(logSoftmax(logits, 1), target);
    }

    /**
     * {@code F.mse_loss(x, target)}, mean reduction, equal shapes.
     * mse_loss: self: 2 * (self - target) * grad / n, target: the negation.
     */
    public static Tensor mseLoss(Tensor x, Tensor target) {
        checkFloat(x, "input");
        if (!java.util.Arrays.equals(x.shape(), target.shape())) {
            throw new AutogradException("mse_loss: input size " + Tensors.sizeString(x.shape())
                    + " and target size " + Tensors.sizeString(target.shape()) + " must be equal");
        }
        int n = x.numel();
        Tensor xc = x.contiguous();
        Tensor tc = target.contiguous();
        float[] diff = new float[n];
        K.binary(Binary.SUB, xc.data(), xc.offset(), tc.data(), tc.offset(), diff, 0, n);
        Tensor y = Tensor.scalar(K.sumOfSquares(diff, 0, n) / n);
        Node node = Autograd.record(y, "MseLossBackward0", (grad, g) -> {
            float scale = 2f * grad.data()[0] / n;
            if (g.needs(0)) {
                K.axpy(scale, diff, 0, g.buffer(0), 0, n);
            }
            if (g.needs(1)) {
                K.axpy(-scale, diff, 0, g.buffer(1), 0, n);
            }
        }, x, target);
        if (node != null) {
            node.save(xc, tc);
        }
        return y;
    }

    // ================================================================== helpers

    /** PyTorch's check of batch norm's per-channel tensors. */
    private static void checkChannels(String what, Tensor t, int channels) {
        if (t != null && t.numel() != channels) {
            throw new AutogradException(what + " should contain " + channels + " elements not " + t.numel());
        }
    }

    private static void checkFloat(Tensor t, String what) {
        if (t.dtype() != DType.FLOAT32) {
            throw new AutogradException("expected scalar type Float but found " + dtypeName(t.dtype()));
        }
    }

    private static String dtypeName(DType d) {
        return switch (d) {
            case FLOAT32 -> "Float";
            case INT64 -> "Long";
            case BOOL -> "Bool";
        };
    }

    /** {@code [2, 3, 4]}, as PyTorch's IntArrayRef prints. (the JDK's int[] form is the same). */
    static String sizeList(int[] shape) {
        return java.util.Arrays.toString(shape);
    }
}
