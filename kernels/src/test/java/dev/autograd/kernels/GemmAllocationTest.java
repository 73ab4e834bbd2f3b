package dev.autograd.kernels;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every way of the SGEMM (one shape each) and the batched product: see {@link AllocationTestBase}. */
class GemmAllocationTest extends AllocationTestBase {

    @TestFactory
    Stream<DynamicTest> productsAllocateNothingOnceWarm() {
        float[] a = PanamaKernelsTest.random(16 * 32 * 64, 1, -1f, 1f);
        float[] b = PanamaKernelsTest.random(16 * 64 * 32, 2, -1f, 1f);
        float[] c = new float[16 * 32 * 32];
        return Stream.of(
                call("sgemmBatch", 200, () -> SIMD.sgemmBatch(16, false, false, 32, 32, 64, 1f, a, 0, 32 * 64, 64,
                        b, 0, 64 * 32, 32, 0f, c, 0, 32 * 32, 32)),
                product("skinny 512x4x4608", false, false, 512, 4, 4608),
                product("wide by depth 4x4608x512 (A transposed)", true, false, 4, 4608, 512),
                product("wide by bands 4x8192x64", false, false, 4, 8192, 64),
                product("shallow 512x4608x4 (B transposed)", false, true, 512, 4608, 4),
                product("packed, balanced 64x256x576", false, false, 64, 256, 576),
                product("packed, shared 384x1024x1024", false, false, 384, 1024, 1024));
    }

    private static DynamicTest product(String name, boolean transA, boolean transB, int m, int n, int k) {
        float[] a = PanamaKernelsTest.random(m * k, 5, -1f, 1f);
        float[] b = PanamaKernelsTest.random(k * n, 6, -1f, 1f);
        float[] c = new float[m * n];
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        long flops = (long) m * n * k;
        int calls = (int) Math.max(4, Math.min(400, (1L << 28) / flops));
        return call("sgemm, " + name, calls, () -> SIMD.sgemm(transA, transB, m, n, k, 1f, a, 0, lda, b, 0, ldb,
                0f, c, 0, n));
    }
}
