package dev.autograd.kernels;

/**
 * Plain loops: the reference every SIMD kernel is tested against, and the fallback when
 * {@code jdk.incubator.vector} is not available. Written for clarity, not speed.
 */
public class ScalarKernels implements Kernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int vectorBitSize() {
        return 0;
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public void fill(float value, float[] out, int outOffset, int n) {
        java.util.Arrays.fill(out, outOffset, outOffset + n, value);
    }

    static float apply(Unary op, float v) {
        return switch (op) {
            case NEG -> -v;
            case EXP -> (float) Math.exp(v);
            case LOG -> (float) Math.log(v);
            case SQRT -> (float) Math.sqrt(v);
            case ABS -> Math.abs(v);
            case RELU -> v > 0f ? v : (v == v ? 0f : v); // NaN propagates, as in PyTorch
            case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-v)));
            case TANH -> (float) Math.tanh(v);
        };
    }

    /** d op(x) / dx, given x and y = op(x). */
    static float derivative(Unary op, float x, float y) {
        return switch (op) {
            case NEG -> -1f;
            case EXP -> y;
            case LOG -> 1f / x;
            case SQRT -> 0.5f / y;
            case ABS -> x > 0f ? 1f : x < 0f ? -1f : 0f; // PyTorch's sgn: 0 at NaN (not signum's NaN)
            case RELU -> x <= 0f ? 0f : 1f; // NaN passes the gradient, as PyTorch's threshold_backward
            case SIGMOID -> y * (1f - y);
            case TANH -> 1f - y * y;
        };
    }

    static float apply(Binary op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
        };
    }

    @Override
    public void unary(Unary op, float[] x, int xOffset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = apply(op, x[xOffset + i]);
        }
    }

    @Override
    public void unaryBackward(Unary op, float[] grad, int gradOffset, float[] x, int xOffset,
                              float[] y, int yOffset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            float xi = x == null ? 0f : x[xOffset + i];
            float yi = y == null ? 0f : y[yOffset + i];
            out[outOffset + i] += backwardTerm(op, grad[gradOffset + i], xi, yi);
        }
    }

    /**
     * {@code grad * op'(x)}; ReLU selects instead of multiplying, as PyTorch's
     * {@code threshold_backward(grad, result, 0)}: an infinite grad where x <= 0 gives 0, not NaN.
     */
    /** {@code x ** exponent} as PyTorch computes it: 0.5 is sqrt (so pow(-0., 0.5) = -0. and pow(-inf, 0.5) = nan). */
    static float powScalar(float x, float exponent) {
        return exponent == 0.5f ? (float) Math.sqrt(x) : (float) Math.pow(x, exponent);
    }

    static float backwardTerm(Unary op, float grad, float x, float y) {
        return op == Unary.RELU ? (x <= 0f ? 0f : grad) : grad * derivative(op, x, y);
    }

    @Override
    public void pow(float[] x, int xOffset, float exponent, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = powScalar(x[xOffset + i], exponent);
        }
    }

    @Override
    public void powBackward(float[] grad, int gradOffset, float[] x, int xOffset, float exponent,
                            float[] out, int outOffset, int n) {
        if (exponent == 0f) {
            return; // d/dx x^0 = 0, even at x = 0 (PyTorch masks the 0 * inf)
        }
        for (int i = 0; i < n; i++) {
            out[outOffset + i] += grad[gradOffset + i] * exponent * (float) Math.pow(x[xOffset + i], exponent - 1f);
        }
    }

    @Override
    public void binary(Binary op, float[] a, int aOffset, float[] b, int bOffset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = apply(op, a[aOffset + i], b[bOffset + i]);
        }
    }

    @Override
    public void binaryScalar(Binary op, float[] a, int aOffset, float s, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = apply(op, a[aOffset + i], s);
        }
    }

    @Override
    public void scalarBinary(Binary op, float s, float[] b, int bOffset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = apply(op, s, b[bOffset + i]);
        }
    }

    @Override
    public void binaryStrided(Binary op, int[] shape, float[] a, int aOffset, int[] aStrides,
                              float[] b, int bOffset, int[] bStrides, float[] out, int outOffset) {
        int rank = shape.length;
        int total = 1;
        for (int d : shape) {
            total *= d;
        }
        int[] index = new int[rank];
        int ai = aOffset;
        int bi = bOffset;
        for (int o = 0; o < total; o++) {
            out[outOffset + o] = apply(op, a[ai], b[bi]);
            // odometer increment, last dimension fastest
            for (int d = rank - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) {
                    ai += aStrides[d];
                    bi += bStrides[d];
                    break;
                }
                ai -= aStrides[d] * (shape[d] - 1);
                bi -= bStrides[d] * (shape[d] - 1);
                index[d] = 0;
            }
        }
    }

    @Override
    public void copyStrided(int[] shape, float[] x, int xOffset, int[] xStrides, float[] out, int outOffset) {
        int rank = shape.length;
        int total = 1;
        for (int d : shape) {
            total *= d;
        }
        int[] index = new int[rank];
        int xi = xOffset;
        for (int o = 0; o < total; o++) {
            out[outOffset + o] = x[xi];
            for (int d = rank - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) {
                    xi += xStrides[d];
                    break;
                }
                xi -= xStrides[d] * (shape[d] - 1);
                index[d] = 0;
            }
        }
    }

    @Override
    public void scale(float[] x, int xOffset, float alpha, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = x[xOffset + i] * alpha;
        }
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }

    // ---------------------------------------------------------------- reductions

    @Override
    public float sum(float[] x, int xOffset, int n) {
        // double accumulation keeps the oracle well below float32 rounding
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += x[xOffset + i];
        }
        return (float) s;
    }

    @Override
    public float sumOfSquares(float[] x, int xOffset, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = x[xOffset + i];
            s += v * v;
        }
        return (float) s;
    }

    @Override
    public float max(float[] x, int xOffset, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = x[xOffset + i];
            if (v != v) {
                return v;
            }
            if (v > m) {
                m = v;
            }
        }
        return m;
    }

    @Override
    public void sumDim(float[] x, int xOffset, int outer, int reduce, int inner, float[] out, int outOffset) {
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double s = 0;
                for (int r = 0; r < reduce; r++) {
                    s += x[xOffset + (o * reduce + r) * inner + i];
                }
                out[outOffset + o * inner + i] = (float) s;
            }
        }
    }

    @Override
    public void maxDim(float[] x, int xOffset, int outer, int reduce, int inner,
                       float[] out, int outOffset, long[] argmax) {
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                float m = Float.NEGATIVE_INFINITY;
                int arg = 0;
                for (int r = 0; r < reduce; r++) {
                    float v = x[xOffset + (o * reduce + r) * inner + i];
                    if (v != v) {
                        m = v;
                        arg = r;
                        break;
                    }
                    if (v > m || r == 0) {
                        m = v;
                        arg = r;
                    }
                }
                out[outOffset + o * inner + i] = m;
                if (argmax != null) {
                    argmax[o * inner + i] = arg;
                }
            }
        }
    }

    // ---------------------------------------------------------------- GEMM

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                      float beta, float[] c, int cOffset, int ldc) {
        if (m <= 0 || n <= 0) {
            return;
        }
        // Each C[i, j] is the double sum over p = 0, 1, ..., k-1 in that order, then one rounding.
        // The loops run i, p, j so the inner loop walks a row of op(B) and a row of sums: contiguous,
        // which the JIT compiles to vector code within the first call (a cold single step spends most
        // of its time here). A transposed B is copied to k x n first.
        float[] bk = b;
        int bkOffset = bOffset;
        int ldbk = ldb;
        if (transB && k > 0) {
            bk = new float[k * n];
            for (int j = 0; j < n; j++) {
                for (int p = 0; p < k; p++) {
                    bk[p * n + j] = b[bOffset + j * ldb + p];
                }
            }
            bkOffset = 0;
            ldbk = n;
        }
        double[] sums = new double[n];
        for (int i = 0; i < m; i++) {
            java.util.Arrays.fill(sums, 0.0);
            for (int p = 0; p < k; p++) {
                double av = transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p];
                int row = bkOffset + p * ldbk;
                for (int j = 0; j < n; j++) {
                    sums[j] += av * bk[row + j];
                }
            }
            int ci = cOffset + i * ldc;
            for (int j = 0; j < n; j++) {
                c[ci + j] = beta == 0f ? (float) (alpha * sums[j]) : (float) (alpha * sums[j] + beta * c[ci + j]);
            }
        }
    }

    // ---------------------------------------------------------------- convolution and pooling

    @Override
    public void im2col(float[] x, int xOffset, int batch, int channels, int height, int width,
                       int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                       int outH, int outW, float[] col, int colOffset, int ldCol) {
        int image = channels * height * width;
        int plane = outH * outW;
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                for (int ki = 0; ki < kH; ki++) {
                    for (int kj = 0; kj < kW; kj++) {
                        int row = (c * kH + ki) * kW + kj;
                        int base = colOffset + row * ldCol + b * plane;
                        for (int oh = 0; oh < outH; oh++) {
                            int h = oh * strideH - padH + ki * dilationH;
                            for (int ow = 0; ow < outW; ow++) {
                                int w = ow * strideW - padW + kj * dilationW;
                                boolean inside = h >= 0 && h < height && w >= 0 && w < width;
                                col[base + oh * outW + ow] = inside ? x[xOffset + b * image + (c * height + h) * width + w] : 0f;
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public void col2imInto(float[] col, int colOffset, int ldCol, int batch, int channels, int height, int width,
                           int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                           int outH, int outW, float[] x, int xOffset) {
        int image = channels * height * width;
        int plane = outH * outW;
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                for (int ki = 0; ki < kH; ki++) {
                    for (int kj = 0; kj < kW; kj++) {
                        int row = (c * kH + ki) * kW + kj;
                        int base = colOffset + row * ldCol + b * plane;
                        for (int oh = 0; oh < outH; oh++) {
                            int h = oh * strideH - padH + ki * dilationH;
                            if (h < 0 || h >= height) {
                                continue;
                            }
                            for (int ow = 0; ow < outW; ow++) {
                                int w = ow * strideW - padW + kj * dilationW;
                                if (w >= 0 && w < width) {
                                    x[xOffset + b * image + (c * height + h) * width + w] += col[base + oh * outW + ow];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public void maxPool2d(float[] x, int xOffset, int planes, int height, int width,
                          int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                          int outH, int outW, float[] out, int outOffset, long[] indices, int indicesOffset) {
        int plane = height * width;
        int outPlane = outH * outW;
        for (int p = 0; p < planes; p++) {
            int xBase = xOffset + p * plane;
            for (int oh = 0; oh < outH; oh++) {
                for (int ow = 0; ow < outW; ow++) {
                    int o = p * outPlane + oh * outW + ow;
                    maxPoolAt(x, xBase, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                            oh, ow, out, outOffset + o, indices, indicesOffset + o);
                }
            }
        }
    }

    // ================================================================ Winograd F(m x m, 3x3)

    /** Winograd's matrices for m = 2 (see {@link Kernels}): B^T (4x4), G (4x3), A^T (2x4). */
    static final float[][] WINOGRAD_BT = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
    static final float[][] WINOGRAD_G = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
    static final float[][] WINOGRAD_AT = {{1, 1, 1, 0}, {0, 1, -1, -1}};
    /** And for m = 4: B^T (6x6), G (6x3), A^T (4x6). */
    static final float[][] WINOGRAD4_BT = {
        {4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
        {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
    };
    static final float[][] WINOGRAD4_G = {
        {0.25f, 0, 0}, {-1f / 6, -1f / 6, -1f / 6}, {-1f / 6, 1f / 6, -1f / 6},
        {1f / 24, 1f / 12, 1f / 6}, {1f / 24, -1f / 12, 1f / 6}, {0, 0, 1},
    };
    static final float[][] WINOGRAD4_AT = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

    /** The output tile's side m: 2 or 4, else an IllegalArgumentException. */
    static int winogradTile(int tile) {
        if (tile != 2 && tile != 4) {
            throw new IllegalArgumentException("Winograd F(m x m, 3x3) for m = 2 or 4, not " + tile);
        }
        return tile;
    }

    private static float[][] bt(int tile) {
        return winogradTile(tile) == 2 ? WINOGRAD_BT : WINOGRAD4_BT;
    }

    private static float[][] g(int tile) {
        return winogradTile(tile) == 2 ? WINOGRAD_G : WINOGRAD4_G;
    }

    private static float[][] at(int tile) {
        return winogradTile(tile) == 2 ? WINOGRAD_AT : WINOGRAD4_AT;
    }

    /**
     * {@code p * q * r^T}: the transforms' one formula, as plain loops. Terms with a zero coefficient
     * are left out (not added as {@code 0 * x}), so a NaN or an infinity in q reaches only the
     * values that depend on it, as in the direct convolution.
     */
    private static float[][] sandwich(float[][] p, float[][] q, float[][] r) {
        float[][] pq = new float[p.length][q[0].length];
        for (int i = 0; i < p.length; i++) {
            for (int j = 0; j < q[0].length; j++) {
                for (int l = 0; l < q.length; l++) {
                    if (p[i][l] != 0) {
                        pq[i][j] += p[i][l] * q[l][j];
                    }
                }
            }
        }
        float[][] out = new float[p.length][r.length];
        for (int i = 0; i < p.length; i++) {
            for (int j = 0; j < r.length; j++) {
                for (int l = 0; l < r[0].length; l++) {
                    if (r[j][l] != 0) {
                        out[i][j] += pq[i][l] * r[j][l];
                    }
                }
            }
        }
        return out;
    }

    private static float[][] transpose(float[][] a) {
        float[][] t = new float[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                t[j][i] = a[i][j];
            }
        }
        return t;
    }

    /**
     * Where element (i, j) of tile t's window lies in images {@code [batch, channels, height, width]}:
     * the flat index for channel c, or -1 past an edge. The window starts at row m*th - padH,
     * column m*tw - padW (pads 0 for the output's m x m tiles).
     */
    private static int tileElement(int m, int t, int tilesH, int tilesW, int c, int channels, int height, int width,
                                   int padH, int padW, int i, int j) {
        int b = t / (tilesH * tilesW);
        int h = m * (t / tilesW % tilesH) - padH + i;
        int w = m * (t % tilesW) - padW + j;
        return h >= 0 && h < height && w >= 0 && w < width ? ((b * channels + c) * height + h) * width + w : -1;
    }

    @Override
    public void winogradWeights(int tile, float[] w, int wOffset, int outC, int channels, float[] u) {
        float[][] gm = g(tile);
        int a = tile + 2;
        int oc = outC * channels;
        for (int q = 0; q < oc; q++) {
            float[][] g = new float[3][3];
            for (int i = 0; i < 9; i++) {
                g[i / 3][i % 3] = w[wOffset + q * 9 + i];
            }
            float[][] t = sandwich(gm, g, gm);
            for (int xi = 0; xi < a * a; xi++) {
                u[xi * oc + q] = t[xi / a][xi % a];
            }
        }
    }

    @Override
    public void winogradInput(int tile, float[] x, int xOffset, int batch, int channels, int height, int width,
                              int padH, int padW, int outH, int outW, float[] v) {
        float[][] bt = bt(tile);
        int a = tile + 2;
        int tilesH = (outH + tile - 1) / tile;
        int tilesW = (outW + tile - 1) / tile;
        int tiles = batch * tilesH * tilesW;
        for (int c = 0; c < channels; c++) {
            for (int t = 0; t < tiles; t++) {
                float[][] d = new float[a][a];
                for (int i = 0; i < a; i++) {
                    for (int j = 0; j < a; j++) {
                        int at = tileElement(tile, t, tilesH, tilesW, c, channels, height, width, padH, padW, i, j);
                        if (at >= 0) {
                            d[i][j] = x[xOffset + at];
                        }
                    }
                }
                float[][] r = sandwich(bt, d, bt);
                for (int xi = 0; xi < a * a; xi++) {
                    v[(xi * channels + c) * tiles + t] = r[xi / a][xi % a];
                }
            }
        }
    }

    @Override
    public void winogradOutput(int tile, float[] m, int batch, int outC, int outH, int outW, float[] out, int outOffset) {
        float[][] atm = at(tile);
        int a = tile + 2;
        int tilesH = (outH + tile - 1) / tile;
        int tilesW = (outW + tile - 1) / tile;
        int tiles = batch * tilesH * tilesW;
        for (int o = 0; o < outC; o++) {
            for (int t = 0; t < tiles; t++) {
                float[][] mt = new float[a][a];
                for (int xi = 0; xi < a * a; xi++) {
                    mt[xi / a][xi % a] = m[(xi * outC + o) * tiles + t];
                }
                float[][] y = sandwich(atm, mt, atm);
                for (int i = 0; i < tile; i++) {
                    for (int j = 0; j < tile; j++) {
                        int at = tileElement(tile, t, tilesH, tilesW, o, outC, outH, outW, 0, 0, i, j);
                        if (at >= 0) {
                            out[outOffset + at] = y[i][j];
                        }
                    }
                }
            }
        }
    }

    @Override
    public void winogradGradOutput(int tile, float[] grad, int gradOffset, int batch, int outC, int outH, int outW,
                                   float[] dm) {
        float[][] am = transpose(at(tile));
        int a = tile + 2;
        int tilesH = (outH + tile - 1) / tile;
        int tilesW = (outW + tile - 1) / tile;
        int tiles = batch * tilesH * tilesW;
        for (int o = 0; o < outC; o++) {
            for (int t = 0; t < tiles; t++) {
                float[][] dy = new float[tile][tile];
                for (int i = 0; i < tile; i++) {
                    for (int j = 0; j < tile; j++) {
                        int at = tileElement(tile, t, tilesH, tilesW, o, outC, outH, outW, 0, 0, i, j);
                        if (at >= 0) {
                            dy[i][j] = grad[gradOffset + at];
                        }
                    }
                }
                float[][] r = sandwich(am, dy, am);
                for (int xi = 0; xi < a * a; xi++) {
                    dm[(xi * outC + o) * tiles + t] = r[xi / a][xi % a];
                }
            }
        }
    }

    @Override
    public void winogradInputBackward(int tile, float[] dv, int batch, int channels, int height, int width,
                                      int padH, int padW, int outH, int outW, float[] gx, int gxOffset) {
        float[][] bm = transpose(bt(tile));
        int a = tile + 2;
        int tilesH = (outH + tile - 1) / tile;
        int tilesW = (outW + tile - 1) / tile;
        int tiles = batch * tilesH * tilesW;
        for (int c = 0; c < channels; c++) {
            for (int t = 0; t < tiles; t++) {
                float[][] dt = new float[a][a];
                for (int xi = 0; xi < a * a; xi++) {
                    dt[xi / a][xi % a] = dv[(xi * channels + c) * tiles + t];
                }
                float[][] dd = sandwich(bm, dt, bm);
                for (int i = 0; i < a; i++) {
                    for (int j = 0; j < a; j++) {
                        int at = tileElement(tile, t, tilesH, tilesW, c, channels, height, width, padH, padW, i, j);
                        if (at >= 0) {
                            gx[gxOffset + at] += dd[i][j];
                        }
                    }
                }
            }
        }
    }

    @Override
    public void winogradWeightsBackward(int tile, float[] du, int outC, int channels, float beta, float[] dw,
                                        int dwOffset) {
        float[][] gt = transpose(g(tile));
        int a = tile + 2;
        int oc = outC * channels;
        for (int q = 0; q < oc; q++) {
            float[][] d = new float[a][a];
            for (int xi = 0; xi < a * a; xi++) {
                d[xi / a][xi % a] = du[xi * oc + q];
            }
            float[][] g = sandwich(gt, d, gt);
            for (int i = 0; i < 9; i++) {
                int at = dwOffset + q * 9 + i;
                dw[at] = (beta == 0f ? 0f : beta * dw[at]) + g[i / 3][i % 3];
            }
        }
    }

    /**
     * One output of max pooling, PyTorch's rule (aten's CPU kernel: {@code val > maxval || isnan(val)}
     * over the window in scan order): the last NaN if there is one, else the first maximum, else
     * (every tap -inf) the first valid tap, else -1. The SIMD kernel recomputes windows with a NaN here.
     */
    static void maxPoolAt(float[] x, int xBase, int height, int width, int kH, int kW,
                          int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                          int oh, int ow, float[] out, int o, long[] indices, int io) {
        float m = Float.NEGATIVE_INFINITY;
        int arg = -1;
        for (int ki = 0; ki < kH; ki++) {
            int h = oh * strideH - padH + ki * dilationH;
            if (h < 0 || h >= height) {
                continue;
            }
            for (int kj = 0; kj < kW; kj++) {
                int w = ow * strideW - padW + kj * dilationW;
                if (w < 0 || w >= width) {
                    continue;
                }
                float v = x[xBase + h * width + w];
                if (v > m || v != v || arg < 0) {
                    m = v;
                    arg = h * width + w;
                }
            }
        }
        out[o] = m;
        indices[io] = arg;
    }

    @Override
    public void maxPool2dBackward(float[] grad, int gradOffset, long[] indices, int indicesOffset, int planes,
                                  int height, int width, int outH, int outW, float[] gradInput, int gradInputOffset) {
        maxPoolBackwardPlanes(0, planes, grad, gradOffset, indices, indicesOffset, height * width, outH * outW,
                gradInput, gradInputOffset);
    }

    /** {@link #maxPool2dBackward} for planes [p0, p1): each plane's additions in output order. */
    static void maxPoolBackwardPlanes(int p0, int p1, float[] grad, int gradOffset, long[] indices, int indicesOffset,
                                      int plane, int outPlane, float[] gradInput, int gradInputOffset) {
        for (int p = p0; p < p1; p++) {
            for (int o = 0; o < outPlane; o++) {
                int idx = (int) indices[indicesOffset + p * outPlane + o];
                gradInput[gradInputOffset + p * plane + idx] += grad[gradOffset + p * outPlane + o];
            }
        }
    }

    static int poolStart(int i, int in, int out) {
        return (int) Math.floor((double) i * in / out);
    }

    static int poolEnd(int i, int in, int out) {
        return (int) Math.ceil((double) (i + 1) * in / out);
    }

    @Override
    public void adaptiveAvgPool2d(float[] x, int xOffset, int planes, int height, int width,
                                  int outH, int outW, float[] out, int outOffset) {
        for (int p = 0; p < planes; p++) {
            int xBase = xOffset + p * height * width;
            for (int i = 0; i < outH; i++) {
                int h0 = poolStart(i, height, outH);
                int h1 = poolEnd(i, height, outH);
                for (int j = 0; j < outW; j++) {
                    int w0 = poolStart(j, width, outW);
                    int w1 = poolEnd(j, width, outW);
                    double s = 0;
                    for (int h = h0; h < h1; h++) {
                        for (int w = w0; w < w1; w++) {
                            s += x[xBase + h * width + w];
                        }
                    }
                    out[outOffset + (p * outH + i) * outW + j] = (float) (s / ((h1 - h0) * (w1 - w0)));
                }
            }
        }
    }

    @Override
    public void adaptiveAvgPool2dBackward(float[] grad, int gradOffset, int planes, int height, int width,
                                          int outH, int outW, float[] gradInput, int gradInputOffset) {
        for (int p = 0; p < planes; p++) {
            int base = gradInputOffset + p * height * width;
            for (int i = 0; i < outH; i++) {
                int h0 = poolStart(i, height, outH);
                int h1 = poolEnd(i, height, outH);
                for (int j = 0; j < outW; j++) {
                    int w0 = poolStart(j, width, outW);
                    int w1 = poolEnd(j, width, outW);
                    float g = grad[gradOffset + (p * outH + i) * outW + j] / ((h1 - h0) * (w1 - w0));
                    for (int h = h0; h < h1; h++) {
                        for (int w = w0; w < w1; w++) {
                            gradInput[base + h * width + w] += g;
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- batch norm

    @Override
    public void batchNormTrain(float[] x, int xOffset, int batch, int channels, int spatial,
                               float[] weight, float[] bias, float eps,
                               float[] out, int outOffset, float[] saveMean, float[] saveInvStd, float[] unbiasedVar) {
        long count = (long) batch * spatial;
        for (int c = 0; c < channels; c++) {
            double s = 0;
            for (int b = 0; b < batch; b++) {
                int base = xOffset + (b * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) {
                    s += x[base + i];
                }
            }
            double mean = s / count;
            double ss = 0;
            for (int b = 0; b < batch; b++) {
                int base = xOffset + (b * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) {
                    double d = x[base + i] - mean;
                    ss += d * d;
                }
            }
            double var = ss / count;
            float invStd = (float) (1.0 / Math.sqrt(var + eps));
            saveMean[c] = (float) mean;
            saveInvStd[c] = invStd;
            if (unbiasedVar != null) {
                unbiasedVar[c] = count > 1 ? (float) (ss / (count - 1)) : Float.NaN;
            }
            float w = weight == null ? 1f : weight[c];
            float bi = bias == null ? 0f : bias[c];
            float scale = invStd * w;
            float shift = bi - (float) mean * scale;
            for (int b = 0; b < batch; b++) {
                int xBase = xOffset + (b * channels + c) * spatial;
                int oBase = outOffset + (b * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) {
                    out[oBase + i] = x[xBase + i] * scale + shift;
                }
            }
        }
    }

    @Override
    public void batchNormEval(float[] x, int xOffset, int batch, int channels, int spatial,
                              float[] weight, float[] bias, float[] runningMean, float[] runningVar, float eps,
                              float[] out, int outOffset) {
        for (int c = 0; c < channels; c++) {
            float invStd = (float) (1.0 / Math.sqrt(runningVar[c] + eps));
            float w = weight == null ? 1f : weight[c];
            float bi = bias == null ? 0f : bias[c];
            float scale = invStd * w;
            float shift = bi - runningMean[c] * scale;
            for (int b = 0; b < batch; b++) {
                int xBase = xOffset + (b * channels + c) * spatial;
                int oBase = outOffset + (b * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) {
                    out[oBase + i] = x[xBase + i] * scale + shift;
                }
            }
        }
    }

    @Override
    public void batchNormTrainBackward(float[] grad, int gradOffset, float[] x, int xOffset,
                                       int batch, int channels, int spatial, float[] weight,
                                       float[] saveMean, float[] saveInvStd,
                                       float[] gradInput, int gradInputOffset, boolean accumulate,
                                       float[] gradWeight, float[] gradBias) {
        long count = (long) batch * spatial;
        for (int c = 0; c < channels; c++) {
            float mean = saveMean[c];
            float invStd = saveInvStd[c];
            double sumG = 0;
            double sumGX = 0; // sum(grad * (x - mean))
            for (int b = 0; b < batch; b++) {
                int gBase = gradOffset + (b * channels + c) * spatial;
                int xBase = xOffset + (b * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) {
                    float g = grad[gBase + i];
                    sumG += g;
                    sumGX += g * (x[xBase + i] - mean);
                }
            }
            if (gradBias != null) {
                gradBias[c] += (float) sumG;
            }
            if (gradWeight != null) {
                gradWeight[c] += (float) (sumGX * invStd);
            }
            if (gradInput != null) {
                float w = weight == null ? 1f : weight[c];
                // dx = w*invStd * (g - mean(g) - xhat * mean(g*xhat)), xhat = (x-mean)*invStd
                float meanG = (float) (sumG / count);
                float k = (float) (sumGX / count) * invStd * invStd;
                float scale = w * invStd;
                for (int b = 0; b < batch; b++) {
                    int gBase = gradOffset + (b * channels + c) * spatial;
                    int xBase = xOffset + (b * channels + c) * spatial;
                    int iBase = gradInputOffset + (b * channels + c) * spatial;
                    for (int i = 0; i < spatial; i++) {
                        float xc = x[xBase + i] - mean;
                        float d = scale * (grad[gBase + i] - meanG - xc * k);
                        gradInput[iBase + i] = accumulate ? gradInput[iBase + i] + d : d;
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- optimizers

    @Override
    public void sgdStep(float[] w, int wOffset, float[] grad, int gradOffset, float[] buf, int bufOffset, int n,
                        float lr, float momentum, float dampening, float weightDecay, boolean nesterov, boolean first) {
        for (int i = 0; i < n; i++) {
            float g = grad[gradOffset + i];
            if (weightDecay != 0f) {
                g += weightDecay * w[wOffset + i];
            }
            if (momentum != 0f) {
                float bv = first ? g : momentum * buf[bufOffset + i] + (1f - dampening) * g;
                buf[bufOffset + i] = bv;
                g = nesterov ? g + momentum * bv : bv;
            }
            w[wOffset + i] -= lr * g;
        }
    }

    @Override
    public void adamStep(float[] w, int wOffset, float[] grad, int gradOffset, float[] m, float[] v, int stateOffset,
                         int n, float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled,
                         float bc1, float bc2) {
        float stepSize = lr / bc1;
        float sqrtBc2 = (float) Math.sqrt(bc2);
        for (int i = 0; i < n; i++) {
            float wi = w[wOffset + i];
            float g = grad[gradOffset + i];
            if (decoupled) {
                wi *= 1f - lr * weightDecay;
            } else if (weightDecay != 0f) {
                g += weightDecay * wi;
            }
            float mi = beta1 * m[stateOffset + i] + (1f - beta1) * g;
            float vi = beta2 * v[stateOffset + i] + (1f - beta2) * g * g;
            m[stateOffset + i] = mi;
            v[stateOffset + i] = vi;
            float denom = (float) Math.sqrt(vi) / sqrtBc2 + eps;
            w[wOffset + i] = wi - stepSize * mi / denom;
        }
    }

    // ---------------------------------------------------------------- added for the engine (views, comparisons)

    static void compareLoop(Compare op, float[] a, int aOffset, float[] b, int bOffset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            float x = a[aOffset + i];
            float y = b[bOffset + i];
            boolean r = switch (op) {
                case EQ -> x == y;
                case NE -> x != y;
                case LT -> x < y;
                case LE -> x <= y;
                case GT -> x > y;
                case GE -> x >= y;
            };
            out[outOffset + i] = r ? 1f : 0f;
        }
    }

    /** Walks {@code out}'s strided view in row-major order of {@code shape}, reading {@code x} contiguously. */
    static void stridedLoop(int[] shape, float[] x, int xOffset, float[] out, int outOffset, int[] outStrides,
                            boolean accumulate) {
        int rank = shape.length;
        int total = 1;
        for (int d : shape) {
            total *= d;
        }
        if (total == 0) {
            return;
        }
        int[] index = new int[rank];
        int oi = outOffset;
        for (int i = 0; i < total; i++) {
            if (accumulate) {
                out[oi] += x[xOffset + i];
            } else {
                out[oi] = x[xOffset + i];
            }
            for (int d = rank - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) {
                    oi += outStrides[d];
                    break;
                }
                oi -= outStrides[d] * (shape[d] - 1);
                index[d] = 0;
            }
        }
    }

    static void reluMaskLoop(float[] y, int yOffset, float[] grad, int gradOffset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = y[yOffset + i] <= 0f ? 0f : grad[gradOffset + i]; // NaN y passes grad, as PyTorch
        }
    }
}
