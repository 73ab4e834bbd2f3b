package dev.autograd.optim;

import dev.autograd.AutogradException;
import dev.autograd.Tensor;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import java.util.Collection;

/**
 * {@code torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)} with
 * PyTorch's semantics, one fused kernel per parameter:
 * {@code g = grad + weight_decay * w}; with momentum, {@code buf = g} on the first step and
 * {@code buf = momentum * buf + (1 - dampening) * g} after; {@code g = nesterov ? g + momentum * buf : buf};
 * {@code w -= lr * g}.
 */
public class SGD extends Optimizer {

    private static final Kernels K = KernelProvider.get();

    public final float lr;
    public final float momentum;
    public final float dampening;
    public final float weightDecay;
    public final boolean nesterov;

    public SGD(Collection<Tensor> params, double lr) {
        this(params, lr, 0, 0, 0, false);
    }

    public SGD(Collection<Tensor> params, double lr, double momentum) {
        this(params, lr, momentum, 0, 0, false);
    }

    public SGD(Collection<Tensor> params, double lr, double momentum, double dampening, double weightDecay,
               boolean nesterov) {
        super(params);
        checkNonNegative("learning rate", lr);
        checkNonNegative("momentum value", momentum);
        checkNonNegative("weight_decay value", weightDecay);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new AutogradException("Nesterov momentum requires a momentum and zero dampening");
        }
        this.lr = (float) lr;
        this.momentum = (float) momentum;
        this.dampening = (float) dampening;
        this.weightDecay = (float) weightDecay;
        this.nesterov = nesterov;
    }

    @Override
    protected float[][] newState(int numel) {
        return momentum != 0f ? new float[][] {new float[numel]} : new float[0][];
    }

    @Override
    protected void update(Tensor p, Tensor grad, float[][] state, boolean first) {
        float[] buf = momentum != 0f ? state[0] : null;
        K.sgdStep(p.data(), p.offset(), grad.data(), grad.offset(), buf, 0, p.numel(),
                lr, momentum, dampening, weightDecay, nesterov, first);
    }
}
