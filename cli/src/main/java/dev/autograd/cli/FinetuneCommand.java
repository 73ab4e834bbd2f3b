package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.kernels.Parallel;
import dev.autograd.nn.Functional;
import dev.autograd.nn.Linear;
import dev.autograd.nn.ResNet;
import dev.autograd.optim.SGD;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code autograd run finetune}: the tutorial's fine-tuning,
 * <pre>
 * model = torchvision.models.resnet18()
 * for param in model.parameters():
 *     param.requires_grad = False
 * model.fc = nn.Linear(512, 10)
 * optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
 * </pre>
 * then a few steps with cross-entropy on random data and labels. Prints which parameters received
 * gradients, checks that every frozen weight is bit-identical, and times a step beside a full
 * (nothing frozen) step of the same model, data and loss.
 */
@Command(name = "finetune",
        mixinStandardHelpOptions = true,
        description = {"The tutorial's fine-tuning: freeze resnet18, replace fc with Linear(512, 10), SGD over all "
                + "parameters; a few cross-entropy steps on random data.",
            "Prints the parameters that got gradients, checks the frozen ones are bit-identical, and compares the "
                + "step time with a full step."})
final class FinetuneCommand implements Callable<Integer> {

    @Option(names = "--batch", defaultValue = "4", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--size", defaultValue = "64", description = "Image size (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--steps", defaultValue = "3", description = "Fine-tuning steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "3",
            description = "Untimed steps before the timed ones (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--threads", description = "Kernel threads (default: the available processors).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the weights and data (default: ${DEFAULT-VALUE}).")
    long seed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        check("--batch", batch);
        check("--size", size);
        check("--steps", steps);
        if (warmup < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--warmup must be at least 0, got " + warmup);
        }
        if (threads != null) {
            check("--threads", threads);
            Parallel.setThreads(threads);
        }
        var out = spec.commandLine().getOut();
        dev.autograd.Generator.current().manualSeed(seed);

        ResNet model = ResNet.resnet18();
        for (Tensor p : model.parameters()) {
            p.requiresGrad_(false);
        }
        model.setChild("fc", new Linear(512, 10));
        SGD optimizer = new SGD(model.parameters(), 1e-2, 0.9);
        Map<String, float[]> frozen = new LinkedHashMap<>();
        long frozenValues = 0;
        for (var e : model.namedParameters().entrySet()) {
            if (!e.getValue().requiresGrad()) {
                frozen.put(e.getKey(), e.getValue().toArray());
                frozenValues += e.getValue().numel();
            }
        }
        List<Tensor[]> batches = new ArrayList<>();
        for (int i = 0; i < warmup + steps; i++) {
            batches.add(new Tensor[] {Tensor.rand(batch, 3, size, size), randomClasses(batch, 10)});
        }
        out.printf("resnet18 frozen (%d parameters, %,d values), fc = Linear(512, 10), SGD(lr=1e-2, momentum=0.9) over "
                + "all %d parameters; data rand(%d, 3, %d, %d), cross-entropy%n", frozen.size(), frozenValues,
                model.parameters().size(), batch, size, size);

        // the same step with nothing frozen, alternated step by step with the fine-tuning so that JIT
        // warm-up and machine drift hit both alike
        ResNet full = ResNet.resnet18();
        full.setChild("fc", new Linear(512, 10));
        SGD fullOptimizer = new SGD(full.parameters(), 1e-2, 0.9);
        StepTimes fine = new StepTimes();
        StepTimes all = new StepTimes();
        boolean bar = steps > 1 && StepTimes.stderrIsTerminal();
        try (var progress = new StepTimes.Progress(bar, batches.size(), "finetune + full step")) {
            for (int i = 0; i < batches.size(); i++) {
                float loss = step(model, optimizer, batches.get(i), i >= warmup ? fine : null);
                if (i >= warmup) {
                    lossValues.add(loss);
                }
                step(full, fullOptimizer, batches.get(i), i >= warmup ? all : null);
                progress.update(i + 1, "");
            }
        }
        for (int i = 0; i < fine.total.size(); i++) {
            out.printf("step %d: loss %s  %.2f ms%n", i + 1, StepTimes.json(lossValues.get(i)), fine.total.get(i));
        }
        List<String> withGrad = new ArrayList<>();
        model.namedParameters().forEach((name, p) -> {
            if (p.grad() != null) {
                withGrad.add(name);
            }
        });
        out.println("parameters that received gradients: " + String.join(", ", withGrad));
        int identical = 0;
        List<String> changed = new ArrayList<>();
        for (var e : frozen.entrySet()) {
            if (Arrays.equals(e.getValue(), model.namedParameters().get(e.getKey()).toArray())) {
                identical++;
            } else {
                changed.add(e.getKey());
            }
        }
        out.printf("frozen parameters bit-identical after %d steps: %d of %d%s%n", warmup + steps, identical, frozen.size(),
                changed.isEmpty() ? "" : " (changed: " + String.join(", ", changed) + ")");

        out.printf("median step: fine-tuning %.2f ms (forward %.2f, backward %.2f, step %.2f); full step %.2f ms "
                        + "(forward %.2f, backward %.2f, step %.2f): %.2fx%n",
                StepTimes.median(fine.total), StepTimes.median(fine.forward), StepTimes.median(fine.backward),
                StepTimes.median(fine.step), StepTimes.median(all.total), StepTimes.median(all.forward),
                StepTimes.median(all.backward), StepTimes.median(all.step),
                StepTimes.median(fine.total) / StepTimes.median(all.total));
        out.flush();
        boolean ok = changed.isEmpty() && withGrad.equals(List.of("fc.weight", "fc.bias"));
        return ok ? 0 : 1;
    }

    private final List<Float> lossValues = new ArrayList<>();

    /** One step on one batch; its phase times go to {@code times} unless null (warm-up). Returns the loss. */
    private static float step(ResNet model, SGD optimizer, Tensor[] batch, StepTimes times) {
        optimizer.zeroGrad();
        long t0 = System.nanoTime();
        Tensor loss = Functional.crossEntropy(model.forward(batch[0]), batch[1]);
        long t1 = System.nanoTime();
        loss.backward();
        long t2 = System.nanoTime();
        optimizer.step();
        long t3 = System.nanoTime();
        if (times != null) {
            times.add(t0, t1, t2, t3);
        }
        return loss.item();
    }

    /** Class indices uniform in [0, classes) from the default generator. */
    private static Tensor randomClasses(int n, int classes) {
        float[] u = Tensor.rand(n).toArray();
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) { // n labels
            labels[i] = Math.min(classes - 1, (long) (u[i] * classes));
        }
        return Tensor.ofLong(labels);
    }

    private void check(String option, int value) {
        if (value < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " must be at least 1, got " + value);
        }
    }
}
