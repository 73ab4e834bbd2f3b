package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.autograd.Generator;
import dev.autograd.Tensor;
import dev.autograd.kernels.KernelProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * First layers whose forward runs straight from the images (the kernels' {@code conv2dDirect})
 * and their weight gradient from the output gradient as it is (the kernels' {@code conv2dTapsWeightGrad})
 * against the GEMM convolution on the same inputs: output, and the input, weight and bias gradients
 * of a backward through them. (ResNetStepTest checks conv1 this way against PyTorch.)
 */
class DirectConvTest {

    @AfterEach
    void restore() {
        Functional.directConvs = true;
    }

    static float[][] run(boolean direct, int[] s) {
        Functional.directConvs = direct;
        Generator gen = new Generator(31);
        Tensor x = Tensor.rand(gen, s[0], s[1], s[3], s[4]).sub(0.5f).requiresGrad_();
        Tensor w = Tensor.rand(gen, s[2], s[1], s[5], s[5]).sub(0.5f).requiresGrad_();
        Tensor b = Tensor.rand(gen, s[2]).requiresGrad_();
        Tensor y = Functional.conv2d(x, w, b, s[7], s[6]);
        y.backward(Tensor.rand(new Generator(32), y.shape()).sub(0.5f));
        return new float[][] {y.detach().toArray(), x.grad().toArray(), w.grad().toArray(), b.grad().toArray()};
    }

    /**
     * batch, channels, outC, height, width, kernel, pad, stride: conv1 of ResNet-18 and a 3x3 RGB
     * layer (the weight gradient image by image), a grey layer of two images (too few to split).
     */
    @Test
    void directForwardMatchesTheGemm() {
        int[][] shapes = {{5, 3, 64, 64, 64, 7, 3, 2}, {6, 3, 10, 40, 40, 3, 1, 1}, {2, 1, 7, 35, 35, 5, 2, 1}};
        for (int[] s : shapes) {
            int outW = (s[4] + 2 * s[6] - s[5]) / s[7] + 1;
            assertEquals(true, KernelProvider.get().directPays(s[1], s[5], s[5], s[7], s[7], 1, 1, outW));
            float[][] direct = run(true, s);
            float[][] gemm = run(false, s);
            double tol = 4e-6 * Math.sqrt(s[1] * s[5] * s[5]);
            for (int i = 0; i < direct[0].length; i++) {
                assertEquals(gemm[0][i], direct[0][i], tol, "output " + i);
            }
            // the input and bias gradients take the same path either way; the weight gradient reads
            // grad image by image instead of transposed
            assertArrayEquals(gemm[1], direct[1]);
            int positions = s[0] * direct[0].length / (s[0] * s[2]);
            double tolW = 4e-6 * Math.sqrt(s[0] * positions);
            for (int i = 0; i < direct[2].length; i++) {
                assertEquals(gemm[2][i], direct[2][i], tolW, "weight gradient " + i);
            }
            assertArrayEquals(gemm[3], direct[3]);
        }
    }
}
