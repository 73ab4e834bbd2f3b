package dev.autograd.nn;

import dev.autograd.Tensor;

/** {@code nn.Flatten(startDim=1)}: flattens every dimension from {@code startDim} on. */
public class Flatten extends Module {

    private final int startDim;

    public Flatten() {
        this(1);
    }

    public Flatten(int startDim) {
        this.startDim = startDim;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.flatten(startDim, -1);
    }

    @Override
    protected String extraRepr() {
        return "start_dim=" + startDim + ", end_dim=-1";
    }
}
