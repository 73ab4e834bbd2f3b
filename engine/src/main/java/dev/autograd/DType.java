package dev.autograd;

/** The element types: float32 (the default), bool (comparison results) and int64 (indices, counters). */
public enum DType {
    FLOAT32("torch.float32"),
    BOOL("torch.bool"),
    INT64("torch.int64");

    private final String torchName;

    DType(String torchName) {
        this.torchName = torchName;
    }

    /** PyTorch's name, e.g. {@code torch.float32}. */
    @Override
    public String toString() {
        return torchName;
    }
}
