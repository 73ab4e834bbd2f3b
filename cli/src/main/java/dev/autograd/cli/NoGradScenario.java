package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** "Autograd: automatic differentiation": torch.no_grad() and detach(). */
@Command(name = "no-grad", mixinStandardHelpOptions = true,
        description = "Autograd tutorial: requires_grad of x, x**2, x**2 inside torch.no_grad(); then y = x.detach() and x.eq(y).all().")
final class NoGradScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor x = Torch.randn(3).requiresGrad_();                    // x = torch.randn(3, requires_grad=True)
        print(out, x.requiresGrad());                                 // print(x.requires_grad)
        print(out, x.pow(2).requiresGrad());                          // print((x ** 2).requires_grad)
        try (var g = Torch.noGrad()) {                                // with torch.no_grad():
            print(out, x.pow(2).requiresGrad());                      //     print((x ** 2).requires_grad)
        }
        print(out, x.requiresGrad());                                 // print(x.requires_grad)
        Tensor y = x.detach();                                        // y = x.detach()
        print(out, y.requiresGrad());                                 // print(y.requires_grad)
        print(out, x.eq(y).all());                                    // print(x.eq(y).all())
    }
}
