package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line's contract: version, listing, usage errors with exit 2, engine errors with exit 1. */
class MainTest {

    /** Runs the CLI in-process; returns {exit code, stdout, stderr}. */
    static Object[] run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Object[] {code, out.toString(), err.toString()};
    }

    @Test
    void versionNamesEngineJdkAndSimd() {
        Object[] r = run("--version");
        assertEquals(0, r[0]);
        String out = (String) r[1];
        assertTrue(out.startsWith("autograd "), out);
        assertTrue(out.contains("JDK " + Runtime.version()), out);
        assertTrue(out.contains("SIMD on (") || out.contains("SIMD off"), out);
    }

    @Test
    void unknownCommandExitsTwoWithUsageAndNoStackTrace() {
        Object[] r = run("no-such-command");
        assertEquals(2, r[0]);
        String err = (String) r[2];
        assertTrue(err.contains("Unmatched argument at index 0: 'no-such-command'"), err);
        assertTrue(err.contains("Usage: autograd"), err);
        assertFalse(err.contains("\tat "), err);
    }

    @Test
    void unknownOptionExitsTwo() {
        Object[] r = run("--frobnicate");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("Unknown option: '--frobnicate'"), (String) r[2]);
    }

    @Test
    void runWithoutScenarioExitsTwo() {
        Object[] r = run("run");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("Missing scenario"), (String) r[2]);
    }

    @Test
    void runListPrintsEveryScenarioWithADescription() {
        Object[] r = run("run", "--list");
        assertEquals(0, r[0]);
        String out = (String) r[1];
        CommandLine run = Main.commandLine().getSubcommands().get("run");
        for (String name : run.getSubcommands().keySet()) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(name + " ") && l.trim().length() > name.length()),
                    name + " missing from:\n" + out);
        }
    }

    @Test
    void engineErrorsPrintLikePython() {
        assertEquals("RuntimeError: grad can be implicitly created only for scalar outputs",
                Main.describe(new dev.autograd.AutogradException("grad can be implicitly created only for scalar outputs")));
        assertEquals("ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 8, 1, 1])",
                Main.describe(dev.autograd.AutogradException.valueError(
                        "Expected more than 1 value per channel when training, got input size torch.Size([1, 8, 1, 1])")));
        assertEquals("IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)",
                Main.describe(org.junit.jupiter.api.Assertions.assertThrows(dev.autograd.AutogradException.class,
                        () -> dev.autograd.Torch.zeros(3).sum(1))));
    }
}
