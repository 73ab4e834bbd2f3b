package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Bad command lines everywhere: every numeric option of every command, given a value that is not a
 * number, exits 2 with the message and the usage; unreadable or unwritable files exit 1 with one line;
 * never a Java stack trace.
 */
class CliBadInputTest {

    static List<String[]> numericOptions(CommandLine cli, List<String> path) {
        List<String[]> found = new ArrayList<>();
        for (CommandLine.Model.OptionSpec o : cli.getCommandSpec().options()) {
            Class<?> t = o.type();
            if (t == int.class || t == Integer.class || t == long.class || t == Long.class || t == double.class
                    || t == Double.class || t == float.class || t == Float.class) {
                List<String> args = new ArrayList<>(path);
                args.add(o.longestName());
                args.add("not-a-number");
                found.add(args.toArray(new String[0]));
            }
        }
        for (var e : cli.getSubcommands().entrySet()) {
            List<String> sub = new ArrayList<>(path);
            sub.add(e.getKey());
            found.addAll(numericOptions(e.getValue(), sub));
        }
        return found;
    }

    @Test
    void everyNumericOptionRejectsANonNumberWithUsageAndExitTwo() {
        List<String[]> all = numericOptions(Main.commandLine(), new ArrayList<>());
        assertTrue(all.size() >= 10, "found only " + all.size() + " numeric options");
        for (String[] args : all) {
            Object[] r = MainTest.run(args);
            String err = (String) r[2];
            String what = String.join(" ", args);
            assertEquals(2, r[0], what + "\n" + err);
            assertTrue(err.contains("Invalid value for option '" + args[args.length - 2] + "'"), what + "\n" + err);
            assertTrue(err.contains("Usage: autograd"), what + "\n" + err);
            assertFalse(err.contains("\tat "), what + ": no stack trace\n" + err);
        }
    }

    @Test
    void outOfRangeValuesExitTwo() {
        String[][] cases = {
            {"run", "resnet-step", "--threads", "-1"},
            {"run", "resnet-step", "--warmup", "-2"},
            {"run", "finetune", "--steps", "0"},
            {"run", "soak", "--tolerance", "-0.5"},
            {"bench", "matmul", "--m", "-1"},
            {"bench", "add", "--n", "0"},
            {"run", "soak", "--unknown-option"},
            {"run", "no-such-scenario"},
        };
        for (String[] args : cases) {
            Object[] r = MainTest.run(args);
            String what = String.join(" ", args);
            assertEquals(2, r[0], what + "\n" + r[2]);
            assertTrue(((String) r[2]).contains("Usage: autograd"), what + "\n" + r[2]);
        }
    }

    @Test
    void unreadableAndUnwritableFilesExitOneWithOneLine(@TempDir Path dir) throws Exception {
        Path garbage = dir.resolve("garbage.safetensors");
        Files.write(garbage, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0, 1, 2});
        String[][] cases = {
            {"inspect", dir.resolve("missing.pth").toString()},
            {"inspect", dir.toString()},
            {"inspect", garbage.toString()},
            {"run", "soak", "--steps", "1", "--every", "1", "--log", dir.resolve("no/such/dir/soak.jsonl").toString()},
        };
        for (String[] args : cases) {
            Object[] r = MainTest.run(args);
            String err = ((String) r[2]).strip();
            String what = String.join(" ", args);
            assertEquals(1, r[0], what + "\n" + err);
            assertEquals(1, err.lines().count(), what + ": one line\n" + err);
            assertTrue(err.startsWith("RuntimeError: ") || err.startsWith("error: "), what + "\n" + err);
        }
    }
}
