package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernels.L;
import static dev.autograd.kernels.PanamaKernels.S;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Batch norm over small planes (H*W below {@link PanamaKernels#BN_ROW_PLANE}), one range of
 * channels [c0, c1) per call. In NCHW, an image's part of those channels is one contiguous row of
 * {@code (c1-c0) * P} floats, so every pass is a whole-row vector loop per image, with per-channel
 * values (mean, scale, ...) expanded to one per float of the row. The per-plane loops of the
 * general path spent their time on a reduction and a tail per plane of 4 or 16 floats.
 *
 * <p>Per-channel sums: a float accumulator per float of the row over at most {@value #CHUNK}
 * images, then its plane added per channel in double. Every channel's sums run in the same order
 * whatever the channel range, so results do not depend on the thread count.
 */
final class BatchNormRows {

    /** Images summed in float before the sums go to double. */
    private static final int CHUNK = 16;

    private static final ThreadLocal<float[]> FLOATS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<double[]> DOUBLES = ThreadLocal.withInitial(() -> new double[0]);

    private BatchNormRows() {
    }

    static void train(float[] x, int xOffset, int batch, int channels, int spatial, int c0, int c1,
                      float[] weight, float[] bias, float eps, float[] out, int outOffset,
                      float[] saveMean, float[] saveInvStd, float[] unbiasedVar) {
        int ch = c1 - c0;
        int span = ch * spatial;
        int stride = channels * spatial;
        int first = c0 * spatial;
        long count = (long) batch * spatial;
        // acc at 0, then two expanded rows: the mean (later the scale) and the shift
        float[] f = floats(3 * span);
        int e1 = span;
        int e2 = 2 * span;
        double[] sums = doubles(ch);
        // the sum as the first image's row times the batch plus the differences from it: float
        // rounding then scales with the spread of the values, not with their size (the deviations
        // x - mean are taken from this mean, and a small spread amplifies its error)
        rowSums(x, xOffset + first, stride, batch, span, spatial, false, x, xOffset + first, f, sums, 0);
        for (int c = 0; c < ch; c++) {
            double base = 0;
            for (int q = xOffset + first + c * spatial, end = q + spatial; q < end; q++) {
                base += x[q];
            }
            double mean = (sums[c] + base * batch) / count;
            saveMean[c0 + c] = (float) mean;
            Arrays.fill(f, e1 + c * spatial, e1 + (c + 1) * spatial, (float) mean);
        }
        rowSums(x, xOffset + first, stride, batch, span, spatial, true, f, e1, f, sums, 0);
        for (int c = 0; c < ch; c++) {
            double var = sums[c] / count;
            float invStd = (float) (1.0 / Math.sqrt(var + eps));
            saveInvStd[c0 + c] = invStd;
            if (unbiasedVar != null) {
                unbiasedVar[c0 + c] = count > 1 ? (float) (sums[c] / (count - 1)) : Float.NaN;
            }
            float w = weight == null ? 1f : weight[c0 + c];
            float b = bias == null ? 0f : bias[c0 + c];
            float scale = invStd * w;
            float shift = b - saveMean[c0 + c] * scale;
            Arrays.fill(f, e1 + c * spatial, e1 + (c + 1) * spatial, scale);
            Arrays.fill(f, e2 + c * spatial, e2 + (c + 1) * spatial, shift);
        }
        scaleShiftRows(x, xOffset + first, stride, batch, span, f, e1, e2, out, outOffset + first);
    }

    static void eval(float[] x, int xOffset, int batch, int channels, int spatial, int c0, int c1,
                     float[] weight, float[] bias, float[] runningMean, float[] runningVar, float eps,
                     float[] out, int outOffset) {
        int ch = c1 - c0;
        int span = ch * spatial;
        int first = c0 * spatial;
        float[] f = floats(2 * span);
        for (int c = 0; c < ch; c++) {
            float invStd = (float) (1.0 / Math.sqrt(runningVar[c0 + c] + eps));
            float w = weight == null ? 1f : weight[c0 + c];
            float b = bias == null ? 0f : bias[c0 + c];
            float scale = invStd * w;
            Arrays.fill(f, c * spatial, (c + 1) * spatial, scale);
            Arrays.fill(f, span + c * spatial, span + (c + 1) * spatial, b - runningMean[c0 + c] * scale);
        }
        scaleShiftRows(x, xOffset + first, channels * spatial, batch, span, f, 0, span, out, outOffset + first);
    }

    static void backward(float[] grad, int gradOffset, float[] x, int xOffset, int batch, int channels, int spatial,
                         int c0, int c1, float[] weight, float[] saveMean, float[] saveInvStd,
                         float[] gradInput, int gradInputOffset, boolean accumulate, float[] gradWeight,
                         float[] gradBias) {
        int ch = c1 - c0;
        int span = ch * spatial;
        int stride = channels * spatial;
        int first = c0 * spatial;
        long count = (long) batch * spatial;
        // accumulators of g and g*(x - mean), then expanded rows: mean, meanG, kk, scale
        float[] f = floats(6 * span);
        int accGX = span;
        int eMean = 2 * span;
        double[] sums = doubles(2 * ch);
        for (int c = 0; c < ch; c++) {
            Arrays.fill(f, eMean + c * spatial, eMean + (c + 1) * spatial, saveMean[c0 + c]);
        }
        Arrays.fill(sums, 0, 2 * ch, 0);
        for (int b0 = 0; b0 < batch; b0 += CHUNK) {
            Arrays.fill(f, 0, 2 * span, 0f);
            for (int b = b0; b < Math.min(batch, b0 + CHUNK); b++) {
                int go = gradOffset + first + b * stride;
                int xo = xOffset + first + b * stride;
                int i = 0;
                for (int bound = S.loopBound(span); i < bound; i += L) {
                    FloatVector g = FloatVector.fromArray(S, grad, go + i);
                    FloatVector xc = FloatVector.fromArray(S, x, xo + i).sub(FloatVector.fromArray(S, f, eMean + i));
                    FloatVector.fromArray(S, f, i).add(g).intoArray(f, i);
                    g.fma(xc, FloatVector.fromArray(S, f, accGX + i)).intoArray(f, accGX + i);
                }
                for (; i < span; i++) {
                    float g = grad[go + i];
                    f[i] += g;
                    f[accGX + i] = Math.fma(g, x[xo + i] - f[eMean + i], f[accGX + i]);
                }
            }
            addPlanes(f, 0, ch, spatial, sums, 0);
            addPlanes(f, accGX, ch, spatial, sums, ch);
        }
        for (int c = 0; c < ch; c++) {
            if (gradBias != null) {
                gradBias[c0 + c] += (float) sums[c];
            }
            if (gradWeight != null) {
                gradWeight[c0 + c] += (float) (sums[ch + c] * saveInvStd[c0 + c]);
            }
        }
        if (gradInput == null) {
            return;
        }
        int eMeanG = 3 * span;
        int eKk = 4 * span;
        int eScale = 5 * span;
        for (int c = 0; c < ch; c++) {
            float invStd = saveInvStd[c0 + c];
            float w = weight == null ? 1f : weight[c0 + c];
            int at = c * spatial;
            Arrays.fill(f, eMeanG + at, eMeanG + at + spatial, (float) (sums[c] / count));
            Arrays.fill(f, eKk + at, eKk + at + spatial, (float) (sums[ch + c] / count) * invStd * invStd);
            Arrays.fill(f, eScale + at, eScale + at + spatial, w * invStd);
        }
        // gi (+)= scale * (g - meanG - (x - mean) * kk), as the per-plane path computes it
        for (int b = 0; b < batch; b++) {
            int go = gradOffset + first + b * stride;
            int xo = xOffset + first + b * stride;
            int gio = gradInputOffset + first + b * stride;
            int i = 0;
            for (int bound = S.loopBound(span); i < bound; i += L) {
                FloatVector xc = FloatVector.fromArray(S, x, xo + i).sub(FloatVector.fromArray(S, f, eMean + i));
                FloatVector t = FloatVector.fromArray(S, grad, go + i).sub(FloatVector.fromArray(S, f, eMeanG + i))
                        .sub(xc.mul(FloatVector.fromArray(S, f, eKk + i)));
                FloatVector d = t.mul(FloatVector.fromArray(S, f, eScale + i));
                (accumulate ? FloatVector.fromArray(S, gradInput, gio + i).add(d) : d).intoArray(gradInput, gio + i);
            }
            for (; i < span; i++) {
                float xc = x[xo + i] - f[eMean + i];
                float d = f[eScale + i] * (grad[go + i] - f[eMeanG + i] - xc * f[eKk + i]);
                gradInput[gio + i] = accumulate ? gradInput[gio + i] + d : d;
            }
        }
    }

    /**
     * Per channel of the rows, the sum over the batch of x - center (or of its square) into
     * {@code sums[sumsOff + c]}: floats per position over {@value #CHUNK} images at a time in
     * {@code acc[0, span)}, then per channel in double.
     */
    private static void rowSums(float[] x, int xo, int stride, int batch, int span, int spatial, boolean squares,
                                float[] center, int centerOff, float[] acc, double[] sums, int sumsOff) {
        int ch = span / spatial;
        Arrays.fill(sums, sumsOff, sumsOff + ch, 0);
        for (int b0 = 0; b0 < batch; b0 += CHUNK) {
            Arrays.fill(acc, 0, span, 0f);
            for (int b = b0; b < Math.min(batch, b0 + CHUNK); b++) {
                int row = xo + b * stride;
                int i = 0;
                for (int bound = S.loopBound(span); i < bound; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x, row + i).sub(FloatVector.fromArray(S, center, centerOff + i));
                    FloatVector a = FloatVector.fromArray(S, acc, i);
                    if (squares) {
                        v.fma(v, a).intoArray(acc, i);
                    } else {
                        a.add(v).intoArray(acc, i);
                    }
                }
                for (; i < span; i++) {
                    float v = x[row + i] - center[centerOff + i];
                    if (squares) {
                        acc[i] = Math.fma(v, v, acc[i]);
                    } else {
                        acc[i] += v;
                    }
                }
            }
            addPlanes(acc, 0, ch, spatial, sums, sumsOff);
        }
    }

    /** {@code sums[sumsOff + c] += } the plane c of {@code f} from {@code off}, in double. */
    private static void addPlanes(float[] f, int off, int ch, int spatial, double[] sums, int sumsOff) {
        for (int c = 0; c < ch; c++) {
            double s = 0;
            for (int q = off + c * spatial, end = q + spatial; q < end; q++) {
                s += f[q];
            }
            sums[sumsOff + c] += s;
        }
    }

    /** out = x * scale + shift per image row, with the expanded scale and shift rows of {@code f}. */
    private static void scaleShiftRows(float[] x, int xo, int stride, int batch, int span, float[] f, int scaleOff,
                                       int shiftOff, float[] out, int oo) {
        for (int b = 0; b < batch; b++) {
            int xr = xo + b * stride;
            int orow = oo + b * stride;
            int i = 0;
            for (int bound = S.loopBound(span); i < bound; i += L) {
                FloatVector.fromArray(S, x, xr + i)
                        .fma(FloatVector.fromArray(S, f, scaleOff + i), FloatVector.fromArray(S, f, shiftOff + i))
                        .intoArray(out, orow + i);
            }
            for (; i < span; i++) {
                out[orow + i] = x[xr + i] * f[scaleOff + i] + f[shiftOff + i];
            }
        }
    }

    private static float[] floats(int size) {
        return Scratch.floats(FLOATS, size);
    }

    private static double[] doubles(int size) {
        return Scratch.doubles(DOUBLES, size);
    }
}
