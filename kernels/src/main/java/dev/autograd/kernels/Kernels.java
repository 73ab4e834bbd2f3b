package dev.autograd.kernels;

/**
 * Every hot loop of the engine, on {@code float[]} with explicit offsets.
 *
 * <p>Two implementations sit behind this interface: {@link ScalarKernels}, plain loops that are
 * also the test oracle, and {@code PanamaKernels}, written with {@code jdk.incubator.vector}.
 * {@link KernelProvider#get()} picks one. Kernels never check their arguments: callers validate
 * once at the boundary (the engine's tensor ops).
 *
 * <p>Naming: inputs, then {@code out}, then sizes. A kernel overwrites {@code out} unless its name
 * says it accumulates ({@code axpy}, {@code ...Into}, every {@code ...Backward}).
 */
public interface Kernels {

    /** Elementwise functions of one argument. */
    enum Unary { NEG, EXP, LOG, SQRT, ABS, RELU, SIGMOID, TANH }

    /** Elementwise functions of two arguments. */
    enum Binary { ADD, SUB, MUL, DIV }

    /** A short name for logs and reports: {@code scalar} or {@code simd-512}. */
    String name();

    /** Width of the vectors in bits; 0 for the scalar implementation. */
    int vectorBitSize();

    // ---------------------------------------------------------------- elementwise

    /** {@code out[i] = value}. */
    void fill(float value, float[] out, int outOffset, int n);

    /** {@code out[i] = op(x[i])}. {@code out} may alias {@code x} at the same offset (in-place). */
    void unary(Unary op, float[] x, int xOffset, float[] out, int outOffset, int n);

    /**
     * {@code out[i] += grad[i] * op'(x[i])}, accumulating. {@code y} is the forward output
     * {@code op(x)}: EXP, SQRT, SIGMOID and TANH use it instead of recomputing; the others ignore it.
     */
    void unaryBackward(Unary op, float[] grad, int gradOffset, float[] x, int xOffset,
                       float[] y, int yOffset, float[] out, int outOffset, int n);

    /** {@code out[i] = x[i] ** exponent}. */
    void pow(float[] x, int xOffset, float exponent, float[] out, int outOffset, int n);

    /** {@code out[i] += grad[i] * exponent * x[i] ** (exponent - 1)}, accumulating. */
    void powBackward(float[] grad, int gradOffset, float[] x, int xOffset, float exponent,
                     float[] out, int outOffset, int n);

    /** {@code out[i] = a[i] op b[i]}; {@code out} may alias either input at the same offset. */
    void binary(Binary op, float[] a, int aOffset, float[] b, int bOffset, float[] out, int outOffset, int n);

    /** {@code out[i] = a[i] op s}. */
    void binaryScalar(Binary op, float[] a, int aOffset, float s, float[] out, int outOffset, int n);

    /** {@code out[i] = s op b[i]}. */
    void scalarBinary(Binary op, float s, float[] b, int bOffset, float[] out, int outOffset, int n);

    /**
     * Broadcasting: {@code out} is contiguous with {@code shape}; {@code a} and {@code b} are read
     * through their strides (0 along broadcast dimensions). Same rank for all three.
     */
    void binaryStrided(Binary op, int[] shape, float[] a, int aOffset, int[] aStrides,
                       float[] b, int bOffset, int[] bStrides, float[] out, int outOffset);

    /** Gathers a strided view into contiguous {@code out} of {@code shape}; negative strides flip a dimension. */
    void copyStrided(int[] shape, float[] x, int xOffset, int[] xStrides, float[] out, int outOffset);

    /** {@code out[i] = x[i] * alpha}. */
    void scale(float[] x, int xOffset, float alpha, float[] out, int outOffset, int n);

