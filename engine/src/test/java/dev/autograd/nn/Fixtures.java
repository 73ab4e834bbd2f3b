package dev.autograd.nn;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the fixtures {@code tools/make_resnet_fixtures.py} wrote with PyTorch: a minimal safetensors
 * reader (F32 and I64 only) and a minimal JSON parser, test code only.
 */
final class Fixtures {

    /** One stored tensor: float values (I64 converted), its shape and its dtype name. */
    record Stored(String dtype, int[] shape, float[] values, long[] longs) {
        int numel() {
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** A whole safetensors file: tensors in file order and the string metadata. */
    record SafeTensors(Map<String, Stored> tensors, Map<String, String> metadata) {
        Stored get(String name) {
            Stored s = tensors.get(name);
            if (s == null) {
                throw new IllegalArgumentException("fixture has no tensor " + name);
            }
            return s;
        }
    }

    private Fixtures() {
    }

    static byte[] resource(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/nn/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("missing test resource nn/" + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(String name) {
        return new String(resource(name), StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    static SafeTensors safetensors(String name) {
        ByteBuffer buf = ByteBuffer.wrap(resource(name)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) buf.getLong(0);
        String header = new String(buf.array(), 8, headerLength, StandardCharsets.UTF_8);
        Map<String, Object> json = (Map<String, Object>) json(header);
        int base = 8 + headerLength;
        Map<String, Stored> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : json.entrySet()) {
            Map<String, Object> info = (Map<String, Object>) e.getValue();
            if (e.getKey().equals("__metadata__")) {
                info.forEach((k, v) -> metadata.put(k, (String) v));
                continue;
            }
            List<Object> shapeList = (List<Object>) info.get("shape");
            int[] shape = shapeList.stream().mapToInt(o -> ((Double) o).intValue()).toArray();
            List<Object> offsets = (List<Object>) info.get("data_offsets");
            int begin = base + ((Double) offsets.get(0)).intValue();
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            String dtype = (String) info.get("dtype");
            float[] values = new float[n];
            long[] longs = null;
            switch (dtype) {
                case "F32" -> {
                    for (int i = 0; i < n; i++) {
                        values[i] = buf.getFloat(begin + 4 * i);
                    }
                }
                case "I64" -> {
                    longs = new long[n];
                    for (int i = 0; i < n; i++) {
                        longs[i] = buf.getLong(begin + 8 * i);
                        values[i] = longs[i];
                    }
                }
                default -> throw new IllegalArgumentException("unsupported fixture dtype " + dtype);
            }
            tensors.put(e.getKey(), new Stored(dtype, shape, values, longs));
        }
        return new SafeTensors(tensors, metadata);
    }

    /** Parses JSON into Map (insertion-ordered), List, Double, String, Boolean or null. */
    static Object json(String text) {
        int[] pos = {0};
        Object value = parse(text, pos);
        skip(text, pos);
        if (pos[0] != text.length()) {
            throw new IllegalArgumentException("trailing JSON at " + pos[0]);
        }
        return value;
    }

    private static void skip(String s, int[] p) {
        while (p[0] < s.length() && Character.isWhitespace(s.charAt(p[0]))) {
            p[0]++;
        }
    }

    private static Object parse(String s, int[] p) {
        skip(s, p);
        char c = s.charAt(p[0]);
        switch (c) {
            case '{' -> {
                Map<String, Object> map = new LinkedHashMap<>();
                p[0]++;
                skip(s, p);
                if (s.charAt(p[0]) == '}') {
                    p[0]++;
                    return map;
                }
                while (true) {
                    String key = (String) parse(s, p);
                    skip(s, p);
                    expect(s, p, ':');
                    map.put(key, parse(s, p));
                    skip(s, p);
                    if (s.charAt(p[0]) == ',') {
                        p[0]++;
                    } else {
                        expect(s, p, '}');
                        return map;
                    }
                }
            }
            case '[' -> {
                List<Object> list = new ArrayList<>();
                p[0]++;
                skip(s, p);
                if (s.charAt(p[0]) == ']') {
                    p[0]++;
                    return list;
                }
                while (true) {
                    list.add(parse(s, p));
                    skip(s, p);
                    if (s.charAt(p[0]) == ',') {
                        p[0]++;
                    } else {
                        expect(s, p, ']');
                        return list;
                    }
                }
            }
            case '"' -> {
                StringBuilder sb = new StringBuilder();
                p[0]++;
                while (s.charAt(p[0]) != '"') {
                    char ch = s.charAt(p[0]++);
                    if (ch == '\\') {
                        char esc = s.charAt(p[0]++);
                        switch (esc) {
                            case 'n' -> sb.append('\n');
                            case 't' -> sb.append('\t');
                            case 'u' -> {
                                sb.append((char) Integer.parseInt(s.substring(p[0], p[0] + 4), 16));
                                p[0] += 4;
                            }
                            default -> sb.append(esc);
                        }
                    } else {
                        sb.append(ch);
                    }
                }
                p[0]++;
                return sb.toString();
            }
            default -> {
                if (s.startsWith("true", p[0])) {
                    p[0] += 4;
                    return Boolean.TRUE;
                }
                if (s.startsWith("false", p[0])) {
                    p[0] += 5;
                    return Boolean.FALSE;
                }
                if (s.startsWith("null", p[0])) {
                    p[0] += 4;
                    return null;
                }
                int start = p[0];
                while (p[0] < s.length() && "+-0123456789.eE".indexOf(s.charAt(p[0])) >= 0) {
                    p[0]++;
                }
                return Double.parseDouble(s.substring(start, p[0]));
            }
        }
    }

    private static void expect(String s, int[] p, char c) {
        if (s.charAt(p[0]) != c) {
            throw new IllegalArgumentException("expected '" + c + "' at " + p[0]);
        }
        p[0]++;
    }
}
