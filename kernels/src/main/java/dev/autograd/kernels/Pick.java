package dev.autograd.kernels;

import static dev.autograd.kernels.PanamaKernels.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Lanes of two vectors picked by an index vector (an index below L picks that lane of the first,
 * L + i lane i of the second): {@code index.selectFrom(x, y)}. At 512 bits that is one instruction
 * (vpermt2ps). AVX2 has no two-vector permute, and there the Vector API's selectFrom was the slower
 * way: two single-vector rearranges (vpermps) and a blend packed 6-row A panels of the GEMM
 * ({@link Gemm#transpose8}) at 0.46-0.64 ns per float against 1.03-1.21 on a Zen 3 (48 x 1024
 * floats, in L2, one thread, two runs).
 */
record Pick(FloatVector index, VectorShuffle<Float> lanes, VectorMask<Float> second) {

    /** The pick for {@code index} (lane values 0 .. 2L-1). */
    static Pick of(FloatVector index) {
        return new Pick(index, lanes(index), second(index));
    }

    /** The lanes {@link #from} rearranges each vector by: the index modulo L. */
    static VectorShuffle<Float> lanes(FloatVector index) {
        return index.toShuffle().wrapIndexes();
    }

    /** The lanes {@link #from} takes from the second vector: index L or more. */
    static VectorMask<Float> second(FloatVector index) {
        return index.compare(VectorOperators.GE, (float) L);
    }

    /** Lane i is x[index[i]] or y[index[i] - L]. */
    FloatVector from(FloatVector x, FloatVector y) {
        return from(index, lanes, second, x, y);
    }

    /**
     * The same with the parts of a pick at hand (an index computed per call: a Pick made there was
     * allocated on every call, 61 KB per convolution of ResNet-18's conv1 shape).
     */
    static FloatVector from(FloatVector index, VectorShuffle<Float> lanes, VectorMask<Float> second, FloatVector x,
                            FloatVector y) {
        if (L >= 16) {
            return index.selectFrom(x, y);
        }
        return x.rearrange(lanes).blend(y.rearrange(lanes), second);
    }
}