    /** {@code y[i] += alpha * x[i]}: gradient accumulation. */
    void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n);

    /** {@code out[i] += grad[i] * (x[i] > 0 ? 1 : 0)}: ReLU backward, accumulating. */
    default void reluBackward(float[] grad, int gradOffset, float[] x, int xOffset, float[] out, int outOffset, int n) {
        unaryBackward(Unary.RELU, grad, gradOffset, x, xOffset, null, 0, out, outOffset, n);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of {@code x[offset .. offset+n)}. */
    float sum(float[] x, int xOffset, int n);

    /** Sum of squares, for norms. */
    float sumOfSquares(float[] x, int xOffset, int n);

    /** Maximum of {@code x[offset .. offset+n)}, NaN if any element is NaN; n > 0. */
    float max(float[] x, int xOffset, int n);

    /**
     * {@code x} contiguous, viewed as {@code [outer, reduce, inner]}:
     * {@code out[o*inner + i] = sum_r x[(o*reduce + r)*inner + i]}.
     */
    void sumDim(float[] x, int xOffset, int outer, int reduce, int inner, float[] out, int outOffset);

    /**
     * Like {@link #sumDim} with max; {@code argmax} (nullable) receives the index along
     * {@code reduce} of the first maximum, NaN winning as in PyTorch.
     */
    void maxDim(float[] x, int xOffset, int outer, int reduce, int inner,
                float[] out, int outOffset, long[] argmax);

    // ---------------------------------------------------------------- GEMM

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C}, row-major; op(A) is m×k, op(B) is k×n, C is m×n.
     * With {@code transA}, A is stored k×m; with {@code transB}, B is stored n×k. When beta is 0,
     * C is not read (NaN in C does not propagate), as in BLAS.
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
               float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
               float beta, float[] c, int cOffset, int ldc);

    // ---------------------------------------------------------------- convolution and pooling

    /**
     * A batch of images {@code x[batch, channels, height, width]} to columns: row
     * {@code (c*kH + ki)*kW + kj} of {@code col}, column {@code b*outH*outW + oh*outW + ow}, stored at
     * {@code col[colOffset + row*ldCol + column]}. With {@code ldCol = batch*outH*outW} the batch folds
     * into the GEMM's N. Padding reads as zero.
     */
    void im2col(float[] x, int xOffset, int batch, int channels, int height, int width,
                int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                int outH, int outW, float[] col, int colOffset, int ldCol);

    /**
     * The adjoint of {@link #im2col}: scatter-adds the columns into {@code x} (accumulating), each
     * element of x receiving its additions in row order.
     */
    void col2imInto(float[] col, int colOffset, int ldCol, int batch, int channels, int height, int width,
                    int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                    int outH, int outW, float[] x, int xOffset);

    /**
     * {@link #col2imInto} of a column matrix given transposed: {@code colT[colTOffset + j*ldColT + r]}
     * is element (r, j), for the input gradient of a convolution with few columns, whose GEMM
     * writes {@code grad^T x W} (N x K). The same additions in the same order as transposing and
     * then {@code col2imInto}, without writing the K x N matrix.
     */
    default void col2imTransposedInto(float[] colT, int colTOffset, int ldColT, int batch, int channels, int height,
                                      int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                                      int dilationH, int dilationW, int outH, int outW, float[] x, int xOffset) {
        int k = channels * kH * kW;
        int n = batch * outH * outW;
        float[] col = new float[Math.multiplyExact(k, n)];
        copyStrided(new int[] {k, n}, colT, colTOffset, new int[] {1, ldColT}, col, 0);
        col2imInto(col, 0, n, batch, channels, height, width, kH, kW, padH, padW, strideH, strideW,
                dilationH, dilationW, outH, outW, x, xOffset);
    }

    /**
     * A convolution's forward as one GEMM with the batch folded into N (groups 1, no bias):
     * {@code out[o, j] = sum_r w[o, r] * col[r, j]} for the {@link #im2col} matrix {@code col} of
     * {@code x} (K = channels*kH*kW rows, N = batch*outH*outW columns), out rows N apart from
     * {@code outOffset} and overwritten. The same as im2col into a K x N matrix followed by
     * {@code sgemm(false, false, outC, N, K, 1, w, wOffset, K, col, 0, N, 0, out, outOffset, N)};
     * the SIMD kernels gather the GEMM's panels from the image instead of writing that matrix.
     */
    default void conv2dGemm(float[] w, int wOffset, int outC, float[] x, int xOffset, int batch, int channels,
                            int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                            int dilationH, int dilationW, int outH, int outW, float[] out, int outOffset) {
        int k = channels * kH * kW;
        int n = batch * outH * outW;
        float[] col = new float[Math.multiplyExact(k, n)];
        im2col(x, xOffset, batch, channels, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                outH, outW, col, 0, n);
        sgemm(false, false, outC, n, k, 1f, w, wOffset, k, col, 0, n, 0f, out, outOffset, n);
    }

    /**
     * A convolution's weight gradient as one GEMM over the batch: {@code dw[o, r] = beta * dw[o, r] +
     * sum_j grad[o, j] * col[r, j]}, for {@code grad[outC, N]} (rows N apart from {@code gradOffset})
     * and the {@link #im2col} matrix {@code col} of {@code x} (K rows, N = batch*outH*outW columns);
     * dw rows K apart, not read when beta is 0. The same as im2col followed by
     * {@code sgemm(false, true, outC, K, N, 1, grad, gradOffset, N, col, 0, N, beta, dw, dwOffset, K)}.
     */
    default void conv2dWeightGrad(float[] grad, int gradOffset, int outC, float[] x, int xOffset, int batch,
                                  int channels, int height, int width, int kH, int kW, int padH, int padW,
                                  int strideH, int strideW, int dilationH, int dilationW, int outH, int outW,
                                  float beta, float[] dw, int dwOffset) {
        int k = channels * kH * kW;
        int n = batch * outH * outW;
        float[] col = new float[Math.multiplyExact(k, n)];
        im2col(x, xOffset, batch, channels, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                outH, outW, col, 0, n);
        sgemm(false, true, outC, k, n, 1f, grad, gradOffset, n, col, 0, n, beta, dw, dwOffset, k);
    }

    /**
     * A convolution's weight gradient from the output gradient {@code grad[batch, outC, outH, outW]}
     * (as the forward writes it, not transposed): {@link #conv2dWeightGrad} of grad as [outC,
     * batch*outH*outW]. The SIMD kernels skip the taps that fall on padding.
     */
    default void conv2dTapsWeightGrad(float[] grad, int gradOffset, int outC, float[] x, int xOffset, int batch,
                                      int channels, int height, int width, int kH, int kW, int padH, int padW,
                                      int strideH, int strideW, int dilationH, int dilationW, int outH, int outW,
                                      float beta, float[] dw, int dwOffset) {
        float[] gT = channelsFirst(grad, gradOffset, batch, outC, outH * outW);
        conv2dWeightGrad(gT, 0, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW, strideH,
                strideW, dilationH, dilationW, outH, outW, beta, dw, dwOffset);
    }

    /**
     * Whether {@link #conv2dTaps}, {@link #conv2dTapsInputGrad} and {@link #conv2dTapsWeightGrad} pay
     * for this shape: images so small that most of the column matrix is padding (ResNet-18's layer4
     * at 64x64 inputs). The reference says no; the SIMD kernels compare their work with the full
     * GEMM's.
     */
    default boolean tapsPay(int batch, int height, int width, int kH, int kW, int padH, int padW, int strideH,
                            int strideW, int dilationH, int dilationW, int outH, int outW) {
        return false;
    }

    /**
     * A convolution's forward (groups 1, no bias) into {@code out[batch, outC, outH, outW]}, overwritten:
     * {@link #conv2dGemm} with the output's [outC, batch] axes swapped. The SIMD kernels skip the
     * taps that fall on padding (see {@link #tapsPay}).
     */
    default void conv2dTaps(float[] w, int wOffset, int outC, float[] x, int xOffset, int batch, int channels,
                            int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                            int dilationH, int dilationW, int outH, int outW, float[] out, int outOffset) {
        int plane = outH * outW;
        float[] o = new float[Math.multiplyExact(outC, batch * plane)];
        conv2dGemm(w, wOffset, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW, strideH, strideW,
                dilationH, dilationW, outH, outW, o, 0);
        copyStrided(new int[] {batch, outC, plane}, o, 0, new int[] {plane, batch * plane, 1}, out, outOffset);
    }

    /**
     * Whether {@link #conv2dDirect} pays for this shape: few input channels over wide output rows (a
     * network's first layer, ResNet-18's conv1). The reference says no.
     */
    default boolean directPays(int channels, int kH, int kW, int strideH, int strideW, int dilationH,
                               int dilationW, int outW) {
        return false;
    }

    /**
     * A convolution's forward (groups 1, no bias) into {@code out[batch, outC, outH, outW]},
     * overwritten: the same as {@link #conv2dTaps}. The SIMD kernels read the inputs straight from a
     * copy of the images split by column phase, for the shapes {@link #directPays} takes.
     */
    default void conv2dDirect(float[] w, int wOffset, int outC, float[] x, int xOffset, int batch, int channels,
                              int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                              int dilationH, int dilationW, int outH, int outW, float[] out, int outOffset) {
        conv2dTaps(w, wOffset, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW, strideH, strideW,
                dilationH, dilationW, outH, outW, out, outOffset);
    }

    /**
     * A convolution's input gradient, added into {@code gx[batch, channels, height, width]}, from the
     * output gradient {@code grad[batch, outC, outH, outW]}: {@code col2im(W^T grad)} as
     * {@link #col2imInto} adds it. The SIMD kernels skip the taps that fall on padding.
     */
    default void conv2dTapsInputGrad(float[] w, int wOffset, int outC, float[] grad, int gradOffset, int batch,
                                     int channels, int height, int width, int kH, int kW, int padH, int padW,
                                     int strideH, int strideW, int dilationH, int dilationW, int outH, int outW,
                                     float[] gx, int gxOffset) {
        int k = channels * kH * kW;
        int n = batch * outH * outW;
        float[] gT = channelsFirst(grad, gradOffset, batch, outC, outH * outW);
        float[] dcol = new float[Math.multiplyExact(k, n)];
        sgemm(true, false, k, n, outC, 1f, w, wOffset, k, gT, 0, n, 0f, dcol, 0, n);
        col2imInto(dcol, 0, n, batch, channels, height, width, kH, kW, padH, padW, strideH, strideW, dilationH,
                dilationW, outH, outW, gx, gxOffset);
    }

    /** A new [channels, batch, plane] copy of {@code t[batch, channels, plane]} at {@code offset}. */
    private float[] channelsFirst(float[] t, int offset, int batch, int channels, int plane) {
        float[] out = new float[Math.multiplyExact(channels, batch * plane)];
        copyStrided(new int[] {channels, batch, plane}, t, offset, new int[] {plane, channels * plane, 1}, out, 0);
        return out;
    }

    /**
     * {@code count} independent products {@code C_i = alpha * op(A_i) * op(B_i) + beta * C_i}, where
     * {@code A_i} starts at {@code aOffset + i*strideA} (likewise B and C), each as {@link #sgemm}.
     * The SIMD kernels run whole products on different threads (the Winograd convolution's 16).
     */
    default void sgemmBatch(int count, boolean transA, boolean transB, int m, int n, int k, float alpha,
                            float[] a, int aOffset, int strideA, int lda, float[] b, int bOffset, int strideB, int ldb,
                            float beta, float[] c, int cOffset, int strideC, int ldc) {
        for (int i = 0; i < count; i++) {
            sgemm(transA, transB, m, n, k, alpha, a, aOffset + i * strideA, lda, b, bOffset + i * strideB, ldb,
                    beta, c, cOffset + i * strideC, ldc);
        }
    }

    // ---------------------------------------------------------------- Winograd F(m x m, 3x3), m = 2 or 4

    /*
     * A 3x3 stride-1 convolution by Winograd's minimal filtering F(m x m, 3x3) (Lavin and Gray, 2015),
     * {@code tile} = m = 2 or 4, with a = m + 2 points per side: the output is cut into tiles of
     * m x m; tile t = (b*tilesH + th)*tilesW + tw, with tilesH = ceil(outH/m) and tilesW = ceil(outW/m),
     * reads the a x a input window at row m*th - padH, column m*tw - padW (padding and anything past
     * the image read as zero). With Winograd's matrices B^T (a x a), G (a x 3) and A^T (m x a):
     *   m = 2: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
     *          A^T = [1 1 1 0; 0 1 -1 -1];
     *   m = 4 (points 0, 1, -1, 2, -2, infinity): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
     *          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1], G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
     *          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1], A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0;
     *          0 1 -1 8 -8 1];
     *   U = G g G^T per (o, c) weight, V = B^T d B per (c, t) window, M = sum_c U (.) V,
     *   Y = A^T M A per (o, t),
     * and the sum over c is, for each of the a*a positions xi = a*i + j of a transform, one GEMM
     * M_xi[O, T] = U_xi[O, C] x V_xi[C, T]: a*a products with a*a multiplies per tile of m*m outputs
     * where the direct convolution has 9 per output (2.25x fewer for m = 2, 4x for m = 4). Layouts:
     * u[xi*O*C + o*C + c], v[xi*C*T + c*T + t], m[xi*O*T + o*T + t]. The backward runs the adjoints:
     * dM = A dY A^T, dV_xi = U_xi^T dM_xi, dx += B dV B^T (overlapping windows add up),
     * dU_xi = dM_xi V_xi^T, dg = G^T dU G. F(4x4, 3x3) rounds more (its matrices hold 4, 5, 8 and
     * 1/24): see WinogradTest for the measured error against float64.
     */

    /** {@code u = G g G^T} for the weight {@code w[outC, channels, 3, 3]}. */
    void winogradWeights(int tile, float[] w, int wOffset, int outC, int channels, float[] u);

    /** {@code v = B^T d B} for every a x a window of {@code x[batch, channels, height, width]}. */
    void winogradInput(int tile, float[] x, int xOffset, int batch, int channels, int height, int width,
                       int padH, int padW, int outH, int outW, float[] v);

    /** {@code out[batch, outC, outH, outW] = A^T M A} per tile (overwriting; the parts past outH, outW dropped). */
    void winogradOutput(int tile, float[] m, int batch, int outC, int outH, int outW, float[] out, int outOffset);

    /** The adjoint of {@link #winogradOutput}: {@code dm = A dY A^T} per tile of {@code grad[batch, outC, outH, outW]}. */
    void winogradGradOutput(int tile, float[] grad, int gradOffset, int batch, int outC, int outH, int outW, float[] dm);

    /** The adjoint of {@link #winogradInput}: {@code gx += B dV B^T} per window (accumulating). */
    void winogradInputBackward(int tile, float[] dv, int batch, int channels, int height, int width,
                               int padH, int padW, int outH, int outW, float[] gx, int gxOffset);

    /** The adjoint of {@link #winogradWeights}: {@code dw = beta * dw + G^T dU G} (dw not read when beta is 0). */
    void winogradWeightsBackward(int tile, float[] du, int outC, int channels, float beta, float[] dw, int dwOffset);

    /**
     * Max pooling over {@code planes} contiguous planes of height×width; writes the maxima and, per
     * output, the flat index {@code h*width + w} of the winner in its plane (PyTorch's indices).
     * Padding never wins.
     */
    void maxPool2d(float[] x, int xOffset, int planes, int height, int width,
                   int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                   int outH, int outW, float[] out, int outOffset, long[] indices, int indicesOffset);

    /** {@code gradInput[plane, indices[o]] += grad[o]}, accumulating. */
    void maxPool2dBackward(float[] grad, int gradOffset, long[] indices, int indicesOffset, int planes,
                           int height, int width, int outH, int outW, float[] gradInput, int gradInputOffset);

    /** PyTorch's adaptive average pooling: output cell (i, j) averages rows [floor(i*H/oH), ceil((i+1)*H/oH)). */
    void adaptiveAvgPool2d(float[] x, int xOffset, int planes, int height, int width,
                           int outH, int outW, float[] out, int outOffset);

    /** Adjoint of {@link #adaptiveAvgPool2d}, accumulating into {@code gradInput}. */
    void adaptiveAvgPool2dBackward(float[] grad, int gradOffset, int planes, int height, int width,
                                   int outH, int outW, float[] gradInput, int gradInputOffset);

    // ---------------------------------------------------------------- batch norm, fused per channel

    /**
     * Training-mode batch norm over {@code x[batch, channels, spatial]}: per channel, batch mean and
     * biased variance; {@code out = (x - mean) * invStd * weight + bias} (weight/bias nullable = 1/0).
     * Writes {@code saveMean[c]} and {@code saveInvStd[c] = 1/sqrt(var + eps)}, and the unbiased
     * variance into {@code batchVar[c]} (for the running statistics; nullable).
     */
    void batchNormTrain(float[] x, int xOffset, int batch, int channels, int spatial,
                        float[] weight, float[] bias, float eps,
                        float[] out, int outOffset, float[] saveMean, float[] saveInvStd, float[] unbiasedVar);

    /** Eval-mode batch norm with the running statistics. */
    void batchNormEval(float[] x, int xOffset, int batch, int channels, int spatial,
                       float[] weight, float[] bias, float[] runningMean, float[] runningVar, float eps,
                       float[] out, int outOffset);

    /**
     * Backward of {@link #batchNormTrain}. Each output array is nullable (skipped).
     * {@code gradWeight[c] += sum(grad * xhat)} and {@code gradBias[c] += sum(grad)} accumulate;
     * {@code gradInput} accumulates ({@code +=}) when {@code accumulate}, else it is overwritten, and
     * may then be {@code grad} itself at the same offset (each channel's sums are taken before its
     * input gradient is written).
     */
    void batchNormTrainBackward(float[] grad, int gradOffset, float[] x, int xOffset,
                                int batch, int channels, int spatial, float[] weight,
                                float[] saveMean, float[] saveInvStd,
                                float[] gradInput, int gradInputOffset, boolean accumulate,
                                float[] gradWeight, float[] gradBias);

    // ---------------------------------------------------------------- optimizers

    /**
     * One fused SGD step over a parameter, PyTorch's semantics:
     * {@code g = grad + weightDecay*w}; with momentum, {@code buf = first ? g : momentum*buf + (1-dampening)*g},
     * {@code g = nesterov ? g + momentum*buf : buf}; then {@code w -= lr*g}. {@code buf} is ignored
     * when momentum is 0.
     */
    void sgdStep(float[] w, int wOffset, float[] grad, int gradOffset, float[] buf, int bufOffset, int n,
                 float lr, float momentum, float dampening, float weightDecay, boolean nesterov, boolean first);

    /**
     * One fused Adam/AdamW step: {@code m = b1*m + (1-b1)*g}, {@code v = b2*v + (1-b2)*g*g},
     * {@code w -= lr * (m/bc1) / (sqrt(v/bc2) + eps)}, where {@code g = grad + weightDecay*w} for Adam,
     * or, for AdamW ({@code decoupled}), {@code w *= 1 - lr*weightDecay} first.
     * {@code bc1 = 1 - b1^t}, {@code bc2 = 1 - b2^t} are passed in.
     */
    void adamStep(float[] w, int wOffset, float[] grad, int gradOffset, float[] m, float[] v, int stateOffset, int n,
                  float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled,
                  float bc1, float bc2);

    // ---------------------------------------------------------------- added for the engine (views, comparisons)

    /** Comparisons giving bool tensors (stored as 1f/0f). */
    enum Compare { EQ, NE, LT, LE, GT, GE }

    /** {@code out[i] = a[i] op b[i] ? 1f : 0f}; NaN compares unequal to everything, as in IEEE 754. */
    default void compare(Compare op, float[] a, int aOffset, float[] b, int bOffset, float[] out, int outOffset, int n) {
        ScalarKernels.compareLoop(op, a, aOffset, b, bOffset, out, outOffset, n);
    }

    /** Scatters contiguous {@code x} of {@code shape} into a strided view of {@code out} (overwriting). */
    default void copyToStrided(int[] shape, float[] x, int xOffset, float[] out, int outOffset, int[] outStrides) {
        ScalarKernels.stridedLoop(shape, x, xOffset, out, outOffset, outStrides, false);
    }

    /** {@code out[strided] += x[contiguous]}: the backward of slicing, select and narrow (accumulating). */
    default void addIntoStrided(int[] shape, float[] x, int xOffset, float[] out, int outOffset, int[] outStrides) {
        ScalarKernels.stridedLoop(shape, x, xOffset, out, outOffset, outStrides, true);
    }

    /**
     * {@code out[i] = y[i] <= 0 ? 0 : grad[i]} (a NaN y passes grad, as PyTorch's threshold_backward), overwriting: ReLU's backward when the gradient buffer is
     * fresh or may be reused in place ({@code out} may alias {@code grad} at the same offset).
     */
    default void reluMask(float[] y, int yOffset, float[] grad, int gradOffset, float[] out, int outOffset, int n) {
        ScalarKernels.reluMaskLoop(y, yOffset, grad, gradOffset, out, outOffset, n);
    }
}
