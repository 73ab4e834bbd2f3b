package dev.autograd.cli;

import dev.autograd.io.TensorInfo;
import dev.autograd.io.Weights;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code autograd inspect FILE}: a weights file's tensors and parameter count, without reading the data. */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        description = {"List a weights file's tensors (name, dtype, shape) and the total parameter count.",
            "Reads safetensors and PyTorch .pth files (zip and legacy); the format is found from the content."})
final class InspectCommand implements Callable<Integer> {

    /** BatchNorm's buffers: in a state_dict, but not parameters. */
    private static final List<String> BUFFER_SUFFIXES = List.of("running_mean", "running_var", "num_batches_tracked");

    @Parameters(paramLabel = "FILE", description = "A .safetensors or .pth file.")
    Path file;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Weights.Format format = Weights.detect(file);
        List<TensorInfo> tensors = Weights.list(file);
        var out = spec.commandLine().getOut();
        int nameWidth = Math.max(4, tensors.stream().mapToInt(t -> t.name().length()).max().orElse(0));
        out.printf("%s: %s%n", file, format.description());
        out.printf("%-" + nameWidth + "s  %-8s  %s%n", "name", "dtype", "shape");
        long values = 0;
        long parameters = 0;
        for (TensorInfo t : tensors) {
            out.printf("%-" + nameWidth + "s  %-8s  %s%n", t.name(), t.dtype().torchName(), Arrays.toString(t.shape()));
            values += t.numel();
            if (BUFFER_SUFFIXES.stream().noneMatch(s -> t.name().equals(s) || t.name().endsWith("." + s))) {
                parameters += t.numel();
            }
        }
        out.printf("%,d tensors, %,d values; %,d parameters (not counting BatchNorm's running_mean, running_var, "
                + "num_batches_tracked)%n", tensors.size(), values, parameters);
        out.flush();
        return 0;
    }
}
