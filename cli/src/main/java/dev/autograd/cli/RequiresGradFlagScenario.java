package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** "Autograd: automatic differentiation": requires_grad_ changes a leaf's flag in place. */
@Command(name = "requires-grad-flag", mixinStandardHelpOptions = true,
        description = "Autograd tutorial: a = ((a*3)/(a-1)) on randn(2, 2); requires_grad before and after a.requires_grad_(True); b = (a*a).sum()'s grad_fn.")
final class RequiresGradFlagScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor a = Torch.randn(2, 2);                                 // a = torch.randn(2, 2)
        a = a.mul(3).div(a.sub(1));                                   // a = ((a * 3) / (a - 1))
        print(out, a.requiresGrad());                                 // print(a.requires_grad)
        a.requiresGrad_(true);                                        // a.requires_grad_(True)
        print(out, a.requiresGrad());                                 // print(a.requires_grad)
        Tensor b = a.mul(a).sum();                                    // b = (a * a).sum()
        print(out, b.gradFn());                                       // print(b.grad_fn)
    }
}
