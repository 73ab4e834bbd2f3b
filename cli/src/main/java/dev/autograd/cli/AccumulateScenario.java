package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** "Autograd: automatic differentiation": gradients accumulate in .grad until zeroed. */
@Command(name = "accumulate", mixinStandardHelpOptions = true,
        description = "Autograd tutorial: two backward passes of (weights*3).sum() accumulate into weights.grad; with weights.grad.zero_() they do not.")
final class AccumulateScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor weights = Torch.ones(4).requiresGrad_();               // weights = torch.ones(4, requires_grad=True)
        for (int epoch = 0; epoch < 2; epoch++) {                     // for epoch in range(2):
            Tensor modelOutput = weights.mul(3).sum();                //     model_output = (weights*3).sum()
            modelOutput.backward();                                   //     model_output.backward()
            print(out, weights.grad());                               //     print(weights.grad)
        }
        weights = Torch.ones(4).requiresGrad_();
        for (int epoch = 0; epoch < 2; epoch++) {
            Tensor modelOutput = weights.mul(3).sum();
            modelOutput.backward();
            print(out, weights.grad());
            weights.grad().zero_();                                   //     weights.grad.zero_()
        }
    }
}
