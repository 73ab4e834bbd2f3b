package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.nn.Functional;
import dev.autograd.nn.ResNet;
import dev.autograd.optim.SGD;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.WeakReference;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Memory over long runs, at CI scale (the full 1,000-step ResNet-18 soak is {@code tools/soak.sh}):
 * after backward (without retain_graph) every op lets go of the tensors it saved, even while the root
 * of the graph is still referenced; the graph itself goes once the root does; and repeated training
 * steps of a small ResNet keep the heap after GC flat.
 */
class MemoryTest {

    private static final Generator GEN = new Generator(8);

    /** Collects until the reference is cleared (or gives up after a few tries). */
    static boolean collected(WeakReference<?> ref) {
        for (int i = 0; i < 10 && ref.get() != null; i++) {
            System.gc();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return ref.get() == null;
    }

    static Tensor leaf(int... shape) {
        return Tensor.rand(GEN, shape).add(0.5f).requiresGrad_();
    }

    /** Every op, applied to non-leaf inputs h (and h2): the op's inputs and output must be freed by backward. */
    static Map<String, Function<Tensor[], Tensor>> ops() {
        Map<String, Function<Tensor[], Tensor>> ops = new LinkedHashMap<>();
        ops.put("add", t -> t[0].add(t[1]));
        ops.put("sub", t -> t[0].sub(t[1]));
        ops.put("mul", t -> t[0].mul(t[1]));
        ops.put("div", t -> t[0].div(t[1]));
        ops.put("mul scalar", t -> t[0].mul(3f));
        ops.put("rdiv", t -> t[0].rdiv(2f));
        ops.put("pow", t -> t[0].pow(3f));
        ops.put("pow tensor", t -> t[0].pow(t[1]));
        ops.put("exp", t -> t[0].exp());
        ops.put("log", t -> t[0].log());
        ops.put("sqrt", t -> t[0].sqrt());
        ops.put("abs", t -> t[0].abs());
        ops.put("relu", t -> t[0].relu());
        ops.put("sigmoid", t -> t[0].sigmoid());
        ops.put("tanh", t -> t[0].tanh());
        ops.put("neg", t -> t[0].neg());
        ops.put("sum dim", t -> t[0].sum(1, true));
        ops.put("mean", t -> t[0].mean());
        ops.put("mean dim", t -> t[0].mean(0, false));
        ops.put("amax", t -> t[0].amax(1, false));
        ops.put("norm", t -> t[0].norm());
        ops.put("norm dim", t -> t[0].norm(1, false));
        ops.put("mm", t -> t[0].mm(t[1].t()));
        ops.put("matmul batched", t -> t[0].reshape(2, 4, 4).matmul(t[1].reshape(2, 4, 4)));
        ops.put("mv", t -> t[0].mv(t[1].select(0, 0)));
        ops.put("dot", t -> t[0].select(0, 1).dot(t[1].select(0, 2)));
        ops.put("views", t -> t[0].transpose(0, 1).unsqueeze(0).expand(2, 8, 4).narrow(1, 1, 3).squeeze());
        ops.put("slice", t -> t[0].slice(1, 0, 8, 3));
        ops.put("clone", t -> t[0].clone());
        ops.put("conv2d", t -> Functional.conv2d(t[0].reshape(1, 2, 4, 4), t[1].reshape(2, 2, 2, 4), null, 1, 1));
        ops.put("batchNorm", t -> Functional.batchNorm(t[0].reshape(2, 2, 8), null, null, t[1].select(1, 0).narrow(0, 0, 2),
                null, true, 0.1f, 1e-5f));
        ops.put("maxPool2d", t -> Functional.maxPool2d(t[0].reshape(1, 2, 4, 4), 2, 2, 0));
        ops.put("adaptiveAvgPool2d", t -> Functional.adaptiveAvgPool2d(t[0].reshape(1, 2, 4, 4), 1, 1));
        ops.put("linear", t -> Functional.linear(t[0], t[1], null));
        ops.put("logSoftmax", t -> Functional.logSoftmax(t[0], 1));
        ops.put("crossEntropy", t -> Functional.crossEntropy(t[0], Tensor.ofLong(1, 2, 3, 0)));
        ops.put("mseLoss", t -> Functional.mseLoss(t[0], t[1]));
        return ops;
    }

    @Test
    void backwardReleasesWhatEveryOpSavedWhileTheRootLives() {
        StringBuilder leaks = new StringBuilder();
        for (var e : ops().entrySet()) {
            Tensor x = leaf(4, 8);
            Tensor y = leaf(4, 8);
            Tensor h = x.mul(1.5f);   // non-leaf inputs: nothing but the graph refers to them
            Tensor h2 = y.mul(0.5f).add(0.25f);
            Tensor out = e.getValue().apply(new Tensor[] {h, h2});
            Tensor root = out.sum();
            WeakReference<Tensor> hRef = new WeakReference<>(h);
            WeakReference<Tensor> h2Ref = new WeakReference<>(h2);
            WeakReference<float[]> outData = new WeakReference<>(out.data());
            h = null;
            h2 = null;
            out = null;
            root.backward();
            boolean freed = collected(hRef) && collected(h2Ref) && collected(outData);
            if (!freed) {
                leaks.append(e.getKey()).append(hRef.get() != null ? " (input)" : "")
                        .append(h2Ref.get() != null ? " (second input)" : "")
                        .append(outData.get() != null ? " (output)" : "").append('\n');
            }
            assertTrue(root.requiresGrad()); // the root (and so the graph's nodes) stayed reachable
        }
        assertTrue(leaks.isEmpty(), "still referenced by the graph after backward:\n" + leaks);
    }

    @Test
    void retainGraphKeepsTheSavedTensorsUntilTheLastBackward() {
        Tensor x = leaf(3);
        Tensor h = x.exp();
        Tensor root = h.mul(h).sum();
        WeakReference<Tensor> hRef = new WeakReference<>(h);
        h = null;
        root.backward(null, true);
        System.gc();
        assertTrue(hRef.get() != null, "retain_graph: the saved tensor must survive");
        root.backward();
        assertTrue(collected(hRef), "the last backward frees it");
    }

    @Test
    void theGraphGoesWithItsRoot() {
        Tensor x = leaf(16);
        Tensor loss = x.exp().mul(x).relu().sum();
        WeakReference<Node> node = new WeakReference<>(loss.gradFn());
        loss.backward();
        loss = null;
        assertTrue(collected(node), "the graph must not be referenced by the leaves or any global");
        assertNull(x.grad().gradFn(), ".grad is outside the graph");
    }

    /**
     * The reduced soak: a ResNet of resnet18's structure at width 4 trains for 60 steps; the heap after GC
     * at the end is within 5% (plus 256 KiB for JIT and class-loading noise) of the heap at step 15.
     */
    @Test
    void trainingStepsKeepTheHeapFlat() {
        Generator.current().manualSeed(3);
        ResNet model = new ResNet(new int[] {2, 2, 2, 2}, 10, 4);
        model.train();
        Tensor data = Tensor.rand(2, 3, 32, 32);
        Tensor labels = Tensor.rand(2, 10);
        SGD optimizer = new SGD(model.parameters(), 1e-3, 0.9);
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long first = 0;
        for (int i = 1; i <= 60; i++) {
            optimizer.zeroGrad();
            Tensor loss = model.forward(data).sub(labels).sum();
            loss.backward();
            optimizer.step();
            if (i == 15) {
                first = heapAfterGc(memory);
            }
        }
        long last = heapAfterGc(memory);
        assertTrue(last <= first * 1.05 + 256 * 1024,
                "heap after GC grew from " + first + " to " + last + " bytes over 45 steps");
    }

    static long heapAfterGc(MemoryMXBean memory) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            memory.gc();
            best = Math.min(best, memory.getHeapMemoryUsage().getUsed());
        }
        return best;
    }
}
