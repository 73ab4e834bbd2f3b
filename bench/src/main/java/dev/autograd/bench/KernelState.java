package dev.autograd.bench;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Parallel;
import java.util.SplittableRandom;

/** Helpers shared by the kernel benchmarks: the implementation by name, threads, random data. */
final class KernelState {

    private KernelState() {
    }

    /** {@code scalar} (the reference loops) or {@code simd} (the provider's choice). */
    static Kernels kernels(String impl, int threads) {
        Parallel.setThreads(threads);
        return switch (impl) {
            case "scalar" -> KernelProvider.scalar();
            case "simd" -> KernelProvider.get();
            default -> throw new IllegalArgumentException("impl must be scalar or simd, got " + impl);
        };
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        return x;
    }
}
