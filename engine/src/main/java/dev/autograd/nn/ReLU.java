package dev.autograd.nn;

import dev.autograd.Tensor;

/** {@code nn.ReLU}; torchvision's {@code inplace=True} is a memory optimisation with the same values. */
public class ReLU extends Module {

    @Override
    public Tensor forward(Tensor x) {
        return x.relu();
    }
}
