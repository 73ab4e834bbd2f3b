package dev.autograd.bench;

import dev.autograd.nn.ResNetStep;
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
 * The end-to-end training step of the autograd tutorial on ResNet-18 ({@link ResNetStep}, the code
 * behind {@code autograd run resnet-step}): forward, loss, backward, SGD(lr=1e-2, momentum=0.9) step.
 * Milliseconds per step. A step is about 3x the forward's FLOPs: 6 x 1.814 GMAC x B x (S/224)^2,
 * 14.2 GFLOP at B=16, S=64 (torchvision's 1.814 GMACs at 224x224), so GFLOPS = that / seconds.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar ResNetStepBenchmark -p impl=simd
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ResNetStepBenchmark {

    @Param({"1", "16"})
    public int batch;

    @Param({"64"})
    public int size;

    ResNetStep scenario;

    @Setup(Level.Trial)
    public void setUp(Impl impl) {
        scenario = new ResNetStep(batch, size, 0);
    }

    @Benchmark
    public float step() {
        return scenario.step().loss();
    }
}
