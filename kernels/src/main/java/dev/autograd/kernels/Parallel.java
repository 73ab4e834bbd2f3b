package dev.autograd.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;

/**
 * The one thread pool of the kernels: a dedicated {@link ForkJoinPool} of threads-1 workers (the
 * calling thread is the last one), never the common pool, so parallel streams elsewhere cannot
 * starve it or be starved by it.
 *
 * <p>Threads: system property {@code autograd.threads} or {@link #setThreads(int)}; default = the
 * available processors. A kernel called from inside the pool (a task that calls another kernel)
 * runs single-threaded: no nested oversubscription and no task waiting on its own pool.
 *
 * <p>Determinism: kernels partition work so that every output element is computed by one task with
 * a reduction order that does not depend on how many tasks there are. Results are therefore
 * bit-identical for any thread count (the tests check 1 against 2 threads).
 */
public final class Parallel {

    public static final String THREADS_PROPERTY = "autograd.threads";

    private static volatile int threads = initialThreads();
    private static volatile ForkJoinPool pool;

    private Parallel() {
    }

    private static int initialThreads() {
        String value = System.getProperty(THREADS_PROPERTY);
        int cpus = Runtime.getRuntime().availableProcessors();
        if (value == null || value.isBlank()) {
            return cpus;
        }
        try {
            int t = Integer.parseInt(value.trim());
            if (t >= 1) {
                return t;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message below
        }
        throw new IllegalArgumentException(THREADS_PROPERTY + " must be a positive integer, got '" + value + "'");
    }

    /** Threads the kernels may use. */
    public static int threads() {
        return threads;
    }

    /** Sets the number of threads (at least 1); the pool is rebuilt on the next parallel call. */
    public static synchronized void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + n);
        }
        if (n != threads) {
            threads = n;
            ForkJoinPool old = pool;
            pool = null;
            if (old != null) {
                old.shutdown(); // running tasks finish; idle workers exit
            }
        }
    }

    private static ForkJoinPool pool() {
        ForkJoinPool p = pool;
        if (p == null) {
            synchronized (Parallel.class) {
                p = pool;
                if (p == null) {
                    p = new ForkJoinPool(Math.max(1, threads - 1), Worker::new, null, false);
                    pool = p;
                }
            }
        }
        return p;
    }

    /** Set while the calling thread runs its share of a parallel job. */
    private static final ThreadLocal<Boolean> RUNNING = ThreadLocal.withInitial(() -> false);

    /** True inside a parallel job (on a worker, or on the caller running its share): stay serial. */
    static boolean inPool() {
        return Thread.currentThread() instanceof Worker || RUNNING.get();
    }

    /** How many tasks to cut a job into: 1 inside the pool or for one thread. */
    static int parallelism() {
        return inPool() ? 1 : threads;
    }

    /**
     * Runs {@code body.accept(t)} for every t in [0, tasks) and returns when all are done. The
     * caller works too: it and up to threads-1 pool workers take task numbers from one counter, so
     * a thread that the OS descheduled (the cores are shared) holds up at most the task it is on.
     * Which thread runs which task never changes a result: tasks write disjoint outputs.
     * An exception of a task is rethrown to the caller once every helper has stopped.
     */
    static void run(int tasks, IntConsumer body) {
        if (tasks <= 1 || inPool()) {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable drain = () -> {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
                body.accept(t);
            }
        };
        int helpers = Math.min(tasks, threads) - 1;
        ForkJoinTask<?>[] submitted = new ForkJoinTask<?>[helpers];
        ForkJoinPool p = pool();
        // per helper: 0 = not started, 1 = working, 2 = called off by the caller
        AtomicIntegerArray state = new AtomicIntegerArray(helpers);
        for (int h = 0; h < helpers; h++) {
            int id = h;
            try {
                submitted[h] = p.submit(() -> {
                    if (state.compareAndSet(id, 0, 1)) {
                        drain.run();
                    }
                });
            } catch (RejectedExecutionException e) {
                // setThreads shut this pool down after we took it: the caller drains the tasks alone
                // (helpers never submitted stay "not started" and are called off below, never joined)
                break;
            }
        }
        RUNNING.set(true);
        try {
            drain.run();
        } finally {
            RUNNING.set(false);
            for (int h = 0; h < helpers; h++) {
                // a helper that has not started yet (its core is busy elsewhere) would find no
                // work left: call it off rather than wait for the OS to schedule it
                if (!state.compareAndSet(h, 0, 2)) {
                    submitted[h].join();
                }
            }
        }
    }

    /**
     * Splits [0, n) into at most {@link #parallelism()} ranges of multiples of {@code align} and at
     * least {@code grain} elements each, and runs {@code body(from, to)} on each.
     */
    static void forRange(int n, int grain, int align, RangeBody body) {
        int tasks = parallelism();
        if (tasks > 1) {
            tasks = (int) Math.min(tasks, Math.max(1, (long) n / Math.max(grain, 1)));
        }
        if (tasks <= 1) {
            body.run(0, n);
            return;
        }
        int units = (n + align - 1) / align;
        final int t = Math.min(tasks, units);
        run(t, i -> {
            int from = (int) Math.min((long) n, (long) units * i / t * align);
            int to = (int) Math.min((long) n, (long) units * (i + 1) / t * align);
            if (from < to) {
                body.run(from, to);
            }
        });
    }

    /** A worker of the kernels' pool, recognisable by its class (also after a resize). */
    private static final class Worker extends ForkJoinWorkerThread {
        Worker(ForkJoinPool pool) {
            super(pool);
            setName("autograd-kernels-" + getPoolIndex());
            setDaemon(true);
        }
    }

    /** A range of work items. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }
}
