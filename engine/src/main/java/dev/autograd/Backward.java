package dev.autograd;

/**
 * The vector-Jacobian product of one op, recorded at forward time (see {@link Autograd#record}).
 * {@code grad} is the gradient of the op's output: contiguous, offset 0, the output's shape, and
 * read-only (other nodes may share it). The closure adds each input's gradient through {@code g}.
 */
@FunctionalInterface
public interface Backward {
    void apply(Tensor grad, Grads g);
}
