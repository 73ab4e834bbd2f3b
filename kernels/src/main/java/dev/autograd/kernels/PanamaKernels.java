package dev.autograd.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels on {@code jdk.incubator.vector}. Loaded by name from {@link KernelProvider} only when the
 * module is readable. Methods not overridden yet fall back to the scalar reference.
 */
public class PanamaKernels extends ScalarKernels {

    /** The CPU's preferred width; kernels are JIT-compiled for one species, so it is final. */
    static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;

    private final VectorSpecies<Float> species;

    public PanamaKernels(int bits) {
        int preferred = PREFERRED.vectorBitSize();
        int chosen = bits <= 0 ? preferred : Math.min(bits, preferred);
        this.species = VectorSpecies.of(float.class, jdk.incubator.vector.VectorShape.forBitSize(chosen));
    }

    @Override
    public String name() {
        return "simd-" + species.vectorBitSize();
    }

    @Override
    public int vectorBitSize() {
        return species.vectorBitSize();
    }
}
