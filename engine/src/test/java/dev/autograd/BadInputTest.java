package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.autograd.nn.Functional;
import dev.autograd.optim.SGD;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Bad input at the public boundary: each mistake ends in an {@link AutogradException} (or an
 * IllegalArgumentException where PyTorch raises TypeError/ValueError) with PyTorch 1.13's message where
 * PyTorch has one (the messages below were printed by PyTorch for the same call), never a raw
 * ArrayIndexOutOfBounds, NegativeArraySize, NullPointer, ClassCast, Arithmetic or OutOfMemory error.
 * A random probe then calls the shape-taking methods with random small (also negative and zero) arguments
 * on tensors of rank 0 to 3, some with zero-size dims.
 */
class BadInputTest {

    interface Call {
        Object run();
    }

    record Case(String name, Call call, String message) {
    }

    static final Tensor S = Tensor.scalar(1f);

    static Tensor ones(int... shape) {
        return Tensor.ones(shape);
    }

    static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        // creation
        c.add(new Case("zeros negative", () -> Tensor.zeros(-1), "Trying to create tensor with negative dimension -1: [-1]"));
        c.add(new Case("zeros negative 2", () -> Tensor.zeros(2, -3), "Trying to create tensor with negative dimension -3: [2, -3]"));
        c.add(new Case("rand negative", () -> Tensor.rand(-2, 3), "Trying to create tensor with negative dimension -2: [-2, 3]"));
        c.add(new Case("zeros beyond a Java array", () -> Tensor.zeros(100000, 100000), null));
        c.add(new Case("wrap negative", () -> Tensor.wrap(new float[4], -1, 2), "Trying to create tensor with negative dimension -1: [-1, 2]"));
        c.add(new Case("wrap null", () -> Tensor.wrap(null, 2), null));
        c.add(new Case("wrapLong short", () -> Tensor.wrapLong(new long[2], 3), null));
        c.add(new Case("arange inconsistent", () -> Tensor.arange(0, -5, 1), "upper bound and larger bound inconsistent with step sign"));
        c.add(new Case("arange huge", () -> Tensor.arange(0, 1e12f, 1), null));
        c.add(new Case("arange nan", () -> Tensor.arange(0, Float.NaN, 1), null));
        // dims
        c.add(new Case("size of 0-dim", () -> S.size(0), "Dimension specified as 0 but tensor has no dimensions"));
        c.add(new Case("sum dim 1 of 0-dim", () -> S.sum(1), "Dimension out of range (expected to be in range of [-1, 0], but got 1)"));
        c.add(new Case("select 0-dim", () -> S.select(0, 0), "select() cannot be applied to a 0-dim tensor."));
        c.add(new Case("narrow 0-dim", () -> S.narrow(0, 0, 1), "narrow() cannot be applied to a 0-dim tensor."));
        c.add(new Case("index 0-dim", () -> S.get(0), "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                + "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"));
        c.add(new Case("permute duplicate", () -> ones(2, 3).permute(0, 0), "permute(): duplicate dims are not allowed."));
        c.add(new Case("permute out of range", () -> ones(2, 3).permute(0, 2),
                "Dimension out of range (expected to be in range of [-2, 1], but got 2)"));
        c.add(new Case("view negative", () -> ones(4).view(-2, 2), "invalid shape dimension -2"));
        c.add(new Case("reshape two -1", () -> ones(4).reshape(-1, -1), "only one dimension can be inferred"));
        c.add(new Case("expand leading -1", () -> ones(1).expand(-1, 2),
                "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"));
        c.add(new Case("expand negative", () -> ones(1).expand(-2), null));
        c.add(new Case("narrow negative length", () -> ones(4).narrow(0, 1, -1), "start (1) + length (-1) exceeds dimension size (4)."));
        c.add(new Case("flatten reversed", () -> ones(2, 3, 4).flatten(2, 1), "flatten() has invalid args: start_dim cannot come after end_dim"));
        c.add(new Case("log_softmax dim", () -> Functional.logSoftmax(ones(2, 3), 2),
                "Dimension out of range (expected to be in range of [-2, 1], but got 2)"));
        // shapes of binary ops, matmul, conv
        c.add(new Case("add shapes", () -> ones(2, 3).add(ones(4)),
                "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"));
        c.add(new Case("mm shapes", () -> ones(2, 3).mm(ones(4, 5)), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"));
        c.add(new Case("matmul batched", () -> ones(2, 2, 3).matmul(ones(2, 4, 5)),
                "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4]."));
        c.add(new Case("matmul 1-D", () -> ones(3).matmul(ones(4)), "inconsistent tensor size, expected tensor [3] and src [4] to "
                + "have the same number of elements, but got 3 and 4 elements respectively"));
        c.add(new Case("bmm batch", () -> ones(2, 2, 3).bmm(ones(3, 3, 5)),
                "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3]."));
        c.add(new Case("mv of a vector", () -> ones(3).mv(ones(3)), "vector + matrix @ vector expected, got 1, 1, 1"));
        c.add(new Case("mv sizes", () -> ones(2, 3).mv(ones(4)), "size mismatch, got 2, 2x3,4"));
        c.add(new Case("dot 2-D", () -> ones(2, 2).dot(ones(2)), "1D tensors expected, but got 2D and 1D tensors"));
        c.add(new Case("backward gradient shape", () -> {
            ones(2).requiresGrad_().mul(2f).backward(ones(3));
            return null;
        }, "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([2])."));
        c.add(new Case("set grad shape", () -> {
            ones(2).requiresGrad_().setGrad(ones(3));
            return null;
        }, "assigned grad has data of a different size"));
        c.add(new Case("add null", () -> ones(2).add(null), "add(): argument 'other' (position 1) must be Tensor, not null"));
        c.add(new Case("matmul null", () -> ones(2).matmul(null), "matmul(): argument 'other' (position 1) must be Tensor, not null"));
        c.add(new Case("copy_ null", () -> ones(2).copy_(null), "copy_(): argument 'src' (position 1) must be Tensor, not null"));
        c.add(new Case("conv stride 0", () -> Functional.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), null, 0, 0),
                "non-positive stride is not supported"));
        c.add(new Case("conv negative padding", () -> Functional.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), null, 1, -1),
                "negative padding is not supported"));
        c.add(new Case("conv dilation 0", () -> Functional.conv2d(ones(1, 1, 4, 4), ones(1, 1, 3, 3), null, 1, 1, 0, 0, 0, 0),
                "dilation should be greater than zero, but got [0, 0]"));
        c.add(new Case("conv channels", () -> Functional.conv2d(ones(1, 2, 4, 4), ones(1, 3, 3, 3), null, 1, 0),
                "Given groups=1, weight of size [1, 3, 3, 3], expected input[1, 2, 4, 4] to have 3 channels, but got 2 channels instead"));
        c.add(new Case("conv kernel too big", () -> Functional.conv2d(ones(1, 1, 2, 2), ones(1, 1, 3, 3), null, 1, 0),
                "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size"));
        c.add(new Case("max_pool stride 0", () -> Functional.maxPool2d(ones(1, 1, 4, 4), 2, 0, 0), "stride should not be zero"));
        c.add(new Case("max_pool kernel 0", () -> Functional.maxPool2d(ones(1, 1, 4, 4), 0, 1, 0),
                "kernel size should be greater than zero, but got kH: 0 kW: 0"));
        c.add(new Case("max_pool negative padding", () -> Functional.maxPool2d(ones(1, 1, 4, 4), 2, 1, -1),
                "pad must be non-negative, but got pad: -1"));
        c.add(new Case("adaptive_avg_pool negative", () -> Functional.adaptiveAvgPool2d(ones(1, 1, 4, 4), -1, 2),
                "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {-1, 2}"));
        c.add(new Case("linear 0-dim", () -> Functional.linear(S, ones(2, 3), null),
                "both arguments to matmul need to be at least 1D, but they are 0D and 2D"));
        c.add(new Case("linear shapes", () -> Functional.linear(ones(2, 3), ones(4, 5), null),
                "mat1 and mat2 shapes cannot be multiplied (2x3 and 5x4)"));
        c.add(new Case("linear bias", () -> Functional.linear(ones(2, 3), ones(4, 3), ones(5)),
                "The expanded size of the tensor (4) must match the existing size (5) at non-singleton dimension 1.  "
                        + "Target sizes: [2, 4].  Tensor sizes: [5]"));
        c.add(new Case("batch_norm weight", () -> Functional.batchNorm(ones(2, 3, 4), null, null, ones(2), null, true, 0.1f, 1e-5f),
                "weight should contain 3 elements not 2"));
        c.add(new Case("batch_norm bias", () -> Functional.batchNorm(ones(2, 3, 4), null, null, null, ones(2), true, 0.1f, 1e-5f),
                "bias should contain 3 elements not 2"));
        c.add(new Case("batch_norm running_mean", () -> Functional.batchNorm(ones(2, 3, 4), ones(2), ones(3), null, null, true, 0.1f,
                1e-5f), "running_mean should contain 3 elements not 2"));
        c.add(new Case("batch_norm running_var", () -> Functional.batchNorm(ones(2, 3, 4), ones(3), ones(2), null, null, true, 0.1f,
                1e-5f), "running_var should contain 3 elements not 2"));
        c.add(new Case("cross_entropy float target", () -> Functional.crossEntropy(ones(2, 3), ones(2)),
                "expected scalar type Long but found Float"));
        c.add(new Case("cross_entropy target out of range", () -> Functional.crossEntropy(ones(2, 3), Tensor.ofLong(0, 3)),
                "Target 3 is out of bounds."));
        c.add(new Case("cross_entropy batch", () -> Functional.crossEntropy(ones(2, 3), Tensor.ofLong(0, 1, 2)),
                "Expected input batch_size (2) to match target batch_size (3)."));
        // zero-size tensors
        c.add(new Case("amax of empty", () -> ones(0).amax(), "amax(): Expected reduction dim to be specified for input.numel() == 0. "
                + "Specify the reduction dim with the 'dim' argument."));
        c.add(new Case("amax over an empty dim", () -> ones(0, 3).amax(0, false), "amax(): Expected reduction dim 0 to have non-zero size."));
        c.add(new Case("item of empty", () -> ones(0).item(), "only one element tensors can be converted to Python scalars"));
        c.add(new Case("slice step 0", () -> ones(4).slice(0, 0, 4, 0), null));
        // optimizers
        c.add(new Case("SGD empty", () -> new SGD(List.of(), 0.1), "optimizer got an empty parameter list"));
        c.add(new Case("SGD negative lr", () -> new SGD(List.of(ones(1).requiresGrad_()), -0.1), "Invalid learning rate: -0.1"));
        return c;
    }

    @Test
    void everyBadInputGivesAClearErrorWithPyTorchsMessage() {
        StringBuilder problems = new StringBuilder();
        for (Case c : cases()) {
            try {
                c.call.run();
                problems.append(c.name).append(": no error\n");
            } catch (AutogradException | IllegalArgumentException e) {
                if (c.message != null && !c.message.equals(e.getMessage())) {
                    problems.append(c.name).append(": message\n  PyTorch: ").append(c.message)
                            .append("\n  we:      ").append(e.getMessage()).append('\n');
                }
            } catch (Throwable e) {
                problems.append(c.name).append(": raw ").append(e).append('\n');
            }
        }
        assertTrue(problems.isEmpty(), "bad inputs handled badly:\n" + problems);
    }

    @Test
    void zeroSizeTensorsWorkWherePyTorchAllowsThem() {
        Tensor e = ones(0, 3).requiresGrad_();
        assertTrue(Arrays.equals(new int[] {3}, e.sum(0).shape()));
        assertTrue(Float.isNaN(ones(0).mean().item()), "mean of nothing is nan");
        assertTrue(ones(0).sum().item() == 0f);
        assertTrue(Arrays.equals(new int[] {0}, e.amax(1, false).shape()));
        e.mul(2f).sum().backward();
        assertTrue(Arrays.equals(new int[] {0, 3}, e.grad().shape()));
        assertTrue(Arrays.equals(new int[] {0, 5}, ones(0, 4).mm(ones(4, 5)).shape()));
        assertTrue(Arrays.equals(new int[] {2, 5}, ones(2, 0).mm(ones(0, 5)).shape()));
        assertTrue(ones(2, 0).mm(ones(0, 5)).sum().item() == 0f);
        Tensor s = S.sum(0);
        assertTrue(s.dim() == 0 && s.item() == 1f, "a 0-dim tensor sums over dim 0 to itself");
        assertTrue(S.transpose(0, -1).dim() == 0);
    }

    /**
     * Random probe: shape-taking methods with arguments in [-4, 4] on tensors of rank 0..3 (some with zero
     * sizes, some non-contiguous); every outcome must be a result or a clear exception.
     */
    @Test
    void randomArgumentsNeverEscapeAsRawJavaExceptions() {
        long base = Long.getLong("autograd.fuzz.seed", 55L);
        int cases = Integer.getInteger("autograd.fuzz.cases", 1500);
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < cases && problems.size() < 20; i++) {
            long seed = base + i;
            SplittableRandom r = new SplittableRandom(seed);
            int rank = r.nextInt(4);
            int[] shape = new int[rank];
            for (int d = 0; d < rank; d++) {
                shape[d] = r.nextInt(5) == 0 ? 0 : 1 + r.nextInt(3);
            }
            Tensor t = Tensor.rand(shape);
            if (rank >= 2 && r.nextBoolean()) {
                t = t.transpose(0, rank - 1);
            }
            if (r.nextBoolean()) {
                t = t.detach().requiresGrad_();
            }
            int a = r.nextInt(9) - 4;
            int b = r.nextInt(9) - 4;
            int c = r.nextInt(9) - 4;
            Tensor x = t;
            int op = r.nextInt(22);
            Function<Tensor, Object> call = switch (op) {
                case 0 -> v -> v.size(a);
                case 1 -> v -> v.sum(a);
                case 2 -> v -> v.mean(a, true);
                case 3 -> v -> v.amax(a, false);
                case 4 -> v -> v.norm(a, false);
                case 5 -> v -> v.transpose(a, b);
                case 6 -> v -> v.select(a, b);
                case 7 -> v -> v.narrow(a, b, c);
                case 8 -> v -> v.slice(a, b, c, 1 + r.nextInt(3));
                case 9 -> v -> v.unsqueeze(a);
                case 10 -> v -> v.squeeze(a);
                case 11 -> v -> v.view(a, b);
                case 12 -> v -> v.reshape(a, b, c);
                case 13 -> v -> v.expand(a, b);
                case 14 -> v -> v.flatten(a, b);
                case 15 -> v -> v.permute(a, b, c);
                case 16 -> v -> v.get(a, b);
                case 17 -> v -> v.matmul(Tensor.rand(Math.abs(a), Math.abs(b)));
                case 18 -> v -> v.add(Tensor.rand(Math.abs(a), Math.abs(b)));
                case 19 -> v -> Functional.logSoftmax(v, a);
                case 20 -> v -> v.mean(new int[] {a, b}, false);
                default -> v -> Functional.maxPool2d(v.reshape(1, 1, -1, Math.max(1, Math.abs(a))), Math.abs(b), c, 0);
            };
            try {
                Object result = call.apply(x);
                if (result instanceof Tensor out && out.requiresGrad() && out.numel() > 0) {
                    out.sum().backward(); // the gradient path of whatever was accepted must work too
                }
            } catch (AutogradException | IllegalArgumentException e) {
                // a clear error
            } catch (Throwable e) {
                problems.add("seed=" + seed + " op=" + op + " args=(" + a + ", " + b + ", " + c + ") shape="
                        + Arrays.toString(x.shape()) + " strides=" + Arrays.toString(x.strides()) + ": " + e);
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " raw exceptions (rerun one with -Dautograd.fuzz.seed=<seed> -Dautograd.fuzz.cases=1):\n"
                    + String.join("\n", problems));
        }
    }
}
