package dev.autograd.bench;

import dev.autograd.Tensor;
import dev.autograd.nn.Functional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ops with autograd, forward and backward as a user runs them: a leaf that requires grad, the op, then
 * {@code backward} of its output with a gradient of ones, grads set to null before each call (PyTorch's
 * {@code zero_grad(set_to_none=True)}), so each call does the same work. Shapes are ResNet-18's.
 * matmul and conv2d report calls per second and, as the {@code gflop} secondary result, GFLOPS of forward
 * plus backward; batch norm and relu report microseconds per call.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar OpsBenchmark
 * java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar OpsBenchmark.conv2d -p impl=simd -p threads=2
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class OpsBenchmark {

    /** {@code m x k} times {@code k x n}, forward C = AB, backward dA = dC B^T and dB = A^T dC: 3 GEMMs. */
    @State(Scope.Benchmark)
    public static class Matmul {
        @Param({"64x256x576", "512x4x4608", "256x256x256", "1024x1024x1024"})
        public String mnk;
        Tensor a;
        Tensor b;
        Tensor ones;
        double gflop;

        @Setup(Level.Trial)
        public void setUp(Impl impl) {
            int[] s = dims(mnk);
            a = Tensor.rand(s[0], s[2]).requiresGrad_();
            b = Tensor.rand(s[2], s[1]).requiresGrad_();
            ones = Tensor.ones(s[0], s[1]);
            gflop = 3 * 2.0 * s[0] * s[1] * s[2] / 1e9;
        }
    }

    /** A ResNet-18 convolution {@code BxCxHxW-O-kernel-stride-padding}, input and weight requiring grad. */
    @State(Scope.Benchmark)
    public static class Conv {
        @Param({"1x3x64x64-64-7-2-3", "1x64x16x16-64-3-1-1", "1x128x8x8-128-3-1-1", "1x256x4x4-256-3-1-1",
            "1x512x2x2-512-3-1-1", "16x64x16x16-64-3-1-1"})
        public String layer;
        Tensor x;
        Tensor w;
        Tensor ones;
        int stride;
        int padding;
        double gflop;

        @Setup(Level.Trial)
        public void setUp(Impl impl) {
            String[] p = layer.split("-");
            int[] in = dims(p[0]);
            int out = Integer.parseInt(p[1]);
            int k = Integer.parseInt(p[2]);
            stride = Integer.parseInt(p[3]);
            padding = Integer.parseInt(p[4]);
            x = Tensor.rand(in).requiresGrad_();
            w = Tensor.rand(out, in[1], k, k).requiresGrad_();
            Tensor y = Functional.conv2d(x.detach(), w.detach(), null, stride, padding);
            ones = Tensor.onesLike(y);
            // forward, input gradient and weight gradient: one GEMM each of O x (C k k) x (B oH oW)
            gflop = 3 * 2.0 * out * in[1] * k * k * y.numel() / out / 1e9;
        }
    }

    /** Training-mode BatchNorm2d over {@code BxCxHxW} with affine weight and bias and running statistics. */
    @State(Scope.Benchmark)
    public static class Norm {
        @Param({"1x64x32x32", "1x128x8x8", "16x64x16x16"})
        public String shape;
        Tensor x;
        Tensor weight;
        Tensor bias;
        Tensor runningMean;
        Tensor runningVar;
        Tensor ones;

        @Setup(Level.Trial)
        public void setUp(Impl impl) {
            int[] s = dims(shape);
            x = Tensor.rand(s).requiresGrad_();
            weight = Tensor.ones(s[1]).requiresGrad_();
            bias = Tensor.zeros(s[1]).requiresGrad_();
            runningMean = Tensor.zeros(s[1]);
            runningVar = Tensor.ones(s[1]);
            ones = Tensor.ones(s);
        }
    }

    /** ReLU over a ResNet-18 activation. */
    @State(Scope.Benchmark)
    public static class Act {
        @Param({"1x64x32x32", "16x64x16x16"})
        public String shape;
        Tensor x;
        Tensor ones;

        @Setup(Level.Trial)
        public void setUp(Impl impl) {
            int[] s = dims(shape);
            x = Tensor.rand(s).sub(0.5f).detach().requiresGrad_();
            ones = Tensor.ones(s);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput) // so that the gflop counter reads as GFLOPS
    @OutputTimeUnit(TimeUnit.SECONDS)
    public Tensor matmul(Matmul s, Flops flops) {
        s.a.setGrad(null);
        s.b.setGrad(null);
        s.a.matmul(s.b).backward(s.ones);
        flops.gflop += s.gflop;
        return s.a.grad();
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput) // so that the gflop counter reads as GFLOPS
    @OutputTimeUnit(TimeUnit.SECONDS)
    public Tensor conv2d(Conv s, Flops flops) {
        s.x.setGrad(null);
        s.w.setGrad(null);
        Functional.conv2d(s.x, s.w, null, s.stride, s.padding).backward(s.ones);
        flops.gflop += s.gflop;
        return s.w.grad();
    }

    @Benchmark
    public Tensor batchNorm(Norm s) {
        s.x.setGrad(null);
        s.weight.setGrad(null);
        s.bias.setGrad(null);
        Functional.batchNorm(s.x, s.runningMean, s.runningVar, s.weight, s.bias, true, 0.1f, 1e-5f).backward(s.ones);
        return s.x.grad();
    }

    @Benchmark
    public Tensor relu(Act s) {
        s.x.setGrad(null);
        s.x.relu().backward(s.ones);
        return s.x.grad();
    }

    static int[] dims(String s) {
        String[] parts = s.split("x");
        int[] d = new int[parts.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = Integer.parseInt(parts[i]);
        }
        return d;
    }
}
