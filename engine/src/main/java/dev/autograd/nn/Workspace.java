package dev.autograd.nn;

/**
 * Per-thread scratch arrays for the large temporaries of one op (im2col columns, transposed GEMM
 * results), grown to the largest size seen and reused, so a training step does not allocate them
 * again every time. An op owns them only while it runs (forward, or its backward closure): nothing
 * may keep a reference across ops.
 */
final class Workspace {

    private static final ThreadLocal<Workspace> LOCAL = ThreadLocal.withInitial(Workspace::new);

    private static final int COLUMNS = 0;
    private static final int TRANSPOSED = 1;
    private static final int SMALL = 2;
    private static final int KERNELS = 3;
    private static final int KERNEL_GRADS = 4;

    /** The slots, each grown to the largest size asked of it. */
    private final float[][] slots = {new float[0], new float[0], new float[0], new float[0], new float[0]};

    static Workspace get() {
        return LOCAL.get();
    }

    private float[] slot(int which, long size) {
        if (slots[which].length < size) {
            slots[which] = new float[checked(size)];
        }
        return slots[which];
    }

    /** Scratch for im2col columns (contents undefined). */
    float[] columns(long size) {
        return slot(COLUMNS, size);
    }

    /** Scratch for a transposed GEMM result or gradient (contents undefined). */
    float[] transposed(long size) {
        return slot(TRANSPOSED, size);
    }

    /** Scratch for a Winograd convolution's transformed weights (contents undefined). */
    float[] kernels(long size) {
        return slot(KERNELS, size);
    }

    /** Scratch for a Winograd convolution's transformed weight gradient (contents undefined). */
    float[] kernelGrads(long size) {
        return slot(KERNEL_GRADS, size);
    }

    /** Scratch for per-channel sums (contents undefined). */
    float[] small(long size) {
        return slot(SMALL, size);
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
