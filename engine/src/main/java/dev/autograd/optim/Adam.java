package dev.autograd.optim;

import dev.autograd.AutogradException;
import dev.autograd.Tensor;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * {@code torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)} (amsgrad off):
 * {@code g = grad + weight_decay * w}, {@code m = b1 m + (1 - b1) g}, {@code v = b2 v + (1 - b2) g^2},
 * {@code w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)}, t counted per parameter.
 * {@link AdamW} decouples the weight decay. One fused kernel per parameter.
 */
public class Adam extends Optimizer {

    private static final Kernels K = KernelProvider.get();

    public final float lr;
    public final float beta1;
    public final float beta2;
    public final float eps;
    public final float weightDecay;
    private final boolean decoupled;
    private final Map<Tensor, int[]> steps = new IdentityHashMap<>();

    public Adam(Collection<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0);
    }

    public Adam(Collection<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this(params, lr, beta1, beta2, eps, weightDecay, false);
    }

    Adam(Collection<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay,
         boolean decoupled) {
        super(params);
        checkNonNegative("learning rate", lr);
        checkNonNegative("epsilon value", eps);
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new AutogradException("Invalid beta parameter at index 0: " + pyFloat(beta1));
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new AutogradException("Invalid beta parameter at index 1: " + pyFloat(beta2));
        }
        checkNonNegative("weight_decay value", weightDecay);
        this.lr = (float) lr;
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
        this.decoupled = decoupled;
    }

    @Override
    protected float[][] newState(int numel) {
        return new float[][] {new float[numel], new float[numel]};
    }

    @Override
    protected void update(Tensor p, Tensor grad, float[][] state, boolean first) {
        int t = ++steps.computeIfAbsent(p, k -> new int[1])[0];
        // bias corrections in double, as PyTorch computes them in Python floats
        float bc1 = (float) (1 - Math.pow(beta1, t));
        float bc2 = (float) (1 - Math.pow(beta2, t));
        K.adamStep(p.data(), p.offset(), grad.data(), grad.offset(), state[0], state[1], 0, p.numel(),
                lr, beta1, beta2, eps, weightDecay, decoupled, bc1, bc2);
    }

    /** The number of steps taken for {@code p}. */
    public int steps(Tensor p) {
        int[] s = steps.get(p);
        return s == null ? 0 : s[0];
    }
}
