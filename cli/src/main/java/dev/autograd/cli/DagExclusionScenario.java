package dev.autograd.cli;

import dev.autograd.Tensor;
import dev.autograd.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** "A Gentle Introduction to torch.autograd": exclusion from the DAG. */
@Command(name = "dag-exclusion", mixinStandardHelpOptions = true,
        description = "Gentle introduction: x + y of plain rand(5, 5) does not require grad; x + z with z requiring grad does.")
final class DagExclusionScenario extends TutorialScenario {
    @Override
    void cell(PrintWriter out) {
        Tensor x = Torch.rand(5, 5);                                  // x = torch.rand(5, 5)
        Tensor y = Torch.rand(5, 5);                                  // y = torch.rand(5, 5)
        Tensor z = Torch.rand(5, 5).requiresGrad_();                  // z = torch.rand((5, 5), requires_grad=True)
        Tensor a = x.add(y);                                          // a = x + y
        print(out, "Does `a` require gradients? : " + py(a.requiresGrad()));
        Tensor b = x.add(z);                                          // b = x + z
        print(out, "Does `b` require gradients?: " + py(b.requiresGrad()));
    }

    private static String py(boolean b) {
        return b ? "True" : "False";
    }
}
