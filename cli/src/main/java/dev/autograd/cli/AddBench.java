package dev.autograd.cli;

import dev.autograd.kernels.Kernels;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code autograd bench add}: out = a + b over n floats, in GB/s counting 12 bytes per element. */
@Command(name = "add", mixinStandardHelpOptions = true,
        description = "Elementwise out = a + b over n floats, in GB/s (12 bytes per element: two reads, one write).")
final class AddBench implements Callable<Integer> {

    @Option(names = "--n", defaultValue = "33554432", description = "Elements. Default: ${DEFAULT-VALUE} (32M).")
    int n;
    @Mixin
    BenchOptions options;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cli = spec.commandLine();
        BenchOptions.requirePositive(cli, "--n", n);
        Kernels kernels = options.setUp(cli);
        float[] a = MatmulBench.random(n, 1, cli);
        float[] b = MatmulBench.random(n, 2, cli);
        float[] out = new float[n];
        double seconds = options.medianSeconds(() -> kernels.binary(Kernels.Binary.ADD, a, 0, b, 0, out, 0, n));
        double gbps = 12.0 * n / seconds / 1e9;
        var w = cli.getOut();
        if (options.format == BenchOptions.Format.json) {
            w.println("{\"kernel\":\"add\",\"n\":" + n + ",\"threads\":" + options.threads()
                    + ",\"gbps\":" + BenchOptions.num(gbps) + "}");
        } else {
            w.println("add n=" + n + " (" + kernels.name() + ", " + options.threads() + " threads): "
                    + BenchOptions.num(gbps) + " GB/s, " + BenchOptions.num(seconds * 1e3) + " ms median");
        }
        w.flush();
        return 0;
    }
}
