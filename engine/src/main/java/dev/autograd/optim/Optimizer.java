package dev.autograd.optim;

import dev.autograd.Autograd;
import dev.autograd.AutogradException;
import dev.autograd.DType;
import dev.autograd.Tensor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch's {@code torch.optim.Optimizer} with one parameter group: {@link #step()} updates every
 * parameter that has a gradient (parameters whose {@code .grad} is null, frozen ones included, are
 * skipped and left bit-identical), {@link #zeroGrad()} sets the gradients to null as PyTorch 2 does.
 * Per-parameter state lives in a map keyed by identity, created on a parameter's first update.
 */
public abstract class Optimizer {

    protected final List<Tensor> params;
    private final Map<Tensor, float[][]> state = new IdentityHashMap<>();

    protected Optimizer(Collection<Tensor> params) {
        if (params.isEmpty()) {
            throw new AutogradException("optimizer got an empty parameter list");
        }
        this.params = List.copyOf(new ArrayList<>(params));
        for (Tensor p : this.params) {
            if (!p.isLeaf()) {
                throw new AutogradException("can't optimize a non-leaf Tensor");
            }
            if (p.dtype() != DType.FLOAT32) {
                throw new AutogradException("optimizer can only optimize Tensors of floating point dtype");
            }
        }
    }

    /** The parameters, in the order given. */
    public List<Tensor> parameters() {
        return params;
    }

    /** One update of every parameter with a gradient, outside the graph. */
    public final void step() {
        try (var g = Autograd.noGrad()) {
            for (Tensor p : params) {
                Tensor grad = p.peekGrad();
                if (grad == null) {
                    continue;
                }
                Tensor gc = grad.contiguous();
                if (!p.isContiguous()) {
                    throw new AutogradException("optimizer: parameters must be contiguous");
                }
                float[][] s = state.get(p);
                boolean first = s == null;
                if (first) {
                    s = newState(p.numel());
                    state.put(p, s);
                }
                update(p, gc, s, first);
                p.bumpVersion();
            }
            afterStep();
        }
    }

    /** Fresh per-parameter state arrays (e.g. a momentum buffer); may be empty. */
    protected abstract float[][] newState(int numel);

    /** Updates {@code p.data()} in place from its contiguous gradient with a fused kernel. */
    protected abstract void update(Tensor p, Tensor grad, float[][] state, boolean first);

    /** Called once after each step (Adam counts steps per parameter in its state instead). */
    protected void afterStep() {
    }

    /** The state arrays of {@code p} (null before its first update), for tests and checkpoints. */
    public float[][] state(Tensor p) {
        return state.get(p);
    }

    /** Sets every parameter's gradient to null (PyTorch 2's default). */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /**
     * {@code zero_grad(set_to_none)}: null, or zero-filled in place (then backward accumulates into it).
     * Set to null, a gradient nobody was handed keeps its memory for the next backward ({@link Tensor#clearGrad()}).
     */
    public void zeroGrad(boolean setToNone) {
        for (Tensor p : params) {
            Tensor g = p.peekGrad();
            if (g == null) {
                continue;
            }
            if (setToNone) {
                p.clearGrad();
            } else {
                try (var ng = Autograd.noGrad()) {
                    g.zero_();
                }
            }
        }
    }

    static void checkNonNegative(String what, double value) {
        if (!(value >= 0)) {
            throw new AutogradException("Invalid " + what + ": " + pyFloat(value));
        }
    }

    /** Python's repr of a float: {@code 0.01}, {@code -1.0}. */
    static String pyFloat(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e16) {
            return (long) v + ".0";
        }
        return Double.toString(v);
    }
}
