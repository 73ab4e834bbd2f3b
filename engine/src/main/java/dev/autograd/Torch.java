package dev.autograd;

/**
 * PyTorch-like static entry point, so tutorial code reads line for line:
 * {@code Torch.tensor(2f, 3f).requiresGrad_()}, {@code Torch.randn(2, 2)}, {@code try (var g = Torch.noGrad()) {..}}.
 */
public final class Torch {
    private Torch() {
    }

    /** {@code torch.tensor(7.)}: a 0-dim tensor. */
    public static Tensor tensor(float value) {
        return Tensor.scalar(value);
    }

    /** {@code torch.tensor([2., 3.])}: 1-D (pass {@code new float[] {v}} for a one-element 1-D tensor). */
    public static Tensor tensor(float... values) {
        return Tensor.of(values);
    }

    /** {@code torch.tensor([[1., 2.], [3., 4.]])}. */
    public static Tensor tensor(float[][] rows) {
        return Tensor.of(rows);
    }

    /** {@code torch.tensor([True, False])}. */
    public static Tensor tensor(boolean... values) {
        return Tensor.ofBool(values);
    }

    /** {@code torch.tensor([1, 2])} (int64). */
    public static Tensor tensor(long... values) {
        return Tensor.ofLong(values);
    }

    public static Tensor zeros(int... shape) {
        return Tensor.zeros(shape);
    }

    public static Tensor ones(int... shape) {
        return Tensor.ones(shape);
    }

    public static Tensor full(int[] shape, float value) {
        return Tensor.full(shape, value);
    }

    public static Tensor arange(float end) {
        return Tensor.arange(end);
    }

    public static Tensor arange(float start, float end, float step) {
        return Tensor.arange(start, end, step);
    }

    public static Tensor rand(int... shape) {
        return Tensor.rand(shape);
    }

    public static Tensor randn(int... shape) {
        return Tensor.randn(shape);
    }

    public static Tensor zerosLike(Tensor t) {
        return Tensor.zerosLike(t);
    }

    public static Tensor onesLike(Tensor t) {
        return Tensor.onesLike(t);
    }

    public static Tensor fullLike(Tensor t, float value) {
        return Tensor.fullLike(t, value);
    }

    public static Tensor randLike(Tensor t) {
        return Tensor.randLike(t);
    }

    public static Tensor randnLike(Tensor t) {
        return Tensor.randnLike(t);
    }

    /** {@code torch.manual_seed(seed)} for the calling thread's default generator. */
    public static Generator manualSeed(long seed) {
        return Generator.current().manualSeed(seed);
    }

    /** {@code with torch.no_grad():} as {@code try (var g = Torch.noGrad()) { ... }}. */
    public static Autograd.GradMode noGrad() {
        return Autograd.noGrad();
    }

    /** {@code with torch.enable_grad():}. */
    public static Autograd.GradMode enableGrad() {
        return Autograd.enableGrad();
    }

    public static boolean isGradEnabled() {
        return Autograd.isGradEnabled();
    }

    public static Tensor matmul(Tensor a, Tensor b) {
        return a.matmul(b);
    }

    /** {@code torch.autograd.grad(outputs, inputs, grad_outputs)}. */
    public static Tensor[] grad(Tensor[] outputs, Tensor[] inputs, Tensor[] gradOutputs) {
        return Autograd.grad(outputs, inputs, gradOutputs, false);
    }
}
