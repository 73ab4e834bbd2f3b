package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.Autograd;
import dev.autograd.Generator;
import dev.autograd.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every functional op of the nn package against central finite differences on tiny shapes, one line
 * per case, and its grad_fn name against the names PyTorch 1.13 gives (fixture grad_fn_names.txt).
 */
class FunctionalGradcheckTest {

    private static final Generator GEN = new Generator(11);

    static Tensor leaf(int... shape) {
        return Tensor.rand(GEN, shape).mul(4f).sub(2f).requiresGrad_();
    }

    static Tensor positive(int... shape) {
        return Tensor.rand(GEN, shape).add(0.5f).requiresGrad_();
    }

    static Tensor constant(int... shape) {
        return Tensor.rand(GEN, shape);
    }

    /** Values 0.1 apart in a scrambled order: no two within the finite-difference step (max pooling's ties). */
    static Tensor distinct(int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = ((i * 7L) % n) * 0.1f - n * 0.05f; // 7 is coprime with the sizes used
        }
        return Tensor.wrap(v, shape).requiresGrad_();
    }

    static void check(String op, Function<Tensor[], Tensor> f, Tensor... inputs) {
        assertTrue(Autograd.gradcheck(f, inputs, 1e-2, 2e-2, 2e-2), op);
    }

    @Test
    void conv2d() {
        check("conv2d 3x3 s1 p1", t -> Functional.conv2d(t[0], t[1], null, 1, 1), leaf(1, 2, 5, 5), leaf(3, 2, 3, 3));
        check("conv2d 3x3 s2 p1 bias batch", t -> Functional.conv2d(t[0], t[1], t[2], 2, 1),
                leaf(2, 2, 5, 6), leaf(3, 2, 3, 3), leaf(3));
        check("conv2d 1x1 s1 (GEMM)", t -> Functional.conv2d(t[0], t[1], null, 1, 0), leaf(1, 3, 4, 4), leaf(2, 3, 1, 1));
        check("conv2d 1x1 s1 batch", t -> Functional.conv2d(t[0], t[1], t[2], 1, 0),
                leaf(2, 3, 3, 3), leaf(2, 3, 1, 1), leaf(2));
        check("conv2d 1x1 s2", t -> Functional.conv2d(t[0], t[1], null, 2, 0), leaf(2, 3, 5, 5), leaf(4, 3, 1, 1));
        check("conv2d 7x7 s2 p3", t -> Functional.conv2d(t[0], t[1], null, 2, 3), leaf(1, 1, 6, 6), leaf(2, 1, 7, 7));
        check("conv2d dilation", t -> Functional.conv2d(t[0], t[1], null, 1, 1, 2, 2, 2, 2), leaf(1, 2, 6, 6), leaf(2, 2, 3, 3));
        Tensor image = constant(1, 2, 4, 4);
        check("conv2d weight only", t -> Functional.conv2d(image, t[0], null, 1, 1), leaf(2, 2, 3, 3));
        Tensor weight = constant(2, 2, 3, 3);
        check("conv2d input only", t -> Functional.conv2d(t[0], weight, null, 1, 1), leaf(2, 2, 4, 4));
    }

    /**
     * Products of 32 columns and more, where the kernels gather the GEMMs' panels from the images:
     * the forward and the weight gradient from the input, and at stride 1 with N >= 16 O the input
     * gradient as the convolution of the output gradient with the flipped weight (padding kH-1-pad).
     * Channels and filters above 4, so that no GEMM takes a row-at-a-time path instead.
     */
    @Test
    void conv2dFromTheImages() {
        check("conv2d 3x3 s1 p1 batch", t -> Functional.conv2d(t[0], t[1], t[2], 1, 1),
                leaf(2, 5, 8, 8), leaf(6, 5, 3, 3), leaf(6));
        check("conv2d 3x3 s1 p0 batch", t -> Functional.conv2d(t[0], t[1], null, 1, 0), leaf(2, 5, 10, 10), leaf(6, 5, 3, 3));
        check("conv2d 5x3 s1 p(2,1) batch", t -> Functional.conv2d(t[0], t[1], null, 1, 1, 2, 1, 1, 1),
                leaf(2, 5, 9, 8), leaf(6, 5, 5, 3));
        check("conv2d 1x1 s1 batch", t -> Functional.conv2d(t[0], t[1], null, 1, 0), leaf(2, 5, 8, 8), leaf(6, 5, 1, 1));
        check("conv2d 3x3 s1 p1, N < 16 O", t -> Functional.conv2d(t[0], t[1], null, 1, 1), leaf(2, 5, 5, 5), leaf(6, 5, 3, 3));
        check("conv2d 3x3 s2 p1 batch", t -> Functional.conv2d(t[0], t[1], null, 2, 1), leaf(3, 5, 8, 8), leaf(6, 5, 3, 3));
    }

    @Test
    void batchNorm() {
        check("batch_norm train", t -> Functional.batchNorm(t[0], null, null, t[1], t[2], true, 0.1f, 1e-5f),
                leaf(3, 2, 2, 3), positive(2), leaf(2));
        check("batch_norm train, running stats", t -> Functional.batchNorm(t[0], Tensor.zeros(2), Tensor.ones(2),
                t[1], t[2], true, 0.1f, 1e-5f), leaf(2, 2, 3, 1), positive(2), leaf(2));
        check("batch_norm train, no affine", t -> Functional.batchNorm(t[0], null, null, null, null, true, 0.1f, 1e-5f),
                leaf(4, 3, 2, 2));
        check("batch_norm eval", t -> Functional.batchNorm(t[0], Tensor.of(0.1f, -0.2f), Tensor.of(0.5f, 2f),
                t[1], t[2], false, 0.1f, 1e-5f), leaf(2, 2, 2, 2), positive(2), leaf(2));
        // the incoming gradient is the call's own (a scalar product's): x's gradient is written over it,
        // alone and then with a second contribution to x, from before or after
        check("batch_norm train, input gradient in place", t -> Functional.batchNorm(t[0], null, null, t[1], t[2],
                true, 0.1f, 1e-5f).mul(3f), leaf(3, 2, 2, 3), positive(2), leaf(2));
        check("batch_norm train, in place, x used twice", t -> Functional.batchNorm(t[0], null, null, t[1], t[2],
                true, 0.1f, 1e-5f).mul(3f).add(t[0].mul(t[0])), leaf(3, 2, 2, 3), positive(2), leaf(2));
        check("batch_norm train, in place, x used twice (other order)", t -> t[0].mul(t[0]).add(Functional.batchNorm(
                t[0], null, null, t[1], t[2], true, 0.1f, 1e-5f).mul(3f)), leaf(3, 2, 2, 3), positive(2), leaf(2));
    }

    @Test
    void pooling() {
        check("max_pool2d 3 s2 p1", t -> Functional.maxPool2d(t[0], 3, 2, 1), distinct(2, 2, 5, 5));
        check("max_pool2d 2", t -> Functional.maxPool2d(t[0], 2, 2, 0), distinct(1, 3, 4, 6));
        check("adaptive_avg_pool2d 1x1", t -> Functional.adaptiveAvgPool2d(t[0], 1, 1), leaf(2, 3, 3, 4));
        check("adaptive_avg_pool2d 2x3 of 5x5", t -> Functional.adaptiveAvgPool2d(t[0], 2, 3), leaf(1, 2, 5, 5));
    }

    @Test
    void linearAndLosses() {
        check("linear", t -> Functional.linear(t[0], t[1], t[2]), leaf(3, 4), leaf(5, 4), leaf(5));
        check("linear no bias", t -> Functional.linear(t[0], t[1], null), leaf(2, 4), leaf(3, 4));
        check("linear 3-D input", t -> Functional.linear(t[0], t[1], t[2]), leaf(2, 3, 4), leaf(2, 4), leaf(2));
        check("log_softmax dim 1", t -> Functional.logSoftmax(t[0], 1), leaf(3, 5));
        check("log_softmax dim 0", t -> Functional.logSoftmax(t[0], 0), leaf(3, 2, 2));
        check("cross_entropy", t -> Functional.crossEntropy(t[0], Tensor.ofLong(2, 0, 4)), leaf(3, 5));
        check("mse_loss", t -> Functional.mseLoss(t[0], t[1]), leaf(3, 4), leaf(3, 4));
    }

    @Test
    void gradFnNamesArePyTorchs() {
        Map<String, String> expected = new LinkedHashMap<>();
        for (String line : Fixtures.text("grad_fn_names.txt").split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] kv = line.trim().split(" ");
                expected.put(kv[0], kv[1]);
            }
        }
        Tensor x = leaf(2, 3, 8, 8);
        Conv2d conv = new Conv2d(3, 4, 3, 1, 1, false);
        BatchNorm2d bn = new BatchNorm2d(4);
        Linear lin = new Linear(4, 5);
        Linear linNoBias = new Linear(4, 5, false);
        Tensor y = conv.forward(x);
        assertEquals(expected.get("conv2d"), y.gradFn().name());
        y = bn.forward(y);
        assertEquals(expected.get("batch_norm_train"), y.gradFn().name());
        assertEquals(expected.get("relu"), Functional.relu(y).gradFn().name());
        assertEquals(expected.get("max_pool2d"), Functional.maxPool2d(y, 3, 2, 1).gradFn().name());
        Tensor p = Functional.adaptiveAvgPool2d(y, 1, 1);
        assertEquals(expected.get("adaptive_avg_pool2d"), p.gradFn().name());
        Tensor f = new Flatten().forward(p);
        assertEquals(expected.get("flatten"), f.gradFn().name());
        Tensor logits = lin.forward(f);
        assertEquals(expected.get("linear"), logits.gradFn().name());
        assertEquals(expected.get("linear_no_bias"), linNoBias.forward(f).gradFn().name());
        assertEquals(expected.get("log_softmax"), Functional.logSoftmax(logits, 1).gradFn().name());
        assertEquals(expected.get("cross_entropy"), Functional.crossEntropy(logits, Tensor.ofLong(1, 2)).gradFn().name());
        assertEquals(expected.get("mse_loss"), Functional.mseLoss(logits, Tensor.rand(2, 5)).gradFn().name());
        bn.eval();
        assertEquals(expected.get("batch_norm_eval"), bn.forward(conv.forward(x)).gradFn().name());
    }

    @Test
    void valuesOfLossesMatchTheirDefinitions() {
        Tensor logits = Tensor.of(new float[][] {{1f, 2f, 3f}, {0.5f, -1f, 0f}});
        Tensor target = Tensor.ofLong(2, 0);
        // -(log_softmax[0, 2] + log_softmax[1, 0]) / 2
        double l0 = 3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
        double l1 = 0.5 - Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(0));
        assertEquals(-(l0 + l1) / 2, Functional.crossEntropy(logits, target).item(), 1e-6);
        assertEquals((1 + 4 + 9 + 0.25 + 1 + 0) / 6.0, Functional.mseLoss(logits, Tensor.zeros(2, 3)).item(), 1e-6);
    }
}
