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
}
