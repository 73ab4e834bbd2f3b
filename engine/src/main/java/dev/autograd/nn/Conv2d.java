package dev.autograd.nn;

import dev.autograd.Tensor;

/**
 * {@code nn.Conv2d(in, out, kernel_size, stride, padding, bias)}: square kernel, dilation 1, groups 1.
 * Initialised as PyTorch does ({@code reset_parameters}): kaiming-uniform weight with {@code a = sqrt(5)},
 * bias uniform in ±1/sqrt(fan_in).
 */
public class Conv2d extends Module {

    public final int inChannels;
    public final int outChannels;
    public final int kernelSize;
    public final int stride;
    public final int padding;
    public final Tensor weight;
    public final Tensor bias;

    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, boolean bias) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.weight = registerParameter("weight", Parameter.zeros(outChannels, inChannels, kernelSize, kernelSize));
        this.bias = registerParameter("bias", bias ? Parameter.zeros(outChannels) : null);
        Init.kaimingUniform(weight, Math.sqrt(5));
        if (this.bias != null) {
            Init.defaultBias(this.bias, weight);
        }
    }

    public Conv2d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, 1, 0, true);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight, bias, stride, padding);
    }

    @Override
    protected String extraRepr() {
        return inChannels + ", " + outChannels + ", kernel_size=(" + kernelSize + ", " + kernelSize + "), stride=("
                + stride + ", " + stride + ")" + (padding != 0 ? ", padding=(" + padding + ", " + padding + ")" : "")
                + (bias == null ? ", bias=False" : "");
    }
}
