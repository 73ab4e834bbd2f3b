package dev.autograd;

import dev.autograd.io.FixtureJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Reads the fixtures tools/make_tensor_fixtures.py wrote with real PyTorch 1.13. */
final class Fixtures {
    private Fixtures() {
    }

    static Object load(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing fixture " + name + ": run /usr/bin/python3 tools/make_tensor_fixtures.py");
            }
            return FixtureJson.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(String name) {
        return (List<Map<String, Object>>) load(name);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(String name) {
        return (Map<String, Object>) load(name);
    }

    static int[] ints(Object list) {
        List<?> l = (List<?>) list;
        int[] r = new int[l.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = ((Number) l.get(i)).intValue();
        }
        return r;
    }

    static double value(Object o) {
        if (o instanceof Number n) {
            return n.doubleValue();
        }
        if (o instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return switch ((String) o) {
            case "nan" -> Double.NaN;
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            default -> throw new IllegalArgumentException("not a number: " + o);
        };
    }

    static float[] floats(Object list) {
        List<?> l = (List<?>) list;
        float[] r = new float[l.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) value(l.get(i));
        }
        return r;
    }

    static long[] longs(Object list) {
        List<?> l = (List<?>) list;
        long[] r = new long[l.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = ((Number) l.get(i)).longValue();
        }
        return r;
    }

    /** A tensor of the fixture's dtype ("float32" default), shape and values. */
    static Tensor tensor(Map<String, Object> spec) {
        int[] shape = ints(spec.get("shape"));
        String dtype = (String) spec.getOrDefault("dtype", "float32");
        return switch (dtype) {
            case "int64" -> Tensor.wrapLong(longs(spec.get("values")), shape);
            case "bool" -> {
                float[] v = floats(spec.get("values"));
                yield Tensor.wrapBool(v, shape);
            }
            default -> Tensor.wrap(floats(spec.get("values")), shape);
        };
    }
}
