package dev.autograd.cli;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Parallel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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

    enum Clock { wall, cpu }

    @Option(names = "--threads", paramLabel = "T", description = "Kernel threads (default: available processors).")
    Integer threads;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
            description = "text or json (one JSON object on stdout). Default: ${DEFAULT-VALUE}.")
    Format format;

    @Option(names = "--repeats", paramLabel = "R", defaultValue = "15",
            description = "Timed repeats; the median is reported. Default: ${DEFAULT-VALUE}.")
    int repeats;

    @Option(names = "--warmup", paramLabel = "SECONDS", defaultValue = "1.0",
            description = "Minimum warm-up time before timing; warm-up goes on while times still improve. Default: ${DEFAULT-VALUE}.")
    double warmup;

    @Option(names = "--impl", paramLabel = "IMPL", defaultValue = "simd",
            description = "simd (the provider's choice) or scalar (the reference loops). Default: ${DEFAULT-VALUE}.")
    Impl impl;

    @Option(names = "--clock", paramLabel = "CLOCK", defaultValue = "wall",
            description = "wall (elapsed time) or cpu (the calling thread's CPU time: with --threads 1 all the work"
                    + " runs on it, and the figure barely moves when other jobs share the cores). Default: ${DEFAULT-VALUE}.")
    Clock clock;

    @Option(names = "--paced",
            description = "For side-by-side runs (bench/compare): after warm-up print 'ready', then obey stdin line by"
                    + " line ('warm SECONDS': untimed repeats; 'go N': the next N timed repeats) and print 'done' after"
                    + " each; the result follows as usual.")
    boolean paced;

    private java.io.PrintWriter pacedOut;

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
        if (clock == Clock.cpu && threads() != 1) {
            throw new CommandLine.ParameterException(cli, "--clock cpu needs --threads 1 (other threads' work is not counted)");
        }
        pacedOut = cli.getOut();
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

    private long now() {
        return clock == Clock.cpu ? CPU.getCurrentThreadCpuTime() : System.nanoTime();
    }

    /**
     * A warm-up window: at least 5 runs and this long, since the compiler's clock only moves when a
     * compilation ends (C2 takes hundreds of milliseconds over a big kernel).
     */
    private static final long WINDOW_NANOS = 250_000_000L;

    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    /**
     * Warms up, then returns the median of the timed repeats, in seconds. Warm-up runs for at least
     * {@code --warmup} seconds and then until the JIT has settled: windows of runs (at least 5 and
     * 0.25 s) until the best time of a window no longer improves on the previous one by 5% and the
     * JIT finished no compilation during the window (the Vector API is many times slower before C2
     * compiles it, and C2 compiles late when the cores are shared), at most 20x the warm-up time.
     * With windows of 5 runs and the times alone, a 256 x 256 x 1152 product stopped warming after
     * 1 s at 23-29 GFLOPS on one or two threads, its compiled code still to come (55 and 66-68 now).
     */
    double medianSeconds(Runnable op) {
        long start = System.nanoTime();
        long minEnd = start + (long) (warmup * 1e9);
        long maxEnd = start + (long) (20 * warmup * 1e9);
        double previousBest = Double.MAX_VALUE;
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        boolean jitClock = jit != null && jit.isCompilationTimeMonitoringSupported();
        while (warmup > 0) {
            double best = Double.MAX_VALUE;
            long compiled = jitClock ? jit.getTotalCompilationTime() : 0;
            long windowEnd = System.nanoTime() + WINDOW_NANOS;
            for (int i = 0; i < 5 || System.nanoTime() < windowEnd; i++) {
                long t0 = now();
                op.run();
                best = Math.min(best, (now() - t0) * 1e-9);
            }
            long now = System.nanoTime();
            boolean quiet = !jitClock || jit.getTotalCompilationTime() == compiled;
            boolean settled = best >= 0.95 * previousBest && quiet;
            previousBest = Math.min(previousBest, best);
            if (now >= maxEnd || now >= minEnd && settled) {
                break;
            }
        }
        double[] times = new double[repeats];
        repeat(repeats, op, r -> {
            long t0 = now();
            op.run();
            times[r] = (now() - t0) * 1e-9;
        });
        Arrays.sort(times);
        return repeats % 2 == 1 ? times[repeats / 2] : (times[repeats / 2 - 1] + times[repeats / 2]) / 2;
    }

    /**
     * Runs the timed repeats: {@code timed.accept(i)} for i in [0, count), each timing one repeat.
     * With {@code --paced} a driver (bench/compare) holds two engines' processes side by side and
     * lets them take short turns, so that both see the same phases of a shared host (whose speed
     * here changes by a third within minutes). The process prints {@code ready}, then obeys one line
     * of stdin at a time and prints {@code done} after each: {@code warm S} runs {@code untimed}
     * until S seconds have passed (at least once: caches and spinning threads back after the other
     * engine's turn), {@code go N} runs the next N timed repeats back to back.
     */
    void repeat(int count, Runnable untimed, java.util.function.IntConsumer timed) {
        if (!paced) {
            for (int i = 0; i < count; i++) {
                timed.accept(i);
            }
            return;
        }
        pacedOut.println("ready");
        pacedOut.flush();
        BufferedReader turns = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int done = 0;
        while (done < count) {
            String line;
            try {
                line = turns.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException("--paced: cannot read stdin", e);
            }
            if (line == null) {
                throw new IllegalStateException("--paced: stdin ended after " + done + " of " + count + " timed repeats");
            }
            String[] turn = line.strip().split("\\s+");
            double seconds = turn.length == 2 && turn[0].equals("warm") ? seconds(turn[1]) : -1;
            // N in digits, as bench/pacing.py takes it
            int n = turn.length == 2 && turn[0].equals("go") && turn[1].matches("[0-9]{1,9}") ? Integer.parseInt(turn[1]) : -1;
            if (seconds >= 0) {
                long end = System.nanoTime() + (long) (seconds * 1e9);
                do {
                    untimed.run();
                } while (System.nanoTime() < end);
            } else if (n >= 1 && n <= count - done) {
                for (int i = 0; i < n; i++) {
                    timed.accept(done++);
                }
            } else {
                throw new IllegalStateException("--paced: expected 'warm SECONDS' or 'go N' (N at most the " + (count - done)
                        + " repeats left) on stdin, got '" + line.strip() + "'");
            }
            pacedOut.println("done");
            pacedOut.flush();
        }
    }

    /** A finite number of seconds, or -1. */
    private static double seconds(String number) {
        try {
            double v = Double.parseDouble(number);
            return Double.isFinite(v) ? v : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static String num(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
