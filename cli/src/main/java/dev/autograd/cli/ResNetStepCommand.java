package dev.autograd.cli;

import dev.autograd.Profiler;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Parallel;
import dev.autograd.nn.ResNetStep;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code autograd run resnet-step}: the training step of PyTorch's "A Gentle Introduction to
 * torch.autograd", timed per phase:
 * <pre>
 * model = torchvision.models.resnet18()            # train mode
 * data = torch.rand(1, 3, 64, 64); labels = torch.rand(1, 1000)
 * prediction = model(data)                          # forward
 * loss = (prediction - labels).sum()
 * loss.backward()                                   # backward
 * optim = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
 * optim.step()                                      # step
 * </pre>
 * Gradients are set to null before every step (PyTorch 2's zero_grad), so each step does the same work.
 */
@Command(name = "resnet-step",
        mixinStandardHelpOptions = true,
        description = {"The tutorial's ResNet-18 training step: forward, loss = (prediction - labels).sum(), backward, "
                + "SGD(lr=1e-2, momentum=0.9); prints the loss and the time of each phase.",
            "With --steps N: N timed steps after warm-up steps, medians reported."})
final class ResNetStepCommand implements Callable<Integer> {

    enum Format { text, json }

    @Option(names = "--batch", defaultValue = "1", description = "Batch size B of data rand(B, 3, S, S) (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--size", defaultValue = "64", description = "Image size S (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--steps", defaultValue = "1", description = "Timed steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", description = "Untimed steps before them (default: 3 when --steps > 1, else 0).")
    Integer warmup;

    @Option(names = "--threads", description = "Kernel threads (default: the available processors).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the weights, data and labels (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--format", defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--profile", description = "Then print where the time of the timed steps went, per layer "
            + "(forward, backward, calls, share of the step), as torch.profiler's key_averages.")
    boolean profile;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        checkPositive("--batch", batch);
        checkPositive("--size", size);
        checkPositive("--steps", steps);
        if (threads != null) {
            checkPositive("--threads", threads);
            Parallel.setThreads(threads);
        }
        int warm = warmup != null ? warmup : steps > 1 ? 3 : 0;
        if (warm < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--warmup must be at least 0, got " + warm);
        }
        ResNetStep scenario = new ResNetStep(batch, size, seed);

        List<Float> losses = new ArrayList<>();
        StepTimes times = new StepTimes();
        Profiler profiler = null;
        boolean bar = steps > 1 && StepTimes.stderrIsTerminal();
        try (var progress = new StepTimes.Progress(bar, warm + steps, "resnet-step")) {
            for (int i = 0; i < warm + steps; i++) {
                if (profile && i == warm) {
                    profiler = Profiler.start(scenario.model.namedParameters());
                }
                ResNetStep.Times t = scenario.step(profiler);
                if (i >= warm) {
                    losses.add(t.loss());
                    times.add(0, t.forwardNanos(), t.forwardNanos() + t.backwardNanos(), t.totalNanos());
                }
                progress.update(i + 1, i < warm ? "warm-up" : String.format("%.1f ms", t.totalNanos() / 1e6));
            }
        } finally {
            if (profiler != null) {
                profiler.close();
            }
        }
        print(losses, times, profiler);
        return 0;
    }

    private void checkPositive(String option, int value) {
        if (value < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " must be at least 1, got " + value);
        }
    }

    private void print(List<Float> losses, StepTimes t, Profiler profiler) {
        var out = spec.commandLine().getOut();
        Kernels k = KernelProvider.get();
        boolean simd = k.vectorBitSize() > 0;
        if (format == Format.json) {
            StringBuilder ls = new StringBuilder();
            for (float l : losses) {
                ls.append(ls.isEmpty() ? "" : ",").append(StepTimes.json(l));
            }
            out.println("{\"scenario\":\"resnet-step\",\"batch\":" + batch + ",\"size\":" + size + ",\"steps\":" + steps
                    + ",\"threads\":" + Parallel.threads() + ",\"simd\":" + simd + ",\"loss\":[" + ls + "]"
                    + ",\"forward_ms\":" + StepTimes.ms(StepTimes.median(t.forward))
                    + ",\"backward_ms\":" + StepTimes.ms(StepTimes.median(t.backward))
                    + ",\"step_ms\":" + StepTimes.ms(StepTimes.median(t.step))
                    + ",\"total_ms\":" + StepTimes.ms(StepTimes.median(t.total))
                    + (profiler == null ? "" : ",\"profile\":" + ProfileTable.json(profiler, t)) + "}");
        } else {
            out.printf("resnet18, train mode, data rand(%d, 3, %d, %d), labels rand(%d, 1000), SGD(lr=1e-2, momentum=0.9); "
                    + "%d thread%s, kernels %s%n", batch, size, size, batch, Parallel.threads(),
                    Parallel.threads() == 1 ? "" : "s", k.name());
            for (int i = 0; i < losses.size(); i++) {
                out.printf("step %d: loss %s  forward %.2f ms  backward %.2f ms  step %.2f ms  total %.2f ms%n", i + 1,
                        StepTimes.json(losses.get(i)), t.forward.get(i), t.backward.get(i), t.step.get(i), t.total.get(i));
            }
            if (losses.size() > 1) {
                out.printf("median of %d steps: forward %.2f ms  backward %.2f ms  step %.2f ms  total %.2f ms%n",
                        losses.size(), StepTimes.median(t.forward), StepTimes.median(t.backward),
                        StepTimes.median(t.step), StepTimes.median(t.total));
            }
            if (profiler != null) {
                ProfileTable.print(out, profiler, t);
            }
        }
        out.flush();
    }
}
