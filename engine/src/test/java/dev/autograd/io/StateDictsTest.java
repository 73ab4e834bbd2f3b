package dev.autograd.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files as engine tensors: dtype mapping, round trip through safetensors, data batches. */
class StateDictsTest {

    @TempDir
    Path tmp;

    @Test
    void dtypesBecomeEngineTensors() {
        var sd = StateDicts.load(WeightsTest.fixture("dtypes.pth"));
        assertEquals(dev.autograd.DType.FLOAT32, sd.get("f32").dtype());
        assertEquals(dev.autograd.DType.FLOAT32, sd.get("f16").dtype());
        assertEquals(65504f, sd.get("f16").toArray()[2]);
        assertEquals(dev.autograd.DType.FLOAT32, sd.get("bf16").dtype());
        assertEquals(dev.autograd.DType.FLOAT32, sd.get("f64").dtype());
        assertEquals((float) (1.0 / 3.0), sd.get("f64").toArray()[3]);
        assertEquals(dev.autograd.DType.INT64, sd.get("i64").dtype());
        assertArrayEquals(new long[] {0, -1, 1L << 62, Long.MIN_VALUE}, sd.get("i64").toLongArray());
        assertEquals(dev.autograd.DType.INT64, sd.get("i32").dtype());
        assertArrayEquals(new long[] {7, -8, Integer.MAX_VALUE}, sd.get("i32").toLongArray());
        assertEquals(dev.autograd.DType.BOOL, sd.get("bool").dtype());
        assertArrayEquals(new int[] {2, 3}, sd.get("bool").shape());
        assertArrayEquals(new boolean[] {true, false, true, false, false, true}, sd.get("bool").toBooleanArray());
        assertArrayEquals(new int[0], sd.get("scalar").shape());
        assertEquals(3.5f, sd.get("scalar").item());
    }

    @Test
    void roundTripOfEngineTensorsIsBitExact() {
        for (String file : new String[] {"small_model.pth", "views.pth", "legacy.pth", "legacy_v1.pth"}) {
            var first = StateDicts.load(WeightsTest.fixture(file));
            Path out = tmp.resolve(file + ".safetensors");
            StateDicts.save(out, first);
            var second = StateDicts.load(out);
            assertEquals(first.keySet(), second.keySet());
            first.forEach((k, v) -> {
                assertEquals(v.dtype(), second.get(k).dtype(), k);
                assertArrayEquals(v.shape(), second.get(k).shape(), k);
                assertTrue(StateDicts.fromTensor(v).contentEquals(StateDicts.fromTensor(second.get(k))), file + " " + k);
            });
        }
    }

    @Test
    void nonContiguousTensorsSaveTheirElements() {
        Tensor t = Tensor.wrap(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).t();
        Path out = tmp.resolve("t.safetensors");
        StateDicts.save(out, Map.of("t", t));
        var back = StateDicts.load(out).get("t");
        assertArrayEquals(new int[] {3, 2}, back.shape());
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, back.toArray());
    }

    @Test
    void batches() {
        for (String file : new String[] {"batch.safetensors", "batch.pth"}) {
            var b = StateDicts.loadBatch(WeightsTest.fixture(file));
            assertArrayEquals(new int[] {2, 3, 8, 8}, b.data().shape());
            assertArrayEquals(new long[] {1, 0}, b.labels().toLongArray());
        }
        var e = assertThrows(WeightsException.class, () -> StateDicts.loadBatch(WeightsTest.fixture("small_model.pth")));
        assertTrue(e.getMessage().contains("needs tensors named 'data' and 'labels'; it holds 0.weight, 1.weight"), e.getMessage());
        var bad = new LinkedHashMap<String, Tensor>();
        bad.put("data", Tensor.zeros(2, 3));
        bad.put("labels", Tensor.ofLong(1, 2, 3));
        Path f = tmp.resolve("bad.safetensors");
        StateDicts.save(f, bad);
        e = assertThrows(WeightsException.class, () -> StateDicts.loadBatch(f));
        assertTrue(e.getMessage().contains("'labels' must have one row per row of 'data' (first dim 2), it is int64[3]"),
                e.getMessage());
    }
}
