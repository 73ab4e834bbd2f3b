package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.io.DType;
import dev.autograd.io.SafeTensors;
import dev.autograd.io.TensorData;
import dev.autograd.io.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run resnet-step --weights --data --dump} on PyTorch-written files: the small ResNet of
 * tools/make_resnet_fixtures.py (torchvision's resnet18 structure at base width 6, 10 classes), its
 * initial weights as a real {@code torch.save} .pth, its data and labels, and the dump compared
 * tensor by tensor with PyTorch 1.13's step, within each tensor's float32 spread (as ResNetStepTest).
 */
class ResNetStepFilesTest {

    static final double SPREAD_FACTOR = 4;
    static final double FLOOR = 2.4e-7;

    @TempDir
    Path tmp;

    /** The engine module's test fixtures (surefire runs in the module directory). */
    static Path engineFixture(String name) {
        Path p = Path.of("..", "engine", "src", "test", "resources", name);
        assertTrue(Files.isRegularFile(p), "fixture " + p.toAbsolutePath() + " not found");
        return p;
    }

    @Test
    void stepFromPyTorchWeightsAndDataMatchesPyTorchsDump() {
        SafeTensors.Contents step = SafeTensors.read(engineFixture("nn/resnet_small_step.safetensors"));
        Map<String, TensorData> expected = step.tensors();
        Map<String, Double> spread = parseSpread(step.metadata().get("spread"));

        Map<String, TensorData> batch = new LinkedHashMap<>();
        batch.put("data", expected.get("data"));
        batch.put("labels", expected.get("labels"));
        Path batchFile = tmp.resolve("batch.safetensors");
        Weights.write(batchFile, batch);
        Path dumpFile = tmp.resolve("dump.safetensors");

        Object[] r = MainTest.run("run", "resnet-step", "--weights", engineFixture("io/resnet_small_init.pth").toString(),
                "--data", batchFile.toString(), "--dump", dumpFile.toString());
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(((String) r[1]).contains("labels [2, 10]"), (String) r[1]);

        Map<String, TensorData> dump = Weights.read(dumpFile);
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<String, TensorData> e : dump.entrySet()) {
            String name = e.getKey();
            TensorData want = expected.get(name);
            assertTrue(want != null, "PyTorch's step has no " + name);
            TensorData got = e.getValue();
            assertArrayEquals(want.shape(), got.shape(), name);
            if (want.dtype() == DType.I64) {
                assertArrayEquals(want.longs(), got.longs(), name);
                continue;
            }
            float[] w = want.floats();
            float[] g = got.floats();
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < w.length; i++) {
                scale = Math.max(scale, Math.abs(w[i]));
                diff = Math.max(diff, Math.abs((double) w[i] - g[i]));
            }
            double relative = scale > 0 ? diff / scale : diff;
            double tolerance = Math.max(SPREAD_FACTOR * spread.get(name), FLOOR);
            if (!(relative <= tolerance)) {
                failures.add(String.format("%s: %.3g > %.3g", name, relative, tolerance));
            }
            checked++;
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        // prediction, loss, 62 grads, 62 params, 40 running stats (+ 20 num_batches_tracked compared exactly)
        assertEquals(2 + 62 + 62 + 40, checked);
        assertEquals(2 + 62 + 62 + 60, dump.size());
    }

    @Test
    void badDataFileIsOneLineExitOne() {
        Map<String, TensorData> batch = new LinkedHashMap<>();
        batch.put("data", TensorData.of(new float[2 * 3 * 4 * 4], 2, 3, 4, 4));
        batch.put("labels", TensorData.of(new long[] {1, 0}, 2));
        Path batchFile = tmp.resolve("batch.safetensors");
        Weights.write(batchFile, batch);
        Object[] r = MainTest.run("run", "resnet-step", "--data", batchFile.toString());
        assertEquals(1, r[0]);
        String err = (String) r[2];
        assertTrue(err.startsWith("RuntimeError: " + batchFile + ": 'labels' must be float targets [2, 1000]"), err);
        assertEquals(1, err.lines().count(), err);
    }

    @Test
    void dataWithBatchIsAUsageError() {
        Object[] r = MainTest.run("run", "resnet-step", "--data", "x.safetensors", "--batch", "2");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("--data sets the batch and size"), (String) r[2]);
    }

    /** The fixture's metadata "spread": a flat JSON object of name to number. */
    static Map<String, Double> parseSpread(String json) {
        Map<String, Double> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\"([^\"]+)\"\\s*:\\s*([-+0-9.eE]+)").matcher(json);
        while (m.find()) {
            out.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return out;
    }
}
