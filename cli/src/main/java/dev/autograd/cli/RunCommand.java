package dev.autograd.cli;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code autograd run <scenario>}. Every scenario is a subcommand registered in the one list below.
 */
@Command(name = "run",
        mixinStandardHelpOptions = true,
        description = "Run a scenario: a tutorial cell, the ResNet-18 training step, fine-tuning.",
        subcommands = {
            // scenarios register here, one line each
            QGradientScenario.class,
            DagExclusionScenario.class,
            MeanGradScenario.class,
            RequiresGradFlagScenario.class,
            VjpScenario.class,
            ChainRuleScenario.class,
            NoGradScenario.class,
            AccumulateScenario.class,
            NoGradErrorScenario.class,
            ResNetStepCommand.class,
            FinetuneCommand.class,
            SoakCommand.class,
        })
final class RunCommand implements Callable<Integer> {

    @Option(names = "--list", description = "List every scenario with a one-line description.")
    boolean list;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (!list) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "Missing scenario: name one, or use --list to see them");
        }
        var out = spec.commandLine().getOut();
        Map<String, CommandLine> scenarios = spec.commandLine().getSubcommands();
        int width = scenarios.keySet().stream().mapToInt(String::length).max().orElse(0);
        for (Map.Entry<String, CommandLine> e : scenarios.entrySet()) {
            String[] description = e.getValue().getCommandSpec().usageMessage().description();
            out.printf("%-" + Math.max(width, 1) + "s  %s%n", e.getKey(), description.length > 0 ? description[0] : "");
        }
        out.flush();
        return 0;
    }
}
