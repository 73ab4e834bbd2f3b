package dev.autograd.nn;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Arrays an op computes in forward and keeps for its backward (a Winograd convolution's transformed
 * weights U and input V), handed back when the graph releases the op's node and lent again to the
 * next forward asking for the same length: a training step neither recomputes them in backward nor
 * allocates (and zeroes) them anew. Per thread; at most {@value #MAX_FLOATS} floats wait here, and
 * an array whose graph is dropped without a backward is simply collected. The contents of a lent
 * array are undefined: the op overwrites all of it.
 */
final class KeptOperands {

    /** 256 MB: more than the kept operands of a ResNet-18 step at batch 64. */
    static final long MAX_FLOATS = 1L << 26;

    private static final ThreadLocal<KeptOperands> LOCAL = ThreadLocal.withInitial(KeptOperands::new);

    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    private long waiting;

    private KeptOperands() {
    }

    /** An array of {@code size} floats, contents undefined. */
    static float[] lend(long size) {
        int n = Workspace.checked(size);
        KeptOperands pool = LOCAL.get();
        ArrayDeque<float[]> same = pool.free.get(n);
        if (same == null || same.isEmpty()) {
            return new float[n];
        }
        pool.waiting -= n;
        return same.pop();
    }

    /** Takes back arrays that nothing reads any more. */
    static void giveBack(float[]... arrays) {
        KeptOperands pool = LOCAL.get();
        for (float[] a : arrays) {
            if (a != null && pool.waiting + a.length <= MAX_FLOATS) {
                pool.free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
                pool.waiting += a.length;
            }
        }
    }
}
