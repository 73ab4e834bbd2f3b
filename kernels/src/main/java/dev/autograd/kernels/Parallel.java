package dev.autograd.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
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

    /** How long a helper keeps looking for the next job before its worker parks (microseconds). */
    static final long SPIN_NANOS = 1000L * Long.getLong("autograd.spinMicros", 200);

    /** One parallel job: tasks handed out by one counter, counted when done. */
    private static final class Job {
        final int tasks;
        final IntConsumer body;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable error;

        Job(int tasks, IntConsumer body) {
            this.tasks = tasks;
            this.body = body;
        }

        boolean hasWork() {
            return next.get() < tasks;
        }

        /** Runs tasks until none is left; a task's exception is kept for the caller. */
        void drain() {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
                try {
                    body.accept(t);
                } catch (Throwable e) {
                    if (error == null) {
                        error = e;
                    }
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    /** The newest job, where spinning helpers look for work; cleared when done (it holds the task's arrays). */
    private static final AtomicReference<Job> OFFERED = new AtomicReference<>();
    /** Helpers spinning for a job (not counting those working on one). */
    private static final AtomicInteger SPINNING = new AtomicInteger();

    /**
     * Runs {@code body.accept(t)} for every t in [0, tasks) and returns when all are done. The
     * caller works too: it and up to threads-1 helpers take task numbers from one counter, so a
     * thread that the OS descheduled (the cores are shared) holds up at most the task it is on, and
     * a helper that has not started by the time the caller runs out of tasks is simply not needed.
     * A helper that finishes keeps looking for the next job for {@link #SPIN_NANOS} before its
     * worker parks: waking a parked thread takes tens of microseconds here, as long as a whole
     * small GEMM, and a training step runs hundreds of short parallel kernels back to back (OpenMP
     * runtimes spin for the same reason). Which thread runs which task never changes a result:
     * tasks write disjoint outputs. A task's exception is rethrown to the caller once all tasks are done.
     */
    static void run(int tasks, IntConsumer body) {
        if (tasks <= 1 || inPool()) {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
            return;
        }
        Job job = new Job(tasks, body);
        OFFERED.set(job);
        int wanted = Math.min(tasks, threads) - 1 - SPINNING.get();
        if (wanted > 0) {
            ForkJoinPool p = pool();
            try {
                for (int h = 0; h < wanted; h++) {
                    p.execute(() -> help(p, job));
                }
            } catch (RejectedExecutionException e) {
                // setThreads shut this pool down after we took it: fewer helpers, or the caller alone
            }
        }
        RUNNING.set(true);
        try {
            job.drain();
        } finally {
            RUNNING.set(false);
            OFFERED.compareAndSet(job, null);
        }
        // tasks taken by helpers are running now: wait for them without parking
        for (int spins = 0; job.done.get() < tasks; spins++) {
            if ((spins & 1023) == 1023) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        Throwable e = job.error;
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        if (e != null) {
            throw new RuntimeException(e);
        }
    }

    /** A helper on a pool worker: works on its job, then on newer jobs until none comes for a while. */
    private static void help(ForkJoinPool p, Job first) {
        first.drain();
        SPINNING.incrementAndGet();
        try {
            long deadline = System.nanoTime() + SPIN_NANOS;
            while (pool == p) {
                Job job = OFFERED.get();
                if (job != null && job.hasWork()) {
                    SPINNING.decrementAndGet();
                    try {
                        job.drain();
                    } finally {
                        SPINNING.incrementAndGet();
                    }
                    deadline = System.nanoTime() + SPIN_NANOS;
                } else if (System.nanoTime() - deadline > 0) {
                    return;
                } else {
                    Thread.onSpinWait();
                }
            }
        } finally {
            SPINNING.decrementAndGet();
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
