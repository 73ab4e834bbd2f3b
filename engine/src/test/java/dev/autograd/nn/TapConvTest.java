package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.autograd.Generator;
import dev.autograd.Tensor;
import dev.autograd.kernels.KernelProvider;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Convolutions of small images by classes of output positions (the kernels' {@code conv2dTaps})
 * against real PyTorch (fixture written by tools/make_resnet_fixtures.py) and against the GEMM
 * convolution on the same inputs: output, input, weight and bias gradients, fresh and accumulated
 * over a second backward.
 */
class TapConvTest {

    private final int savedWinograd = Functional.winogradMinTiles;

    @AfterEach
    void restore() {
        Functional.tapConvs = true;
        Functional.winogradMinTiles = savedWinograd;
    }

    /** batch, channels, outC, height, width, kernel, pad, stride, bias. */
    static final int[][] SHAPES = {
        {16, 8, 12, 2, 2, 3, 1, 1, 1}, {12, 5, 7, 1, 1, 3, 1, 1, 0}, {16, 6, 5, 3, 3, 5, 2, 1, 1},
        {8, 4, 40, 2, 3, 3, 2, 2, 0},
    };

    static float[][] run(boolean taps, int[] s, int steps) {
        Functional.tapConvs = taps;
        Functional.winogradMinTiles = Integer.MAX_VALUE;
        Generator gen = new Generator(21);
        Tensor x = Tensor.rand(gen, s[0], s[1], s[3], s[4]).sub(0.5f).requiresGrad_();
        Tensor w = Tensor.rand(gen, s[2], s[1], s[5], s[5]).sub(0.5f).requiresGrad_();
        Tensor b = s[8] == 1 ? Tensor.rand(gen, s[2]).requiresGrad_() : null;
        Tensor y = null;
        for (int i = 0; i < steps; i++) {
            y = Functional.conv2d(x, w, b, s[7], s[6]);
            y.backward(Tensor.rand(new Generator(22 + i), y.shape()).sub(0.5f));
        }
        return new float[][] {y.detach().toArray(), x.grad().toArray(), w.grad().toArray(),
            b == null ? new float[0] : b.grad().toArray()};
    }

    /**
     * F.conv2d's forward and backward from PyTorch 1.13 on layer4-like images (2x2 at batch 16 and 8,
     * the stride-2 entry from 4x4, a 1x1 image), within 4x the spread of float32 PyTorch from a
     * float64 run (as ResNetStepTest), floor two ulps.
     */
    @Test
    @SuppressWarnings("unchecked")
    void tapClassesMatchPyTorch() {
        Fixtures.SafeTensors f = Fixtures.safetensors("conv_small_images.safetensors");
        Map<String, Object> cases = (Map<String, Object>) Fixtures.json(f.metadata().get("cases"));
        Map<String, Object> spread = (Map<String, Object>) Fixtures.json(f.metadata().get("spread"));
        assertEquals(4, cases.size());
        cases.forEach((name, v) -> {
            Map<String, Object> c = (Map<String, Object>) v;
            int stride = ((Number) c.get("stride")).intValue();
            int pad = ((Number) c.get("padding")).intValue();
            Tensor x = ResNetStepTest.toTensor(f.get(name + ".x")).requiresGrad_();
            Tensor w = ResNetStepTest.toTensor(f.get(name + ".weight")).requiresGrad_();
            Tensor b = ResNetStepTest.toTensor(f.get(name + ".bias")).requiresGrad_();
            int[] xs = x.shape();
            int[] ws = w.shape();
            int out = (xs[2] + 2 * pad - ws[2]) / stride + 1;
            int outW = (xs[3] + 2 * pad - ws[3]) / stride + 1;
            assertEquals(true, KernelProvider.get().tapsPay(xs[0], xs[2], xs[3], ws[2], ws[3], pad, pad, stride, stride,
                    1, 1, out, outW), name + " takes the tap classes");
            Tensor y = Functional.conv2d(x, w, b, stride, pad);
            y.backward(ResNetStepTest.toTensor(f.get(name + ".grad_out")));
            Map<String, float[]> actual = Map.of("out", y.detach().toArray(), "grad_x", x.grad().toArray(),
                    "grad_weight", w.grad().toArray(), "grad_bias", b.grad().toArray());
            actual.forEach((key, a) -> {
                float[] e = f.get(name + "." + key).values();
                double scale = 0;
                double diff = 0;
                for (int i = 0; i < e.length; i++) {
                    scale = Math.max(scale, Math.abs(e[i]));
                    diff = Math.max(diff, Math.abs(e[i] - a[i]));
                }
                double tolerance = Math.max(ResNetStepTest.SPREAD_FACTOR
                        * ((Number) spread.get(name + "." + key)).doubleValue(), ResNetStepTest.FLOOR);
                assertEquals(e.length, a.length, name + "." + key);
                assertTrue(diff / scale <= tolerance, name + "." + key + ": max|ours - PyTorch| / max|PyTorch| = "
                        + diff / scale + ", tolerance " + tolerance);
            });
        });
    }

    @Test
    void tapClassesEqualTheGemmConvolution() {
        String[] names = {"output", "input gradient", "weight gradient", "bias gradient"};
        for (int[] s : SHAPES) {
            int out = (s[3] + 2 * s[6] - s[5]) / s[7] + 1;
            int outW = (s[4] + 2 * s[6] - s[5]) / s[7] + 1;
            // the shapes are meant to take the classes: check that they do
            assertEquals(true, KernelProvider.get().tapsPay(s[0], s[3], s[4], s[5], s[5], s[6], s[6], s[7], s[7], 1, 1,
                    out, outW), Arrays.toString(s));
            for (int steps = 1; steps <= 2; steps++) {
                float[][] gemm = run(false, s, steps);
                float[][] taps = run(true, s, steps);
                for (int r = 0; r < names.length; r++) {
                    assertEquals(gemm[r].length, taps[r].length, names[r]);
                    for (int i = 0; i < gemm[r].length; i++) {
                        if (Math.abs(gemm[r][i] - taps[r][i]) > 1e-5 * Math.max(1.0, Math.abs(gemm[r][i]))) {
                            fail(names[r] + " " + Arrays.toString(s) + " steps " + steps + ": element " + i
                                    + " expected " + gemm[r][i] + " but was " + taps[r][i]);
                        }
                    }
                }
            }
        }
    }
}
