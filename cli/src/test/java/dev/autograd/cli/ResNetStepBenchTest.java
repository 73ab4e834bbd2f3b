package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code bench resnet-step} and {@code run resnet-step --profile}: formats and exit codes. */
class ResNetStepBenchTest {

    @Test
    void benchPrintsOneJsonObject() {
        Object[] r = MainTest.run("bench", "resnet-step", "--batch", "2", "--size", "32", "--threads", "1",
                "--warmup", "0", "--repeats", "1", "--format", "json");
        assertEquals(0, r[0], (String) r[2]);
        String out = ((String) r[1]).trim();
        assertTrue(out.matches("\\{\"kernel\":\"resnet-step\",\"batch\":2,\"size\":32,\"threads\":1,\"simd\":(true|false),"
                + "\"repeats\":1,\"forward_ms\":[0-9.]+,\"backward_ms\":[0-9.]+,\"step_ms\":[0-9.]+,\"total_ms\":[0-9.]+}"), out);
    }

    @Test
    void benchRejectsBadValues() {
        for (String[] args : new String[][] {{"--batch", "0"}, {"--repeats", "0"}, {"--threads", "0"}}) {
            Object[] r = MainTest.run("bench", "resnet-step", args[0], args[1]);
            assertEquals(2, r[0], String.join(" ", args));
            assertTrue(((String) r[2]).contains(args[0] + " must be >= 1, got " + args[1]), (String) r[2]);
        }
    }

    @Test
    void profileTableHasEveryLayerAndAddsUpToTheStep() {
        Object[] r = MainTest.run("run", "resnet-step", "--batch", "2", "--size", "32", "--threads", "1", "--profile");
        assertEquals(0, r[0], (String) r[2]);
        String out = (String) r[1];
        for (String layer : new String[] {"conv1 ", "bn1 ", "layer1.0.conv1 ", "layer4.1.bn2 ", "layer2.0.downsample.0 ",
            "fc ", "Relu ", "MaxPool2DWithIndices ", "optimizer.step ", "(backward engine) "}) {
            assertTrue(out.contains("\n" + layer), layer + " in\n" + out);
        }
        assertTrue(out.matches("(?s).*\nstep +[0-9.]+ +100\\.0%\n"), out);
    }

    @Test
    void profileInJsonIsPartOfTheOneObject() {
        Object[] r = MainTest.run("run", "resnet-step", "--batch", "2", "--size", "32", "--threads", "1", "--profile",
                "--format", "json");
        assertEquals(0, r[0], (String) r[2]);
        String out = ((String) r[1]).trim();
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.contains(",\"profile\":[{\"layer\":\"conv1\",\"op\":\"Convolution\",\"forward_ms\":"), out);
        assertTrue(out.endsWith("}]}"), out);
    }

    @Test
    void kernelsOtherThanTheJvmsAreAUsageError() {
        boolean simd = dev.autograd.kernels.KernelProvider.get().vectorBitSize() > 0;
        Object[] r = MainTest.run("run", "resnet-step", "--kernels", simd ? "scalar" : "simd");
        assertEquals(2, r[0], (String) r[2]);
        assertTrue(((String) r[2]).contains("this JVM already runs the " + dev.autograd.kernels.KernelProvider.get().name()
                + " kernels"), (String) r[2]);
    }
}
