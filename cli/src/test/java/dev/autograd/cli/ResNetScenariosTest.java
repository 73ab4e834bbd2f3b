package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code run resnet-step} and {@code run finetune}: output formats, exit codes and PyTorch's errors. */
class ResNetScenariosTest {

    @Test
    void resnetStepPrintsOneJsonObjectWithTheIssuesKeys() {
        Object[] r = MainTest.run("run", "resnet-step", "--batch", "2", "--size", "32", "--steps", "2", "--warmup", "0",
                "--threads", "1", "--format", "json");
        assertEquals(0, r[0], (String) r[2]);
        String out = ((String) r[1]).trim();
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.matches("\\{\"scenario\":\"resnet-step\",\"batch\":2,\"size\":32,\"steps\":2,\"threads\":1,"
                + "\"simd\":(true|false),\"loss\":\\[-?[0-9.e+-]+,-?[0-9.e+-]+],\"forward_ms\":[0-9.]+,"
                + "\"backward_ms\":[0-9.]+,\"step_ms\":[0-9.]+,\"total_ms\":[0-9.]+}"), out);
        assertFalse(((String) r[2]).contains("["), "no progress bar when stderr is not a terminal: " + r[2]);
    }

    @Test
    void invalidValuesExitTwo() {
        for (String[] args : new String[][] {{"--batch", "0"}, {"--size", "-3"}, {"--threads", "0"}, {"--steps", "0"}}) {
            Object[] r = MainTest.run("run", "resnet-step", args[0], args[1]);
            assertEquals(2, r[0], String.join(" ", args));
            assertTrue(((String) r[2]).contains(args[0] + " must be at least 1, got " + args[1]), (String) r[2]);
        }
    }

    @Test
    void oneValuePerChannelIsPyTorchsErrorAndExitOne() {
        Object[] r = MainTest.run("run", "resnet-step", "--size", "5");
        assertEquals(1, r[0]);
        assertEquals("ValueError: Expected more than 1 value per channel when training, got input size "
                + "torch.Size([1, 128, 1, 1])", ((String) r[2]).trim());
    }

    @Test
    void finetuneTrainsOnlyFcAndKeepsFrozenWeights() {
        Object[] r = MainTest.run("run", "finetune", "--batch", "2", "--size", "32", "--steps", "1", "--warmup", "1", "--threads", "1");
        assertEquals(0, r[0], r[1] + "\n" + r[2]);
        String out = (String) r[1];
        assertTrue(out.contains("parameters that received gradients: fc.weight, fc.bias\n"), out);
        assertTrue(out.contains("frozen parameters bit-identical after 2 steps: 60 of 60\n"), out);
        assertTrue(out.matches("(?s).*median step: fine-tuning [0-9.]+ ms .*; full step [0-9.]+ ms .*: [0-9.]+x\n"), out);
    }
}
