package dev.autograd;

import dev.autograd.kernels.KernelProvider;
import dev.autograd.kernels.Kernels;
import dev.autograd.kernels.Kernels.Binary;
import dev.autograd.kernels.Kernels.Compare;
import dev.autograd.kernels.Kernels.Unary;
import java.util.Arrays;

/**
 * A tensor with PyTorch's semantics: a storage ({@code float[]} for float32 and bool, {@code long[]} for
 * int64) seen through a shape, strides and an offset; views share the storage and its version counter.
 * Every op that involves a tensor requiring grad records its backward on the tape ({@link Autograd}).
 *
 * <h2>API for code that defines ops (nn, optim)</h2>
 * <ul>
 *   <li>Read: {@link #contiguous()} (this, or a copy), then {@link #data()} (the storage, shared),
 *       {@link #offset()}, {@link #shape()}, {@link #size(int)}, {@link #numel()}, {@link #strides()}.
 *       {@link #longData()} for int64.</li>
 *   <li>Wrap a computed array without copying: {@link #wrap(float[], int...)}, {@link #wrapLong(long[], int...)}.</li>
 *   <li>Record an op with its backward: {@link Autograd#record(Tensor, String, Backward, Tensor...)},
 *       then {@link Node#save(Tensor...)} for the tensors the closure reads. The closure accumulates
 *       into {@link Grads} ({@code g.buffer(i)} is a float[] to accumulate into with kernels).</li>
 *   <li>Mutate in place (optimizers): inside {@code try (var ng = Autograd.noGrad())}, write
 *       {@code p.data()} from {@code p.offset()} with kernels, then {@link #bumpVersion()}; or use
 *       {@link #add_(Tensor, float)}, {@link #mul_(float)}, {@link #copy_(Tensor)}, {@link #zero_()}.
 *       {@link #grad()} and {@link #setGrad(Tensor)} read and write {@code .grad}.</li>
 *   <li>Gradient memory: code that only reads {@code .grad} for a moment (an optimizer's step, a
 *       layer asking whether a gradient exists) uses {@link #peekGrad()}; {@code zero_grad} uses
 *       {@link #clearGrad()}; a backward writing a new {@code .grad} whole takes its array from
 *       {@link #newGradStorage(boolean)}. See {@link #clearGrad()}.</li>
 * </ul>
 */
public final class Tensor {
    static final Kernels K = KernelProvider.get();

    private final DType dtype;
    private final float[] data;
    private final long[] longData;
    private final int[] shape;
    private final int[] strides;
    private final int offset;
    private final int numel;
    private final boolean contiguous;
    private final Version version;
    /** The tensor whose storage this view shares (null for tensors owning their storage). */
    private final Tensor base;

    private boolean requiresGrad;
    private Node gradFn;
    private Tensor grad;
    /** True once {@link #grad()} returned the current .grad (or the caller set it): its memory is not ours to reuse. */
    private boolean gradHandedOut;
    /** The array of a .grad that {@link #clearGrad()} dropped unseen, for the next {@link #newGradStorage}. */
    private float[] spareGrad;
    private Node accumulator;

    Tensor(DType dtype, float[] data, long[] longData, int[] shape, int[] strides, int offset, Version version, Tensor base) {
        this.dtype = dtype;
        this.data = data;
        this.longData = longData;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.numel = Shapes.numel(shape);
        this.contiguous = checkContiguous(shape, strides);
        this.version = version;
        this.base = base;
    }

