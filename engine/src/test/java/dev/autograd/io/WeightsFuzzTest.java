package dev.autograd.io;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random corruption of valid files (seeded, so a failure reproduces): every outcome is a successful
 * read or a {@link WeightsException}; anything else (another exception, an OutOfMemoryError, a
 * StackOverflowError) fails the test with the seed and iteration.
 */
class WeightsFuzzTest {

    static final long SEED = 0x5eed_2026L;
    static final int ITERATIONS = 1000;

    @TempDir
    Path tmp;

    @Test
    void safetensorsReader() throws IOException {
        fuzz("small_model.safetensors", "dtypes.safetensors");
    }

    @Test
    void pthReaders() throws IOException {
        fuzz("small_model.pth", "views.pth", "legacy.pth", "legacy_v1.pth", "dtypes.pth");
    }

    /** Mutations of data.pkl alone, re-zipped with a valid CRC, so they reach the unpickler. */
    @Test
    void pickleInsideAZip() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(WeightsTest.fixture("small_model.pth").toFile())) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
            }
        }
        SplittableRandom random = new SplittableRandom(SEED + 1);
        Path f = tmp.resolve("fuzz.pth");
        int ok = 0;
        for (int it = 0; it < ITERATIONS; it++) {
            try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(f))) {
                for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                    out.putNextEntry(new ZipEntry(e.getKey()));
                    out.write(e.getKey().endsWith("data.pkl") ? mutate(e.getValue(), random) : e.getValue());
                    out.closeEntry();
                }
            }
            try {
                Weights.read(f);
                ok++;
            } catch (WeightsException expected) {
                // the one clear error
            } catch (Throwable t) {
                fail("iteration " + it + " (seed " + (SEED + 1) + "): " + t, t);
            }
        }
        if (ok == 0) {
            fail("no mutated pickle read successfully");
        }
    }

    private void fuzz(String... fixtures) throws IOException {
        SplittableRandom random = new SplittableRandom(SEED);
        byte[][] originals = new byte[fixtures.length][];
        for (int i = 0; i < fixtures.length; i++) {
            originals[i] = Files.readAllBytes(WeightsTest.fixture(fixtures[i]));
        }
        Path f = tmp.resolve("fuzz");
        int ok = 0;
        for (int it = 0; it < ITERATIONS; it++) {
            int which = random.nextInt(fixtures.length);
            byte[] mutated = mutate(originals[which], random);
            Files.write(f, mutated);
            try {
                Weights.read(f);
                Weights.list(f);
                ok++;
            } catch (WeightsException expected) {
                // the one clear error
            } catch (Throwable t) {
                fail("iteration " + it + " (seed " + SEED + ", " + fixtures[which] + "): " + t, t);
            }
        }
        // some mutations hit only data bytes, which must still read
        if (ok == 0) {
            fail("no mutated file read successfully: the mutations are too coarse to test anything but errors");
        }
    }

    /** Byte flips, overwrites with extreme little-endian integers, truncation, or insertion. */
    static byte[] mutate(byte[] original, SplittableRandom random) {
        byte[] b = original.clone();
        int kind = random.nextInt(5);
        switch (kind) {
            case 0 -> { // a few random bytes
                int n = 1 + random.nextInt(4);
                for (int i = 0; i < n; i++) {
                    b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                }
            }
            case 1 -> { // an extreme integer somewhere (lengths, offsets, sizes)
                long[] extremes = {0, -1, Long.MAX_VALUE, Integer.MAX_VALUE, 0xffffffffL, 1L << 40, b.length, b.length + 1};
                long v = extremes[random.nextInt(extremes.length)];
                int width = random.nextBoolean() ? 8 : 4;
                int at = random.nextInt(Math.max(1, b.length - width));
                for (int i = 0; i < width && at + i < b.length; i++) {
                    b[at + i] = (byte) (v >>> (8 * i));
                }
            }
            case 2 -> b = Arrays.copyOf(b, random.nextInt(b.length)); // truncation
            case 3 -> { // insertion of random bytes
                int at = random.nextInt(b.length);
                byte[] extra = new byte[1 + random.nextInt(16)];
                random.nextBytes(extra);
                byte[] out = new byte[b.length + extra.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(extra, 0, out, at, extra.length);
                System.arraycopy(b, at, out, at + extra.length, b.length - at);
                b = out;
            }
            default -> { // an ASCII digit or bracket changed (JSON headers, pickle strings)
                for (int tries = 0; tries < 64; tries++) {
                    int at = random.nextInt(b.length);
                    if (b[at] >= '0' && b[at] <= '9' || b[at] == '[' || b[at] == ']' || b[at] == ',' || b[at] == '"') {
                        b[at] = (byte) "0123456789[],\"-{}".charAt(random.nextInt(17));
                        break;
                    }
                }
            }
        }
        return b;
    }
}
