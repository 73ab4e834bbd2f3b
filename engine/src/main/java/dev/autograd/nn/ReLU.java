package dev.autograd.nn;

import dev.autograd.Tensor;

/**
 * {@code nn.ReLU}. With {@code inplace} (torchvision's {@code ReLU(inplace=True)} in ResNet) the input
 * is overwritten ({@link Tensor#relu_()}): same values and gradients, one activation fewer allocated.
 */
public class ReLU extends Module {

    private final boolean inplace;

    public ReLU() {
        this(false);
    }

    public ReLU(boolean inplace) {
        this.inplace = inplace;
    }

    @Override
    public Tensor forward(Tensor x) {
        return inplace ? x.relu_() : x.relu();
    }
}
