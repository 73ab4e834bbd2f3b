package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** The chain rule with a vector v, then the error for a non-scalar output without one. */
@Command(name = "chain-rule", mixinStandardHelpOptions = true,
        description = "Autograd tutorial: z = 3*(x+2)**2 on ones(3); z.backward(v=[0.1, 1.0, 0.001]) prints x.grad; without v, the scalar-only error.")
final class ChainRuleScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor x = Torch.ones(3).requiresGrad_();                     // x = torch.ones(3, requires_grad=True)
        Tensor y = x.add(2);                                          // y = x + 2
        Tensor z = y.mul(y).mul(3);                                   // z = y * y * 3
        Tensor v = Torch.tensor(0.1f, 1.0f, 0.001f);                  // v = torch.tensor([0.1, 1.0, 0.001], dtype=torch.float)
        z.backward(v);                                                // z.backward(v)
        print(out, x.grad());                                         // print(x.grad)
        lesson(out, z::backward);                                     // z.backward()  -> RuntimeError
    }
}
