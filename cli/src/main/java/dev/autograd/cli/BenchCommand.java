package dev.autograd.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code autograd bench <kernel>}: a quick in-process harness (warm-up, median of repeats).
 * Every benchmark is a subcommand registered in the one list below; JMH in {@code bench/} gives the
 * reported numbers.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = "Measure a kernel or a training step (warm-up, then the median of repeats).",
        subcommands = {
            // benchmarks register here, one line each
            MatmulBench.class,
            AddBench.class,
            Conv2dBench.class,
            ResNetStepBench.class,
        })
final class BenchCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing benchmark: name one of "
                + String.join(", ", spec.commandLine().getSubcommands().keySet()));
    }
}
