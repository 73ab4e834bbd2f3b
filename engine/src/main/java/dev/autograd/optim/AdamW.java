package dev.autograd.optim;

import dev.autograd.Tensor;
import java.util.Collection;

/**
 * {@code torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)}: Adam
 * with decoupled weight decay, {@code w *= 1 - lr * weight_decay} before the Adam update.
 */
public class AdamW extends Adam {

    public AdamW(Collection<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 1e-2);
    }

    public AdamW(Collection<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        super(params, lr, beta1, beta2, eps, weightDecay, true);
    }
}
