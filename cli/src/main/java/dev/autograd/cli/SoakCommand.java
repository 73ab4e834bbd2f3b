package dev.autograd.cli;

import dev.autograd.Generator;
import dev.autograd.Node;
import dev.autograd.Tensor;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Parallel;
import dev.autograd.nn.ResNet;
import dev.autograd.optim.SGD;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code autograd run soak}: the resnet-step training step repeated many times, with the heap measured
 * after a full GC every {@code --every} steps. Memory is flat when the graph of each step and the
 * tensors it saved are released after backward: the heap after GC at the last step must then be within
 * {@code --tolerance} of the heap at the first sample after warm-up (step {@code --every}). Also checks
 * that the first step's graph was collected. Run the full soak with {@code tools/soak.sh}
 * (1,000 steps, B=1, S=64, {@code -Xmx384m}).
 *
 * <p>Exit 0 when memory is flat, 1 when it grew (the last line says by how much).
 */
@Command(name = "soak",
        mixinStandardHelpOptions = true,
        description = {"Long run: repeats the resnet-step training step, printing the heap after a full GC every "
                + "--every steps; fails (exit 1) if the last sample exceeds the first by more than --tolerance.",
            "The full run is tools/soak.sh: 1,000 steps, B=1, S=64, under -Xmx384m."})
final class SoakCommand implements Callable<Integer> {

    @Option(names = "--steps", defaultValue = "1000", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--every", defaultValue = "100", description = "Measure the heap every N steps (default: ${DEFAULT-VALUE}).")
    int every;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--size", defaultValue = "64", description = "Image size (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--width", defaultValue = "64",
            description = "ResNet-18's base width: 64 is torchvision's resnet18; smaller for quick checks (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--threads", description = "Kernel threads (default: the available processors).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the weights, data and labels (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tolerance", defaultValue = "0.05",
            description = "Allowed growth of the heap after GC, last sample over first (default: ${DEFAULT-VALUE}).")
    double tolerance;

    @Option(names = "--log", description = "Also append each sample as a line of JSON to this file.")
    Path log;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One heap measurement. */
    record Sample(int step, long heapUsed, long heapCommitted, long rss, double msPerStep, float loss) {
        String json() {
            return String.format(Locale.ROOT, "{\"step\":%d,\"heap_used\":%d,\"heap_committed\":%d,\"rss\":%d,"
                    + "\"ms_per_step\":%.1f,\"loss\":%s}", step, heapUsed, heapCommitted, rss, msPerStep, StepTimes.json(loss));
        }
    }

    @Override
    public Integer call() throws Exception {
        for (var o : new Object[][] {{"--steps", steps}, {"--every", every}, {"--batch", batch}, {"--size", size},
            {"--width", width}}) {
            if ((int) o[1] < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), o[0] + " must be at least 1, got " + o[1]);
            }
        }
        if (every > steps) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--every (" + every + ") must not exceed --steps (" + steps + ")");
        }
        if (!(tolerance >= 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--tolerance must be at least 0, got " + tolerance);
        }
        if (threads != null) {
            if (threads < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
            }
            Parallel.setThreads(threads);
        }
        if (log != null) {
            try { // fail now, not after the first sample
                Files.writeString(log, "", java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE);
            } catch (java.io.IOException e) {
                throw new java.io.IOException(log + ": cannot write the log ("
                        + (e instanceof java.nio.file.NoSuchFileException ? "No such file or directory" : e.getMessage()) + ")");
            }
        }
        var out = spec.commandLine().getOut();
        Generator.current().manualSeed(seed);
        ResNet model = new ResNet(new int[] {2, 2, 2, 2}, 1000, width);
        model.train();
        Tensor data = Tensor.rand(batch, 3, size, size);
        Tensor labels = Tensor.rand(batch, 1000);
        SGD optimizer = new SGD(model.parameters(), 1e-2, 0.9);
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        out.printf(Locale.ROOT, "soak: resnet18 (width %d), data rand(%d, 3, %d, %d), SGD(lr=1e-2, momentum=0.9), "
                + "%d steps, %d thread%s, kernels %s, max heap %d MiB%n", width, batch, size, size, steps,
                Parallel.threads(), Parallel.threads() == 1 ? "" : "s", KernelProvider.get().name(),
                Runtime.getRuntime().maxMemory() >> 20);
        out.flush();

        List<Sample> samples = new ArrayList<>();
        WeakReference<Node> firstGraph = null;
        int firstNonFinite = -1;
        long since = System.nanoTime();
        for (int i = 1; i <= steps; i++) {
            optimizer.zeroGrad();
            Tensor prediction = model.forward(data);
            Tensor loss = prediction.sub(labels).sum();
            if (i == 1) {
                firstGraph = new WeakReference<>(loss.gradFn());
            }
            loss.backward();
            optimizer.step();
            float value = loss.item();
            if (firstNonFinite < 0 && !Float.isFinite(value)) {
                firstNonFinite = i;
            }
            if (i % every == 0) {
                double ms = (System.nanoTime() - since) / 1e6 / every;
                prediction = null;
                loss = null;
                gc(memory);
                var heap = memory.getHeapMemoryUsage();
                Sample s = new Sample(i, heap.getUsed(), heap.getCommitted(), rss(), ms, value);
                samples.add(s);
                out.printf(Locale.ROOT, "step %5d: heap after GC %8.2f MiB (committed %6.1f MiB), RSS %6.1f MiB, "
                        + "%7.1f ms/step, loss %s%n", i, mib(s.heapUsed), mib(s.heapCommitted), mib(s.rss), ms,
                        StepTimes.json(value));
                out.flush();
                if (log != null) {
                    Files.writeString(log, s.json() + "\n", java.nio.file.StandardOpenOption.CREATE,
                            java.nio.file.StandardOpenOption.APPEND);
                }
                since = System.nanoTime();
            }
        }
        gc(memory);
        boolean graphFreed = firstGraph.get() == null;
        Sample first = samples.get(0);
        Sample last = samples.get(samples.size() - 1);
        double ratio = (double) last.heapUsed / first.heapUsed;
        boolean flat = ratio <= 1 + tolerance;
        if (firstNonFinite > 0) {
            out.printf("note: the loss became non-finite at step %d (the tutorial's step with random labels diverges)%n",
                    firstNonFinite);
        }
        out.printf("graph of step 1 collected: %s%n", graphFreed ? "yes" : "NO");
        out.printf(Locale.ROOT, "heap after GC at step %d / step %d: %.2f / %.2f MiB = %.4f (limit %.4f): %s%n",
                last.step, first.step, mib(last.heapUsed), mib(first.heapUsed), ratio, 1 + tolerance,
                flat && graphFreed ? "FLAT" : "GREW");
        out.flush();
        return flat && graphFreed ? 0 : 1;
    }

    /** Full collections until the used heap stops shrinking (at most 5), so samples compare live sets. */
    static void gc(MemoryMXBean memory) {
        long before = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            memory.gc();
            long used = memory.getHeapMemoryUsage().getUsed();
            if (used >= before) {
                break;
            }
            before = used;
        }
    }

    /** Resident set size from /proc (0 where there is none). */
    static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (Exception ignored) {
            // not Linux: RSS is reported as 0
        }
        return 0;
    }

    private static double mib(long bytes) {
        return bytes / 1048576.0;
    }
}
