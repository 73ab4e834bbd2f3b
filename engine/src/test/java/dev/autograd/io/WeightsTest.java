package dev.autograd.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the files PyTorch 1.13 wrote (tools/make_io_fixtures.py), and writing safetensors. */
class WeightsTest {

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            return Path.of(WeightsTest.class.getResource("/io/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Every tensor of every fixture: dtype, shape and the sha256 of its bytes as PyTorch computed them. */
    @Test
    void everyTensorMatchesWhatPyTorchWrote() throws IOException {
        Map<String, LinkedHashMap<String, TensorData>> files = new LinkedHashMap<>();
        Map<String, List<String>> names = new LinkedHashMap<>();
        int checked = 0;
        for (String line : Files.readAllLines(fixture("expected.txt"))) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            // file name dtype [shape] sha256
            String[] head = line.split(" ", 4);
            String file = head[0];
            String name = head[1];
            String dtype = head[2];
            String rest = head[3];
            String shape = rest.substring(0, rest.lastIndexOf(' '));
            String hash = rest.substring(rest.lastIndexOf(' ') + 1);
            TensorData t = files.computeIfAbsent(file, f -> Weights.read(fixture(f))).get(name);
            assertTrue(t != null, file + " lacks " + name);
            assertEquals(dtype, t.dtype().name(), file + " " + name);
            assertEquals(shape, java.util.Arrays.toString(t.shape()), file + " " + name);
            assertEquals(hash, sha256(t.toBytes()), file + " " + name + " bytes");
            names.computeIfAbsent(file, f -> new ArrayList<>()).add(name);
            checked++;
        }
        assertTrue(checked > 40, "checked " + checked);
        // the same names, in PyTorch's order
        names.forEach((file, list) -> assertEquals(list, new ArrayList<>(files.get(file).keySet()), file));
    }

    @Test
    void pthAndSafetensorsHoldTheSameModel() {
        var pth = Weights.read(fixture("small_model.pth"));
        var st = Weights.read(fixture("small_model.safetensors"));
        assertEquals(pth.keySet(), st.keySet());
        pth.forEach((k, v) -> assertTrue(v.contentEquals(st.get(k)), k));
        assertEquals(List.of("0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                "1.num_batches_tracked", "5.weight", "5.bias"), new ArrayList<>(pth.keySet()));
        assertEquals(DType.I64, pth.get("1.num_batches_tracked").dtype());
        assertEquals(1L, pth.get("1.num_batches_tracked").longs()[0]);
        assertEquals(Map.of("format", "pt", "source", "make_io_fixtures.py"),
                SafeTensors.read(fixture("small_model.safetensors")).metadata());
    }

    /** A file written by the reference implementation (tools/make_safetensors_lib_fixture.py, safetensors 0.8.0). */
    @Test
    void fileWrittenByTheSafetensorsLibrary() {
        var c = SafeTensors.read(fixture("safetensors_lib.safetensors"));
        assertEquals(Map.of("written_by", "safetensors 0.8.0"), c.metadata());
        var t = c.tensors();
        float[] f32 = t.get("b.f32").floats();
        for (int i = 0; i < 6; i++) {
            assertEquals((float) i / 7, f32[i]);
        }
        assertArrayEquals(new float[] {1f, -2.5f, 65504f}, t.get("a.f16").floats());
        assertArrayEquals(new double[] {1e-300, 1.0 / 3.0}, t.get("c.f64").doubles());
        assertArrayEquals(new long[] {Long.MIN_VALUE, 1L << 62}, t.get("d.i64").longs());
        assertArrayEquals(new int[] {7, -8}, t.get("e.i32").ints());
        assertArrayEquals(new boolean[] {true, false, true}, t.get("f.bool").bools());
        assertArrayEquals(new long[0], t.get("g.scalar").shape());
        assertArrayEquals(new long[] {0, 4}, t.get("h.empty").shape());
    }

    @Test
    void viewsSharedStoragesAndParameters() {
        for (String file : List.of("views.pth", "legacy.pth")) {
            var t = Weights.read(fixture(file));
            float[] base = t.get("base").floats();
            float[] transposed = t.get("transposed").floats();
            assertArrayEquals(new long[] {4, 3}, t.get("transposed").shape());
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 4; j++) {
                    assertEquals(base[i * 4 + j], transposed[j * 3 + i]);
                }
            }
            assertArrayEquals(new float[] {0f, 0.5f, 1f, 1.5f}, t.get("head").floats(), file);
            assertArrayEquals(new float[] {3f, 3.5f, 4f, 4.5f}, t.get("tail").floats(), file);
            assertArrayEquals(new float[] {0.5f, 2f, 3.5f}, t.get("strided").floats(), file);
            assertArrayEquals(new float[] {1.5f, -2f}, t.get("param").floats(), file);
            assertArrayEquals(new long[] {0, 3}, t.get("empty").shape(), file);
        }
    }

    @Test
    void everyDtype() {
        for (String file : List.of("dtypes.pth", "dtypes.safetensors")) {
            var t = Weights.read(fixture(file));
            assertArrayEquals(new float[] {1f, -2.5f, 3.25e-3f, Float.POSITIVE_INFINITY}, t.get("f32").floats());
            assertEquals(DType.F16, t.get("f16").dtype());
            assertEquals(65504f, t.get("f16").floats()[2]);
            assertEquals(DType.BF16, t.get("bf16").dtype());
            assertEquals(-2.5f, t.get("bf16").floats()[1]);
            assertArrayEquals(new double[] {1.0, 1e-300, -2.5, 1.0 / 3.0}, t.get("f64").doubles());
            assertArrayEquals(new long[] {0, -1, 1L << 62, Long.MIN_VALUE}, t.get("i64").longs());
            assertArrayEquals(new int[] {7, -8, Integer.MAX_VALUE}, t.get("i32").ints());
            assertArrayEquals(new boolean[] {true, false, true, false, false, true}, t.get("bool").bools());
            assertArrayEquals(new long[0], t.get("scalar").shape());
            assertArrayEquals(new float[] {3.5f}, t.get("scalar").floats());
        }
    }

    /** load, save, load: the same bytes, and saving twice writes the same file. */
    @Test
    void roundTripIsBitExact() throws IOException {
        for (String file : List.of("small_model.pth", "small_model.safetensors", "views.pth", "dtypes.pth",
                "dtypes.safetensors", "legacy.pth", "batch.pth", "safetensors_lib.safetensors")) {
            var first = Weights.read(fixture(file));
            Path out = tmp.resolve(file + ".safetensors");
            Weights.write(out, first);
            var second = Weights.read(out);
            assertEquals(new ArrayList<>(first.keySet()), new ArrayList<>(second.keySet()), file);
            first.forEach((k, v) -> assertTrue(v.contentEquals(second.get(k)), file + " " + k));
            Path again = tmp.resolve(file + ".again.safetensors");
            Weights.write(again, second);
            assertArrayEquals(Files.readAllBytes(out), Files.readAllBytes(again), file);
        }
        // the hand-written Python file and ours are the same bytes apart from the header
        assertEquals(Weights.Format.SAFETENSORS, Weights.detect(tmp.resolve("dtypes.pth.safetensors")));
    }

    @Test
    void listReadsNamesDtypesShapesWithoutData() {
        for (String file : List.of("small_model.pth", "small_model.safetensors", "legacy.pth")) {
            var infos = Weights.list(fixture(file));
            var full = Weights.read(fixture(file));
            assertEquals(full.size(), infos.size());
            for (TensorInfo i : infos) {
                assertEquals(full.get(i.name()).dtype(), i.dtype());
                assertArrayEquals(full.get(i.name()).shape(), i.shape());
            }
        }
    }

    @Test
    void detectsFormatsByContent() {
        assertEquals(Weights.Format.TORCH_ZIP, Weights.detect(fixture("small_model.pth")));
        assertEquals(Weights.Format.TORCH_LEGACY, Weights.detect(fixture("legacy.pth")));
        assertEquals(Weights.Format.SAFETENSORS, Weights.detect(fixture("small_model.safetensors")));
    }

    @Test
    void hostilePicklesAreRefusedAndNeverRun() {
        var e = assertThrows(WeightsException.class, () -> Weights.read(fixture("hostile_system.pth")));
        assertTrue(e.getMessage().contains("refusing to load global posix.system"), e.getMessage());
        assertTrue(e.getMessage().contains("nothing was executed"), e.getMessage());
        e = assertThrows(WeightsException.class, () -> Weights.read(fixture("hostile_eval.pth")));
        assertTrue(e.getMessage().contains("builtin__.eval"), e.getMessage()); // protocol 2 names it __builtin__
        e = assertThrows(WeightsException.class, () -> Weights.list(fixture("hostile_eval.pth")));
        assertTrue(e.getMessage().contains("builtin__.eval"), e.getMessage()); // protocol 2 names it __builtin__
    }

    @Test
    void missingFileIsOneClearError() {
        var e = assertThrows(WeightsException.class, () -> Weights.read(tmp.resolve("nope.pth")));
        assertTrue(e.getMessage().endsWith("nope.pth: No such file or directory"), e.getMessage());
    }

    @Test
    void notAWeightsFile() throws IOException {
        Path f = tmp.resolve("text.txt");
        Files.writeString(f, "hello, world");
        var e = assertThrows(WeightsException.class, () -> Weights.read(f));
        assertTrue(e.getMessage().contains("not a weights file"), e.getMessage());
    }

    @Test
    void float16AndBFloat16RoundToNearestEven() {
        float[] v = {1f + 0x1p-11f, 1f + 0x1p-11f + 0x1p-20f, 1f + 0x1p-8f, 1f + 0x1p-8f + 0x1p-9f, Float.NaN};
        var f16 = Weights.read(write(Map.of("x", TensorData.ofFloats(DType.F16, v, 5)))).get("x").floats();
        assertEquals(1f, f16[0]); // tie: to even
        assertEquals(1f + 0x1p-10f, f16[1]);
        var bf16 = Weights.read(write(Map.of("x", TensorData.ofFloats(DType.BF16, v, 5)))).get("x").floats();
        assertEquals(1f, bf16[2]); // tie: to even
        assertEquals(1f + 0x1p-7f, bf16[3]); // above the tie: up
        assertTrue(Float.isNaN(bf16[4]));
        assertFalse(Float.isNaN(bf16[3]));
    }

    private Path write(Map<String, TensorData> tensors) {
        Path f = tmp.resolve("w" + System.nanoTime() + ".safetensors");
        Weights.write(f, tensors);
        return f;
    }
}
