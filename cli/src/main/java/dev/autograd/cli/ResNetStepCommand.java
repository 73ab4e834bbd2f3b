package dev.autograd.cli;

import dev.autograd.AutogradException;
import dev.autograd.Generator;
import dev.autograd.Profiler;
import dev.autograd.Tensor;
import dev.autograd.io.StateDicts;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Parallel;
import dev.autograd.nn.ResNet;
import dev.autograd.nn.ResNetStep;
import java.nio.file.Path;
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
 *
 * <p>Files (docs/weights.md): {@code --weights} loads a state_dict instead of the random init,
 * {@code --data} takes {@code data} and {@code labels} from a file instead of {@code rand}, and
 * {@code --dump} writes what to diff against PyTorch after the last step.
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

    @Option(names = "--weights", paramLabel = "FILE", description = "Load the model's state_dict (num_batches_tracked "
            + "included) from a .pth or .safetensors file instead of the random init; the base width and the class "
            + "count come from its conv1.weight and fc.weight (64 and 1000 for torchvision's resnet18).")
    Path weightsFile;

    @Option(names = "--data", paramLabel = "FILE", description = "Take data [N, 3, H, W] and labels [N, classes] from "
            + "the tensors 'data' and 'labels' of a .safetensors or .pth file instead of rand(); they set batch and size.")
    Path dataFile;

    @Option(names = "--dump", paramLabel = "FILE", description = "After the last step, write prediction and loss (of "
            + "the last forward), grad.<name>, param.<name> (after the step) and buffer.<name> as safetensors, "
            + "with PyTorch's names.")
    Path dumpFile;

    private String dataDescription;

    enum KernelChoice { auto, simd, scalar }

    @Option(names = "--kernels", defaultValue = "auto", description = "auto, simd or scalar (default: ${DEFAULT-VALUE}). "
            + "auto takes the scalar kernels for a single step in a fresh JVM: it ends before the JIT has compiled the "
            + "Vector API code, which runs many times slower than plain loops until then; SIMD otherwise.")
    KernelChoice kernels;

    /** True when auto chose the scalar kernels for a cold single step. */
    private boolean coldScalar;

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
        chooseKernels(warm + steps);
        ResNetStep scenario = weightsFile == null && dataFile == null ? new ResNetStep(batch, size, seed) : fromFiles();
        if (dataDescription == null) {
            dataDescription = String.format("data rand(%d, 3, %d, %d), labels rand(%d, 1000)", batch, size, size, batch);
        }

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
        if (dumpFile != null) {
            dump(scenario);
        }
        return 0;
    }

    /** The scenario with --weights and/or --data, built in ResNetStep's order: seed, model, data, labels. */
    private ResNetStep fromFiles() {
        if (dataFile != null && (matched("--batch") || matched("--size"))) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--data sets the batch and size: drop --batch and --size");
        }
        Generator.current().manualSeed(seed);
        Map<String, Tensor> weights = weightsFile == null ? null : StateDicts.load(weightsFile);
        ResNet model = weights == null ? ResNet.resnet18() : resnetFor(weights);
        if (weights != null) {
            model.loadStateDict(weights);
        }
        int classes = model.fc.stateDict().get("weight").shape()[0];
        Tensor data;
        Tensor labels;
        if (dataFile != null) {
            StateDicts.Batch b = StateDicts.loadBatch(dataFile);
            data = b.data();
            labels = b.labels();
            int[] d = data.shape();
            if (d.length != 4 || d[1] != 3) {
                throw new AutogradException(dataFile + ": 'data' must be images [N, 3, H, W], it is " + Arrays.toString(d));
            }
            if (labels.dtype() != dev.autograd.DType.FLOAT32 || !Arrays.equals(labels.shape(), new int[] {d[0], classes})) {
                throw new AutogradException(dataFile + ": 'labels' must be float targets [" + d[0] + ", " + classes
                        + "] (the loss is (prediction - labels).sum()), it is " + labels.dtype() + " "
                        + Arrays.toString(labels.shape()));
            }
            batch = d[0];
            size = d[2];
            dataDescription = "data " + dataFile + " " + Arrays.toString(d) + ", labels " + Arrays.toString(labels.shape());
        } else {
            data = Tensor.rand(batch, 3, size, size);
            labels = Tensor.rand(batch, classes);
            dataDescription = String.format("data rand(%d, 3, %d, %d), labels rand(%d, %d)", batch, size, size, batch, classes);
        }
        return new ResNetStep(model, data, labels);
    }

    /** torchvision's resnet18, or the same structure at the width and class count of a state_dict. */
    private static ResNet resnetFor(Map<String, Tensor> state) {
        Tensor conv1 = state.get("conv1.weight");
        Tensor fc = state.get("fc.weight");
        if (conv1 == null || conv1.shape().length != 4 || fc == null || fc.shape().length != 2) {
            return ResNet.resnet18(); // loadStateDict then says what is missing
        }
        return new ResNet(new int[] {2, 2, 2, 2}, fc.shape()[0], conv1.shape()[0]);
    }

    /** {@code --dump}: the last step's tensors under PyTorch's names, to diff against PyTorch. */
    private void dump(ResNetStep scenario) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("prediction", scenario.lastPrediction);
        out.put("loss", scenario.lastLoss);
        scenario.model.namedParameters().forEach((name, p) -> {
            if (p.grad() != null) {
                out.put("grad." + name, p.grad());
            }
        });
        scenario.model.namedParameters().forEach((name, p) -> out.put("param." + name, p.detach()));
        scenario.model.namedBuffers().forEach((name, b) -> out.put("buffer." + name, b.detach()));
        StateDicts.save(dumpFile, out);
    }

    private boolean matched(String option) {
        return spec.commandLine().getParseResult() != null && spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /**
     * Applies --kernels before the engine first asks {@link KernelProvider} (once per JVM). auto leaves an
     * explicit {@code -Dautograd.simd} alone and does nothing when the kernels were already chosen.
     */
    private void chooseKernels(int totalSteps) {
        String property = KernelProvider.SIMD_PROPERTY;
        if (kernels == KernelChoice.auto) {
            if (totalSteps == 1 && System.getProperty(property) == null) {
                System.setProperty(property, "false");
                coldScalar = KernelProvider.get().vectorBitSize() == 0;
                System.clearProperty(property);
            }
            return;
        }
        boolean simd = kernels == KernelChoice.simd;
        String previous = System.getProperty(property);
        System.setProperty(property, Boolean.toString(simd));
        boolean actual = KernelProvider.get().vectorBitSize() > 0;
        if (previous == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, previous);
        }
        if (actual != simd) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--kernels " + kernels + ": this JVM already runs the "
                    + KernelProvider.get().name() + " kernels" + (simd ? " (is jdk.incubator.vector missing?)" : ""));
        }
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
            out.printf("resnet18%s, train mode, %s, SGD(lr=1e-2, momentum=0.9); "
                    + "%d thread%s, kernels %s%n", weightsFile == null ? "" : " from " + weightsFile, dataDescription,
                    Parallel.threads(),
                    Parallel.threads() == 1 ? "" : "s", k.name() + (coldScalar ? " (auto: one step; --kernels simd to force)" : ""));
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
