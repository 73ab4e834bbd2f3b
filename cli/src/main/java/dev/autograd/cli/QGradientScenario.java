package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** "A Gentle Introduction to torch.autograd": Q = 3a^3 - b^2 and its gradients. */
@Command(name = "q-gradient", mixinStandardHelpOptions = true,
        description = "Gentle introduction: Q = 3*a**3 - b**2, Q.backward(gradient=[1., 1.]); prints a.grad, b.grad and the checks.")
final class QGradientScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor a = Torch.tensor(2f, 3f).requiresGrad_();              // a = torch.tensor([2., 3.], requires_grad=True)
        Tensor b = Torch.tensor(6f, 4f).requiresGrad_();              // b = torch.tensor([6., 4.], requires_grad=True)
        Tensor Q = a.pow(3).mul(3).sub(b.pow(2));                     // Q = 3*a**3 - b**2
        Tensor externalGrad = Torch.tensor(1f, 1f);                   // external_grad = torch.tensor([1., 1.])
        Q.backward(externalGrad);                                     // Q.backward(gradient=external_grad)
        print(out, a.grad());                                         // print(a.grad)
        print(out, b.grad());                                         // print(b.grad)
        print(out, a.pow(2).mul(9).eq(a.grad()));                     // print(9*a**2 == a.grad)
        print(out, b.mul(-2).eq(b.grad()));                           // print(-2*b == b.grad)
    }
}
