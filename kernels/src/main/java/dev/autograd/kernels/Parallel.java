package dev.autograd.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * The one thread pool of the kernels: threads-1 dedicated daemon workers (the calling thread is the
 * last one), never the common pool, so parallel streams elsewhere cannot starve it or be starved
 * by it.
 *
 * <p>Threads: system property {@code autograd.threads} or {@link #setThreads(int)}; default = the
 * available processors. A kernel called from inside the pool (a task that calls another kernel)
 * runs single-threaded: no nested oversubscription and no task waiting on its own pool.
 *
 * <p>Waking: a training step is hundreds of parallel jobs, many of them tens of microseconds long.
 * A worker that was parked takes 15-25 us to start on this VM (a ForkJoinPool's did: two 100 us
 * tasks took 115-125 us, two 20 us tasks 40 us, the caller doing both alone). So a worker spins for
 * {@link #SPIN_NANOS} after its last job, watching for the next one, before it parks; a job finds a
 * spinning worker within a microsecond. OpenMP runtimes do the same (GOMP_SPINCOUNT).
 *
 * <p>Determinism: kernels partition work so that every output element is computed by one task with
 * a reduction order that does not depend on how many tasks there are. Results are therefore
 * bit-identical for any thread count (the tests check 1 against 2 threads).
 */
public final class Parallel {

    public static final String THREADS_PROPERTY = "autograd.threads";

    /** How long an idle worker watches for the next job before it parks. */
    static final long SPIN_NANOS = Long.getLong("autograd.spinMicros", 200) * 1000L;

    private static volatile int threads = initialThreads();
    private static volatile Pool pool;

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
            Pool old = pool;
            pool = null;
            if (old != null) {
                old.shutdown(); // workers finish the job they are in, then exit
            }
        }
    }

    private static Pool pool() {
        Pool p = pool;
        if (p == null) {
            synchronized (Parallel.class) {
                p = pool;
                if (p == null) {
                    p = new Pool(Math.max(1, threads - 1));
                    pool = p;
                }
            }
        }
        return p;
    }

    /**
     * The calling thread's job, reused by every parallel call it makes (a call inside the pool runs
     * serially and never touches it): a parallel kernel call allocates nothing here.
     */
    private static final ThreadLocal<Job> JOB = ThreadLocal.withInitial(Job::new);

    /** True inside a parallel job (on a worker, or on the caller running its share): stay serial. */
    static boolean inPool() {
        return Thread.currentThread() instanceof Worker || JOB.get().running;
    }

    /** How many tasks to cut a job into: 1 inside the pool or for one thread. */
    static int parallelism() {
        return inPool() ? 1 : threads;
    }

    /**
     * How many tasks to cut {@code units} independent pieces of work into: {@link #RANGES_PER_THREAD}
     * per thread (at most one per unit), 1 inside the pool or for one thread. More tasks than
     * threads let the caller take over the tasks of a worker that starts late or that the host
     * deschedules for a while, instead of waiting for its half.
     */
    static int tasks(long units) {
        int p = parallelism();
        return p <= 1 ? 1 : (int) Math.max(1, Math.min(units, (long) p * RANGES_PER_THREAD));
    }

    /**
     * Runs {@code body.accept(t)} for every t in [0, tasks) and returns when all are done. The
     * caller works too: it and the pool's workers take task numbers from one counter, so a thread
     * that the OS descheduled (the cores are shared) holds up at most the task it is on, and a
     * worker that has not joined by the time the caller took the last task finds nothing to do.
     * Which thread runs which task never changes a result: tasks write disjoint outputs.
     * An exception of a task is rethrown to the caller once every worker has left the job.
     */
    static void run(int tasks, IntConsumer body) {
        if (tasks <= 1 || threads <= 1 || inPool()) {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
            return;
        }
        Job job = JOB.get();
        job.body = body;
        job.execute(tasks);
    }

    /** One parallel job of a calling thread, reused from call to call. */
    private static final class Job {
        /** What a task number means: {@code body}'s argument, or a range of {@code rangeBody}'s. */
        IntConsumer body;
        RangeBody rangeBody;
        int rangeN;
        int rangeUnits;
        int rangeAlign;
        int tasks;
        /** Set while the owner runs its share: a kernel it calls stays serial. Read by the owner only. */
        boolean running;
        final AtomicInteger next = new AtomicInteger();
        /** Workers inside the job, counted before they take a task number. */
        final AtomicInteger active = new AtomicInteger();
        /**
         * Which publication of this object a worker may join; 0 while none. Set after the fields
         * above (so a worker that reads it sees them) and cleared before the owner waits for the
         * workers to leave, so one that read the pool's slot late cannot join the next use.
         */
        volatile long stamp;
        volatile Throwable error;

        private static final AtomicLong STAMPS = new AtomicLong();

        void execute(int taskCount) {
            tasks = taskCount;
            error = null;
            next.set(0);
            stamp = STAMPS.incrementAndGet();
            pool().publish(this);
            running = true;
            try {
                drain();
            } finally {
                running = false;
                stamp = 0;
                awaitHelpers();
                body = null; // the arrays a kernel's body holds are not kept alive past the call
                rangeBody = null;
            }
            Throwable e = error;
            if (e instanceof RuntimeException r) {
                throw r;
            }
            if (e instanceof Error r) {
                throw r;
            }
            if (e != null) {
                throw new RuntimeException(e);
            }
        }

        void drain() {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
                task(t);
            }
        }

        private void task(int i) {
            RangeBody r = rangeBody;
            if (r == null) {
                body.accept(i);
                return;
            }
            int from = (int) Math.min((long) rangeN, (long) rangeUnits * i / tasks * rangeAlign);
            int to = (int) Math.min((long) rangeN, (long) rangeUnits * (i + 1) / tasks * rangeAlign);
            if (from < to) {
                r.run(from, to);
            }
        }

        /**
         * A worker's share. It counts itself in {@code active}, then checks that the publication it
         * saw is still the current one: if the owner has since cleared the stamp (and may be about
         * to reuse the fields), the worker leaves without reading them. The owner clears the stamp
         * before reading {@code active}, so one of the two sees the other.
         */
        void help(long seen) {
            active.incrementAndGet();
            try {
                if (stamp == seen) {
                    drain();
                }
            } catch (Throwable e) {
                if (error == null) {
                    error = e;
                }
            } finally {
                active.decrementAndGet();
            }
        }

        /**
         * Waits until no worker is inside the job. The caller's drain took every task number, so a
         * worker entering after this sees active == 0 too late to take one: it leaves at once.
         */
        void awaitHelpers() {
            int spins = 0;
            while (active.get() != 0) {
                if (++spins < 1 << 16) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }

    /** The workers and the job they watch for. */
    private static final class Pool {
        final Worker[] workers;
        volatile Job job;
        /** Bumped by every published job; workers compare it with the last one they saw. */
        volatile long generation;
        volatile boolean shut;

        Pool(int size) {
            workers = new Worker[size];
            for (int i = 0; i < size; i++) {
                workers[i] = new Worker(this, i);
            }
            for (Worker w : workers) {
                w.start();
            }
        }

        void publish(Job j) {
            job = j;
            generation++; // one publisher at a time is not needed: a lost bump only delays a worker by a job
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
        }

        void shutdown() {
            shut = true;
            for (Worker w : workers) {
                LockSupport.unpark(w);
            }
        }
    }

    /** A worker of the kernels' pool, recognisable by its class (also after a resize). */
    private static final class Worker extends Thread {
        private final Pool pool;
        volatile boolean parked;

        Worker(Pool pool, int index) {
            super("autograd-kernels-" + index);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            long seen = pool.generation;
            while (!pool.shut) {
                long g = pool.generation;
                if (g != seen) {
                    seen = g;
                    Job j = pool.job;
                    if (j != null) {
                        long stamp = j.stamp;
                        if (stamp != 0) {
                            j.help(stamp);
                        }
                    }
                    continue;
                }
                long spinUntil = System.nanoTime() + SPIN_NANOS;
                while (pool.generation == seen && !pool.shut && System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                }
                if (pool.generation == seen && !pool.shut) {
                    parked = true;
                    // re-check after announcing: a publisher either sees parked and unparks, or
                    // bumped the generation before and this check sees it
                    if (pool.generation == seen && !pool.shut) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
    }

    /**
     * Ranges per thread that {@link #forRange} cuts when the work allows: the threads take ranges
     * from one counter, so a thread whose core the host slows for a while (one vCPU at a time runs
     * at 60% here for seconds) takes fewer of them instead of the others waiting for its half.
     */
    static final int RANGES_PER_THREAD = 4;

    /**
     * Splits [0, n) into at most {@link #RANGES_PER_THREAD} x {@link #parallelism()} ranges of
     * multiples of {@code align} and at least {@code grain} elements each, and runs
     * {@code body(from, to)} on each (one range when parallelism is 1).
     */
    static void forRange(int n, int grain, int align, RangeBody body) {
        int tasks = tasks((long) n / Math.max(grain, 1));
        if (tasks <= 1) {
            body.run(0, n);
            return;
        }
        int units = (n + align - 1) / align;
        if (units <= 1) {
            body.run(0, n);
            return;
        }
        Job job = JOB.get();
        job.rangeBody = body;
        job.rangeN = n;
        job.rangeUnits = units;
        job.rangeAlign = align;
        job.execute(Math.min(tasks, units));
    }

    /** A range of work items. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    /**
     * The arguments of one kind of parallel call, held in the fields of an object that the calling
     * thread keeps ({@link Reused}) and fills for each call, in place of a lambda capturing them: the
     * job hands its body to the other threads through the heap, so a capturing lambda was allocated
     * on every call (32-330 bytes per call on 2 threads, JMH {@code -prof gc}). {@link #clear}
     * drops the call's arrays afterwards, so that the kept object does not hold them alive.
     */
    abstract static class Call {
        abstract void clear();
    }

    /** A {@link Call} over ranges of work items: {@link #forRange(int, int, int, RangeCall)}. */
    abstract static class RangeCall extends Call implements RangeBody {
    }

    /** A {@link Call} over task numbers: {@link #run(int, TaskCall)}. */
    abstract static class TaskCall extends Call implements IntConsumer {
    }

    /**
     * One reusable {@link Call} per thread. Inside the pool (a kernel called from a task) it hands
     * out a fresh object instead: the thread's own may be the one the running job reads. Such calls
     * run serially anyway, so the fresh object is never shared.
     */
    static final class Reused<C extends Call> {
        private final ThreadLocal<C> mine;
        private final Supplier<C> fresh;

        Reused(Supplier<C> fresh) {
            this.fresh = fresh;
            this.mine = ThreadLocal.withInitial(fresh);
        }

        C get() {
            return inPool() ? fresh.get() : mine.get();
        }
    }

    /** {@link #forRange(int, int, int, RangeBody)} over a filled call, cleared afterwards. */
    static void forRange(int n, int grain, int align, RangeCall call) {
        try {
            forRange(n, grain, align, (RangeBody) call);
        } finally {
            call.clear();
        }
    }

    /** {@link #run(int, IntConsumer)} over a filled call, cleared afterwards. */
    static void run(int tasks, TaskCall call) {
        try {
            run(tasks, (IntConsumer) call);
        } finally {
            call.clear();
        }
    }
}
