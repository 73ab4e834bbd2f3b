package dev.autograd.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors format (Hugging Face): an unsigned 64-bit little-endian header length N, N bytes of
 * UTF-8 JSON mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}}
 * (offsets relative to the data section that follows) plus an optional {@code "__metadata__"} map of
 * strings, then the data section. Reading validates what the reference implementation validates:
 * header length within the file and at most 100,000,000 bytes, strict JSON, known dtypes,
 * non-negative dims, offsets that tile the data section exactly (no gap, no overlap, nothing after the
 * last tensor) and {@code numel * itemSize == end - begin}. The data section is memory-mapped and
 * copied once into Java arrays.
 */
public final class SafeTensors {

    /** The reference implementation's bound on the header. */
    public static final long MAX_HEADER_LENGTH = 100_000_000;
    static final String METADATA = "__metadata__";

    private SafeTensors() {
    }

    /** A file's tensors in header order and its {@code __metadata__} (empty when absent). */
    public record Contents(LinkedHashMap<String, TensorData> tensors, LinkedHashMap<String, String> metadata) {
    }

    /** A validated header: entries in header order, with their offsets inside the data section. */
    record Header(List<Entry> entries, LinkedHashMap<String, String> metadata, long dataStart, long dataLength) {
    }

    record Entry(TensorInfo info, long begin, long end) {
    }

