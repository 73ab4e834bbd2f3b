package dev.autograd.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.function.Predicate;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated, corrupt and hostile files: one WeightsException naming the problem. */
class WeightsBadInputTest {

    @TempDir
    Path tmp;

    private Path safetensors(long headerLength, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(h);
        Path f = tmp.resolve("f" + System.nanoTime() + ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private Path safetensors(String header, int dataBytes) throws IOException {
        return safetensors(header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private static void fails(Path f, String expected) {
        WeightsException e = assertThrows(WeightsException.class, () -> Weights.read(f));
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void safetensorsHeaderProblems() throws IOException {
        String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        Weights.read(safetensors(ok, 8)); // the baseline reads
        fails(safetensors(Long.MAX_VALUE / 2, "{}", 0), "header length 4611686018427387903 is out of range");
        fails(safetensors(-1L, "{}", 0), "header length 18446744073709551615 is out of range");
        fails(safetensors(1000, ok, 8), "runs past the end of the file");
        fails(safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8), "not valid JSON");
        fails(safetensors(ok.replace("}}", "},") + ok.substring(1), 8), "duplicate key \"a\"");
        fails(safetensors(ok, 4), "truncated");
        fails(safetensors(ok, 12), "the data section holds 12 bytes");
        fails(safetensors(ok.replace("[2]", "[3]"), 8), "needs 12 bytes but its data_offsets span 8");
        fails(safetensors(ok.replace("[2]", "[-2]"), 8), "not a non-negative integer");
        fails(safetensors(ok.replace("[2]", "[4294967296,4294967296]"), 8), "more elements than a Java array holds");
        fails(safetensors(ok.replace("F32", "U8"), 8), "dtype U8, which is not supported");
        fails(safetensors(ok.replace("[0,8]", "[8,0]"), 8), "data_offsets");
        fails(safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlapping");
        fails(safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12), "gap");
        fails(safetensors("{\"__metadata__\":{\"k\":1}}", 0), "__metadata__ value");
        fails(safetensors("[1,2]", 0), "does not start with '{'");
        fails(safetensors("{\"x\":" + "[".repeat(100) + "]".repeat(100) + "}", 0), "nesting deeper");
        byte[] notUtf8 = {'{', '"', (byte) 0xff, '"', ':', '1', '}'};
        Path f = tmp.resolve("bad-utf8.safetensors");
        Files.write(f, ByteBuffer.allocate(8 + notUtf8.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(notUtf8.length).put(notUtf8).array());
        fails(f, "not valid UTF-8");
    }

    @Test
    void zipEntryMissingOrWrongSize() throws IOException {
        Path source = WeightsTest.fixture("small_model.pth");
        fails(rezip(source, name -> name.endsWith("/data/3"), null), "zip entry small_model/data/3 is missing");
        fails(rezip(source, name -> name.endsWith("/data.pkl"), null), "data.pkl is missing");
        fails(rezip(source, null, name -> name.endsWith("/data/0")), "holds 100 bytes, the pickle expects 432");
    }

    @Test
    void flippedBitInAStoredWeightIsCaught() throws IOException {
        byte[] b = Files.readAllBytes(WeightsTest.fixture("small_model.pth"));
        // the first storage's data: find its local header, skip to the data, flip a bit in the middle
        int at = indexOf(b, "small_model/data/0".getBytes(StandardCharsets.US_ASCII), 0);
        b[at + 200] ^= 0x10;
        Path f = tmp.resolve("flipped.pth");
        Files.write(f, b);
        fails(f, "zip entry small_model/data/0 is corrupt (its CRC-32 does not match)");
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        outer:
        for (int i = from; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }

    /** A copy of a zip without the entries {@code drop} names and with 100 bytes for those {@code shrink} names. */
    private Path rezip(Path source, Predicate<String> drop, Predicate<String> shrink) throws IOException {
        Path out = tmp.resolve("re" + System.nanoTime() + ".pth");
        try (ZipFile in = new ZipFile(source.toFile()); OutputStream os = Files.newOutputStream(out);
             ZipOutputStream zip = new ZipOutputStream(os)) {
            Enumeration<? extends ZipEntry> entries = in.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (drop != null && drop.test(e.getName())) {
                    continue;
                }
                byte[] data = in.getInputStream(e).readAllBytes();
                if (shrink != null && shrink.test(e.getName())) {
                    data = new byte[100];
                }
                zip.putNextEntry(new ZipEntry(e.getName()));
                zip.write(data);
                zip.closeEntry();
            }
        }
        return out;
    }

    @Test
    void hostilePickles() throws IOException {
        // GLOBAL 'os system' REDUCE: refused at the GLOBAL, before any call
        fails(pickleZip(pickle("cos\nsystem\n(S'echo hi'\ntR.")), "refusing to load global os.system");
        fails(pickleZip(pickle("\u0080\u0002cbuiltins\neval\nq\u0000.")), "refusing to load global builtins.eval");
        fails(pickleZip(pickle("\u0080\u0004\u008c\u0005posix\u008c\u0006system\u0093.")), "refusing to load global posix.system");
        // object-creating opcodes
        fails(pickleZip(pickle("\u0080\u0002(\u0081.")), "creates an object of an arbitrary class");
        // a deep structure, no recursion: 100000 nested tuples, then STOP -> not a dict
        fails(pickleZip(pickle("\u0080\u0002)" + "\u0085".repeat(100_000) + ".")), "holds a tuple, not a dict");
        // a length past the end
        fails(pickleZip(pickle("\u0080\u0002X\u00ff\u00ff\u00ff\u007f.")), "truncated");
        // no STOP
        fails(pickleZip(pickle("\u0080\u0002}")), "truncated");
        // a checkpoint dict, not a state_dict
        fails(pickleZip(pickle("\u0080\u0002}X\u0005\u0000\u0000\u0000epochK\u0003s.")), "entry \"epoch\" is a int, not a tensor");
    }

    @Test
    void picklesThatWouldFillTheHeap() throws IOException {
        // 3 MB of EMPTY_DICT: a 56-byte map per byte without the object budget
        fails(pickleZip(pickle("\u0080\u0002" + "}".repeat(3_000_000) + ".")), "more than 2000000 objects");
        fails(pickleZip(pickle("\u0080\u0002" + "(".repeat(3_000_000) + ".")), "more than 2000000 objects");
        // one float viewed 2^30 times through stride 0: 4 GiB from a few hundred bytes
        String tensor = "\u0080\u0002}(X\u0003\u0000\u0000\u0000big"
                + "ctorch._utils\n_rebuild_tensor_v2\n"
                + "((X\u0007\u0000\u0000\u0000storagectorch\nFloatStorage\nX\u0001\u0000\u0000\u00000"
                + "X\u0003\u0000\u0000\u0000cpuK\u0001tQ"
                + "K\u0000J\u0000\u0000\u0000\u0040\u0085K\u0000\u0085\u0089)tRu.";
        Path f = pickleZip(pickle(tensor), new byte[4]);
        assertTrue(Weights.list(f).getFirst().numel() == 1L << 30); // listing reads no data: fine
        fails(f, "its tensors would take 4294967296 bytes in memory, more than 16 times the file's");
    }

    private static byte[] pickle(String latin1) {
        return latin1.getBytes(StandardCharsets.ISO_8859_1);
    }

    private Path pickleZip(byte[] pkl) throws IOException {
        return pickleZip(pkl, null);
    }

    /** A zip as torch.save writes it: archive/data.pkl, and archive/data/0 when {@code storage0} is given. */
    private Path pickleZip(byte[] pkl, byte[] storage0) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(pkl);
            zip.closeEntry();
            if (storage0 != null) {
                zip.putNextEntry(new ZipEntry("archive/data/0"));
                zip.write(storage0);
                zip.closeEntry();
            }
        }
        Path f = tmp.resolve("p" + System.nanoTime() + ".pth");
        Files.write(f, bytes.toByteArray());
        return f;
    }

    @Test
    void truncatedFilesOfEveryFormat() throws IOException {
        for (String name : new String[] {"small_model.pth", "small_model.safetensors", "legacy.pth"}) {
            byte[] all = Files.readAllBytes(WeightsTest.fixture(name));
            for (int cut : new int[] {0, 1, 7, 8, 9, all.length / 2, all.length - 1}) {
                Path f = tmp.resolve("cut" + cut + name);
                Files.write(f, java.util.Arrays.copyOf(all, cut));
                assertThrows(WeightsException.class, () -> Weights.read(f), name + " cut at " + cut);
            }
        }
    }
}
