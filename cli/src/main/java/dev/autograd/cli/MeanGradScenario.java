package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** "Autograd: automatic differentiation": out = mean(3 (x+2)^2) and d(out)/dx = 4.5. */
@Command(name = "mean-grad", mixinStandardHelpOptions = true,
        description = "Autograd tutorial: x = ones(2, 2); y = x + 2; z = y*y*3; out = z.mean(); out.backward(); prints each step and x.grad.")
final class MeanGradScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor x = Torch.ones(2, 2).requiresGrad_();                  // x = torch.ones(2, 2, requires_grad=True)
        print(out, x);                                                // print(x)
        Tensor y = x.add(2);                                          // y = x + 2
        print(out, y);                                                // print(y)
        print(out, y.gradFn());                                       // print(y.grad_fn)
        Tensor z = y.mul(y).mul(3);                                   // z = y * y * 3
        Tensor o = z.mean();                                          // out = z.mean()
        print(out, z, o);                                             // print(z, out)
        o.backward();                                                 // out.backward()
        print(out, x.grad());                                         // print(x.grad)
    }
}
