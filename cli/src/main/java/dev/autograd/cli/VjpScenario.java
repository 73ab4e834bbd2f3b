package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** "Autograd: automatic differentiation": a vector-Jacobian product through y = x * 2^k. */
@Command(name = "vjp", mixinStandardHelpOptions = true,
        description = "Autograd tutorial: y = x*2 doubled until its norm reaches 1000; y.backward(v=[0.1, 1.0, 0.0001]); x.grad is v*2^k.")
final class VjpScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor x = Torch.randn(3).requiresGrad_();                    // x = torch.randn(3, requires_grad=True)
        Tensor y = x.mul(2);                                          // y = x * 2
        while (y.detach().norm().item() < 1000) {                     // while y.data.norm() < 1000:
            y = y.mul(2);                                             //     y = y * 2
        }
        print(out, y);                                                // print(y)
        Tensor v = Torch.tensor(0.1f, 1.0f, 0.0001f);                 // v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
        y.backward(v);                                                // y.backward(v)
        print(out, x.grad());                                         // print(x.grad)
    }
}
