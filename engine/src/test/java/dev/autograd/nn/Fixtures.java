package dev.autograd.nn;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the fixtures {@code tools/make_resnet_fixtures.py} wrote with PyTorch: safetensors through the
 * engine's reader, JSON through a minimal parser (test code only).
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

    /** A safetensors fixture, read with the engine's own reader ({@link dev.autograd.io.SafeTensors}). */
    static SafeTensors safetensors(String name) {
        Path path;
        try {
            path = Path.of(Fixtures.class.getResource("/nn/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalArgumentException("missing test resource nn/" + name, e);
        }
        dev.autograd.io.SafeTensors.Contents contents = dev.autograd.io.SafeTensors.read(path);
        Map<String, Stored> tensors = new LinkedHashMap<>();
        contents.tensors().forEach((k, t) -> {
            boolean isLong = t.dtype() == dev.autograd.io.DType.I64;
            tensors.put(k, new Stored(t.dtype().name(), t.intShape(), t.toFloatArray(), isLong ? t.toLongArray() : null));
        });
        return new SafeTensors(tensors, contents.metadata());
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
