package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The bench subcommands' output contract (tiny sizes: this checks formats, not speed). */
class BenchCommandTest {

    @Test
    void matmulJsonIsOneObjectWithTheAskedShape() {
        Object[] r = MainTest.run("bench", "matmul", "--m", "3", "--n", "5", "--k", "7", "--threads", "1",
                "--format", "json", "--warmup", "0", "--repeats", "3");
        assertEquals(0, r[0], (String) r[2]);
        String out = ((String) r[1]).strip();
        assertTrue(out.matches("\\{\"kernel\":\"matmul\",\"m\":3,\"n\":5,\"k\":7,\"threads\":1,\"gflops\":[0-9.]+}"), out);
    }

    @Test
    void addJsonCountsGigabytesPerSecond() {
        Object[] r = MainTest.run("bench", "add", "--n", "1000", "--threads", "2", "--format", "json",
                "--warmup", "0", "--repeats", "3");
        assertEquals(0, r[0], (String) r[2]);
        String out = ((String) r[1]).strip();
        assertTrue(out.matches("\\{\"kernel\":\"add\",\"n\":1000,\"threads\":2,\"gbps\":[0-9.]+}"), out);
    }

    @Test
    void conv2dRunsEveryResNet18Layer() {
        Object[] r = MainTest.run("bench", "conv2d", "--batch", "1", "--image", "32", "--threads", "1",
                "--warmup", "0", "--repeats", "1");
        assertEquals(0, r[0], (String) r[2]);
        String out = (String) r[1];
        for (Conv2dBench.Layer l : Conv2dBench.RESNET18) {
            assertTrue(out.contains(l.name() + " "), l.name() + " missing from:\n" + out);
        }
    }

    @Test
    void invalidSizesExitTwoWithAClearMessage() {
        Object[] r = MainTest.run("bench", "matmul", "--m", "0");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("--m must be >= 1, got 0"), (String) r[2]);
        r = MainTest.run("bench", "add", "--threads", "0");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("--threads must be >= 1, got 0"), (String) r[2]);
        r = MainTest.run("bench", "matmul", "--format", "xml");
        assertEquals(2, r[0]);
    }

    @Test
    void pacedObeysStdinTurnByTurnAndTimesTheGoes() {
        java.io.InputStream stdin = System.in;
        try {
            Object[] r = paced("warm 0\ngo 2\nwarm 0.001\ngo 1\n", "bench", "matmul", "--m", "3", "--n", "5", "--k", "7",
                    "--threads", "1", "--format", "json", "--warmup", "0", "--repeats", "3", "--paced");
            assertEquals(0, r[0], (String) r[2]);
            String[] lines = ((String) r[1]).strip().split("\\R");
            assertEquals(java.util.List.of("ready", "done", "done", "done", "done"), java.util.List.of(lines).subList(0, 5));
            assertEquals(6, lines.length, (String) r[1]);
            assertTrue(lines[5].startsWith("{\"kernel\":\"matmul\""), lines[5]);

            r = paced("go 1\n", "bench", "add", "--n", "100", "--threads", "1", "--warmup", "0", "--repeats", "3", "--paced");
            assertEquals(1, r[0], (String) r[1]);
            assertTrue(((String) r[2]).contains("--paced: stdin ended after 1 of 3 timed repeats"), (String) r[2]);
            for (String bad : new String[] {"stop", "go 4", "go 1.5", "warm -1", "warm NaN", "go"}) {
                r = paced(bad + "\n", "bench", "add", "--n", "100", "--threads", "1", "--warmup", "0", "--repeats", "3",
                        "--paced");
                assertEquals(1, r[0], bad);
                assertTrue(((String) r[2]).contains("expected 'warm SECONDS' or 'go N' (N at most the 3 repeats left) on stdin, got '"
                        + bad + "'"), (String) r[2]);
            }

            r = MainTest.run("bench", "conv2d", "--paced");
            assertEquals(2, r[0]);
            assertTrue(((String) r[2]).contains("--paced is for matmul, add and resnet-step"), (String) r[2]);
        } finally {
            System.setIn(stdin);
        }
    }

    private static Object[] paced(String stdin, String... args) {
        System.setIn(new java.io.ByteArrayInputStream(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return MainTest.run(args);
    }
}
