package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.kernels.Parallel;
import dev.autograd.nn.ResNet;
import dev.autograd.optim.SGD;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Threads and determinism: independent models trained on several threads at once give bit-identical
 * results to training each alone (the kernels' pool is shared); grad mode is per thread; the same seed
 * gives bit-identical losses run after run, and across kernel thread counts (Parallel's partitioning
 * does not change any reduction order).
 */
class ThreadsTest {

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    /** Trains a width-4 ResNet for a few steps from {@code seed}; the losses and every parameter's bits. */
    static int[] train(long seed, int steps) {
        Generator.current().manualSeed(seed);
        ResNet model = new ResNet(new int[] {2, 2, 2, 2}, 10, 4);
        model.train();
        Tensor data = Tensor.rand(2, 3, 32, 32);
        Tensor labels = Tensor.rand(2, 10);
        SGD optimizer = new SGD(model.parameters(), 1e-3, 0.9);
        List<Float> values = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            optimizer.zeroGrad();
            Tensor loss = model.forward(data).sub(labels).pow(2f).mean();
            loss.backward();
            optimizer.step();
            values.add(loss.item());
        }
        for (Tensor p : model.parameters()) {
            for (float v : p.toArray()) {
                values.add(v);
            }
        }
        for (Tensor b : model.namedBuffers().values()) {
            for (float v : b.toArray()) {
                values.add(v);
            }
        }
        int[] bits = new int[values.size()];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Float.floatToRawIntBits(values.get(i));
        }
        return bits;
    }

    @Test
    void modelsTrainedConcurrentlyMatchTrainingEachAloneBitForBit() throws Exception {
        int models = 3;
        int[][] alone = new int[models][];
        for (int m = 0; m < models; m++) {
            alone[m] = train(100 + m, 3);
        }
        ExecutorService pool = Executors.newFixedThreadPool(models);
        try {
            CyclicBarrier start = new CyclicBarrier(models);
            List<Future<int[]>> futures = new ArrayList<>();
            for (int m = 0; m < models; m++) {
                long seed = 100 + m;
                futures.add(pool.submit(() -> {
                    start.await();
                    return train(seed, 3);
                }));
            }
            for (int m = 0; m < models; m++) {
                assertArrayEquals(alone[m], futures.get(m).get(120, TimeUnit.SECONDS),
                        "model " + m + " trained beside others differs from training it alone");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void sameSeedGivesBitIdenticalLossesAndWeightsRunAfterRunAndAcrossThreadCounts() {
        Parallel.setThreads(2);
        int[] first = train(7, 3);
        assertArrayEquals(first, train(7, 3), "same seed, same threads");
        Parallel.setThreads(1);
        assertArrayEquals(first, train(7, 3), "1 kernel thread against 2");
    }

    @Test
    void gradModeIsPerThread() throws Exception {
        Tensor x = Tensor.ones(3).requiresGrad_();
        CountDownLatch inScope = new CountDownLatch(1);
        CountDownLatch checked = new CountDownLatch(1);
        boolean[] other = new boolean[2];
        Thread t = new Thread(() -> {
            try {
                inScope.await();
                other[0] = Autograd.isGradEnabled();
                other[1] = x.mul(2f).requiresGrad();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                checked.countDown();
            }
        });
        t.start();
        try (var g = Autograd.noGrad()) {
            inScope.countDown();
            assertTrue(checked.await(30, TimeUnit.SECONDS));
            assertFalse(x.mul(2f).requiresGrad(), "no-grad on this thread");
        }
        t.join();
        assertTrue(other[0], "another thread keeps grad mode on while this one is in no_grad");
        assertTrue(other[1], "and records");
        // the reverse: a no-grad scope on a worker does not leak into the caller
        Thread worker = new Thread(() -> {
            var g = Autograd.noGrad(); // deliberately never closed: thread-local state dies with the thread
            assertFalse(Autograd.isGradEnabled());
        });
        worker.start();
        worker.join();
        assertTrue(Autograd.isGradEnabled());
    }

    @Test
    void manyThreadsHammeringTheSharedKernelPoolWhileItIsResizedNeverDeadlock() {
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(90), () -> {
            Tensor a = Tensor.rand(96, 200);
            Tensor b = Tensor.rand(200, 160);
            float[] expected = a.mm(b).toArray();
            int threads = 4;
            ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    futures.add(pool.submit(() -> {
                        for (int k = 0; k < 25; k++) {
                            assertArrayEquals(expected, a.mm(b).toArray(), "a product computed beside others");
                        }
                        return null;
                    }));
                }
                futures.add(pool.submit(() -> {
                    for (int k = 0; k < 40; k++) {
                        Parallel.setThreads(1 + k % 2); // shuts down the old pool while others use it
                        Thread.sleep(2);
                    }
                    return null;
                }));
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
        });
    }
}