    private static boolean checkContiguous(int[] shape, int[] strides) {
        int expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1) {
                if (strides[i] != expected) {
                    return false;
                }
                expected *= shape[i];
            }
        }
        return true;
    }

    // ================================================================== creation

    /** Wraps {@code data} (not copied) as a contiguous float32 tensor of {@code shape}. */
    public static Tensor wrap(float[] data, int... shape) {
        if (data == null || shape == null) {
            throw new IllegalArgumentException("wrap(): data and shape must not be null");
        }
        if (Shapes.numel(shape) > data.length) {
            throw new AutogradException("shape " + Shapes.str(shape) + " needs " + Shapes.numel(shape)
                    + " elements, the array has " + data.length);
        }
        return new Tensor(DType.FLOAT32, data, null, shape, Shapes.contiguousStrides(shape), 0, new Version(), null);
    }

    /** Wraps {@code data} (not copied) as a contiguous int64 tensor. */
    public static Tensor wrapLong(long[] data, int... shape) {
        if (data == null || shape == null) {
            throw new IllegalArgumentException("wrapLong(): data and shape must not be null");
        }
        if (Shapes.numel(shape) > data.length) {
            throw new AutogradException("shape " + Shapes.str(shape) + " needs " + Shapes.numel(shape)
                    + " elements, the array has " + data.length);
        }
        return new Tensor(DType.INT64, null, data, shape, Shapes.contiguousStrides(shape), 0, new Version(), null);
    }

    static Tensor wrapBool(float[] data, int... shape) {
        return new Tensor(DType.BOOL, data, null, shape, Shapes.contiguousStrides(shape), 0, new Version(), null);
    }

    /** {@code torch.tensor([..])}: a 1-D float32 tensor (copied). */
    public static Tensor of(float... values) {
        return wrap(values.clone(), values.length);
    }

    /** {@code torch.tensor([[..], ..])}: a 2-D float32 tensor (copied); rows must have equal lengths. */
    public static Tensor of(float[][] rows) {
        int r = rows.length;
        int c = r == 0 ? 0 : rows[0].length;
        float[] d = new float[r * c];
        for (int i = 0; i < r; i++) {
            if (rows[i].length != c) {
                throw new AutogradException("expected sequence of length " + c + " at dim 1 (got " + rows[i].length + ")");
            }
            System.arraycopy(rows[i], 0, d, i * c, c);
        }
        return wrap(d, r, c);
    }

    /** A 0-dim float32 tensor: {@code torch.tensor(7.)}. */
    public static Tensor scalar(float value) {
        return wrap(new float[] {value});
    }

    /** A bool tensor: {@code torch.tensor([True, False])}. */
    public static Tensor ofBool(boolean... values) {
        float[] d = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            d[i] = values[i] ? 1f : 0f;
        }
        return wrapBool(d, values.length);
    }

    /** An int64 tensor: {@code torch.tensor([1, 2])}. */
    public static Tensor ofLong(long... values) {
        return wrapLong(values.clone(), values.length);
    }

    /** A 0-dim int64 tensor: {@code torch.tensor(0)}. */
    public static Tensor scalarLong(long value) {
        return wrapLong(new long[] {value});
    }

    public static Tensor zeros(int... shape) {
        return wrap(allocate(shape), shape.clone());
    }

    /** The storage of a new tensor; a heap too small for it is PyTorch's allocator error, not an OutOfMemoryError. */
    static float[] allocate(int[] shape) {
        int n = Shapes.numel(shape);
        try {
            return new float[n];
        } catch (OutOfMemoryError e) {
            throw new AutogradException("DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                    + 4L * n + " bytes (raise the JVM's -Xmx)");
        }
    }

    public static Tensor ones(int... shape) {
        return full(shape, 1f);
    }

    public static Tensor full(int[] shape, float value) {
        float[] d = allocate(shape);
        if (value != 0f) {
            K.fill(value, d, 0, d.length);
        }
        return wrap(d, shape.clone());
    }

    /** {@code torch.arange(end)}: 0, 1, ..., end-1 as float32. */
    public static Tensor arange(float end) {
        return arange(0, end, 1);
    }

    /** {@code torch.arange(start, end, step)} as float32. */
    public static Tensor arange(float start, float end, float step) {
        if (step == 0) {
            throw new AutogradException("step must be nonzero");
        }
        double count = Math.ceil((end - start) / (double) step);
        if (!Double.isFinite(count)) {
            throw new AutogradException("unsupported range: " + start + " -> " + end);
        }
        if (count < 0) {
            throw new AutogradException("upper bound and larger bound inconsistent with step sign");
        }
        int n = (int) Math.min(count, Integer.MAX_VALUE);
        float[] d = allocate(new int[] {n});
        for (int i = 0; i < n; i++) { // creation, not a hot loop
            d[i] = (float) (start + (double) i * step);
        }
        return wrap(d, n);
    }

    /** Uniform [0, 1) from the calling thread's default generator ({@link Generator#manualSeed}). */
    public static Tensor rand(int... shape) {
        return rand(Generator.current(), shape);
    }

    public static Tensor rand(Generator g, int... shape) {
        float[] d = allocate(shape);
        g.fillUniform(d);
        return wrap(d, shape.clone());
    }

    /** Standard normal from the calling thread's default generator. */
    public static Tensor randn(int... shape) {
        return randn(Generator.current(), shape);
    }

    public static Tensor randn(Generator g, int... shape) {
        float[] d = allocate(shape);
        g.fillNormal(d);
        return wrap(d, shape.clone());
    }

    public static Tensor zerosLike(Tensor t) {
        return t.dtype == DType.INT64 ? wrapLong(new long[t.numel], t.shape.clone()) : zeros(t.shape);
    }

    public static Tensor onesLike(Tensor t) {
        return ones(t.shape);
    }

    public static Tensor fullLike(Tensor t, float value) {
        return full(t.shape, value);
    }

    public static Tensor randLike(Tensor t) {
        return rand(t.shape);
    }

    public static Tensor randnLike(Tensor t) {
        return randn(t.shape);
    }

    // ================================================================== accessors

    public DType dtype() {
        return dtype;
    }

    /** The shape (a copy). */
    public int[] shape() {
        return shape.clone();
    }

    int[] shapeRef() {
        return shape;
    }

    /** {@code size(dim)}, negative dims counting from the end. */
    public int size(int dim) {
        if (shape.length == 0 && (dim == 0 || dim == -1)) {
            throw new AutogradException("Dimension specified as " + dim + " but tensor has no dimensions");
        }
        return shape[Shapes.dim(dim, shape.length)];
    }

    public int dim() {
        return shape.length;
    }

    public int numel() {
        return numel;
    }

    /** The strides in elements (a copy). */
    public int[] strides() {
        return strides.clone();
    }

    /** Index of element 0 in {@link #data()}. */
    public int offset() {
        return offset;
    }

    /** The float storage (shared with views; bool as 1f/0f). Null for int64. */
    public float[] data() {
        return data;
    }

    /** Alias of {@link #data()}. */
    public float[] floatData() {
        return data;
    }

    /** The int64 storage (shared with views). Null for other dtypes. */
    public long[] longData() {
        return longData;
    }

    /** Row-major in storage order with no gaps (size-1 dims ignored). */
    public boolean isContiguous() {
        return contiguous;
    }

    /** The version counter: bumped by every in-place change (shared with views). */
    public int version() {
        return version.value;
    }

    /** Marks an in-place change made through {@link #data()}: saved-tensor checks then fail, as in PyTorch. */
    public void bumpVersion() {
        version.value++;
    }

    /** Storage index of the element with row-major flat index {@code flat}. */
    int storageIndex(int flat) {
        int idx = offset;
        for (int d = shape.length - 1; d >= 0; d--) {
            int s = shape[d];
            idx += (flat % s) * strides[d];
            flat /= s;
        }
        return idx;
    }

    /** PyTorch's legacy type name used in error messages: {@code torch.FloatTensor}. */
    String typeName() {
        return switch (dtype) {
            case FLOAT32 -> "torch.FloatTensor";
            case BOOL -> "torch.BoolTensor";
            case INT64 -> "torch.LongTensor";
        };
    }

    // ================================================================== autograd state

    /** True for leaves marked requires_grad and for every output of a recorded op. */
    public boolean requiresGrad() {
        return requiresGrad || gradFn != null;
    }

    /** A leaf is a tensor not produced by a recorded op. */
    public boolean isLeaf() {
        return gradFn == null;
    }

    /** {@code requires_grad_(b)}: only on leaves, only for float tensors. Returns this. */
    public Tensor requiresGrad_(boolean b) {
        if (gradFn != null) {
            if (!b) {
                throw new AutogradException("you can only change requires_grad flags of leaf variables. If you want to "
                        + "use a computed variable in a subgraph that doesn't require differentiation use "
                        + "var_no_grad = var.detach().");
            }
            return this;
        }
        if (b && dtype != DType.FLOAT32) {
            throw new AutogradException("only Tensors of floating point and complex dtype can require gradients");
        }
        requiresGrad = b;
        return this;
    }

    public Tensor requiresGrad_() {
        return requiresGrad_(true);
    }

    /** The op that produced this tensor (null for leaves). */
    public Node gradFn() {
        return gradFn;
    }

    void setGradFn(Node node) {
        this.gradFn = node;
    }

    /** {@code .grad}: accumulated by backward for leaves; null for non-leaves unless {@link #retainGrad()}. */
    public Tensor grad() {
        if (grad != null) {
            gradHandedOut = true;
        }
        return grad;
    }

    /**
     * {@code .grad}, for engine code that reads it and lets go (an optimizer's step): unlike
     * {@link #grad()} it leaves the gradient's memory free for {@link #clearGrad()} to recycle.
     * Code that keeps the tensor or its array past the call must use {@link #grad()}.
     */
    public Tensor peekGrad() {
        return grad;
    }

    /** Sets {@code .grad} (null clears it without recycling its memory; see {@link #clearGrad()}). */
    public void setGrad(Tensor g) {
        if (g != null && !Shapes.equal(g.shape, shape)) {
            throw new AutogradException("assigned grad has data of a different size");
        }
        this.grad = g;
        this.gradHandedOut = true;
    }

    void setGradInternal(Tensor g) {
        this.grad = g;
        this.gradHandedOut = false;
    }

    /**
     * {@code .grad = None}, as {@code zero_grad(set_to_none=True)} does, keeping the gradient's array
     * for this tensor's next gradient when the engine made it and nobody was handed it
     * ({@link #grad()} was never called on it): PyTorch's caching allocator gives the next step the
     * same memory back the same way. A new array is memory the caches have not seen: writing a
     * ResNet-18 layer4 weight gradient (9.4 MB) took 1.9 ms into a new array against 0.7-0.85 ms
     * into one of the previous steps' (docs/performance.md). The kept array lives as long as this
     * tensor, or until the next backward takes it.
     */
    public void clearGrad() {
        Tensor g = grad;
        if (g == null) {
            return;
        }
        grad = null;
        if (!gradHandedOut && g.dtype == DType.FLOAT32 && g.contiguous && g.offset == 0 && g.data.length == numel) {
            spareGrad = g.data;
        }
    }

    /**
     * An array of {@link #numel()} floats for a new {@code .grad} of this tensor: the array of a
     * gradient {@link #clearGrad()} kept, or a new one. Zero-filled when {@code zeroed}; otherwise
     * its contents are arbitrary and the caller must overwrite every element.
     */
    public float[] newGradStorage(boolean zeroed) {
        float[] spare = spareGrad;
        if (spare == null) {
            return new float[numel];
        }
        spareGrad = null;
        if (zeroed) {
            java.util.Arrays.fill(spare, 0f);
        }
        return spare;
    }

    /** {@code retain_grad()}: keep {@code .grad} of this non-leaf after backward. */
    public void retainGrad() {
        if (gradFn == null) {
            if (!requiresGrad) {
                throw new AutogradException("can't retain_grad on Tensor that has requires_grad=False");
            }
            return;
        }
        gradFn.retained = this;
    }

    public boolean retainsGrad() {
        return gradFn != null && gradFn.retained == this;
    }

    /** The node a gradient for this tensor flows into: its grad_fn, or the leaf's AccumulateGrad. */
    Node edge() {
        if (gradFn != null) {
            return gradFn;
        }
        if (!requiresGrad) {
            return null;
        }
        if (accumulator == null) {
            accumulator = new Node(this);
        }
        return accumulator;
    }

    /** {@code backward()} on a scalar. */
    public void backward() {
        Autograd.backward(this, null, false);
    }

    /** {@code backward(gradient)}: the gradient must have this tensor's shape. */
    public void backward(Tensor gradient) {
        Autograd.backward(this, gradient, false);
    }

    public void backward(Tensor gradient, boolean retainGraph) {
        Autograd.backward(this, gradient, retainGraph);
    }

    /** A new leaf sharing this storage (and version counter), outside the graph. */
    public Tensor detach() {
        return new Tensor(dtype, data, longData, shape, strides, offset, version, base == null ? this : base);
    }

    // ================================================================== views

    private Tensor viewOf(int[] newShape, int[] newStrides, int newOffset) {
        return new Tensor(dtype, data, longData, newShape, newStrides, newOffset, version, base == null ? this : base);
    }

    /** Records a view op whose backward is {@code grad -> fn(grad)} (the fn result is shared, not owned). */
    private Tensor recordView(Tensor out, String name, java.util.function.UnaryOperator<Tensor> gradFnBody) {
        if (Autograd.needsGrad(this)) {
            Autograd.record1(out, name, (grad, g) -> g.accumulate(0, gradFnBody.apply(grad)), this);
        }
        return out;
    }

    /** {@code view(shape)}: needs strides compatible with the new shape (ATen's computeStride); -1 inferred. */
    public Tensor view(int... newShape) {
        int[] s = Shapes.infer(newShape, numel);
        int[] st = contiguous ? Shapes.contiguousStrides(s) : Shapes.viewStrides(shape, strides, s);
        if (st == null) {
            throw new AutogradException("view size is not compatible with input tensor's size and stride (at least one "
                    + "dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
        }
        int[] in = shape;
        return recordView(viewOf(s, st, offset), "ViewBackward0", grad -> grad.view(in));
    }

    /** {@code reshape(shape)}: a view when the strides allow it, else a copy. */
    public Tensor reshape(int... newShape) {
        int[] s = Shapes.infer(newShape, numel);
        int[] in = shape;
        int[] st = contiguous ? Shapes.contiguousStrides(s) : Shapes.viewStrides(shape, strides, s);
        if (st != null) {
            return recordView(viewOf(s, st, offset), "ReshapeAliasBackward0", grad -> grad.view(in));
        }
        return clone().viewNamed(s, "UnsafeViewBackward0");
    }

    /** A view of a contiguous tensor recorded under {@code name} (PyTorch's _unsafe_view and friends). */
    Tensor viewNamed(int[] s, String name) {
        int[] in = shape;
        Tensor c = contiguous ? this : contiguousCopy();
        return c.recordView(c.viewOf(s, Shapes.contiguousStrides(s), c.offset), name, grad -> grad.view(in));
    }

    public Tensor flatten() {
        return flatten(0, -1);
    }

    /** {@code flatten(startDim, endDim)}. */
    public Tensor flatten(int startDim, int endDim) {
        if (shape.length == 0) {
            return reshape(1);
        }
        int s = Shapes.dim(startDim, shape.length);
        int e = Shapes.dim(endDim, shape.length);
        if (s > e) {
            throw new AutogradException("flatten() has invalid args: start_dim cannot come after end_dim");
        }
        if (s == e) {
            return this;
        }
        int[] ns = new int[shape.length - (e - s)];
        int k = 0;
        for (int i = 0; i < s; i++) {
            ns[k++] = shape[i];
        }
        int prod = 1;
        for (int i = s; i <= e; i++) {
            prod *= shape[i];
        }
        ns[k++] = prod;
        for (int i = e + 1; i < shape.length; i++) {
            ns[k++] = shape[i];
        }
        return reshape(ns);
    }

    /** {@code permute(dims)}. */
    public Tensor permute(int... dims) {
        if (dims.length != shape.length) {
            throw new AutogradException("permute(sparse_coo): number of dimensions in the tensor input does not match the "
                    + "length of the desired ordering of dimensions i.e. input.dim() = " + shape.length
                    + " is not equal to len(dims) = " + dims.length);
        }
        int[] ns = new int[dims.length];
        int[] nst = new int[dims.length];
        int[] inverse = new int[dims.length];
        boolean[] seen = new boolean[dims.length];
        for (int i = 0; i < dims.length; i++) {
            int d = Shapes.dim(dims[i], shape.length);
            if (seen[d]) {
                throw new AutogradException("permute(): duplicate dims are not allowed.");
            }
            seen[d] = true;
            ns[i] = shape[d];
            nst[i] = strides[d];
            inverse[d] = i;
        }
        return recordView(viewOf(ns, nst, offset), "PermuteBackward0", grad -> grad.permute(inverse));
    }

    /** {@code transpose(dim0, dim1)}. */
    public Tensor transpose(int dim0, int dim1) {
        int a = Shapes.dim(dim0, shape.length);
        int b = Shapes.dim(dim1, shape.length);
        if (shape.length == 0) {
            return recordView(viewOf(shape, strides, offset), "TransposeBackward0", grad -> grad);
        }
        int[] ns = shape.clone();
        int[] nst = strides.clone();
        ns[a] = shape[b];
        ns[b] = shape[a];
        nst[a] = strides[b];
        nst[b] = strides[a];
        return recordView(viewOf(ns, nst, offset), "TransposeBackward0", grad -> grad.transpose(a, b));
    }

    /** {@code t()}: transpose of a tensor with at most 2 dims. */
    public Tensor t() {
        if (shape.length > 2) {
            throw new AutogradException("t() expects a tensor with <= 2 dimensions, but self is " + shape.length + "D");
        }
        if (shape.length < 2) {
            return recordView(viewOf(shape, strides, offset), "TBackward0", grad -> grad);
        }
        int[] ns = {shape[1], shape[0]};
        int[] nst = {strides[1], strides[0]};
        return recordView(viewOf(ns, nst, offset), "TBackward0", Tensor::t);
    }

    /** {@code expand(sizes)}: size-1 dims repeat with stride 0; -1 keeps a size. */
    public Tensor expand(int... sizes) {
        if (sizes.length < shape.length) {
            throw new AutogradException("expand(torch.FloatTensor{" + Shapes.str(shape) + "}, size=" + Shapes.str(sizes)
                    + "): the number of sizes provided (" + sizes.length + ") must be greater or equal to the number of "
                    + "dimensions in the tensor (" + shape.length + ")");
        }
        int lead = sizes.length - shape.length;
        int[] ns = new int[sizes.length];
        int[] nst = new int[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            int target = sizes[i];
            if (i < lead) {
                if (target < 0) {
                    throw new AutogradException("The expanded size of the tensor (" + target + ") isn't allowed in a "
                            + "leading, non-existing dimension " + i);
                }
                ns[i] = target;
                nst[i] = 0;
                continue;
            }
            int d = i - lead;
            if (target == -1) {
                target = shape[d];
            }
            if (shape[d] == target) {
                ns[i] = target;
                nst[i] = strides[d];
            } else if (shape[d] == 1) {
                ns[i] = target;
                nst[i] = 0;
            } else {
                throw new AutogradException("The expanded size of the tensor (" + target + ") must match the existing size ("
                        + shape[d] + ") at non-singleton dimension " + i + ".  Target sizes: " + Shapes.str(sizes)
                        + ".  Tensor sizes: " + Shapes.str(shape));
            }
        }
        return recordView(viewOf(ns, nst, offset), "ExpandBackward0", grad -> grad);
    }

    public Tensor expandAs(Tensor other) {
        return expand(other.shape);
    }

    /** {@code squeeze()}: drops every size-1 dim. */
    public Tensor squeeze() {
        int count = 0;
        for (int s : shape) {
            if (s != 1) {
                count++;
            }
        }
        int[] ns = new int[count];
        int[] nst = new int[count];
        int k = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != 1) {
                ns[k] = shape[i];
                nst[k++] = strides[i];
            }
        }
        int[] in = shape;
        return recordView(viewOf(ns, nst, offset), "SqueezeBackward0", grad -> grad.reshape(in));
    }

    /** {@code squeeze(dim)}: drops dim if its size is 1. */
    public Tensor squeeze(int dim) {
        return squeezeNamed(dim, "SqueezeBackward1");
    }

    private Tensor squeezeNamed(int dim, String name) {
        int d = Shapes.dim(dim, shape.length);
        int[] in = shape;
        if (shape.length == 0 || shape[d] != 1) {
            return recordView(viewOf(shape, strides, offset), name, grad -> grad);
        }
        int[] ns = new int[shape.length - 1];
        int[] nst = new int[shape.length - 1];
        for (int i = 0, k = 0; i < shape.length; i++) {
            if (i != d) {
                ns[k] = shape[i];
                nst[k++] = strides[i];
            }
        }
        return recordView(viewOf(ns, nst, offset), name, grad -> grad.reshape(in));
    }

    /** {@code unsqueeze(dim)}: inserts a size-1 dim. */
    public Tensor unsqueeze(int dim) {
        int d = Shapes.dim(dim, shape.length + 1);
        int[] ns = new int[shape.length + 1];
        int[] nst = new int[shape.length + 1];
        for (int i = 0, k = 0; i < ns.length; i++) {
            if (i == d) {
                ns[i] = 1;
                nst[i] = d < shape.length ? strides[d] * shape[d] : 1;
            } else {
                ns[i] = shape[k];
                nst[i] = strides[k++];
            }
        }
        int[] in = shape;
        return recordView(viewOf(ns, nst, offset), "UnsqueezeBackward0", grad -> grad.reshape(in));
    }

    /** {@code narrow(dim, start, length)}. */
    public Tensor narrow(int dim, int start, int length) {
        if (shape.length == 0) {
            throw new AutogradException("narrow() cannot be applied to a 0-dim tensor.");
        }
        int d = Shapes.dim(dim, shape.length);
        int st = start < 0 ? start + shape[d] : start;
        if (st < 0 || length < 0 || st + length > shape[d]) {
            throw new AutogradException("start (" + start + ") + length (" + length + ") exceeds dimension size ("
                    + shape[d] + ").");
        }
        return slice(d, st, st + length, 1);
    }

    /** {@code x[..., start:end:step, ...]} along {@code dim} (Python's clamping of start and end). */
    public Tensor slice(int dim, int start, int end, int step) {
        if (shape.length == 0) {
            throw new AutogradException("slice() cannot be applied to a 0-dim tensor.");
        }
        int d = Shapes.dim(dim, shape.length);
        if (step <= 0) {
            throw new AutogradException("slice step must be positive");
        }
        int n = shape[d];
        int s = start < 0 ? Math.max(start + n, 0) : Math.min(start, n);
        int e = end < 0 ? Math.max(end + n, 0) : Math.min(end, n);
        int len = e > s ? (e - s + step - 1) / step : 0;
        int[] ns = shape.clone();
        int[] nst = strides.clone();
        ns[d] = len;
        nst[d] = strides[d] * step;
        int off = offset + s * strides[d];
        Tensor out = viewOf(ns, nst, off);
        if (Autograd.needsGrad(this)) {
            int[] in = shape;
            int sliceStart = s;
            Autograd.record1(out, "SliceBackward0", (grad, g) -> {
                float[] buf = g.buffer(0);
                int[] cs = Shapes.contiguousStrides(in);
                int[] os = cs.clone();
                os[d] = cs[d] * step;
                K.addIntoStrided(grad.shapeRef(), grad.data(), grad.offset(), buf, sliceStart * cs[d], os);
            }, this);
        }
        return out;
    }

    /** {@code select(dim, index)}: removes dim. */
    public Tensor select(int dim, int index) {
        if (shape.length == 0) {
            throw new AutogradException("select() cannot be applied to a 0-dim tensor.");
        }
        int d = Shapes.dim(dim, shape.length);
        int n = shape[d];
        if (index < -n || index >= n) {
            throw new AutogradException("select(): index " + index + " out of range for tensor of size "
                    + Shapes.str(shape) + " at dimension " + dim);
        }
        int i = index < 0 ? index + n : index;
        int[] ns = new int[shape.length - 1];
        int[] nst = new int[shape.length - 1];
        for (int a = 0, k = 0; a < shape.length; a++) {
            if (a != d) {
                ns[k] = shape[a];
                nst[k++] = strides[a];
            }
        }
        Tensor out = viewOf(ns, nst, offset + i * strides[d]);
        if (Autograd.needsGrad(this)) {
            int[] in = shape;
            Autograd.record1(out, "SelectBackward0", (grad, g) -> {
                float[] buf = g.buffer(0);
                int[] cs = Shapes.contiguousStrides(in);
                int[] os = new int[in.length - 1];
                for (int a = 0, k = 0; a < in.length; a++) {
                    if (a != d) {
                        os[k++] = cs[a];
                    }
                }
                K.addIntoStrided(grad.shapeRef(), grad.data(), grad.offset(), buf, i * cs[d], os);
            }, this);
        }
        return out;
    }

    /** {@code x[i]}, {@code x[i][j]}, ...: select along leading dims. */
    public Tensor get(int... indices) {
        Tensor t = this;
        for (int index : indices) {
            if (t.shape.length == 0) {
                throw new AutogradException("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                        + "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");
            }
            t = t.select(0, index);
        }
        return t;
    }

    // ================================================================== copies

    /** This tensor if contiguous, else a contiguous copy (recorded as CloneBackward0). */
    public Tensor contiguous() {
        return contiguous ? this : clone();
    }

    /** {@code clone()}: a contiguous copy, recorded as CloneBackward0. */
    public Tensor clone() {
        Tensor out = contiguousCopy();
        if (Autograd.needsGrad(this)) {
            Autograd.record1(out, "CloneBackward0", (grad, g) -> g.accumulate(0, grad), this);
        }
        return out;
    }

    /** A contiguous copy outside the graph (offset 0). */
    Tensor contiguousCopy() {
        if (dtype == DType.INT64) {
            long[] d = new long[numel];
            for (int i = 0; i < numel; i++) { // int64 tensors are tiny bookkeeping (counters, indices)
                d[i] = longData[storageIndex(i)];
            }
            return wrapLong(d, shape.clone());
        }
        float[] d = new float[numel];
        if (contiguous) {
            System.arraycopy(data, offset, d, 0, numel);
        } else if (numel > 0) {
            K.copyStrided(shape, data, offset, strides, d, 0);
        }
        return new Tensor(dtype, d, null, shape, Shapes.contiguousStrides(shape), 0, new Version(), null);
    }

    /** This tensor as float32 (bool becomes 0./1.; int64 converted). */
    public Tensor toFloat() {
        if (dtype == DType.FLOAT32) {
            return this;
        }
        if (dtype == DType.BOOL) {
            return new Tensor(DType.FLOAT32, data, null, shape, strides, offset, version, base == null ? this : base);
        }
        float[] d = new float[numel];
        for (int i = 0; i < numel; i++) { // int64 conversion: bookkeeping-sized tensors
            d[i] = longData[storageIndex(i)];
        }
        return wrap(d, shape.clone());
    }

    /** float storage for arithmetic: bool reads as 0/1, int64 is converted. */
    private Tensor arith() {
        return dtype == DType.INT64 ? toFloat() : this;
    }

    // ================================================================== elementwise: binary

    private static int[] broadcastStrides(Tensor t, int[] outShape) {
        int[] s = new int[outShape.length];
        int lead = outShape.length - t.shape.length;
        for (int i = lead; i < outShape.length; i++) {
            int d = i - lead;
            s[i] = t.shape[d] == 1 && outShape[i] != 1 ? 0 : t.strides[d];
        }
        return s;
    }

    private static Tensor binaryForward(Binary op, Tensor a, Tensor b) {
        int[] shape = Shapes.broadcast(a.shape, b.shape);
        int n = Shapes.numel(shape);
        float[] out = new float[n];
        boolean aFull = a.contiguous && Shapes.equal(a.shape, shape);
        boolean bFull = b.contiguous && Shapes.equal(b.shape, shape);
        if (n == 0) {
            // nothing to compute
        } else if (aFull && bFull) {
            K.binary(op, a.data, a.offset, b.data, b.offset, out, 0, n);
        } else if (aFull && b.numel == 1) {
            K.binaryScalar(op, a.data, a.offset, b.data[b.offset], out, 0, n);
        } else if (bFull && a.numel == 1) {
            K.scalarBinary(op, a.data[a.offset], b.data, b.offset, out, 0, n);
        } else {
            int[] sa = broadcastStrides(a, shape);
            int[] sb = broadcastStrides(b, shape);
            if (!binaryBlocks(op, shape, a.data, a.offset, sa, b.data, b.offset, sb, out)) {
                K.binaryStrided(op, shape, a.data, a.offset, sa, b.data, b.offset, sb, out, 0);
            }
        }
        return wrap(out, shape == a.shape || shape == b.shape ? shape.clone() : shape);
    }

    /** Blocks below this many elements go through binaryStrided instead of one kernel call per block. */
    private static final int MIN_BLOCK = 16;

    /**
     * Broadcasting as a loop over contiguous blocks: the trailing dims where each operand is either
     * contiguous or constant (stride 0) form one block, handled by one {@code binary},
     * {@code binaryScalar} or {@code scalarBinary} call (a bias row, a per-channel scale over a plane).
     * Returns false when the blocks would be too small to pay for the calls.
     */
    private static boolean binaryBlocks(Binary op, int[] shape, float[] a, int aOffset, int[] sa,
                                        float[] b, int bOffset, int[] sb, float[] out) {
        int rank = shape.length;
        int aMode = -1; // 1 contiguous, 0 constant
        int bMode = -1;
        int block = 1;
        int d = rank - 1;
        for (; d >= 0; d--) {
            int n = shape[d];
            if (n == 1) {
                continue;
            }
            int am = sa[d] == 0 ? 0 : sa[d] == block ? 1 : -2;
            int bm = sb[d] == 0 ? 0 : sb[d] == block ? 1 : -2;
            if (am == -2 || bm == -2 || (aMode >= 0 && am != aMode) || (bMode >= 0 && bm != bMode)) {
                break;
            }
            if (am == 1 && aMode < 0 && sa[d] != block || bm == 1 && bMode < 0 && sb[d] != block) {
                break;
            }
            aMode = am;
            bMode = bm;
            block *= n;
        }
        if (block < MIN_BLOCK || (aMode == 0 && bMode == 0) || aMode < 0) {
            return false;
        }
        int outerRank = d + 1;
        int blocks = 1;
        for (int i = 0; i < outerRank; i++) {
            blocks *= shape[i];
        }
        int[] index = new int[outerRank];
        int ai = aOffset;
        int bi = bOffset;
        for (int o = 0; o < blocks; o++) {
            int outOffset = o * block;
            if (aMode == 1 && bMode == 1) {
                K.binary(op, a, ai, b, bi, out, outOffset, block);
            } else if (aMode == 1) {
                K.binaryScalar(op, a, ai, b[bi], out, outOffset, block);
            } else {
                K.scalarBinary(op, a[ai], b, bi, out, outOffset, block);
            }
            for (int k = outerRank - 1; k >= 0; k--) { // odometer over the outer dims (bookkeeping)
                if (++index[k] < shape[k]) {
                    ai += sa[k];
                    bi += sb[k];
                    break;
                }
                ai -= sa[k] * (shape[k] - 1);
                bi -= sb[k] * (shape[k] - 1);
                index[k] = 0;
            }
        }
        return true;
    }

    private static Tensor scalarForward(Binary op, Tensor a, float s, boolean scalarFirst) {
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        float[] out = new float[c.numel];
        if (scalarFirst) {
            K.scalarBinary(op, s, c.data, c.offset, out, 0, c.numel);
        } else {
            K.binaryScalar(op, c.data, c.offset, s, out, 0, c.numel);
        }
        return wrap(out, a.shape.clone());
    }

    /** {@code self + other}, broadcasting. add: self: grad, other: grad (summed to each shape). */
    public Tensor add(Tensor other) {
        requireTensor(other, "add", "other");
        Tensor a = arith();
        Tensor b = other.arith();
        Tensor out = binaryForward(Binary.ADD, a, b);
        if (Autograd.needsGrad(a, b)) {
            Autograd.record2(out, "AddBackward0", (grad, g) -> {
                g.accumulate(0, grad);
                g.accumulate(1, grad);
            }, a, b);
        }
        return out;
    }

    /** {@code self + alpha * other} (PyTorch's add(other, alpha=)). */
    public Tensor add(Tensor other, float alpha) {
        return alpha == 1f ? add(other) : add(other.mul(alpha));
    }

    public Tensor add(float s) {
        Tensor a = arith();
        Tensor out = scalarForward(Binary.ADD, a, s, false);
        if (Autograd.needsGrad(a)) {
            Autograd.record1(out, "AddBackward0", (grad, g) -> g.accumulate(0, grad), a);
        }
        return out;
    }

    /** sub: self: grad, other: -grad. */
    public Tensor sub(Tensor other) {
        requireTensor(other, "sub", "other");
        Tensor a = arith();
        Tensor b = other.arith();
        Tensor out = binaryForward(Binary.SUB, a, b);
        if (Autograd.needsGrad(a, b)) {
            Autograd.record2(out, "SubBackward0", (grad, g) -> {
                g.accumulate(0, grad);
                g.axpy(1, -1f, grad);
            }, a, b);
        }
        return out;
    }

    public Tensor sub(float s) {
        Tensor a = arith();
        Tensor out = scalarForward(Binary.SUB, a, s, false);
        if (Autograd.needsGrad(a)) {
            Autograd.record1(out, "SubBackward0", (grad, g) -> g.accumulate(0, grad), a);
        }
        return out;
    }

    /** {@code s - self}. rsub: self: -grad. */
    public Tensor rsub(float s) {
        Tensor a = arith();
        Tensor out = scalarForward(Binary.SUB, a, s, true);
        if (Autograd.needsGrad(a)) {
            Autograd.record1(out, "RsubBackward1", (grad, g) -> g.axpy(0, -1f, grad), a);
        }
        return out;
    }

    /** mul: self: grad * other, other: grad * self. */
    public Tensor mul(Tensor other) {
        requireTensor(other, "mul", "other");
        Tensor a = arith();
        Tensor b = other.arith();
        Tensor out = binaryForward(Binary.MUL, a, b);
        if (Autograd.needsGrad(a, b)) {
            Node n = Autograd.record2(out, "MulBackward0", (grad, g) -> {
                if (g.needs(0)) {
                    g.accumulateFresh(0, binaryForward(Binary.MUL, grad, b));
                }
                if (g.needs(1)) {
                    g.accumulateFresh(1, binaryForward(Binary.MUL, grad, a));
                }
            }, a, b);
            if (a.requiresGrad()) {
                n.save(b);
            }
            if (b.requiresGrad()) {
                n.save(a);
            }
        }
        return out;
    }

    public Tensor mul(float s) {
        Tensor a = arith();
        Tensor out = scalarForward(Binary.MUL, a, s, false);
        if (Autograd.needsGrad(a)) {
            Autograd.record1(out, "MulBackward0", (grad, g) -> g.axpy(0, s, grad), a);
        }
        return out;
    }

    /** div: self: grad / other, other: -grad * self / (other * other). */
    public Tensor div(Tensor other) {
        requireTensor(other, "div", "other");
        Tensor a = arith();
        Tensor b = other.arith();
        Tensor out = binaryForward(Binary.DIV, a, b);
        if (Autograd.needsGrad(a, b)) {
            Node n = Autograd.record2(out, "DivBackward0", (grad, g) -> {
                if (g.needs(0)) {
                    g.accumulateFresh(0, binaryForward(Binary.DIV, grad, b));
                }
                if (g.needs(1)) {
                    Tensor num = binaryForward(Binary.MUL, grad, a);
                    Tensor den = binaryForward(Binary.MUL, b, b);
                    g.axpy(1, -1f, binaryForward(Binary.DIV, num, den));
                }
            }, a, b);
            n.save(b);
            if (b.requiresGrad()) {
                n.save(a);
            }
        }
        return out;
    }

    public Tensor div(float s) {
        Tensor a = arith();
        Tensor out = scalarForward(Binary.DIV, a, s, false);
        if (Autograd.needsGrad(a)) {
            Autograd.record1(out, "DivBackward0", (grad, g) -> g.accumulateFresh(0, scalarForward(Binary.DIV, grad, s, false)), a);
        }
        return out;
    }

    /** {@code s / self}, as PyTorch computes it: {@code reciprocal() * s}. */
    public Tensor rdiv(float s) {
        return reciprocal().mul(s);
    }

    /** reciprocal: self: -grad * (result * result). */
    public Tensor reciprocal() {
        Tensor a = arith();
        Tensor out = scalarForward(Binary.DIV, a, 1f, true);
        if (Autograd.needsGrad(a)) {
            Autograd.record1(out, "ReciprocalBackward0", (grad, g) -> {
                Tensor sq = binaryForward(Binary.MUL, out, out);
                g.axpy(0, -1f, binaryForward(Binary.MUL, grad, sq));
            }, a).save(out);
        }
        return out;
    }

    // ================================================================== elementwise: unary

    private Tensor unary(Unary op, String name, boolean savesInput, boolean savesResult) {
        Tensor a = arith();
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        float[] out = new float[numel];
        K.unary(op, c.data, c.offset, out, 0, numel);
        Tensor result = wrap(out, shape.clone());
        if (Autograd.needsGrad(a)) {
            // both kernel arguments point at what was saved: the kernel reads only the one the op needs
            float[] x = savesInput ? c.data : out;
            int xo = savesInput ? c.offset : 0;
            int n0 = numel;
            Node n = Autograd.record1(result, name, (grad, g) ->
                    K.unaryBackward(op, grad.data(), grad.offset(), x, xo, x, xo, g.buffer(0), 0, n0), a);
            if (savesInput) {
                n.save(a);
            }
            if (savesResult) {
                n.save(result);
            }
        }
        return result;
    }

    /** neg: self: -grad. */
    public Tensor neg() {
        Tensor a = arith();
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        float[] out = new float[numel];
        K.unary(Unary.NEG, c.data, c.offset, out, 0, numel);
        Tensor result = wrap(out, shape.clone());
        if (Autograd.needsGrad(a)) {
            Autograd.record1(result, "NegBackward0", (grad, g) -> g.axpy(0, -1f, grad), a);
        }
        return result;
    }

    /** exp: self: grad * result. */
    public Tensor exp() {
        return unary(Unary.EXP, "ExpBackward0", false, true);
    }

    /** log: self: grad / self. */
    public Tensor log() {
        return unary(Unary.LOG, "LogBackward0", true, false);
    }

    /** sqrt: self: grad / (2 * result). */
    public Tensor sqrt() {
        return unary(Unary.SQRT, "SqrtBackward0", false, true);
    }

    /** abs: self: grad * self.sgn(). */
    public Tensor abs() {
        return unary(Unary.ABS, "AbsBackward0", true, false);
    }

    /** relu: self: threshold_backward(grad, result, 0). */
    public Tensor relu() {
        Tensor a = arith();
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        float[] out = new float[numel];
        K.unary(Unary.RELU, c.data, c.offset, out, 0, numel);
        Tensor result = wrap(out, shape.clone());
        if (Autograd.needsGrad(a)) {
            Autograd.record1(result, "ReluBackward0", reluBackward(out, 0, numel), a).save(result);
        }
        return result;
    }

    /**
     * {@code relu_()}: in place, as torchvision's {@code ReLU(inplace=True)}; saves the result (this),
     * so nothing else is allocated. Refused on leaves that require grad, as every in-place op.
     */
    public Tensor relu_() {
        checkInPlace(null);
        if (dtype != DType.FLOAT32) {
            throw new AutogradException("relu_() needs a float32 tensor, got " + dtype);
        }
        if (!contiguous) {
            return assign(relu());
        }
        K.unary(Unary.RELU, data, offset, data, offset, numel);
        version.value++;
        if (Autograd.needsGrad(this)) {
            // the edge is taken from this tensor's history before the new node replaces it
            Autograd.record1(this, "ReluBackward0", reluBackward(data, offset, numel), this).save(this);
        }
        return this;
    }

    /**
     * ReLU's backward from the saved result {@code y}: in place into the incoming gradient when it is
     * ours to reuse, into a fresh array when the input has no gradient yet, else accumulated.
     */
    private static Backward reluBackward(float[] y, int yOffset, int n) {
        return (grad, g) -> {
            if (g.ownsGrad() && g.isEmpty(0)) {
                K.reluMask(y, yOffset, grad.data(), grad.offset(), grad.data(), grad.offset(), n);
                g.accumulateFresh(0, grad);
            } else if (g.isEmpty(0)) {
                float[] fresh = new float[n];
                K.reluMask(y, yOffset, grad.data(), grad.offset(), fresh, 0, n);
                g.accumulateFresh(0, wrap(fresh, g.inputShape(0)));
            } else {
                K.reluBackward(grad.data(), grad.offset(), y, yOffset, g.buffer(0), 0, n);
            }
        };
    }

    /** sigmoid: self: grad * result * (1 - result). */
    public Tensor sigmoid() {
        return unary(Unary.SIGMOID, "SigmoidBackward0", false, true);
    }

    /** tanh: self: grad * (1 - result^2). */
    public Tensor tanh() {
        return unary(Unary.TANH, "TanhBackward0", false, true);
    }

    /** pow with a scalar exponent: self: grad * exponent * self^(exponent - 1). */
    public Tensor pow(float exponent) {
        Tensor a = arith();
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        float[] out = new float[numel];
        K.pow(c.data, c.offset, exponent, out, 0, numel);
        Tensor result = wrap(out, shape.clone());
        if (Autograd.needsGrad(a)) {
            Autograd.record1(result, "PowBackward0", (grad, g) ->
                    K.powBackward(grad.data(), grad.offset(), c.data, c.offset, exponent, g.buffer(0), 0, numel), a).save(a);
        }
        return result;
    }

    /** pow with a tensor exponent, composed: {@code exp(other * log(self))} for positive bases. */
    public Tensor pow(Tensor exponent) {
        return exponent.mul(log()).exp();
    }

    // ================================================================== reductions

    /** Reduces a contiguous tensor over the dims set in {@code mask}; the result keeps the dims as 1. */
    private static Tensor reduceKeep(Tensor c, boolean[] mask, boolean max) {
        int[] s = c.shape.clone();
        float[] cur = c.data;
        int curOffset = c.offset;
        int rank = s.length;
        int i = 0;
        boolean any = false;
        while (i < rank) {
            if (!mask[i] || s[i] == 1) {
                i++;
                continue;
            }
            int j = i;
            while (j < rank && (mask[j] || s[j] == 1)) {
                j++;
            }
            int outer = 1;
            int reduce = 1;
            int inner = 1;
            for (int a = 0; a < i; a++) {
                outer *= s[a];
            }
            for (int a = i; a < j; a++) {
                reduce *= s[a];
            }
            for (int a = j; a < rank; a++) {
                inner *= s[a];
            }
            float[] out = new float[outer * inner];
            if (max) {
                if (reduce == 0) {
                    throw new AutogradException("amax(): Expected reduction dim to have non-zero size.");
                }
                K.maxDim(cur, curOffset, outer, reduce, inner, out, 0, null);
            } else {
                K.sumDim(cur, curOffset, outer, reduce, inner, out, 0);
            }
            for (int a = i; a < j; a++) {
                s[a] = 1;
            }
            cur = out;
            curOffset = 0;
            any = true;
            i = j;
        }
        if (!any) {
            return c.contiguousCopy().view(s);
        }
        return wrap(cur, s);
    }

    private boolean[] dimMask(int[] dims) {
        boolean[] mask = new boolean[shape.length];
        if (dims.length == 0) {
            Arrays.fill(mask, true);
        }
        for (int d : dims) {
            int n = Shapes.dim(d, shape.length);
            if (shape.length == 0) {
                continue; // a 0-dim tensor reduces over dim 0 or -1 to itself, as in PyTorch
            }
            if (mask[n]) {
                throw new AutogradException("dim " + n + " appears multiple times in the list of dims");
            }
            mask[n] = true;
        }
        return mask;
    }

    private static int[] dropDims(int[] keepShape, boolean[] mask) {
        int count = 0;
        for (boolean m : mask) {
            if (!m) {
                count++;
            }
        }
        int[] s = new int[count];
        for (int i = 0, k = 0; i < mask.length; i++) {
            if (!mask[i]) {
                s[k++] = keepShape[i];
            }
        }
        return s;
    }

    /** Sums a broadcast (output-shaped) gradient down to {@code target}, as autograd does for broadcasting. */
    Tensor sumToShape(int[] target) {
        int lead = shape.length - target.length;
        boolean[] mask = new boolean[shape.length];
        for (int i = 0; i < shape.length; i++) {
            mask[i] = i < lead || (target[i - lead] == 1 && shape[i] != 1);
        }
        Tensor c = contiguous ? this : contiguousCopy();
        Tensor r = reduceKeep(c, mask, false);
        return r.view(target);
    }

    /** {@code sum()}: all elements. sum: self: grad.expand(self.sizes()). */
    public Tensor sum() {
        Tensor a = arith();
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        Tensor out = wrap(new float[] {K.sum(c.data, c.offset, numel)});
        if (Autograd.needsGrad(a)) {
            int[] in = shape;
            Autograd.record1(out, "SumBackward0", (grad, g) -> g.accumulate(0, grad.expand(in)), a);
        }
        return out;
    }

    public Tensor sum(int dim) {
        return sum(new int[] {dim}, false);
    }

    public Tensor sum(int dim, boolean keepdim) {
        return sum(new int[] {dim}, keepdim);
    }

    /** {@code sum(dims, keepdim)}. */
    public Tensor sum(int[] dims, boolean keepdim) {
        Tensor a = arith();
        boolean[] mask = dimMask(dims);
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        Tensor kept = reduceKeep(c, mask, false);
        Tensor out = keepdim ? kept : kept.view(dropDims(kept.shape, mask));
        if (Autograd.needsGrad(a)) {
            int[] in = shape;
            int[] keepShape = kept.shape;
            Autograd.record1(out, "SumBackward1", (grad, g) -> g.accumulate(0, grad.view(keepShape).expand(in)), a);
        }
        return out;
    }

    /** {@code mean()}. mean: self: grad.expand(self.sizes()) / self.numel(). */
    public Tensor mean() {
        Tensor a = arith();
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        Tensor out = wrap(new float[] {K.sum(c.data, c.offset, numel) / numel});
        if (Autograd.needsGrad(a)) {
            int[] in = shape;
            int n = numel;
            Autograd.record1(out, "MeanBackward0", (grad, g) -> {
                float v = grad.data()[grad.offset()] / n;
                g.accumulateFresh(0, full(in, v));
            }, a);
        }
        return out;
    }

    public Tensor mean(int dim) {
        return mean(new int[] {dim}, false);
    }

    public Tensor mean(int dim, boolean keepdim) {
        return mean(new int[] {dim}, keepdim);
    }

    /** {@code mean(dims, keepdim)}. */
    public Tensor mean(int[] dims, boolean keepdim) {
        Tensor a = arith();
        boolean[] mask = dimMask(dims);
        int count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (mask[i]) {
                count *= shape[i];
            }
        }
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        Tensor kept = reduceKeep(c, mask, false);
        K.binaryScalar(Binary.DIV, kept.data, 0, count, kept.data, 0, kept.numel);
        Tensor out = keepdim ? kept : kept.view(dropDims(kept.shape, mask));
        if (Autograd.needsGrad(a)) {
            int[] in = shape;
            int[] keepShape = kept.shape;
            float n = count;
            Autograd.record1(out, "MeanBackward1", (grad, g) ->
                    g.accumulate(0, scalarForward(Binary.DIV, grad, n, false).view(keepShape).expand(in)), a);
        }
        return out;
    }

    /** {@code amax()} over all dims. */
    public Tensor amax() {
        return amax(new int[0], false);
    }

    public Tensor amax(int dim, boolean keepdim) {
        return amax(new int[] {dim}, keepdim);
    }

    /** amax: the gradient is split evenly among the maxima: {@code grad * (self == result) / count}. */
    public Tensor amax(int[] dims, boolean keepdim) {
        Tensor a = arith();
        if (numel == 0 && dims.length == 0) {
            throw new AutogradException("amax(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.");
        }
        boolean[] mask = dimMask(dims);
        for (int d = 0; d < mask.length; d++) {
            if (mask[d] && shape[d] == 0) {
                throw new AutogradException("amax(): Expected reduction dim " + d + " to have non-zero size.");
            }
        }
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        Tensor kept = reduceKeep(c, mask, true);
        Tensor out = keepdim ? kept : kept.view(dropDims(kept.shape, mask));
        if (Autograd.needsGrad(a)) {
            int[] keepShape = kept.shape;
            boolean[] m = mask;
            Autograd.record1(out, "AmaxBackward0", (grad, g) -> {
                Tensor isMax = c.eq(kept).toFloat();
                Tensor count = reduceKeep(isMax, m, false);
                Tensor share = binaryForward(Binary.DIV, grad.view(keepShape), count);
                g.accumulateFresh(0, binaryForward(Binary.MUL, isMax, share));
            }, a).save(a, out);
        }
        return out;
    }

    /** {@code norm()}: the 2-norm of all elements. norm: self: self * grad / result (0 where result is 0). */
    public Tensor norm() {
        Tensor a = arith();
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        Tensor out = wrap(new float[] {(float) Math.sqrt(K.sumOfSquares(c.data, c.offset, numel))});
        if (Autograd.needsGrad(a)) {
            Autograd.record1(out, "NormBackward1", (grad, g) -> {
                float nrm = out.data[0];
                // a zero norm means every element is 0: the gradient is 0 there (PyTorch's masked division)
                g.axpy(0, nrm != 0f ? grad.data()[grad.offset()] / nrm : 0f, c);
            }, a).save(a, out);
        }
        return out;
    }

    /** {@code norm(dim=dim, keepdim=keepdim)}: the 2-norm along dims. */
    public Tensor norm(int[] dims, boolean keepdim) {
        Tensor a = arith();
        boolean[] mask = dimMask(dims);
        Tensor c = a.contiguous ? a : a.contiguousCopy();
        float[] sq = new float[numel];
        K.binary(Binary.MUL, c.data, c.offset, c.data, c.offset, sq, 0, numel);
        Tensor kept = reduceKeep(wrap(sq, shape), mask, false);
        K.unary(Unary.SQRT, kept.data, 0, kept.data, 0, kept.numel);
        Tensor out = keepdim ? kept : kept.view(dropDims(kept.shape, mask));
        if (Autograd.needsGrad(a)) {
            int[] keepShape = kept.shape;
            Autograd.record1(out, "NormBackward1", (grad, g) -> {
                // where the norm is 0 every element is 0: divide by 1 there instead, giving 0
                Tensor safe = binaryForward(Binary.ADD, kept, kept.eq(0f).toFloat());
                Tensor scale = binaryForward(Binary.DIV, grad.view(keepShape), safe);
                g.accumulateFresh(0, binaryForward(Binary.MUL, c, scale));
            }, a).save(a, out);
        }
        return out;
    }

    public Tensor norm(int dim, boolean keepdim) {
        return norm(new int[] {dim}, keepdim);
    }

    // ================================================================== matmul

    /** A 2-D operand as sgemm sees it: row-major (trans false) or column-major (trans true), with ld. */
    private record Gemm(Tensor t, boolean trans, int ld) {
        static Gemm of(Tensor x) {
            int r = x.shape[0];
            int c = x.shape[1];
            if (x.contiguous) {
                return new Gemm(x, false, Math.max(c, 1));
            }
            if ((x.strides[0] == 1 || c == 1) && (x.strides[1] == r || r == 1) && r > 0 && c > 0) {
                return new Gemm(x, true, Math.max(r, 1));
            }
            if (x.strides[1] == 1 && x.strides[0] >= c) {
                return new Gemm(x, false, x.strides[0]);
            }
            return new Gemm(x.contiguousCopy(), false, Math.max(c, 1));
        }
    }

    /** {@code mm}: 2-D x 2-D. mm: self: grad.mm(mat2.t()), mat2: self.t().mm(grad). */
    public Tensor mm(Tensor other) {
        requireTensor(other, "mm", "other");
        if (shape.length != 2 || other.shape.length != 2) {
            throw new AutogradException(shape.length != 2 ? "self must be a matrix" : "mat2 must be a matrix");
        }
        int m = shape[0];
        int k = shape[1];
        int n = other.shape[1];
        if (other.shape[0] != k) {
            throw new AutogradException("mat1 and mat2 shapes cannot be multiplied (" + m + "x" + k + " and "
                    + other.shape[0] + "x" + n + ")");
        }
        Tensor a0 = arith();
        Tensor b0 = other.arith();
        Gemm ga = Gemm.of(a0);
        Gemm gb = Gemm.of(b0);
        float[] out = new float[m * n];
        if (m > 0 && n > 0) {
            K.sgemm(ga.trans, gb.trans, m, n, k, 1f, ga.t.data, ga.t.offset, ga.ld, gb.t.data, gb.t.offset, gb.ld,
                    0f, out, 0, n);
        }
        Tensor result = wrap(out, m, n);
        if (Autograd.needsGrad(a0, b0)) {
            Node node = Autograd.record2(result, "MmBackward0", (grad, g) -> {
                if (g.needs(0) && k > 0) {
                    // dA[m,k] += grad[m,n] * B^T
                    K.sgemm(false, !gb.trans, m, k, n, 1f, grad.data(), grad.offset(), Math.max(n, 1),
                            gb.t.data, gb.t.offset, gb.ld, 1f, g.buffer(0), 0, k);
                }
                if (g.needs(1) && n > 0) {
                    // dB[k,n] += A^T * grad[m,n]
                    K.sgemm(!ga.trans, false, k, n, m, 1f, ga.t.data, ga.t.offset, ga.ld,
                            grad.data(), grad.offset(), Math.max(n, 1), 1f, g.buffer(1), 0, n);
                }
            }, a0, b0);
            if (a0.requiresGrad()) {
                node.save(b0);
            }
            if (b0.requiresGrad()) {
                node.save(a0);
            }
        }
        return result;
    }

    /** {@code dot}: 1-D x 1-D. dot: self: grad * tensor, tensor: grad * self. */
    public Tensor dot(Tensor other) {
        requireTensor(other, "dot", "other");
        if (shape.length != 1 || other.shape.length != 1) {
            throw new AutogradException("1D tensors expected, but got " + shape.length + "D and " + other.shape.length + "D tensors");
        }
        if (numel != other.numel) {
            throw new AutogradException("inconsistent tensor size, expected tensor [" + numel + "] and src ["
                    + other.numel + "] to have the same number of elements, but got " + numel + " and " + other.numel
                    + " elements respectively");
        }
        Tensor a = arith().contiguous ? arith() : arith().contiguousCopy();
        Tensor b = other.arith().contiguous ? other.arith() : other.arith().contiguousCopy();
        float[] out = new float[1];
        K.sgemm(false, false, 1, 1, numel, 1f, a.data, a.offset, Math.max(numel, 1), b.data, b.offset, 1, 0f, out, 0, 1);
        Tensor result = wrap(out);
        if (Autograd.needsGrad(a, b)) {
            Autograd.record2(result, "DotBackward0", (grad, g) -> {
                float gv = grad.data()[grad.offset()];
                g.axpy(0, gv, b);
                g.axpy(1, gv, a);
            }, a, b).save(a, b);
        }
        return result;
    }

    /** {@code mv}: 2-D x 1-D. mv: self: grad.ger(vec), vec: self.t().mv(grad). */
    public Tensor mv(Tensor vec) {
        requireTensor(vec, "mv", "vec");
        if (shape.length != 2 || vec.shape.length != 1) {
            throw new AutogradException("vector + matrix @ vector expected, got 1, " + shape.length + ", " + vec.shape.length);
        }
        int m = shape[0];
        int k = shape[1];
        if (vec.shape.length != 1 || vec.shape[0] != k) {
            throw new AutogradException("size mismatch, got " + m + ", " + m + "x" + k + "," + vec.numel);
        }
        Tensor a0 = arith();
        Gemm ga = Gemm.of(a0);
        Tensor v0 = vec.arith();
        Tensor v = v0.contiguous ? v0 : v0.contiguousCopy();
        float[] out = new float[m];
        if (m > 0) {
            K.sgemm(ga.trans, false, m, 1, k, 1f, ga.t.data, ga.t.offset, ga.ld, v.data, v.offset, 1, 0f, out, 0, 1);
        }
        Tensor result = wrap(out, m);
        if (Autograd.needsGrad(a0, v0)) {
            Autograd.record2(result, "MvBackward0", (grad, g) -> {
                if (g.needs(0) && k > 0 && m > 0) {
                    K.sgemm(false, false, m, k, 1, 1f, grad.data(), grad.offset(), 1, v.data, v.offset, Math.max(k, 1),
                            1f, g.buffer(0), 0, k);
                }
                if (g.needs(1) && k > 0) {
                    K.sgemm(!ga.trans, false, k, 1, m, 1f, ga.t.data, ga.t.offset, ga.ld, grad.data(), grad.offset(), 1,
                            1f, g.buffer(1), 0, 1);
                }
            }, a0, v0).save(a0, v0);
        }
        return result;
    }

    /** {@code bmm}: [b, m, k] x [b, k, n]. bmm: self: grad.bmm(mat2.transpose(1, 2)), mat2: self.transpose(1, 2).bmm(grad). */
    public Tensor bmm(Tensor other) {
        requireTensor(other, "bmm", "other");
        if (shape.length != 3 || other.shape.length != 3) {
            throw new AutogradException("batch1 must be a 3D tensor");
        }
        int bs = shape[0];
        int m = shape[1];
        int k = shape[2];
        int n = other.shape[2];
        if (other.shape[0] != bs || other.shape[1] != k) {
            throw new AutogradException("Expected size for first two dimensions of batch2 tensor to be: [" + bs + ", " + k
                    + "] but got: [" + other.shape[0] + ", " + other.shape[1] + "].");
        }
        Tensor a0 = arith();
        Tensor b0 = other.arith();
        Tensor a = a0.contiguous ? a0 : a0.contiguousCopy();
        Tensor b = b0.contiguous ? b0 : b0.contiguousCopy();
        float[] out = new float[bs * m * n];
        if (m > 0 && n > 0) {
            for (int i = 0; i < bs; i++) {
                K.sgemm(false, false, m, n, k, 1f, a.data, a.offset + i * m * k, Math.max(k, 1),
                        b.data, b.offset + i * k * n, Math.max(n, 1), 0f, out, i * m * n, n);
            }
        }
        Tensor result = wrap(out, bs, m, n);
        if (Autograd.needsGrad(a0, b0)) {
            Autograd.record2(result, "BmmBackward0", (grad, g) -> {
                for (int i = 0; i < bs; i++) {
                    if (g.needs(0) && k > 0 && m > 0) {
                        K.sgemm(false, true, m, k, n, 1f, grad.data(), grad.offset() + i * m * n, Math.max(n, 1),
                                b.data, b.offset + i * k * n, Math.max(n, 1), 1f, g.buffer(0), i * m * k, k);
                    }
                    if (g.needs(1) && k > 0 && n > 0) {
                        K.sgemm(true, false, k, n, m, 1f, a.data, a.offset + i * m * k, Math.max(k, 1),
                                grad.data(), grad.offset() + i * m * n, Math.max(n, 1), 1f, g.buffer(1), i * k * n, n);
                    }
                }
            }, a0, b0).save(a0, b0);
        }
        return result;
    }

    /** {@code matmul} (the {@code @} operator) with PyTorch's dispatch: dot, mv, mm, folded mm, broadcast bmm. */
    public Tensor matmul(Tensor other) {
        requireTensor(other, "matmul", "other");
        int da = shape.length;
        int db = other.shape.length;
        if (da == 0 || db == 0) {
            throw new AutogradException("both arguments to matmul need to be at least 1D, but they are " + da + "D and " + db + "D");
        }
        if (da == 1 && db == 1) {
            return dot(other);
        }
        if (da == 2 && db == 1) {
            return mv(other);
        }
        if (da == 1 && db == 2) {
            return unsqueeze(0).mm(other).squeezeNamed(0, "SqueezeBackward3");
        }
        if (da == 2 && db == 2) {
            return mm(other);
        }
        if (da >= 3 && (db == 1 || db == 2)) {
            int k = shape[da - 1];
            int[] outShape;
            Tensor folded = reshape(-1, k);
            Tensor r;
            if (db == 1) {
                outShape = Arrays.copyOf(shape, da - 1);
                r = folded.mv(other);
            } else {
                outShape = Arrays.copyOf(shape, da);
                outShape[da - 1] = other.shape[1];
                r = folded.mm(other);
            }
            return r.viewNamed(outShape, "UnsafeViewBackward0");
        }
        // general batched case: broadcast the batch dims
        Tensor a = da == 1 ? unsqueeze(0) : this;
        Tensor b = db == 1 ? other.unsqueeze(-1) : other;
        int m = a.shape[a.shape.length - 2];
        int k = a.shape[a.shape.length - 1];
        int k2 = b.shape[b.shape.length - 2];
        int n = b.shape[b.shape.length - 1];
        int[] batchA = Arrays.copyOf(a.shape, a.shape.length - 2);
        int[] batchB = Arrays.copyOf(b.shape, b.shape.length - 2);
        int[] batch = Shapes.broadcast(batchA, batchB);
        if (k != k2) {
            throw new AutogradException("Expected size for first two dimensions of batch2 tensor to be: ["
                    + Shapes.numel(batch) + ", " + k + "] but got: [" + Shapes.numel(batch) + ", " + k2 + "].");
        }
        int bs = Shapes.numel(batch);
        int[] ea = Arrays.copyOf(batch, batch.length + 2);
        ea[batch.length] = m;
        ea[batch.length + 1] = k;
        int[] eb = Arrays.copyOf(batch, batch.length + 2);
        eb[batch.length] = k;
        eb[batch.length + 1] = n;
        Tensor a3 = a.expand(ea).reshape(bs, m, k);
        Tensor b3 = b.expand(eb).reshape(bs, k, n);
        Tensor r = a3.bmm(b3);
        int[] outShape;
        if (da == 1) {
            outShape = Arrays.copyOf(batch, batch.length + 1);
            outShape[batch.length] = n;
        } else if (db == 1) {
            outShape = Arrays.copyOf(batch, batch.length + 1);
            outShape[batch.length] = m;
        } else {
            outShape = Arrays.copyOf(batch, batch.length + 2);
            outShape[batch.length] = m;
            outShape[batch.length + 1] = n;
        }
        return r.viewNamed(outShape, "UnsafeViewBackward0");
    }

    // ================================================================== comparisons

    private Tensor compare(Compare op, Tensor other) {
        requireTensor(other, op.name().toLowerCase(java.util.Locale.ROOT), "other");
        Tensor a = arith();
        Tensor b = other.arith();
        int[] shape = Shapes.broadcast(a.shape, b.shape);
        Tensor ac = a.contiguous && Shapes.equal(a.shape, shape) ? a : a.expandNoGrad(shape).contiguousCopy();
        Tensor bc = b.contiguous && Shapes.equal(b.shape, shape) ? b : b.expandNoGrad(shape).contiguousCopy();
        float[] out = new float[Shapes.numel(shape)];
        K.compare(op, ac.data, ac.offset, bc.data, bc.offset, out, 0, out.length);
        return wrapBool(out, shape.clone());
    }

    private Tensor expandNoGrad(int[] s) {
        try (var g = Autograd.noGrad()) {
            return expand(s);
        }
    }

    public Tensor eq(Tensor other) {
        return compare(Compare.EQ, other);
    }

    public Tensor eq(float s) {
        return compare(Compare.EQ, scalar(s));
    }

    public Tensor ne(Tensor other) {
        return compare(Compare.NE, other);
    }

    public Tensor ne(float s) {
        return compare(Compare.NE, scalar(s));
    }

    public Tensor lt(Tensor other) {
        return compare(Compare.LT, other);
    }

    public Tensor lt(float s) {
        return compare(Compare.LT, scalar(s));
    }

    public Tensor le(Tensor other) {
        return compare(Compare.LE, other);
    }

    public Tensor le(float s) {
        return compare(Compare.LE, scalar(s));
    }

    public Tensor gt(Tensor other) {
        return compare(Compare.GT, other);
    }

    public Tensor gt(float s) {
        return compare(Compare.GT, scalar(s));
    }

    public Tensor ge(Tensor other) {
        return compare(Compare.GE, other);
    }

    public Tensor ge(float s) {
        return compare(Compare.GE, scalar(s));
    }

    /** {@code all()}: a 0-dim bool tensor, true when every element is nonzero. */
    public Tensor all() {
        if (numel == 0) {
            return wrapBool(new float[] {1f});
        }
        Tensor zero = ne(0f).contiguousCopy(); // 1/0
        K.scalarBinary(Binary.SUB, 1f, zero.data, 0, zero.data, 0, numel); // 1 where zero
        return wrapBool(new float[] {K.max(zero.data, 0, numel) > 0f ? 0f : 1f});
    }

    /** {@code any()}: a 0-dim bool tensor, true when some element is nonzero. */
    public Tensor any() {
        if (numel == 0) {
            return wrapBool(new float[] {0f});
        }
        Tensor nz = ne(0f);
        return wrapBool(new float[] {K.max(nz.data, 0, numel) > 0f ? 1f : 0f});
    }

    // ================================================================== values out

    /** The value of a one-element tensor (bool as 1/0, int64 converted). */
    public float item() {
        if (numel != 1) {
            throw new AutogradException("only one element tensors can be converted to Python scalars");
        }
        return dtype == DType.INT64 ? longData[offset] : data[offset];
    }

    /** The value of a one-element int64 (or other) tensor as a long. */
    public long longItem() {
        if (numel != 1) {
            throw new AutogradException("only one element tensors can be converted to Python scalars");
        }
        return dtype == DType.INT64 ? longData[offset] : (long) data[offset];
    }

    /** The elements in row-major order (a copy); bool as 1/0. */
    public float[] toArray() {
        return arith().contiguousCopy().data;
    }

    /** int64 elements in row-major order (a copy). */
    public long[] toLongArray() {
        if (dtype != DType.INT64) {
            throw new AutogradException("toLongArray() needs an int64 tensor, got " + dtype);
        }
        return contiguousCopy().longData;
    }

    /** The elements as booleans (nonzero is true). */
    public boolean[] toBooleanArray() {
        float[] f = toArray();
        boolean[] b = new boolean[f.length];
        for (int i = 0; i < f.length; i++) { // output conversion
            b[i] = f[i] != 0f;
        }
        return b;
    }

    // ================================================================== in place

    private void checkInPlace(Tensor other) {
        if (!Autograd.isGradEnabled()) {
            return;
        }
        if (gradFn == null && requiresGrad) {
            throw new AutogradException("a leaf Variable that requires grad is being used in an in-place operation.");
        }
        if (base != null && base.requiresGrad && base.gradFn == null && requiresGrad()) {
            throw new AutogradException("a view of a leaf Variable that requires grad is being used in an in-place operation.");
        }
        if (base != null && (requiresGrad() || other != null && other.requiresGrad())) {
            throw new AutogradException("in-place operations on views of tensors that require grad are not supported: "
                    + "use the out-of-place op (PyTorch would rebase the base's history with CopySlices)");
        }
    }

    /** Writes {@code r} (this shape) into this storage and takes over its history. */
    private Tensor assign(Tensor r) {
        if (dtype == DType.INT64) {
            for (int i = 0; i < numel; i++) { // int64 in-place: counters only
                longData[storageIndex(i)] = (long) r.data[r.offset + i];
            }
        } else if (contiguous) {
            System.arraycopy(r.data, r.offset, data, offset, numel);
        } else if (numel > 0) {
            K.copyToStrided(shape, r.data, r.offset, data, offset, strides);
        }
        version.value++;
        if (r.gradFn != null) {
            gradFn = r.gradFn;
            gradFn.outputShape = shape;
        }
        return this;
    }

    private boolean fastInPlace(Tensor other) {
        return !Autograd.needsGrad(this, other == null ? this : other) && dtype == DType.FLOAT32 && contiguous
                && (other == null || other.dtype != DType.INT64);
    }

    /** {@code add_(other)}. */
    public Tensor add_(Tensor other) {
        return add_(other, 1f);
    }

    /** {@code add_(other, alpha=alpha)}: {@code self += alpha * other}. */
    public Tensor add_(Tensor other, float alpha) {
        requireTensor(other, "add_", "other");
        checkInPlace(other);
        if (fastInPlace(other) && other.contiguous && Shapes.equal(other.shape, shape)) {
            K.axpy(alpha, other.data, other.offset, data, offset, numel);
            version.value++;
            return this;
        }
        if (alpha == 1f && dtype == DType.FLOAT32 && other.dtype == DType.FLOAT32 && contiguous && other.contiguous
                && Shapes.equal(other.shape, shape) && (other.data != data || other.offset == offset)) {
            // with autograd, as torchvision's residual `out += identity`: added in place, no new
            // tensor (a partly overlapping other takes the copy below); the edges are taken from this
            // tensor's history before the node replaces it
            K.axpy(1f, other.data, other.offset, data, offset, numel);
            version.value++;
            Autograd.record2(this, "AddBackward0", (grad, g) -> {
                g.accumulate(0, grad);
                g.accumulate(1, grad);
            }, this, other);
            return this;
        }
        Tensor r = add(other, alpha);
        checkSameShape(r);
        return assign(r);
    }

    public Tensor add_(float s) {
        checkInPlace(null);
        if (dtype == DType.INT64) {
            for (int i = 0; i < numel; i++) { // int64 counters (num_batches_tracked)
                longData[storageIndex(i)] += (long) s;
            }
            version.value++;
            return this;
        }
        if (fastInPlace(null)) {
            K.binaryScalar(Binary.ADD, data, offset, s, data, offset, numel);
            version.value++;
            return this;
        }
        return assign(add(s));
    }

    public Tensor sub_(Tensor other) {
        return add_(other, -1f);
    }

    public Tensor sub_(float s) {
        return add_(-s);
    }

    public Tensor mul_(Tensor other) {
        requireTensor(other, "mul_", "other");
        checkInPlace(other);
        if (fastInPlace(other) && other.contiguous && Shapes.equal(other.shape, shape)) {
            K.binary(Binary.MUL, data, offset, other.data, other.offset, data, offset, numel);
            version.value++;
            return this;
        }
        Tensor r = savedSelf(other).mul(other);
        checkSameShape(r);
        return assign(r);
    }

    /**
     * The value of self an in-place op saves for other's gradient: a clone when recording (the op then
     * overwrites self), as PyTorch saves the original self.
     */
    private Tensor savedSelf(Tensor other) {
        return Autograd.needsGrad(this, other) && other.requiresGrad() ? clone() : this;
    }

    public Tensor mul_(float s) {
        checkInPlace(null);
        if (fastInPlace(null)) {
            K.scale(data, offset, s, data, offset, numel);
            version.value++;
            return this;
        }
        return assign(mul(s));
    }

    public Tensor div_(Tensor other) {
        requireTensor(other, "div_", "other");
        checkInPlace(other);
        Tensor r = savedSelf(other).div(other);
        checkSameShape(r);
        return assign(r);
    }

    public Tensor div_(float s) {
        checkInPlace(null);
        if (fastInPlace(null)) {
            K.binaryScalar(Binary.DIV, data, offset, s, data, offset, numel);
            version.value++;
            return this;
        }
        return assign(div(s));
    }

    /** {@code zero_()}. zero_: self: zeros_like(grad). */
    public Tensor zero_() {
        return fill_(0f, "ZeroBackward0");
    }

    /** {@code fill_(value)}. fill_: self: zeros_like(grad). */
    public Tensor fill_(float value) {
        return fill_(value, "FillBackward0");
    }

    private Tensor fill_(float value, String name) {
        checkInPlace(null);
        if (dtype == DType.INT64) {
            for (int i = 0; i < numel; i++) { // int64 counters
                longData[storageIndex(i)] = (long) value;
            }
        } else if (contiguous) {
            K.fill(value, data, offset, numel);
        } else {
            float[] v = new float[numel];
            K.fill(value, v, 0, numel);
            K.copyToStrided(shape, v, 0, data, offset, strides);
        }
        version.value++;
        if (Autograd.needsGrad(this)) {
            Autograd.record1(this, name, (grad, g) -> { }, this);
        }
        return this;
    }

    /** {@code copy_(src)}: src broadcast to this shape. copy_: src: grad (summed to src's shape). */
    public Tensor copy_(Tensor src) {
        requireTensor(src, "copy_", "src");
        checkInPlace(src);
        Tensor s = src.dtype == DType.INT64 && dtype != DType.INT64 ? src.toFloat() : src;
        Tensor r;
        try (var g = Autograd.noGrad()) {
            r = s.dtype == DType.INT64 ? s.expand(shape).contiguousCopy().toFloat() : s.expand(shape).contiguousCopy();
        }
        boolean record = Autograd.needsGrad(this, s);
        assign(r);
        if (record) {
            // the old values are overwritten: no gradient flows to this tensor's history, all of it to src
            Autograd.record(this, "CopyBackwards", (grad, g) -> g.accumulate(1, grad), this, s);
        }
        return this;
    }

    /** PyTorch's TypeError for a missing tensor argument (Java: IllegalArgumentException, not a NullPointerException). */
    static void requireTensor(Tensor t, String op, String name) {
        if (t == null) {
            throw new IllegalArgumentException(op + "(): argument '" + name + "' (position 1) must be Tensor, not null");
        }
    }

    private void checkSameShape(Tensor r) {
        if (!Shapes.equal(r.shape, shape)) {
            throw new AutogradException("output with shape " + Shapes.str(shape) + " doesn't match the broadcast shape "
                    + Shapes.str(r.shape));
        }
    }

    // ================================================================== printing

    /** Exactly as PyTorch 1.13 prints it (torch/_tensor_str.py). */
    @Override
    public String toString() {
        return TensorFormat.format(this);
    }
}
