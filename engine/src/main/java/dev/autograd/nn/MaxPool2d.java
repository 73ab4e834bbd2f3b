package dev.autograd.nn;

import dev.autograd.Tensor;

/** {@code nn.MaxPool2d(kernel_size, stride, padding)}, square windows, dilation 1. */
public class MaxPool2d extends Module {

    public final int kernelSize;
    public final int stride;
    public final int padding;

    public MaxPool2d(int kernelSize, int stride, int padding) {
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
    }

    public MaxPool2d(int kernelSize) {
        this(kernelSize, kernelSize, 0);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.maxPool2d(x, kernelSize, stride, padding);
    }

    @Override
    protected String extraRepr() {
        return "kernel_size=" + kernelSize + ", stride=" + stride + ", padding=" + padding
                + ", dilation=1, ceil_mode=False";
    }
}
