package dev.autograd.io;

import dev.autograd.io.TorchUnpickler.Global;
import dev.autograd.io.TorchUnpickler.Storage;
import dev.autograd.io.TorchUnpickler.StorageView;
import dev.autograd.io.TorchUnpickler.TensorRef;
import dev.autograd.io.TorchUnpickler.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * PyTorch's {@code torch.save} files: the zip format of PyTorch 1.6 and later ({@code <name>/data.pkl}
 * plus one {@code <name>/data/<key>} entry per storage) and the older "legacy" format (a magic-number
 * pickle, a protocol pickle, a system-info pickle, the object pickle, a pickle of storage keys, then
 * each storage as an int64 element count and its bytes). Both hold a dict of tensors; the pickle is
 * read by {@link TorchUnpickler}, which runs no code.
 */
final class TorchFiles {

    static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    static final long LEGACY_PROTOCOL = 1001;
    /**
     * Tensors are copied out of their storages, so views repeating one storage (or stride-0 views)
     * could make a small file fill the heap: the tensors may take at most this many times the file's
     * size, or {@link #MIN_MATERIALIZED_BOUND} bytes. PyTorch files hold each weight once (tied
     * weights twice), far below.
     */
    static final long MAX_MATERIALIZED_RATIO = 16;
    static final long MIN_MATERIALIZED_BOUND = 256L << 20;
    /** Deflate expands at most ~1032:1; a compressed entry claiming more is corrupt (PyTorch stores, never deflates). */
    private static final long MAX_DEFLATE_RATIO = 1100;

    private TorchFiles() {
    }

    /** A parsed pickle: the tensors by name, before their storages are read. */
    private record Parsed(LinkedHashMap<String, TensorRef> refs) {
        List<TensorInfo> infos() {
            List<TensorInfo> out = new ArrayList<>();
            refs.forEach((name, r) -> out.add(new TensorInfo(name, r.storage().storage().dtype(), r.size())));
            return out;
        }
    }

    // ---------------------------------------------------------------- zip format (PyTorch >= 1.6)

    static LinkedHashMap<String, TensorData> readZip(Path file) {
        return zip(file, true).tensors;
    }

    static List<TensorInfo> listZip(Path file) {
        return zip(file, false).infos;
    }

    private record ZipResult(LinkedHashMap<String, TensorData> tensors, List<TensorInfo> infos) {
    }

