package dev.autograd.kernels;

/**
 * Per-thread scratch arrays of the kernels (padded images, offset tables, partial sums), grown to
 * the largest size asked and reused: the contents are undefined, and a kernel owns its array only
 * until it returns. A kernel that fills one for its tasks takes it on the calling thread and waits
 * for the tasks before the next use.
 */
final class Scratch {

    private Scratch() {
    }

    static float[] floats(ThreadLocal<float[]> local, int size) {
        float[] a = local.get();
        if (a.length < size) {
            a = new float[size];
            local.set(a);
        }
        return a;
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
