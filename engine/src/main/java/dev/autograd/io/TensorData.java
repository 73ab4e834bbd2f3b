package dev.autograd.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as a weights file holds it, independent of the engine's {@code Tensor}: a dtype, a shape
 * and the elements, contiguous in row-major order, in a Java array: {@code float[]} for F32, F16 and
 * BF16 (both convert to float32 exactly), {@code double[]} for F64, {@code long[]} for I64,
 * {@code int[]} for I32, {@code boolean[]} for BOOL. The dtype is kept, so saving writes back the
 * bytes that were read.
 */
public final class TensorData {

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Java arrays hold at most about this many elements. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final DType dtype;
    private final long[] shape;
    private final int numel;
    private final Object array;

    private TensorData(DType dtype, long[] shape, Object array) {
        this.dtype = dtype;
        this.shape = shape.clone();
        long n = numel(this.shape);
        if (n < 0) {
            throw new IllegalArgumentException("bad shape " + Arrays.toString(shape));
        }
        int length = switch (array) {
            case float[] a when dtype.isFloat32Like() -> a.length;
            case double[] a when dtype == DType.F64 -> a.length;
            case long[] a when dtype == DType.I64 -> a.length;
            case int[] a when dtype == DType.I32 -> a.length;
            case boolean[] a when dtype == DType.BOOL -> a.length;
            default -> throw new IllegalArgumentException(
                    "a " + array.getClass().getSimpleName() + " cannot hold " + dtype + " elements");
        };
        if (length != n) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " needs " + n + " elements, got " + length);
        }
        this.numel = (int) n;
        this.array = array;
    }

    /** Float elements stored as F32, F16 or BF16 (F16 and BF16 round to nearest even when written). */
    public static TensorData ofFloats(DType dtype, float[] values, long... shape) {
        if (!dtype.isFloat32Like()) {
            throw new IllegalArgumentException(dtype + " elements are not held as float[]");
        }
        return new TensorData(dtype, shape, values);
    }

    public static TensorData of(float[] values, long... shape) {
        return new TensorData(DType.F32, shape, values);
    }

    public static TensorData of(double[] values, long... shape) {
        return new TensorData(DType.F64, shape, values);
    }

    public static TensorData of(long[] values, long... shape) {
        return new TensorData(DType.I64, shape, values);
    }

    public static TensorData of(int[] values, long... shape) {
        return new TensorData(DType.I32, shape, values);
    }

    public static TensorData of(boolean[] values, long... shape) {
        return new TensorData(DType.BOOL, shape, values);
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** The shape as ints (every dim fits: the element count does). */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = (int) shape[i];
        }
        return s;
    }

    public int numel() {
        return numel;
    }

    /** Size on disk. */
    public long byteSize() {
        return (long) numel * dtype.itemSize();
    }

    /** The backing array of an F32, F16 or BF16 tensor (no copy). */
    public float[] floats() {
        return (float[]) backing(float[].class);
    }

    public double[] doubles() {
        return (double[]) backing(double[].class);
    }

    public long[] longs() {
        return (long[]) backing(long[].class);
    }

    public int[] ints() {
        return (int[]) backing(int[].class);
    }

    public boolean[] bools() {
        return (boolean[]) backing(boolean[].class);
    }

    private Object backing(Class<?> type) {
        if (!type.isInstance(array)) {
            throw new IllegalStateException(dtype + " elements are held as " + array.getClass().getSimpleName());
        }
        return array;
    }

    /** The elements converted to float32, as PyTorch's {@code .float()} (a copy). */
    public float[] toFloatArray() {
        float[] out = new float[numel];
        switch (array) {
            case float[] a -> System.arraycopy(a, 0, out, 0, numel);
            case double[] a -> { for (int i = 0; i < numel; i++) out[i] = (float) a[i]; }
            case long[] a -> { for (int i = 0; i < numel; i++) out[i] = (float) a[i]; }
            case int[] a -> { for (int i = 0; i < numel; i++) out[i] = (float) a[i]; }
            case boolean[] a -> { for (int i = 0; i < numel; i++) out[i] = a[i] ? 1f : 0f; }
            default -> throw new AssertionError();
        }
        return out;
    }

    /** The elements converted to int64, as PyTorch's {@code .long()} (floats truncate toward zero). */
    public long[] toLongArray() {
        long[] out = new long[numel];
        switch (array) {
            case float[] a -> { for (int i = 0; i < numel; i++) out[i] = (long) a[i]; }
            case double[] a -> { for (int i = 0; i < numel; i++) out[i] = (long) a[i]; }
            case long[] a -> System.arraycopy(a, 0, out, 0, numel);
            case int[] a -> { for (int i = 0; i < numel; i++) out[i] = a[i]; }
            case boolean[] a -> { for (int i = 0; i < numel; i++) out[i] = a[i] ? 1 : 0; }
            default -> throw new AssertionError();
        }
        return out;
    }

    /** The elements as PyTorch stores them: little-endian bytes of this dtype. */
    public byte[] toBytes() {
        byte[] bytes = new byte[Math.toIntExact(byteSize())];
        write(MemorySegment.ofArray(bytes), 0);
        return bytes;
    }

    /** Writes the elements' little-endian bytes at {@code offset} of {@code out}. */
    public void write(MemorySegment out, long offset) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(floats(), 0, out, F32_LE, offset, numel);
            case F64 -> MemorySegment.copy(doubles(), 0, out, F64_LE, offset, numel);
            case I64 -> MemorySegment.copy(longs(), 0, out, I64_LE, offset, numel);
            case I32 -> MemorySegment.copy(ints(), 0, out, I32_LE, offset, numel);
            case F16 -> {
                float[] a = floats();
                for (int i = 0; i < numel; i++) {
                    out.set(I16_LE, offset + 2L * i, Float.floatToFloat16(a[i]));
                }
            }
            case BF16 -> {
                float[] a = floats();
                for (int i = 0; i < numel; i++) {
                    out.set(I16_LE, offset + 2L * i, floatToBFloat16(a[i]));
                }
            }
            case BOOL -> {
                boolean[] a = bools();
                for (int i = 0; i < numel; i++) {
                    out.set(ValueLayout.JAVA_BYTE, offset + i, (byte) (a[i] ? 1 : 0));
                }
            }
        }
    }

    /**
     * Reads a contiguous tensor from little-endian bytes at {@code offset} of {@code in}; the caller
     * has checked that {@code numel(shape) * itemSize} bytes are there.
     */
    public static TensorData read(DType dtype, long[] shape, MemorySegment in, long offset) {
        int n = (int) numel(shape);
        Object array = switch (dtype) {
            case F32 -> {
                float[] a = new float[n];
                MemorySegment.copy(in, F32_LE, offset, a, 0, n);
                yield a;
            }
            case F64 -> {
                double[] a = new double[n];
                MemorySegment.copy(in, F64_LE, offset, a, 0, n);
                yield a;
            }
            case I64 -> {
                long[] a = new long[n];
                MemorySegment.copy(in, I64_LE, offset, a, 0, n);
                yield a;
            }
            case I32 -> {
                int[] a = new int[n];
                MemorySegment.copy(in, I32_LE, offset, a, 0, n);
                yield a;
            }
            case F16 -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) {
                    a[i] = Float.float16ToFloat(in.get(I16_LE, offset + 2L * i));
                }
                yield a;
            }
            case BF16 -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) {
                    a[i] = bfloat16ToFloat(in.get(I16_LE, offset + 2L * i));
                }
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) {
                    a[i] = in.get(ValueLayout.JAVA_BYTE, offset + i) != 0;
                }
                yield a;
            }
        };
        return new TensorData(dtype, shape, array);
    }

    /**
     * Reads a strided view: element {@code (i0, i1, ...)} is storage element
     * {@code storageOffset + sum(ik * stride[k])}, storage element {@code j} at byte
     * {@code offset + j * itemSize} of {@code in}. The caller has checked every index is inside.
     */
    static TensorData readStrided(DType dtype, long[] shape, long[] stride, long storageOffset,
                                  MemorySegment in, long offset) {
        int item = dtype.itemSize();
        if (isContiguous(shape, stride)) {
            return read(dtype, shape, in, offset + storageOffset * item);
        }
        int n = (int) numel(shape);
        // gather into a contiguous buffer, then convert it like any contiguous tensor
        byte[] gathered = new byte[n * item];
        MemorySegment out = MemorySegment.ofArray(gathered);
        int rank = shape.length;
        long[] index = new long[rank];
        long source = storageOffset;
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(in, offset + source * item, out, (long) i * item, item);
            for (int d = rank - 1; d >= 0; d--) {  // odometer: next index, in row-major order
                if (++index[d] < shape[d]) {
                    source += stride[d];
                    break;
                }
                source -= (shape[d] - 1) * stride[d];
                index[d] = 0;
            }
        }
        return read(dtype, shape, out, 0);
    }

    /** True when these strides are the row-major contiguous ones (size-1 dims may have any stride). */
    static boolean isContiguous(long[] shape, long[] stride) {
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] == 0) {
                return true;
            }
            if (shape[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /** The element count of a shape, or -1 when a dim is negative or it or the count passes {@link #MAX_ELEMENTS}. */
    public static long numel(long[] shape) {
        long n = 1;
        boolean zero = false;
        for (long s : shape) {
            if (s < 0 || s > MAX_ELEMENTS) {
                return -1;
            }
            if (s == 0) {
                zero = true;
            } else if (n > MAX_ELEMENTS / s) {
                n = MAX_ELEMENTS + 1; // keep scanning: a later 0 dim makes the count 0
            } else {
                n *= s;
            }
        }
        if (zero) {
            return 0;
        }
        return n > MAX_ELEMENTS ? -1 : n;
    }

    static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest even, as PyTorch's {@code c10::BFloat16}; NaN stays a quiet NaN. */
    static short floatToBFloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Same dtype, shape and bytes. */
    public boolean contentEquals(TensorData other) {
        return dtype == other.dtype && Arrays.equals(shape, other.shape) && Arrays.equals(toBytes(), other.toBytes());
    }

    @Override
    public String toString() {
        return dtype.torchName() + Arrays.toString(shape);
    }
}
