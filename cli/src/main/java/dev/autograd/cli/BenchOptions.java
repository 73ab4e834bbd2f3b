package dev.autograd.cli;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Parallel;
import java.util.Arrays;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Options and the tiny harness every {@code autograd bench} subcommand shares: warm-up, then the
 * median of timed repeats. Numbers for reports come from JMH ({@code bench/}); this is the quick look.
 */
final class BenchOptions {

    enum Format { text, json }

    enum Impl { simd, scalar }

    @Option(names = "--threads", paramLabel = "T", description = "Kernel threads (default: available processors).")
    Integer threads;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
            description = "text or json (one JSON object on stdout). Default: ${DEFAULT-VALUE}.")
    Format format;

    @Option(names = "--repeats", paramLabel = "R", defaultValue = "15",
            description = "Timed repeats; the median is reported. Default: ${DEFAULT-VALUE}.")
    int repeats;

    @Option(names = "--warmup", paramLabel = "SECONDS", defaultValue = "1.0",
            description = "Warm-up time before timing (JIT compilation). Default: ${DEFAULT-VALUE}.")
    double warmup;

    @Option(names = "--impl", paramLabel = "IMPL", defaultValue = "simd",
            description = "simd (the provider's choice) or scalar (the reference loops). Default: ${DEFAULT-VALUE}.")
    Impl impl;

    /** Validates the shared options and applies the thread count; returns the kernels to time. */
    Kernels setUp(CommandLine cli) {
        if (threads != null && threads < 1) {
            throw new CommandLine.ParameterException(cli, "--threads must be >= 1, got " + threads);
        }
        if (repeats < 1) {
            throw new CommandLine.ParameterException(cli, "--repeats must be >= 1, got " + repeats);
        }
        if (!(warmup >= 0)) {
            throw new CommandLine.ParameterException(cli, "--warmup must be >= 0, got " + warmup);
        }
        Parallel.setThreads(threads());
        return impl == Impl.scalar ? KernelProvider.scalar() : KernelProvider.get();
    }

    int threads() {
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }

    static void requirePositive(CommandLine cli, String name, long value) {
        if (value < 1) {
            throw new CommandLine.ParameterException(cli, name + " must be >= 1, got " + value);
        }
    }

    /** Runs {@code op} for the warm-up time (at least twice), then returns the median of the repeats, in seconds. */
    double medianSeconds(Runnable op) {
        long warmupEnd = System.nanoTime() + (long) (warmup * 1e9);
        int warm = 0;
        while (warm < 2 || System.nanoTime() < warmupEnd) {
            op.run();
            warm++;
        }
        double[] times = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            long t0 = System.nanoTime();
            op.run();
            times[r] = (System.nanoTime() - t0) * 1e-9;
        }
        Arrays.sort(times);
        return repeats % 2 == 1 ? times[repeats / 2] : (times[repeats / 2 - 1] + times[repeats / 2]) / 2;
    }

    static String num(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
