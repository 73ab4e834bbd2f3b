package dev.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The kernels' one pool: reentrant without deadlock, exceptions reach the caller, resizing while in use is safe. */
class ParallelTest {

    static final Kernels SIMD = new PanamaKernels(0);

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @Test
    void aKernelCalledFromInsideThePoolRunsInlineAndNeverDeadlocks() {
        Parallel.setThreads(2);
        int m = 64, n = 96, k = 128;
        float[] a = PanamaKernelsTest.random(m * k, 1, -1f, 1f);
        float[] b = PanamaKernelsTest.random(k * n, 2, -1f, 1f);
        float[] expected = new float[m * n];
        SIMD.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, expected, 0, n);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            float[][] results = new float[8][m * n];
            AtomicInteger depth = new AtomicInteger();
            // every task of an outer parallel job runs a parallel GEMM, which itself cuts into tasks
            Parallel.run(8, t -> {
                depth.set(Math.max(depth.get(), Parallel.parallelism()));
                SIMD.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, results[t], 0, n);
                Parallel.run(4, u -> Parallel.forRange(1000, 1, 1, (from, to) -> { }));
            });
            for (float[] r : results) {
                assertArrayEquals(expected, r, "nested GEMM equals the top-level one");
            }
            assertEquals(1, depth.get(), "inside the pool, kernels see parallelism 1");
        });
    }

    @Test
    void anExceptionInATaskReachesTheCaller() {
        Parallel.setThreads(2);
        RuntimeException e = assertThrows(RuntimeException.class, () -> Parallel.run(4, t -> {
            if (t == 3) {
                throw new IllegalStateException("task 3 failed");
            }
        }));
        Throwable cause = e;
        while (cause != null && !"task 3 failed".equals(cause.getMessage())) {
            cause = cause.getCause();
        }
        assertEquals("task 3 failed", cause == null ? null : cause.getMessage());
        // and the pool still works afterwards
        AtomicInteger done = new AtomicInteger();
        Parallel.run(4, t -> done.incrementAndGet());
        assertEquals(4, done.get());
    }

    @Test
    void resizingThePoolWhileOtherThreadsRunJobsLosesNoTask() throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            AtomicInteger failures = new AtomicInteger();
            Thread[] users = new Thread[3];
            for (int i = 0; i < users.length; i++) {
                users[i] = new Thread(() -> {
                    for (int k = 0; k < 300; k++) {
                        AtomicInteger count = new AtomicInteger();
                        try {
                            Parallel.run(4, t -> count.incrementAndGet());
                        } catch (RuntimeException e) {
                            failures.incrementAndGet();
                        }
                        if (count.get() != 4) {
                            failures.incrementAndGet();
                        }
                    }
                });
                users[i].start();
            }
            for (int k = 0; k < 200; k++) {
                Parallel.setThreads(1 + k % 3);
            }
            for (Thread u : users) {
                u.join();
            }
            assertEquals(0, failures.get(), "jobs that failed or lost tasks while the pool was resized");
        });
    }

    @Test
    void aReusedJobRunsEachTaskOfEachCallExactlyOnce() {
        Parallel.setThreads(2);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            // short jobs back to back: a worker that arrives late for one must not run the next
            // call's tasks with the previous call's body, nor take a task twice
            int calls = 20_000;
            int[][] ran = new int[calls][];
            for (int c = 0; c < calls; c++) {
                int tasks = 2 + c % 5;
                int[] counts = new int[tasks];
                ran[c] = counts;
                if (c % 2 == 0) {
                    Parallel.run(tasks, t -> counts[t]++);
                } else {
                    Parallel.forRange(tasks * 16, 16, 16, (from, to) -> {
                        for (int i = from; i < to; i += 16) {
                            counts[i / 16]++;
                        }
                    });
                }
            }
            for (int c = 0; c < calls; c++) {
                for (int t = 0; t < ran[c].length; t++) {
                    assertEquals(1, ran[c][t], "call " + c + ", task " + t);
                }
            }
        });
    }

    @Test
    void aParallelCallAllocatesNothingOnceWarm() {
        Parallel.setThreads(2);
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        float[] x = new float[1 << 20];
        float[] y = new float[1 << 20];
        Parallel.RangeBody body = (from, to) -> System.arraycopy(x, from, y, from, to - from);
        Parallel.forRange(x.length, 1 << 14, 64, body); // starts the pool's workers
        long[] ids = AllocationTestBase.callerAndPool();
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 20 && best > 0; round++) {
            long before = AllocationTestBase.allocated(mx, ids);
            for (int i = 0; i < 2_000; i++) {
                Parallel.forRange(x.length, 1 << 14, 64, body);
            }
            best = Math.min(best, AllocationTestBase.allocated(mx, ids) - before);
        }
        // the body is made once above: what remains would be the pool's own bookkeeping per call
        assertEquals(0, best, "bytes allocated by 2,000 parallel calls, all threads");
    }
}
