package dev.autograd.cli;

import dev.autograd.kernels.Kernels;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code autograd bench matmul}: SGEMM C = A B (m x k times k x n) in GFLOPS (2mnk per product). */
@Command(name = "matmul", mixinStandardHelpOptions = true,
        description = "SGEMM C = op(A) op(B), m x k times k x n, in GFLOPS (median of repeats).")
final class MatmulBench implements Callable<Integer> {

    @Option(names = "--m", defaultValue = "1024", description = "Rows of C. Default: ${DEFAULT-VALUE}.")
    int m;
    @Option(names = "--n", defaultValue = "1024", description = "Columns of C. Default: ${DEFAULT-VALUE}.")
    int n;
    @Option(names = "--k", defaultValue = "1024", description = "Inner dimension. Default: ${DEFAULT-VALUE}.")
    int k;
    @Option(names = "--trans-a", description = "A is stored k x m (op(A) = A^T).")
    boolean transA;
    @Option(names = "--trans-b", description = "B is stored n x k (op(B) = B^T).")
    boolean transB;
    @Mixin
    BenchOptions options;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cli = spec.commandLine();
        BenchOptions.requirePositive(cli, "--m", m);
        BenchOptions.requirePositive(cli, "--n", n);
        BenchOptions.requirePositive(cli, "--k", k);
        Kernels kernels = options.setUp(cli);
        float[] a = random((long) m * k, 1, cli);
        float[] b = random((long) k * n, 2, cli);
        float[] c = new float[Math.toIntExact((long) m * n)];
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        double seconds = options.medianSeconds(() ->
                kernels.sgemm(transA, transB, m, n, k, 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, n));
        double gflops = 2.0 * m * n * k / seconds / 1e9;
        var out = cli.getOut();
        if (options.format == BenchOptions.Format.json) {
            out.println("{\"kernel\":\"matmul\",\"m\":" + m + ",\"n\":" + n + ",\"k\":" + k
                    + ",\"threads\":" + options.threads() + ",\"gflops\":" + BenchOptions.num(gflops) + "}");
        } else {
            out.println("matmul " + m + "x" + n + "x" + k + (transA ? " A^T" : "") + (transB ? " B^T" : "")
                    + " (" + kernels.name() + ", " + options.threads() + " threads): "
                    + BenchOptions.num(gflops) + " GFLOPS, " + BenchOptions.num(seconds * 1e3) + " ms median");
        }
        out.flush();
        return 0;
    }

    static float[] random(long size, long seed, CommandLine cli) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new CommandLine.ParameterException(cli, "an operand of " + size + " floats does not fit a Java array");
        }
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[(int) size];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        return x;
    }
}
