package dev.autograd.io;

import dev.autograd.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * State dicts and data files as engine {@link Tensor}s: {@code torch.load} and {@code torch.save} of a
 * dict of tensors. Loading accepts safetensors and PyTorch {@code .pth} (told apart by content, see
 * {@link Weights}); saving writes safetensors.
 *
 * <p>dtypes map as {@code param.copy_(t)} in {@code load_state_dict} would: F32, F16, BF16 and F64
 * become float32 (F64 rounds), I64 and I32 become int64, BOOL stays bool.
 */
public final class StateDicts {

    private StateDicts() {
    }

    /** Every tensor of a file, in file order; the whole file is read before anything is returned. */
    public static LinkedHashMap<String, Tensor> load(Path file) {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        Weights.read(file).forEach((name, t) -> out.put(name, toTensor(t)));
        return out;
    }

    /** Writes tensors (float32, int64, bool) as a safetensors file, replacing it atomically. */
    public static void save(Path file, Map<String, Tensor> tensors) {
        LinkedHashMap<String, TensorData> data = new LinkedHashMap<>();
        tensors.forEach((name, t) -> data.put(name, fromTensor(t)));
        Weights.write(file, data);
    }

    /** A file's tensor as an engine tensor (a fresh, contiguous one that does not require grad). */
    public static Tensor toTensor(TensorData t) {
        int[] shape = t.intShape();
        return switch (t.dtype()) {
            case F32, F16, BF16 -> Tensor.wrap(t.floats(), shape);
            case F64 -> Tensor.wrap(t.toFloatArray(), shape);
            case I64 -> Tensor.wrapLong(t.longs(), shape);
            case I32 -> Tensor.wrapLong(t.toLongArray(), shape);
            case BOOL -> Tensor.ofBool(t.bools()).reshape(shape);
        };
    }

    /** An engine tensor's elements, contiguous, as F32, I64 or BOOL. */
    public static TensorData fromTensor(Tensor t) {
        long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
        return switch (t.dtype()) {
            case FLOAT32 -> TensorData.of(t.toArray(), shape);
            case INT64 -> TensorData.of(t.toLongArray(), shape);
            case BOOL -> TensorData.of(t.toBooleanArray(), shape);
        };
    }

    /** An input batch: {@code data} (float32, {@code [N, ...]}) and {@code labels} ({@code [N, ...]}, any dtype). */
    public record Batch(Tensor data, Tensor labels) {
    }

    /**
     * Reads a data file (safetensors, or a {@code .pth} holding a dict) with tensors named {@code data}
     * (floating point, first dim N) and {@code labels} (first dim N: class indices, or targets as the
     * autograd tutorial's {@code rand(N, 1000)}); other tensors are ignored.
     */
    public static Batch loadBatch(Path file) {
        LinkedHashMap<String, TensorData> all = Weights.read(file);
        TensorData data = all.get("data");
        TensorData labels = all.get("labels");
        if (data == null || labels == null) {
            throw new WeightsException(file + ": a data file needs tensors named 'data' and 'labels'; it holds "
                    + (all.isEmpty() ? "none" : String.join(", ", all.keySet().stream().limit(10).toList())
                    + (all.size() > 10 ? ", ..." : "")));
        }
        if (!data.dtype().isFloatingPoint() || data.shape().length == 0) {
            throw new WeightsException(file + ": 'data' must be a floating-point tensor [N, ...], it is " + data);
        }
        if (labels.shape().length == 0 || labels.shape()[0] != data.shape()[0]) {
            throw new WeightsException(file + ": 'labels' must have one row per row of 'data' (first dim "
                    + data.shape()[0] + "), it is " + labels);
        }
        return new Batch(toTensor(data), toTensor(labels));
    }
}
