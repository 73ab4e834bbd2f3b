package dev.autograd.cli;

import dev.autograd.AutogradException;
import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code autograd} command line. */
@Command(name = "autograd",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "PyTorch's autograd in pure Java: run the tutorials, train ResNet-18, measure kernels.",
        subcommands = {RunCommand.class, BenchCommand.class, InspectCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Show Java stack traces of errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, also used by the tests. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(Main::handleError);
        cli.setParameterExceptionHandler(Main::handleUsageError);
        return cli;
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Bad command lines: the message, suggestions if any, then the usage; exit 2. */
    private static int handleUsageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cli = e.getCommandLine();
        PrintWriter err = cli.getErr();
        err.println(e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        cli.usage(err);
        err.flush();
        return cli.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** Engine errors print as Python prints them; {@code --verbose} adds the stack trace. */
    private static int handleError(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        PrintWriter err = cli.getErr();
        boolean verbose = parsed.hasMatchedOption("--verbose")
                || cli.getCommandSpec().root().findOption("--verbose") != null
                && Boolean.TRUE.equals(cli.getCommandSpec().root().findOption("--verbose").getValue());
        if (verbose) {
            e.printStackTrace(err);
        }
        err.println(describe(e));
        err.flush();
        return 1;
    }

    static String describe(Throwable e) {
        if (e instanceof AutogradException ae) {
            return ae.pythonType() + ": " + e.getMessage();
        }
        if (e instanceof IOException) {
            return "error: " + e.getMessage();
        }
        if (e instanceof OutOfMemoryError) {
            return "error: out of memory (raise -Xmx through JAVA_OPTS)";
        }
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    /** {@code --version}: engine version, JDK, and which kernels run. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Kernels k = KernelProvider.get();
            String simd = k.vectorBitSize() > 0 ? "on (" + k.vectorBitSize() + "-bit vectors)" : "off (scalar kernels)";
            return new String[] {
                "autograd " + engineVersion(),
                "JDK " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
                "SIMD " + simd,
            };
        }
    }

    static String engineVersion() {
        Properties p = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("/autograd-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException ignored) {
            // the version line then says "unknown"
        }
        return p.getProperty("version", "unknown");
    }
}
