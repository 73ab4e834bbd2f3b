package dev.autograd.io;

import java.util.Arrays;

/** A tensor's name, dtype and shape as a weights file declares them (what {@code autograd inspect} lists). */
public record TensorInfo(String name, DType dtype, long[] shape) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return TensorData.numel(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype.torchName() + " " + Arrays.toString(shape);
    }
}
