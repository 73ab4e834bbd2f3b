package dev.autograd.nn;

import java.util.ArrayDeque;
import java.util.HashMap;

/**
 * Per-thread scratch arrays for the large temporaries of one op (im2col columns, transposed GEMM
 * results), grown to the largest size seen and reused, so a training step does not allocate them
 * again every time. An op owns them only while it runs (forward, or its backward closure): nothing
 * may keep a reference across ops. Arrays an op keeps from its forward to its backward come from
 * {@link #kept} instead and go back with {@link #handBack} when its node is freed.
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

    /**
     * Handed-back arrays by length, for {@link #kept}: a training step asks for the same sizes each
     * time, so from the second step on nothing is allocated (or zeroed) for them.
     */
    private final HashMap<Integer, ArrayDeque<float[]>> handedBack = new HashMap<>();
    private long handedBackFloats;
    /** At most this many floats (128 MB) wait in {@link #handedBack}; more is left to the collector. */
    static final long HANDED_BACK_MAX = 1L << 25;

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

    /**
     * An array of exactly {@code size} floats (contents undefined) that an op keeps from its forward
     * to its backward: one handed back earlier, or a new one.
     */
    float[] kept(long size) {
        ArrayDeque<float[]> free = handedBack.get(checked(size));
        float[] a = free == null ? null : free.poll();
        if (a == null) {
            return new float[(int) size];
        }
        handedBackFloats -= a.length;
        return a;
    }

    /** Takes back an array of {@link #kept} whose op no longer reads it (its node was freed). */
    void handBack(float[] a) {
        if (a != null && handedBackFloats + a.length <= HANDED_BACK_MAX) {
            handedBack.computeIfAbsent(a.length, size -> new ArrayDeque<>()).push(a);
            handedBackFloats += a.length;
        }
    }

    /** Floats waiting in {@link #handedBack} (for the tests). */
    long handedBackFloats() {
        return handedBackFloats;
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
