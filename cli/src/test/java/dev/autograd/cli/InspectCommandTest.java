package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.io.TensorData;
import dev.autograd.io.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {

    @TempDir
    Path tmp;

    @Test
    void listsTensorsAndCountsParameters() {
        var tensors = new LinkedHashMap<String, TensorData>();
        tensors.put("fc.weight", TensorData.of(new float[6], 2, 3));
        tensors.put("bn.running_mean", TensorData.of(new float[2], 2));
        tensors.put("bn.num_batches_tracked", TensorData.of(new long[1]));
        Path f = tmp.resolve("w.safetensors");
        Weights.write(f, tensors);
        Object[] r = MainTest.run("inspect", f.toString());
        assertEquals(0, r[0], (String) r[2]);
        String out = (String) r[1];
        assertTrue(out.contains("safetensors"), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("fc\\.weight +float32 +\\[2, 3]")), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("bn\\.num_batches_tracked +int64 +\\[]")), out);
        assertTrue(out.contains("3 tensors, 9 values; 6 parameters"), out);
    }

    @Test
    void badFileIsOneLineAndExitOne() throws IOException {
        Path f = tmp.resolve("junk.pth");
        Files.write(f, new byte[] {'P', 'K', 3, 4, 0, 0});
        Object[] r = MainTest.run("inspect", f.toString());
        assertEquals(1, r[0]);
        String err = (String) r[2];
        assertTrue(err.startsWith("RuntimeError: " + f + ": not a valid PyTorch zip file"), err);
        assertEquals(1, err.lines().count(), err);
        assertFalse(err.contains("\tat "), err);
    }
}
