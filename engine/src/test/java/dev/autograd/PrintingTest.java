package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** toString() against the strings real PyTorch 1.13 printed for the same values (fixtures/printing.json). */
class PrintingTest {

    @TestFactory
    Stream<DynamicTest> printsLikePyTorch() {
        List<Map<String, Object>> cases = Fixtures.list("printing.json");
        return cases.stream().map(c -> DynamicTest.dynamicTest((String) c.get("name"), () -> {
            Tensor t = Fixtures.tensor(c);
            if (Boolean.TRUE.equals(c.get("requires_grad"))) {
                t.requiresGrad_();
            }
            assertEquals(c.get("expected"), t.toString());
        }));
    }

    @org.junit.jupiter.api.Test
    void gradFnSuffix() {
        Tensor x = Torch.ones(2, 2).requiresGrad_();
        Tensor out = x.add(2).mul(x.add(2)).mul(3).mean();
        assertEquals("tensor(27., grad_fn=<MeanBackward0>)", out.toString());
    }
}
