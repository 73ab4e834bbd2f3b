package dev.autograd.io;

/**
 * The element types weights files hold, with their safetensors names ({@link #name()}), PyTorch's
 * names and the PyTorch storage class a {@code .pth} pickle names for them.
 */
public enum DType {
    F32(4, "float32", "FloatStorage"),
    F16(2, "float16", "HalfStorage"),
    BF16(2, "bfloat16", "BFloat16Storage"),
    F64(8, "float64", "DoubleStorage"),
    I64(8, "int64", "LongStorage"),
    I32(4, "int32", "IntStorage"),
    BOOL(1, "bool", "BoolStorage");

    private final int itemSize;
    private final String torchName;
    private final String storageClass;

    DType(int itemSize, String torchName, String storageClass) {
        this.itemSize = itemSize;
        this.torchName = torchName;
        this.storageClass = storageClass;
    }

    /** Bytes per element on disk. */
    public int itemSize() {
        return itemSize;
    }

    /** PyTorch's name, as in {@code torch.float32}. */
    public String torchName() {
        return torchName;
    }

    /** The storage class in {@code torch}'s namespace a pickle names, e.g. {@code FloatStorage}. */
    public String storageClass() {
        return storageClass;
    }

    /** True for the types held as {@code float[]} in memory (F32, F16, BF16). */
    public boolean isFloat32Like() {
        return this == F32 || this == F16 || this == BF16;
    }

    public boolean isFloatingPoint() {
        return isFloat32Like() || this == F64;
    }

    /** The type of a safetensors {@code dtype} string, or null when it is not one of ours. */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    /** The type of a storage class name such as {@code FloatStorage}, or null. */
    public static DType fromStorageClass(String name) {
        for (DType d : values()) {
            if (d.storageClass.equals(name)) {
                return d;
            }
        }
        return null;
    }
}
