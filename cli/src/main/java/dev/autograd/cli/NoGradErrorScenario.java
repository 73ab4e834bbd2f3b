package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** backward() through a graph where nothing requires grad. */
@Command(name = "no-grad-error", mixinStandardHelpOptions = true,
        description = "Autograd tutorial: z = ((x+2)*(x+2)*2).mean() on randn(3) without requires_grad; z.backward() gives PyTorch's error.")
final class NoGradErrorScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor x = Torch.randn(3);                                    // x = torch.randn(3)
        Tensor y = x.add(2);                                          // y = x + 2
        Tensor z = y.mul(y).mul(2).mean();                            // z = (y * y * 2).mean()
        lesson(out, z::backward);                                     // z.backward()  -> RuntimeError
    }
}
