package dev.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;

/**
 * The allocation tests' base: kernel calls on two threads allocate nothing once compiled, each
 * handing the pool a reused call object ({@link Parallel.Call}), not a capturing lambda. Bytes are
 * counted on the calling thread and the pool's workers (the JIT's threads are not counted), the best
 * of up to 40 rounds, so that rounds in which a kernel still ran interpreted (which boxes vectors)
 * are not held against it.
 *
 * <p>Each family's test class runs in a JVM of its own (the {@code allocation} execution in the
 * pom): after other tests had run in the same JVM, code compiled from their profiles boxed vectors
 * in a few kernels (col2imInto 10 MB per call, F(4x4) inputBackward 1.6 MB per call), which neither
 * did in a JVM of their own nor in a training step (JFR over 30 steps at batch 16 after warm-up: no
 * vector objects among the samples, only tensors).
 */
abstract class AllocationTestBase {

    static final Kernels SIMD = new PanamaKernels(0);

    @BeforeAll
    static void twoThreads() {
        Parallel.setThreads(2);
    }

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    static DynamicTest call(String name, int calls, Runnable kernel) {
        return DynamicTest.dynamicTest(name, () -> {
            ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
            kernel.run(); // starts the pool's workers
            long[] ids = callerAndPool();
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 40 && best > 0; round++) {
                long before = allocated(mx, ids);
                for (int i = 0; i < calls; i++) {
                    kernel.run();
                }
                best = Math.min(best, allocated(mx, ids) - before);
            }
            assertEquals(0, best, "bytes allocated by " + calls + " calls on 2 threads, best round of 40");
        });
    }

    /** The ids of the calling thread and the pool's workers (start the pool first). */
    static long[] callerAndPool() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("autograd-kernels-") || t == Thread.currentThread())
                .mapToLong(Thread::threadId).toArray();
    }

    /** Bytes allocated so far by the threads {@code ids}. */
    static long allocated(ThreadMXBean mx, long[] ids) {
        long sum = 0;
        for (long id : ids) {
            sum += Math.max(0, mx.getThreadAllocatedBytes(id));
        }
        return sum;
    }
}
