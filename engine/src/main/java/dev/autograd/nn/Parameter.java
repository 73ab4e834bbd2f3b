package dev.autograd.nn;

import dev.autograd.Tensor;

/**
 * PyTorch's {@code nn.Parameter}: a leaf tensor that requires grad, registered by the module that
 * holds it. (Tensors are final here, so a parameter is a plain {@link Tensor}; these are its makers.)
 */
public final class Parameter {

    private Parameter() {
    }

    /** A new parameter of {@code shape} holding {@code values} (not copied). */
    public static Tensor of(float[] values, int... shape) {
        return Tensor.wrap(values, shape).requiresGrad_(true);
    }

    /** A parameter of zeros. */
    public static Tensor zeros(int... shape) {
        return Tensor.zeros(shape).requiresGrad_(true);
    }

    /** A parameter with a copy of {@code t}'s values. */
    public static Tensor of(Tensor t) {
        return Tensor.wrap(t.contiguous().toArray(), t.shape()).requiresGrad_(true);
    }
}
