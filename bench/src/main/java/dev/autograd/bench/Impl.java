package dev.autograd.bench;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Parallel;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The kernels the engine runs on ({@code impl}) and the kernel threads, shared by the op and step
 * benchmarks. The engine picks its kernels once per JVM ({@link KernelProvider#get()}), so
 * {@code impl} sets {@code autograd.simd} before anything touches the engine: every parameter
 * combination runs in its own forked JVM, and a run with {@code -f 0} that would mix them fails loudly.
 */
@State(Scope.Benchmark)
public class Impl {

    @Param({"simd", "scalar"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    @Setup(Level.Trial)
    public void setUp() {
        boolean simd = impl.equals("simd");
        if (!simd && !impl.equals("scalar")) {
            throw new IllegalArgumentException("impl is simd or scalar, got " + impl);
        }
        System.setProperty(KernelProvider.SIMD_PROPERTY, Boolean.toString(simd));
        boolean actual = KernelProvider.get().vectorBitSize() > 0;
        if (actual != simd) {
            throw new IllegalStateException("this JVM already runs the " + KernelProvider.get().name()
                    + " kernels; impl=" + impl + " needs a fresh fork (do not use -f 0 with several impl values)");
        }
        Parallel.setThreads(threads);
    }
}
