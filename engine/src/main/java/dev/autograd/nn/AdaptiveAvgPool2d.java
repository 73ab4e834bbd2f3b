package dev.autograd.nn;

import dev.autograd.Tensor;

/** {@code nn.AdaptiveAvgPool2d((outH, outW))}. */
public class AdaptiveAvgPool2d extends Module {

    public final int outH;
    public final int outW;

    public AdaptiveAvgPool2d(int outH, int outW) {
        this.outH = outH;
        this.outW = outW;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.adaptiveAvgPool2d(x, outH, outW);
    }

    @Override
    protected String extraRepr() {
        return "output_size=(" + outH + ", " + outW + ")";
    }
}
