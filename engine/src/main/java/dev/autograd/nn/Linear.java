package dev.autograd.nn;

import dev.autograd.Tensor;

/**
 * {@code nn.Linear(in, out, bias)}: {@code y = x W^T + b}, W of shape [out, in]. Initialised as PyTorch
 * does: kaiming-uniform weight with {@code a = sqrt(5)}, bias uniform in ±1/sqrt(in).
 */
public class Linear extends Module {

    public final int inFeatures;
    public final int outFeatures;
    public final Tensor weight;
    public final Tensor bias;

    public Linear(int inFeatures, int outFeatures, boolean bias) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Parameter.zeros(outFeatures, inFeatures));
        this.bias = registerParameter("bias", bias ? Parameter.zeros(outFeatures) : null);
        Init.kaimingUniform(weight, Math.sqrt(5));
        if (this.bias != null) {
            Init.defaultBias(this.bias, weight);
        }
    }

    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.linear(x, weight, bias);
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias == null ? "False" : "True");
    }
}
