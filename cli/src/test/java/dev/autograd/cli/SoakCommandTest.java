package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code run soak} at CI scale (the full run is tools/soak.sh): flat heap, collected graph, exit codes. */
class SoakCommandTest {

    @Test
    void shortSoakOfASmallResNetIsFlat() {
        Object[] r = MainTest.run("run", "soak", "--steps", "24", "--every", "8", "--width", "4", "--batch", "2",
                "--size", "32", "--threads", "1");
        String out = (String) r[1];
        assertEquals(0, r[0], out + r[2]);
        assertEquals(3, out.lines().filter(l -> l.matches("step +[0-9]+: heap after GC .*")).count(), out);
        assertTrue(out.contains("graph of step 1 collected: yes"), out);
        assertTrue(out.matches("(?s).*heap after GC at step 24 / step 8: [0-9.]+ / [0-9.]+ MiB = [0-9.]+ \\(limit 1.0500\\): FLAT\n"),
                out);
    }

    @Test
    void invalidValuesExitTwo() {
        for (String[] args : new String[][] {{"--steps", "0"}, {"--every", "-1"}, {"--width", "0"}, {"--threads", "0"}}) {
            Object[] r = MainTest.run("run", "soak", args[0], args[1]);
            assertEquals(2, r[0], String.join(" ", args));
            assertTrue(((String) r[2]).contains(args[0] + " must be at least 1, got " + args[1]), (String) r[2]);
            assertTrue(((String) r[2]).contains("Usage: autograd run soak"), (String) r[2]);
        }
        Object[] r = MainTest.run("run", "soak", "--steps", "5", "--every", "10");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("--every (10) must not exceed --steps (5)"), (String) r[2]);
    }
}
