package dev.autograd.nn;

import dev.autograd.AutogradException;
import dev.autograd.Tensor;

/**
 * {@code nn.BatchNorm2d(features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)}.
 * Training mode normalises with the batch statistics and updates {@code running_mean},
 * {@code running_var} (from the unbiased variance) and {@code num_batches_tracked} (int64); eval mode
 * uses the running statistics.
 */
public class BatchNorm2d extends Module {

    public final int numFeatures;
    public final float eps;
    public final float momentum;
    public final Tensor weight;
    public final Tensor bias;
    public final Tensor runningMean;
    public final Tensor runningVar;
    public final Tensor numBatchesTracked;

    public BatchNorm2d(int numFeatures, float eps, float momentum) {
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = registerParameter("weight", Parameter.of(Tensor.ones(numFeatures)));
        this.bias = registerParameter("bias", Parameter.zeros(numFeatures));
        this.runningMean = registerBuffer("running_mean", Tensor.zeros(numFeatures));
        this.runningVar = registerBuffer("running_var", Tensor.ones(numFeatures));
        this.numBatchesTracked = registerBuffer("num_batches_tracked", Tensor.scalarLong(0));
    }

    public BatchNorm2d(int numFeatures) {
        this(numFeatures, 1e-5f, 0.1f);
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 4) {
            throw new AutogradException("expected 4D input (got " + x.dim() + "D input)");
        }
        if (isTraining()) {
            // PyTorch counts the batch before the kernel runs (and before its size check fails)
            numBatchesTracked.longData()[numBatchesTracked.offset()]++;
            numBatchesTracked.bumpVersion();
        }
        return Functional.batchNorm(x, runningMean, runningVar, weight, bias, isTraining(), momentum, eps);
    }

    @Override
    protected String extraRepr() {
        return numFeatures + ", eps=" + eps + ", momentum=" + momentum + ", affine=True, track_running_stats=True";
    }
}
