package dev.autograd.nn;

/**
 * Per-thread scratch arrays for the large temporaries of one op (im2col columns, transposed GEMM
 * results), grown to the largest size seen and reused, so a training step does not allocate them
 * again every time. An op owns them only while it runs (forward, or its backward closure): nothing
 * may keep a reference across ops.
 */
final class Workspace {

    private static final ThreadLocal<Workspace> LOCAL = ThreadLocal.withInitial(Workspace::new);

    private float[] columns = new float[0];
    private float[] transposed = new float[0];
    private float[] small = new float[0];
    private float[] kernels = new float[0];
    private float[] kernelGrads = new float[0];

    static Workspace get() {
        return LOCAL.get();
    }

    /** Scratch for im2col columns (contents undefined). */
    float[] columns(long size) {
        if (columns.length < size) {
            columns = new float[checked(size)];
        }
        return columns;
    }

    /** Scratch for a transposed GEMM result or gradient (contents undefined). */
    float[] transposed(long size) {
        if (transposed.length < size) {
            transposed = new float[checked(size)];
        }
        return transposed;
    }

    /** Scratch for a Winograd convolution's transformed weights (contents undefined). */
    float[] kernels(long size) {
        if (kernels.length < size) {
            kernels = new float[checked(size)];
        }
        return kernels;
    }

    /** Scratch for a Winograd convolution's transformed weight gradient (contents undefined). */
    float[] kernelGrads(long size) {
        if (kernelGrads.length < size) {
            kernelGrads = new float[checked(size)];
        }
        return kernelGrads;
    }

    /** Scratch for per-channel sums (contents undefined). */
    float[] small(long size) {
        if (small.length < size) {
            small = new float[checked(size)];
        }
        return small;
    }

    /**
     * The size of a temporary as an int, or an AutogradException naming it: also asked by ops whose kernels
     * may build the temporary themselves (the convolutions' column matrices).
     */
    static int checked(long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new dev.autograd.AutogradException("a temporary of " + size + " elements exceeds a Java array; "
                    + "use a smaller batch or input size");
        }
        return (int) size;
    }
}
