package dev.autograd.io;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A pickle virtual machine for exactly what a PyTorch state_dict needs, and nothing that runs code.
 *
 * <p>It understands the data opcodes of pickle protocols 2 to 5 (what {@code torch.save} emits:
 * ints, floats, strings, tuples, lists, dicts, the memo, persistent ids) and resolves a global only
 * from a fixed list: {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2} (and the
 * older {@code _rebuild_tensor}), {@code torch._utils._rebuild_parameter} (and
 * {@code _rebuild_parameter_with_state}), {@code torch.Size}, and the storage classes {@code torch.FloatStorage},
 * {@code DoubleStorage}, {@code HalfStorage}, {@code BFloat16Storage}, {@code LongStorage},
 * {@code IntStorage}, {@code BoolStorage}. Calling one of them (REDUCE) builds an empty dict or a
 * {@link TensorRef}; any other global ({@code os.system}, {@code builtins.eval}, ...) stops the
 * load with an error naming it. The opcodes that instantiate arbitrary classes (INST, OBJ, NEWOBJ,
 * NEWOBJ_EX), the extension registry (EXT1/2/4) and out-of-band buffers are refused.
 *
 * <p>Every read is checked against the bytes left, every opcode consumes at least one byte, and the
 * objects one pickle may create are capped ({@link #MAX_PUSHES}), so a hostile pickle ends in a
 * {@link WeightsException}, never a hang or a large allocation. Dict keys
 * must be scalars, so no hostile structure is ever hashed, compared or printed recursively.
 */
final class TorchUnpickler {

    /** A Python tuple. */
    record Tuple(List<Object> items) {
    }

    /** A resolved, allowed global. */
    record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** A storage as a pickle references it: its key in the file, element type and element count. */
    record Storage(String key, DType dtype, long numel) {
    }

    /** A window of a storage (legacy files can pickle views of a storage); elements {@code [offset, offset+size)}. */
    record StorageView(Storage storage, long offset, long size) {
    }

    /** A tensor to be read once the storages are at hand. */
    record TensorRef(StorageView storage, long storageOffset, long[] size, long[] stride) {
    }

    static final Global ORDERED_DICT = new Global("collections", "OrderedDict");
    static final Global REBUILD_TENSOR_V2 = new Global("torch._utils", "_rebuild_tensor_v2");
    static final Global REBUILD_TENSOR = new Global("torch._utils", "_rebuild_tensor");
    static final Global REBUILD_PARAMETER = new Global("torch._utils", "_rebuild_parameter");
    static final Global REBUILD_PARAMETER_WITH_STATE = new Global("torch._utils", "_rebuild_parameter_with_state");
    /** Old (0.3-era) files pickle a tensor's size as {@code torch.Size((2, 3))}. */
    static final Global TORCH_SIZE = new Global("torch", "Size");
    private static final Set<Global> CALLABLE = Set.of(ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_TENSOR,
            REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, TORCH_SIZE);
    static final String ALLOWED = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
            + "torch._utils._rebuild_parameter, torch.Size and the torch.*Storage classes";

    static final int MAX_DIMS = 64;
    /**
     * Pushes and marks one pickle may make. Every opcode is a byte or more, but a one-byte opcode can
     * create an object of ~60 bytes, so without a budget a 50 MB pickle of EMPTY_DICTs would need
     * gigabytes. A state_dict makes about 25 pushes per tensor: this allows some 80,000 tensors and
     * bounds the unpickler's memory to roughly 150 MB.
     */
    static final int MAX_PUSHES = 2_000_000;

    private int pushes;

    private final ByteBuffer in;
    private final String where;
    private final Function<Tuple, StorageView> persistentLoad;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    /**
     * @param in             the pickle, from its position; on return the position is just after STOP
     * @param persistentLoad resolves a persistent id (a tuple) to a storage, or throws
     */
    TorchUnpickler(ByteBuffer in, String where, Function<Tuple, StorageView> persistentLoad) {
        this.in = in.order(ByteOrder.LITTLE_ENDIAN);
        this.where = where;
        this.persistentLoad = persistentLoad;
    }

    /** Runs the pickle to its STOP and returns the object it builds. */
    Object load() {
        while (true) {
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int protocol = u8();
                    if (protocol > 5) {
                        throw bad("pickle protocol " + protocol + " is newer than 5");
                    }
                }
                case 0x95 -> need(8, "FRAME"); // FRAME: a length hint; the opcodes follow inline
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw bad("STOP with " + stack.size() + " objects on the stack");
                    }
                    return stack.getFirst();
                }
                case '(' -> {
                    count();
                    marks.add(stack.size());
                }
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> push(peek());
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) in.getInt(need(4, "BININT")));
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (in.getShort(need(2, "BININT2")) & 0xffff));
                case 0x8a -> push(longN(u8())); // LONG1
                case 0x8b -> push(longN(length(in.getInt(need(4, "LONG4"))))); // LONG4
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong(need(8, "BINFLOAT"))))); // big-endian
                case 'X' -> push(utf8(length(in.getInt(need(4, "BINUNICODE")))));
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(length(in.getLong(need(8, "BINUNICODE8"))))); // BINUNICODE8
                case 'T' -> push(latin1(length(in.getInt(need(4, "BINSTRING"))))); // Python 2 str
                case 'U' -> push(latin1(u8())); // SHORT_BINSTRING
                case 'B' -> push(bytes(length(in.getInt(need(4, "BINBYTES")))));
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 0x8e -> push(bytes(length(in.getLong(need(8, "BINBYTES8"))))); // BINBYTES8
                case ')' -> push(new Tuple(List.of()));
                case 0x85 -> push(tuple(1));
                case 0x86 -> push(tuple(2));
                case 0x87 -> push(tuple(3));
                case 't' -> push(new Tuple(popMark()));
                case ']' -> push(new ArrayList<>());
                case 'l' -> push(new ArrayList<>(popMark()));
                case '}' -> push(new LinkedHashMap<>());
                case 'd' -> {
                    List<Object> items = popMark();
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    setItems(dict, items);
                    push(dict);
                }
                case 'a' -> { // APPEND
                    Object item = pop();
                    list(peek()).add(item);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                }
                case 's' -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    setItems(dict(peek()), Arrays.asList(key, value));
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    setItems(dict(peek()), items);
                }
                case 'h' -> push(memoGet(u8()));
                case 'j' -> push(memoGet(in.getInt(need(4, "LONG_BINGET")) & 0xffffffffL));
                case 'q' -> memo.put((long) u8(), peek());
                case 'r' -> memo.put(in.getInt(need(4, "LONG_BINPUT")) & 0xffffffffL, peek());
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 'c' -> push(global(line("GLOBAL module"), line("GLOBAL name")));
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw bad("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(call(callable, args));
                }
                case 'b' -> { // BUILD
                    Object state = pop();
                    build(peek(), state);
                }
                case 'Q' -> { // BINPERSID
                    Object pid = pop();
                    if (!(pid instanceof Tuple t)) {
                        throw bad("a persistent id is a " + typeName(pid) + ", not a tuple");
                    }
                    push(persistentLoad.apply(t));
                }
                case 'P' -> { // PERSID (protocol 0): an ASCII id; torch never writes one
                    throw bad("text persistent id " + Json.quote(line("PERSID")) + " is not a PyTorch storage");
                }
                case 'i', 'o', 0x81, 0x92 -> throw bad("pickle opcode " + opName(op)
                        + " creates an object of an arbitrary class; weights files do not need it, so it is refused");
                case 0x82, 0x83, 0x84 -> throw bad("pickle opcode " + opName(op) + " (copyreg extension) is refused");
                default -> throw bad("unsupported pickle opcode " + opName(op) + " at byte " + (in.position() - 1));
            }
        }
    }

    private Object global(String module, String name) {
        Global g = new Global(module, name);
        if (CALLABLE.contains(g)) {
            return g;
        }
        if (module.equals("torch") && DType.fromStorageClass(name) != null) {
            return g;
        }
        throw new WeightsException(where + ": refusing to load global " + module + "." + name
                + " from the pickle: a weights file may only reference " + ALLOWED + "; nothing was executed");
    }

    private Object call(Object callable, Object argsObject) {
        if (!(callable instanceof Global g)) {
            throw bad("REDUCE on a " + typeName(callable) + ", which is not callable");
        }
        if (!(argsObject instanceof Tuple(List<Object> args))) {
            throw bad("REDUCE arguments are a " + typeName(argsObject) + ", not a tuple");
        }
        if (g.equals(ORDERED_DICT)) {
            if (!args.isEmpty()) {
                throw bad("collections.OrderedDict called with arguments");
            }
            return new LinkedHashMap<>();
        }
        if (g.equals(TORCH_SIZE)) {
            if (args.size() != 1 || !(args.getFirst() instanceof Tuple(List<Object> dims))
                    || !dims.stream().allMatch(d -> d instanceof Long)) {
                throw bad("torch.Size needs one tuple of ints");
            }
            return args.getFirst();
        }
        if (g.equals(REBUILD_TENSOR_V2) || g.equals(REBUILD_TENSOR)) {
            int min = g.equals(REBUILD_TENSOR) ? 4 : 6;
            if (args.size() < min || args.size() > 7) {
                throw bad(g + " called with " + args.size() + " arguments");
            }
            return tensor(args.get(0), args.get(1), args.get(2), args.get(3));
        }
        if (g.equals(REBUILD_PARAMETER) || g.equals(REBUILD_PARAMETER_WITH_STATE)) {
            if (args.size() != (g.equals(REBUILD_PARAMETER) ? 3 : 4) || !(args.getFirst() instanceof TensorRef t)) {
                throw bad(g + " needs a tensor and " + (g.equals(REBUILD_PARAMETER) ? 2 : 3) + " more arguments");
            }
            return t;
        }
        throw bad(g + " cannot be called");
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, ...)}, every index checked. */
    private TensorRef tensor(Object storageObject, Object offsetObject, Object sizeObject, Object strideObject) {
        if (!(storageObject instanceof StorageView storage)) {
            throw bad("a tensor's storage is a " + typeName(storageObject));
        }
        long offset = longValue(offsetObject, "storage offset");
        long[] size = longs(sizeObject, "size");
        long[] stride = longs(strideObject, "stride");
        if (size.length != stride.length) {
            throw bad("a tensor has " + size.length + " sizes and " + stride.length + " strides");
        }
        long numel = TensorData.numel(size);
        if (numel < 0) {
            throw bad("a tensor's size " + Arrays.toString(size) + " is negative or too large for a Java array");
        }
        if (offset < 0) {
            throw bad("negative storage offset " + offset);
        }
        if (numel > 0) {
            long last = offset;
            try {
                for (int d = 0; d < size.length; d++) {
                    if (stride[d] < 0) {
                        throw bad("negative stride " + stride[d]);
                    }
                    last = Math.addExact(last, Math.multiplyExact(size[d] - 1, stride[d]));
                }
            } catch (ArithmeticException e) {
                last = Long.MAX_VALUE;
            }
            if (last >= storage.size()) {
                throw bad("a tensor of size " + Arrays.toString(size) + ", stride " + Arrays.toString(stride)
                        + " and offset " + offset + " reaches element " + last + " of a storage of "
                        + storage.size() + " elements");
            }
        }
        return new TensorRef(storage, offset, size, stride);
    }

    private void build(Object target, Object state) {
        boolean emptyState = state == null || state instanceof Map<?, ?> m && m.isEmpty();
        if (target instanceof Map<?, ?> && (state instanceof Map<?, ?> || state == null)) {
            return; // OrderedDict.__setstate__: attributes such as _metadata (module versions); not needed
        }
        if (target instanceof TensorRef && emptyState) {
            return;
        }
        throw bad("BUILD of a " + typeName(target) + " with a " + typeName(state) + " state is not supported");
    }

    private void setItems(Map<Object, Object> dict, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw bad("odd number of items for a dict");
        }
        for (int i = 0; i < items.size(); i += 2) {
            Object key = items.get(i);
            if (!(key == null || key instanceof String || key instanceof Long || key instanceof Boolean
                    || key instanceof Double)) {
                throw bad("a dict key is a " + typeName(key) + "; only str, int, float, bool and None keys are supported");
            }
            dict.put(key, items.get(i + 1));
        }
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof LinkedHashMap<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw bad("SETITEM on a " + typeName(o));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw bad("APPEND on a " + typeName(o));
    }

    private Tuple tuple(int n) {
        if (stack.size() - currentMarkBase() < n) {
            throw bad("stack underflow building a tuple");
        }
        List<Object> top = stack.subList(stack.size() - n, stack.size());
        Tuple t = new Tuple(new ArrayList<>(top));
        top.clear();
        return t;
    }

    private void push(Object o) {
        count();
        stack.add(o);
    }

    private void count() {
        if (++pushes > MAX_PUSHES) {
            throw bad("more than " + MAX_PUSHES + " objects; a state_dict needs far fewer");
        }
    }

    private Object pop() {
        if (stack.size() <= currentMarkBase()) {
            throw bad("stack underflow");
        }
        return stack.removeLast();
    }

    private Object peek() {
        if (stack.size() <= currentMarkBase()) {
            throw bad("stack underflow");
        }
        return stack.getLast();
    }

    private int currentMarkBase() {
        return marks.isEmpty() ? 0 : marks.getLast();
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw bad("no MARK on the stack");
        }
        int base = marks.removeLast();
        List<Object> top = stack.subList(base, stack.size());
        List<Object> items = new ArrayList<>(top);
        top.clear();
        return items;
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) {
            throw bad("memo entry " + index + " is not defined");
        }
        return memo.get(index);
    }

    private int u8() {
        return in.get(need(1, "opcode")) & 0xff;
    }

    /** The position of the next {@code n} bytes, consumed; an error when fewer are left. */
    private int need(long n, String what) {
        if (n > in.remaining()) {
            throw bad("truncated: " + what + " needs " + n + " bytes, " + in.remaining() + " left");
        }
        int at = in.position();
        in.position(at + (int) n);
        return at;
    }

    private long length(long n) {
        if (n < 0 || n > in.remaining()) {
            throw bad("truncated: a length of " + n + " with " + in.remaining() + " bytes left");
        }
        return n;
    }

    private byte[] bytes(long n) {
        byte[] b = new byte[(int) length(n)];
        in.get(need(n, "bytes"), b);
        return b;
    }

    private String utf8(long n) {
        byte[] b = bytes(n);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw bad("a string is not valid UTF-8");
        }
    }

    private String latin1(long n) {
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    /** A newline-terminated ASCII line (GLOBAL's operands), at most 256 characters. */
    private String line(String what) {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') {
                return b.toString();
            }
            if (c < 0x20 || c >= 0x7f || b.length() >= 256) {
                throw bad("malformed " + what);
            }
            b.append((char) c);
        }
    }

    /** LONG1/LONG4: two's complement little-endian; a Long when it fits, else a BigInteger. */
    private Object longN(long n) {
        byte[] le = bytes(n);
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private long longValue(Object o, String what) {
        if (o instanceof Long v) {
            return v;
        }
        throw bad("a tensor's " + what + " is a " + typeName(o) + ", not an int");
    }

    private long[] longs(Object o, String what) {
        if (!(o instanceof Tuple(List<Object> items))) {
            throw bad("a tensor's " + what + " is a " + typeName(o) + ", not a tuple");
        }
        if (items.size() > MAX_DIMS) {
            throw bad("a tensor has " + items.size() + " dims, more than " + MAX_DIMS);
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = longValue(items.get(i), what);
        }
        return out;
    }

    /** A short type name for messages; never walks into the object. */
    static String typeName(Object o) {
        return switch (o) {
            case null -> "None";
            case String s -> "str";
            case Long l -> "int";
            case BigInteger b -> "int";
            case Double d -> "float";
            case Boolean b -> "bool";
            case byte[] b -> "bytes";
            case Tuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Global g -> g.toString();
            case TensorRef t -> "tensor";
            case StorageView s -> "storage";
            default -> o.getClass().getSimpleName();
        };
    }

    private static String opName(int op) {
        return op >= 0x20 && op < 0x7f ? "'" + (char) op + "'" : String.format("0x%02x", op);
    }

    private WeightsException bad(String problem) {
        return new WeightsException(where + ": corrupt or unsupported pickle: " + problem);
    }
}
