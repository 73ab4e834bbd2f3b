package dev.autograd.kernels;

/**
 * Per-thread scratch arrays of the kernels (padded images, offset tables, partial sums), grown to
 * the largest size asked and reused: the contents are undefined, and a kernel owns its array only
 * until it returns. A kernel that fills one for its tasks takes it on the calling thread and waits
 * for the tasks before the next use.
 */
final class Scratch {

    /**
     * Floats past the end of every float array here and of the GEMM's packing buffers, never read as
     * data. The micro-kernels walk packed panels with induction variables of their own ({@code
     * Gemm.kernel6}: A and B indices stepping beside the depth), and C2 checks their bounds once,
     * before the loop, with a predicate that reaches one depth step past the last one (16 floats of
     * B here). A panel that ended exactly at its array's end failed that predicate: an uncommon trap
     * (LogCompilation: reason range_check), and kernel6 was compiled again with its bounds checked
     * inside the loop, 30-50% slower for the rest of the process (one panel of depth 256 ending at the
     * array's end: 44-70 against 85-99 GFLOPS with 64 floats to spare; a slack of 8 trapped, 16 did
     * not). The ResNet-18 training step took that trap in every run until 2026-11-23.
     */
    static final int SLACK = 128;

    private Scratch() {
    }

    /**
     * {@code size} floats and the {@link #SLACK} past them; {@code size} alone where that would pass
     * the largest array the VM makes (never fewer floats than asked: such a size fails as it did).
     */
    static int withSlack(int size) {
        return size > Integer.MAX_VALUE - 8 - SLACK ? size : size + SLACK;
    }

    static float[] floats(ThreadLocal<float[]> local, int size) {
        float[] a = local.get();
        float[] b = atLeast(a, size);
        if (b != a) {
            local.set(b);
        }
        return b;
    }

    /**
     * {@code a} when it holds {@code size} floats and the {@link #SLACK} past them, else (and for null)
     * a new array that does: the one growth rule of the scratch arrays and the GEMM's buffers.
     */
    static float[] atLeast(float[] a, int size) {
        return a != null && a.length >= withSlack(size) ? a : new float[withSlack(size)];
    }

    static double[] doubles(ThreadLocal<double[]> local, int size) {
        double[] a = local.get();
        if (a.length < size) {
            a = new double[size];
            local.set(a);
        }
        return a;
    }

    static int[] ints(ThreadLocal<int[]> local, int size) {
        int[] a = local.get();
        if (a.length < size) {
            a = new int[size];
            local.set(a);
        }
        return a;
    }
}