    private static ZipResult zip(Path file, boolean readData) {
        String where = file.toString();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            long fileSize = Files.size(file);
            String prefix = archiveName(zip, where);
            ZipEntry pklEntry = zip.getEntry(prefix + "/data.pkl");
            if (pklEntry == null) {
                throw new WeightsException(where + ": zip entry " + prefix + "/data.pkl is missing: not a PyTorch file");
            }
            byte[] pkl = readEntry(zip, pklEntry, -1, fileSize, where);
            ByteOrder order = ByteOrder.LITTLE_ENDIAN;
            ZipEntry byteorder = zip.getEntry(prefix + "/byteorder");
            if (byteorder != null) {
                String s = new String(readEntry(zip, byteorder, -1, fileSize, where), StandardCharsets.US_ASCII).strip();
                if (s.equals("big")) {
                    order = ByteOrder.BIG_ENDIAN;
                } else if (!s.equals("little")) {
                    throw new WeightsException(where + ": unknown byteorder " + Json.quote(s));
                }
            }
            Map<String, Storage> storages = new HashMap<>();
            Object root = new TorchUnpickler(ByteBuffer.wrap(pkl), where, pid -> zipPersistentId(pid, storages, where)).load();
            Parsed parsed = stateDict(root, where);
            if (!readData) {
                return new ZipResult(null, parsed.infos());
            }
            checkMaterializedSize(parsed, fileSize, where);
            Map<Storage, MemorySegment> loaded = new HashMap<>();
            LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, TensorRef> e : parsed.refs.entrySet()) {
                TensorRef r = e.getValue();
                Storage s = r.storage().storage();
                MemorySegment bytes = loaded.get(s);
                if (bytes == null) {
                    String name = prefix + "/data/" + s.key();
                    ZipEntry entry = zip.getEntry(name);
                    if (entry == null) {
                        throw new WeightsException(where + ": zip entry " + name + " is missing (storage of " + Json.quote(e.getKey()) + ")");
                    }
                    byte[] b = readEntry(zip, entry, s.numel() * s.dtype().itemSize(), fileSize, where);
                    if (order == ByteOrder.BIG_ENDIAN) {
                        swapBytes(b, s.dtype().itemSize());
                    }
                    bytes = MemorySegment.ofArray(b);
                    loaded.put(s, bytes);
                }
                tensors.put(e.getKey(), materialize(r, bytes, 0));
            }
            return new ZipResult(tensors, null);
        } catch (ZipException e) {
            throw new WeightsException(where + ": not a valid PyTorch zip file: " + e.getMessage(), e);
        } catch (IOException e) {
            throw Weights.ioError(where, e);
        }
    }

    /** torch names every entry {@code <archive>/...}; the archive name is the first entry's directory. */
    private static String archiveName(ZipFile zip, String where) {
        Enumeration<? extends ZipEntry> entries = zip.entries();
        if (!entries.hasMoreElements()) {
            throw new WeightsException(where + ": the zip file is empty: not a PyTorch file");
        }
        String first = entries.nextElement().getName();
        int slash = first.indexOf('/');
        if (slash <= 0) {
            throw new WeightsException(where + ": zip entry " + Json.quote(first) + " is not inside an archive directory: not a PyTorch file");
        }
        return first.substring(0, slash);
    }

    /**
     * An entry's bytes; {@code expected} (or -1 for any) is checked against the size the zip declares
     * before anything is allocated, and that size is bounded by the file's.
     */
    private static byte[] readEntry(ZipFile zip, ZipEntry entry, long expected, long fileSize, String where)
            throws IOException {
        long size = entry.getSize();
        String name = entry.getName();
        if (size < 0) {
            throw new WeightsException(where + ": zip entry " + name + " does not declare its size");
        }
        if (expected >= 0 && size != expected) {
            throw new WeightsException(where + ": zip entry " + name + " holds " + size + " bytes, the pickle expects " + expected);
        }
        long bound = entry.getMethod() == ZipEntry.STORED ? fileSize
                : Math.min(Long.MAX_VALUE / MAX_DEFLATE_RATIO, Math.max(entry.getCompressedSize(), 0)) * MAX_DEFLATE_RATIO;
        if (size > bound) {
            throw new WeightsException(where + ": zip entry " + name + " claims " + size + " bytes, more than the file can hold: corrupt");
        }
        if (size > TensorData.MAX_ELEMENTS) {
            throw new WeightsException(where + ": zip entry " + name + " is larger than 2 GiB, which is not supported");
        }
        byte[] b = new byte[(int) size];
        try (InputStream in = zip.getInputStream(entry)) {
            int n = in.readNBytes(b, 0, b.length);
            if (n != b.length) {
                throw new WeightsException(where + ": zip entry " + name + " is truncated (" + n + " of " + size + " bytes)");
            }
        }
        // ZipFile does not check stored entries; a flipped bit in a weight would load silently
        CRC32 crc = new CRC32();
        crc.update(b);
        if (entry.getCrc() != -1 && crc.getValue() != entry.getCrc()) {
            throw new WeightsException(where + ": zip entry " + name + " is corrupt (its CRC-32 does not match)");
        }
        return b;
    }

    /** {@code ('storage', torch.FloatStorage, key, location, numel)}. */
    private static StorageView zipPersistentId(Tuple pid, Map<String, Storage> storages, String where) {
        List<Object> t = pid.items();
        if (t.size() != 5 || !"storage".equals(t.get(0))) {
            throw new WeightsException(where + ": corrupt or unsupported pickle: a persistent id that is not "
                    + "('storage', type, key, location, numel)");
        }
        Storage s = storage(t.get(1), t.get(2), t.get(4), storages, where);
        return new StorageView(s, 0, s.numel());
    }

    private static Storage storage(Object type, Object keyObject, Object numelObject, Map<String, Storage> storages,
                                   String where) {
        if (!(type instanceof Global g) || !g.module().equals("torch") || DType.fromStorageClass(g.name()) == null) {
            throw new WeightsException(where + ": corrupt or unsupported pickle: storage type "
                    + TorchUnpickler.typeName(type) + " is not one of torch's storage classes");
        }
        DType dtype = DType.fromStorageClass(g.name());
        if (!(keyObject instanceof String key) || !(numelObject instanceof Long numel) || numel < 0
                || numel > Long.MAX_VALUE / 8) {
            throw new WeightsException(where + ": corrupt or unsupported pickle: a storage's key or size is malformed");
        }
        Storage s = storages.computeIfAbsent(key, k -> new Storage(k, dtype, numel));
        if (s.dtype() != dtype || s.numel() != numel) {
            throw new WeightsException(where + ": corrupt pickle: storage " + Json.quote(key) + " is declared twice, differently");
        }
        return s;
    }

    // ---------------------------------------------------------------- legacy format (PyTorch < 1.6)

    static LinkedHashMap<String, TensorData> readLegacy(Path file) {
        return legacy(file, true).tensors;
    }

    static List<TensorInfo> listLegacy(Path file) {
        return legacy(file, false).infos;
    }

    private static ZipResult legacy(Path file, boolean readData) {
        String where = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new WeightsException(where + ": legacy PyTorch files over 2 GiB are not supported; convert it "
                        + "in Python with a recent PyTorch: torch.save(torch.load(f), g), or save it as safetensors");
            }
            MemorySegment segment = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            ByteBuffer in = segment.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            Function<Tuple, StorageView> noPid = pid -> {
                throw new WeightsException(where + ": corrupt legacy PyTorch file: a persistent id in its header");
            };
            Object magic = new TorchUnpickler(in, where, noPid).load();
            if (!LEGACY_MAGIC.equals(magic)) {
                throw new WeightsException(where + ": not a PyTorch file (no legacy magic number)");
            }
            Object protocol = new TorchUnpickler(in, where, noPid).load();
            if (!(protocol instanceof Long p) || p != LEGACY_PROTOCOL) {
                throw new WeightsException(where + ": legacy PyTorch file of unsupported protocol version "
                        + TorchUnpickler.typeName(protocol) + " " + (protocol instanceof Long ? protocol : "")
                        + "; convert it in Python: torch.save(torch.load(f), g)");
            }
            Object sysInfo = new TorchUnpickler(in, where, noPid).load();
            if (!(sysInfo instanceof Map<?, ?> info) || !Boolean.TRUE.equals(info.get("little_endian"))) {
                throw new WeightsException(where + ": legacy PyTorch file written on a big-endian machine or with "
                        + "a malformed header; convert it in Python: torch.save(torch.load(f), g)");
            }
            Map<String, Storage> storages = new LinkedHashMap<>();
            Map<String, StorageView> views = new HashMap<>();
            Object root = new TorchUnpickler(in, where, pid -> legacyPersistentId(pid, storages, views, where)).load();
            Parsed parsed = stateDict(root, where);
            if (!readData) {
                return new ZipResult(null, parsed.infos());
            }
            checkMaterializedSize(parsed, size, where);
            Object keys = new TorchUnpickler(in, where, noPid).load();
            if (!(keys instanceof List<?> keyList)) {
                throw new WeightsException(where + ": corrupt legacy PyTorch file: the storage key list is a "
                        + TorchUnpickler.typeName(keys));
            }
            Map<Storage, Long> offsets = new HashMap<>();
            for (Object k : keyList) {
                Storage s = k instanceof String key ? storages.get(key) : null;
                if (s == null || offsets.containsKey(s)) {
                    throw new WeightsException(where + ": corrupt legacy PyTorch file: storage key list names "
                            + (k instanceof String key ? Json.quote(key) : TorchUnpickler.typeName(k))
                            + ", which the pickle does not reference or lists twice");
                }
                if (in.remaining() < 8) {
                    throw new WeightsException(where + ": truncated legacy PyTorch file: storage " + s.key() + " is missing");
                }
                long count = in.getLong();
                long bytes = s.numel() * s.dtype().itemSize();
                if (count != s.numel()) {
                    throw new WeightsException(where + ": corrupt legacy PyTorch file: storage " + s.key() + " holds "
                            + count + " elements, the pickle says " + s.numel());
                }
                if (bytes > in.remaining()) {
                    throw new WeightsException(where + ": truncated legacy PyTorch file: storage " + s.key() + " needs "
                            + bytes + " bytes, " + in.remaining() + " are left");
                }
                offsets.put(s, (long) in.position());
                in.position(in.position() + (int) bytes);
            }
            LinkedHashMap<String, TensorData> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, TensorRef> e : parsed.refs.entrySet()) {
                TensorRef r = e.getValue();
                Long at = offsets.get(r.storage().storage());
                if (at == null) {
                    throw new WeightsException(where + ": corrupt legacy PyTorch file: the storage of "
                            + Json.quote(e.getKey()) + " is not in the file");
                }
                tensors.put(e.getKey(), materialize(r, segment, at));
            }
            return new ZipResult(tensors, null);
        } catch (IOException e) {
            throw Weights.ioError(where, e);
        } catch (InternalError e) {
            throw new WeightsException(where + ": the file changed while it was read (" + e.getMessage() + ")", e);
        }
    }

    /** {@code ('storage', type, root_key, location, root_numel, view_metadata)}, view_metadata None or (key, offset, size). */
    private static StorageView legacyPersistentId(Tuple pid, Map<String, Storage> storages,
                                                  Map<String, StorageView> views, String where) {
        List<Object> t = pid.items();
        if (t.size() != 6 || !"storage".equals(t.get(0))) {
            throw new WeightsException(where + ": corrupt or unsupported legacy pickle: a persistent id that is not "
                    + "('storage', type, key, location, numel, view)");
        }
        Storage s = storage(t.get(1), t.get(2), t.get(4), storages, where);
        Object view = t.get(5);
        if (view == null) {
            return new StorageView(s, 0, s.numel());
        }
        if (!(view instanceof Tuple(List<Object> v)) || v.size() != 3 || !(v.get(0) instanceof String viewKey)
                || !(v.get(1) instanceof Long offset) || !(v.get(2) instanceof Long viewSize)
                || offset < 0 || viewSize < 0 || offset > s.numel() - viewSize) {
            throw new WeightsException(where + ": corrupt legacy pickle: a malformed storage view of " + s.key());
        }
        return views.computeIfAbsent(viewKey, k -> new StorageView(s, offset, viewSize));
    }

    // ---------------------------------------------------------------- shared

    /** Refuses files whose tensors, copied out of their storages, would take far more memory than the file. */
    private static void checkMaterializedSize(Parsed parsed, long fileSize, String where) {
        long total = 0;
        for (TensorRef r : parsed.refs.values()) {
            total += TensorData.numel(r.size()) * r.storage().storage().dtype().itemSize(); // < 2^34 each
        }
        long bound = Math.max(MIN_MATERIALIZED_BOUND, MAX_MATERIALIZED_RATIO * fileSize);
        if (total > bound) {
            throw new WeightsException(where + ": its tensors would take " + total + " bytes in memory, more than "
                    + MAX_MATERIALIZED_RATIO + " times the file's " + fileSize + " bytes (views repeating a storage?): "
                    + "corrupt or hostile");
        }
    }

    /** The pickled object must be a dict of str to tensor. */
    private static Parsed stateDict(Object root, String where) {
        if (!(root instanceof Map<?, ?> map)) {
            throw new WeightsException(where + ": the file holds a " + TorchUnpickler.typeName(root)
                    + ", not a dict of tensors (a state_dict)");
        }
        LinkedHashMap<String, TensorRef> refs = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new WeightsException(where + ": a key of the dict is a " + TorchUnpickler.typeName(e.getKey())
                        + ", not a str");
            }
            if (!(e.getValue() instanceof TensorRef r)) {
                throw new WeightsException(where + ": entry " + Json.quote(name) + " is a "
                        + TorchUnpickler.typeName(e.getValue()) + ", not a tensor; only a dict of tensors (a state_dict) "
                        + "is supported: for a training checkpoint, save checkpoint['state_dict'] (or the model's) alone");
            }
            refs.put(name, r);
        }
        return new Parsed(refs);
    }

    /** A tensor read from its storage's bytes at {@code base} of {@code bytes}; indices were checked when unpickled. */
    private static TensorData materialize(TensorRef r, MemorySegment bytes, long base) {
        StorageView v = r.storage();
        return TensorData.readStrided(v.storage().dtype(), r.size(), r.stride(), v.offset() + r.storageOffset(), bytes, base);
    }

    private static void swapBytes(byte[] b, int item) {
        for (int i = 0; i + item <= b.length; i += item) {
            for (int j = 0; j < item / 2; j++) {
                byte x = b[i + j];
                b[i + j] = b[i + item - 1 - j];
                b[i + item - 1 - j] = x;
            }
        }
    }

}
