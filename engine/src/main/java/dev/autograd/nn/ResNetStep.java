package dev.autograd.nn;

import dev.autograd.Generator;
import dev.autograd.Profiler;
import dev.autograd.Tensor;
import dev.autograd.optim.SGD;

/**
 * The training step of PyTorch's "A Gentle Introduction to torch.autograd", timed per phase; the one
 * implementation behind {@code autograd run resnet-step}, {@code autograd bench resnet-step} and the
 * JMH benchmark:
 * <pre>
 * model = torchvision.models.resnet18()            # train mode
 * data = torch.rand(B, 3, S, S); labels = torch.rand(B, 1000)
 * optim = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
 * prediction = model(data)                          # forward (with the loss)
 * loss = (prediction - labels).sum()
 * loss.backward()                                   # backward
 * optim.step()                                      # step
 * </pre>
 * Gradients are set to null before every step (PyTorch 2's zero_grad), so each step does the same work.
 */
public final class ResNetStep {

    /** The times of one step in nanoseconds, and its loss. */
    public record Times(long forwardNanos, long backwardNanos, long stepNanos, float loss) {
        public long totalNanos() {
            return forwardNanos + backwardNanos + stepNanos;
        }
    }

    public final int batch;
    public final int size;
    public final ResNet model;
    public final Tensor data;
    public final Tensor labels;
    public final SGD optimizer;
    /** The last step's prediction and loss, detached (what {@code resnet-step --dump} writes). */
    public Tensor lastPrediction;
    public Tensor lastLoss;

    /** Seeds the current thread's generator, then builds the model, the data, the labels and the optimizer. */
    public ResNetStep(int batch, int size, long seed) {
        this.batch = batch;
        this.size = size;
        Generator.current().manualSeed(seed);
        model = ResNet.resnet18();
        model.train();
        data = Tensor.rand(batch, 3, size, size);
        labels = Tensor.rand(batch, 1000);
        optimizer = new SGD(model.parameters(), 1e-2, 0.9);
    }

    /** The step over a given model (put in train mode), data {@code [B, 3, S, S]} and labels: --weights, --data. */
    public ResNetStep(ResNet model, Tensor data, Tensor labels) {
        this.batch = data.shape()[0];
        this.size = data.shape()[2];
        this.model = model;
        model.train();
        this.data = data;
        this.labels = labels;
        optimizer = new SGD(model.parameters(), 1e-2, 0.9);
    }

    /** One training step. */
    public Times step() {
        return step(null);
    }

    /**
     * One training step; with a profiler (started on this thread), its rows get this step's per-layer
     * times and an {@code optimizer.step} row.
     */
    public Times step(Profiler profiler) {
        optimizer.zeroGrad();
        if (profiler != null) {
            profiler.mark();
        }
        long t0 = System.nanoTime();
        Tensor prediction = model.forward(data);
        Tensor loss = prediction.sub(labels).sum();
        long t1 = System.nanoTime();
        loss.backward();
        long t2 = System.nanoTime();
        optimizer.step();
        long t3 = System.nanoTime();
        lastPrediction = prediction.detach();
        lastLoss = loss.detach();
        if (profiler != null) {
            profiler.add("optimizer.step", t3 - t2);
        }
        return new Times(t1 - t0, t2 - t1, t3 - t2, loss.item());
    }
}