    /** Reads and validates every tensor of a safetensors file. */
    public static Contents read(Path file) {
        String where = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            Header h = header(ch, where);
            LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
            MemorySegment data = h.dataLength == 0 ? MemorySegment.NULL
                    : ch.map(FileChannel.MapMode.READ_ONLY, h.dataStart, h.dataLength, arena);
            for (Entry e : h.entries) {
                tensors.put(e.info.name(), TensorData.read(e.info.dtype(), e.info.shape(), data, e.begin));
            }
            return new Contents(tensors, h.metadata);
        } catch (IOException e) {
            throw Weights.ioError(where, e);
        } catch (InternalError e) {
            // a mapped file truncated under us faults on access
            throw new WeightsException(where + ": the file changed while it was read (" + e.getMessage() + ")", e);
        }
    }

    /** The tensors' names, dtypes and shapes, reading only the header. */
    public static List<TensorInfo> list(Path file) {
        String where = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return header(ch, where).entries.stream().map(Entry::info).toList();
        } catch (IOException e) {
            throw Weights.ioError(where, e);
        }
    }

    static Header header(FileChannel ch, String where) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw bad(where, "the file is " + size + " bytes, too short for the 8-byte header length");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lengthBytes, 0, where);
        long n = lengthBytes.getLong(0);
        if (n < 0 || n > MAX_HEADER_LENGTH) {
            throw bad(where, "header length " + Long.toUnsignedString(n) + " is out of range (at most "
                    + MAX_HEADER_LENGTH + " bytes)");
        }
        if (n > size - 8) {
            throw bad(where, "header length " + n + " runs past the end of the file (" + size + " bytes): truncated?");
        }
        String text = utf8(readHeader(ch, (int) n, where), where);
        if (!text.startsWith("{")) {
            throw bad(where, "the header does not start with '{'");
        }
        long dataLength = size - 8 - n;
        LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        Set<String> names = new HashSet<>();
        try {
            // member by member: only the compact Entry of each tensor is kept, never the JSON tree
            Json.parseMembers(text, (name, parser) -> {
                if (!names.add(name)) {
                    throw parser.errorHere("duplicate key " + Json.quote(name));
                }
                Object value = parser.value();
                if (name.equals(METADATA)) {
                    if (!(value instanceof Map<?, ?> m)) {
                        throw bad(where, "__metadata__ is not an object of strings");
                    }
                    for (Map.Entry<?, ?> kv : m.entrySet()) {
                        if (!(kv.getValue() instanceof String v)) {
                            throw bad(where, "__metadata__ value of " + Json.quote((String) kv.getKey()) + " is not a string");
                        }
                        metadata.put((String) kv.getKey(), v);
                    }
                } else {
                    entries.add(entry(where, name, value));
                }
            });
        } catch (Json.JsonException e) {
            throw bad(where, "the header is not valid JSON: " + e.getMessage());
        }
        // the tensors must tile the data section: sorted by offsets, each starts where the last ended
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long end = 0;
        for (Entry e : sorted) {
            if (e.begin != end) {
                throw bad(where, "tensor " + Json.quote(e.info.name()) + " starts at data offset " + e.begin
                        + (e.begin < end ? ", overlapping the previous tensor, which ends at " : ", leaving a gap after ")
                        + end);
            }
            end = e.end;
        }
        if (end != dataLength) {
            throw bad(where, "the tensors end at data offset " + end + " but the data section holds " + dataLength
                    + " bytes" + (end > dataLength ? ": truncated?" : ""));
        }
        return new Header(entries, metadata, 8 + n, dataLength);
    }

    private static Entry entry(String where, String name, Object value) {
        String tensor = "tensor " + Json.quote(name);
        if (!(value instanceof Map<?, ?> m)) {
            throw bad(where, tensor + " is not an object");
        }
        if (!(m.get("dtype") instanceof String dtypeName)) {
            throw bad(where, tensor + " has no string \"dtype\"");
        }
        DType dtype = DType.fromSafetensors(dtypeName);
        if (dtype == null) {
            throw bad(where, tensor + " has dtype " + dtypeName + ", which is not supported (F32, F16, BF16, F64, I64, I32, BOOL)");
        }
        if (!(m.get("shape") instanceof List<?> shapeList)) {
            throw bad(where, tensor + " has no \"shape\" array");
        }
        long[] shape = new long[shapeList.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(shapeList.get(i) instanceof Long d) || d < 0) {
                throw bad(where, tensor + " has a shape dim that is not a non-negative integer: " + describe(shapeList.get(i)));
            }
            shape[i] = d;
        }
        long numel = TensorData.numel(shape);
        if (numel < 0) {
            throw bad(where, tensor + " has more elements than a Java array holds");
        }
        if (!(m.get("data_offsets") instanceof List<?> offsets) || offsets.size() != 2
                || !(offsets.get(0) instanceof Long begin) || !(offsets.get(1) instanceof Long end)
                || begin < 0 || end < begin) {
            throw bad(where, tensor + " has no valid \"data_offsets\" [begin, end]");
        }
        long bytes = numel * dtype.itemSize();
        if (end - begin != bytes) {
            throw bad(where, tensor + " of dtype " + dtypeName + " and shape " + java.util.Arrays.toString(shape)
                    + " needs " + bytes + " bytes but its data_offsets span " + (end - begin));
        }
        return new Entry(new TensorInfo(name, dtype, shape), begin, end);
    }

    private static String describe(Object o) {
        return o == null ? "null" : o instanceof String s ? Json.quote(s.length() > 40 ? s.substring(0, 40) + "..." : s)
                : o instanceof Map || o instanceof List ? "a " + (o instanceof Map ? "object" : "array") : o.toString();
    }

    /**
     * Writes tensors (in map order) and metadata as a safetensors file, through a temporary file
     * moved into place, so a failed write leaves any previous file intact.
     */
    public static void write(Path file, Map<String, TensorData> tensors, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{");
        if (metadata != null && !metadata.isEmpty()) {
            json.append(Json.quote(METADATA)).append(":{");
            boolean first = true;
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                json.append(first ? "" : ",").append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
                first = false;
            }
            json.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new WeightsException(file + ": a tensor cannot be named " + METADATA);
            }
            TensorData t = e.getValue();
            json.append(json.length() > 1 ? "," : "").append(Json.quote(e.getKey()))
                    .append(":{\"dtype\":\"").append(t.dtype().name()).append("\",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                json.append(i > 0 ? "," : "").append(shape[i]);
            }
            json.append("],\"data_offsets\":[").append(offset).append(',').append(offset + t.byteSize()).append("]}");
            offset += t.byteSize();
        }
        json.append('}');
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) & ~7; // as the reference writer: pad with spaces to 8 bytes
        long total = 8 + padded + offset;
        Weights.writeAtomically(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE); Arena arena = Arena.ofConfined()) {
                MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
                out.set(TensorData.I64_LE, 0, padded);
                MemorySegment.copy(header, 0, out, java.lang.foreign.ValueLayout.JAVA_BYTE, 8, header.length);
                out.asSlice(8 + header.length, padded - header.length).fill((byte) ' ');
                long at = 8 + padded;
                for (TensorData t : tensors.values()) {
                    t.write(out, at);
                    at += t.byteSize();
                }
            }
        });
    }

    private static byte[] readHeader(FileChannel ch, int n, String where) throws IOException {
        byte[] bytes = new byte[n];
        readFully(ch, ByteBuffer.wrap(bytes), 8, where);
        return bytes;
    }

    /** Strict UTF-8; an ASCII header (the usual case) becomes a String without a char[] in between. */
    private static String utf8(byte[] bytes, String where) {
        boolean ascii = true;
        for (byte b : bytes) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(bytes, StandardCharsets.US_ASCII);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw bad(where, "the header is not valid UTF-8");
        }
    }

    static void readFully(FileChannel ch, ByteBuffer buffer, long position, String where) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int n = ch.read(buffer, at);
            if (n < 0) {
                throw bad(where, "unexpected end of file at byte " + at);
            }
            at += n;
        }
    }

    private static WeightsException bad(String where, String problem) {
        return new WeightsException(where + ": not a valid safetensors file: " + problem);
    }
}
