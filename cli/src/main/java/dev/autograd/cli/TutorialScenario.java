package dev.autograd.cli;

import dev.autograd.AutogradException;
import dev.autograd.Generator;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * A cell of the PyTorch autograd tutorials: prints what the cell prints. Subclasses write the cell
 * line for line in {@link #cell(PrintWriter)}.
 */
abstract class TutorialScenario implements Callable<Integer> {

    @Option(names = "--seed", description = "Seed of the random values (default: PyTorch's default seed).")
    Long seed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public final Integer call() {
        if (seed != null) {
            Generator.current().manualSeed(seed);
        }
        PrintWriter out = spec.commandLine().getOut();
        cell(out);
        out.flush();
        return 0;
    }

    abstract void cell(PrintWriter out);

    /** The tutorial's deliberate mistake: prints Python's last traceback line; the scenario still exits 0. */
    static void lesson(PrintWriter out, Runnable r) {
        try {
            r.run();
        } catch (AutogradException e) {
            out.println(e.pythonType() + ": " + e.getMessage());
        }
    }

    /** Python's {@code print(a, b)}. */
    static void print(PrintWriter out, Object... values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(values[i] instanceof Boolean b ? (b ? "True" : "False") : String.valueOf(values[i]));
        }
        out.println(sb);
    }
}
