package dev.autograd.nn;

import dev.autograd.Tensor;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Kernels.Binary;

/**
 * PyTorch's {@code nn.init}: fills a parameter in place, outside the graph, from the calling thread's
 * default generator ({@code Generator.manualSeed} makes it reproducible; the values differ from
 * PyTorch's generator).
 */
public final class Init {

    private static final Kernels K = KernelProvider.get();

    private Init() {
    }

    /** {@code fan_in} and {@code fan_out} as {@code nn.init._calculate_fan_in_and_fan_out}. */
    static int[] fans(Tensor t) {
        int[] s = t.shape();
        int receptive = 1;
        for (int d = 2; d < s.length; d++) {
            receptive *= s[d];
        }
        return new int[] {s[1] * receptive, s[0] * receptive};
    }

    /** {@code uniform_(t, low, high)}. */
    public static Tensor uniform(Tensor t, float low, float high) {
        float[] r = Tensor.rand(t.shape()).data();
        float[] d = t.data();
        K.scale(r, 0, high - low, d, t.offset(), r.length);
        K.binaryScalar(Binary.ADD, d, t.offset(), low, d, t.offset(), r.length);
        t.bumpVersion();
        return t;
    }

    /** {@code normal_(t, 0, std)}. */
    public static Tensor normal(Tensor t, float std) {
        float[] r = Tensor.randn(t.shape()).data();
        K.scale(r, 0, std, t.data(), t.offset(), r.length);
        t.bumpVersion();
        return t;
    }

    /** {@code constant_(t, value)}. */
    public static Tensor constant(Tensor t, float value) {
        K.fill(value, t.data(), t.offset(), t.numel());
        t.bumpVersion();
        return t;
    }

    /**
     * {@code kaiming_uniform_(t, a)} with fan_in and leaky_relu gain {@code sqrt(2 / (1 + a^2))}: bound
     * {@code gain * sqrt(3 / fan_in)}. nn.Conv2d and nn.Linear use {@code a = sqrt(5)}, i.e.
     * {@code bound = 1 / sqrt(fan_in)}.
     */
    public static Tensor kaimingUniform(Tensor t, double a) {
        double gain = Math.sqrt(2.0 / (1 + a * a));
        float bound = (float) (gain * Math.sqrt(3.0 / fans(t)[0]));
        return uniform(t, -bound, bound);
    }

    /** {@code kaiming_normal_(t, mode="fan_out", nonlinearity="relu")}: std {@code sqrt(2 / fan_out)}, torchvision's conv init. */
    public static Tensor kaimingNormalFanOut(Tensor t) {
        return normal(t, (float) (Math.sqrt(2.0) / Math.sqrt(fans(t)[1])));
    }

    /** The bias init of nn.Conv2d and nn.Linear: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
    static Tensor defaultBias(Tensor bias, Tensor weight) {
        int fanIn = fans(weight)[0];
        float bound = fanIn > 0 ? (float) (1 / Math.sqrt(fanIn)) : 0f;
        return uniform(bias, -bound, bound);
    }
}
