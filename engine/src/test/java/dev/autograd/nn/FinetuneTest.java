package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.autograd.Node;
import dev.autograd.Tensor;
import dev.autograd.optim.SGD;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The tutorial's fine-tuning: freeze every parameter, replace fc, optimise all parameters with SGD.
 * Only fc gets gradients, every frozen weight stays bit-identical, and the graph starts at fc: no
 * gradient work is recorded for the frozen network.
 */
class FinetuneTest {

    @Test
    void onlyTheNewHeadLearns() {
        ResNet model = new ResNet(new int[] {2, 2, 2, 2}, 1000, 6);
        for (Tensor p : model.parameters()) {
            p.requiresGrad_(false);
        }
        model.setChild("fc", new Linear(48, 10));
        Map<String, float[]> before = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> before.put(name, p.toArray()));
        SGD optimizer = new SGD(model.parameters(), 1e-2, 0.9);

        for (int step = 0; step < 3; step++) {
            optimizer.zeroGrad();
            Tensor data = Tensor.rand(4, 3, 32, 32);
            Tensor labels = Tensor.ofLong(1, 7, 3, 9);
            Tensor prediction = model.forward(data);
            // the graph starts at fc: its input (the frozen trunk's output) needs no gradient
            Node fc = prediction.gradFn();
            assertEquals("AddmmBackward0", fc.name());
            assertNull(fc.nextFunctions()[0], "no graph below fc");
            Functional.crossEntropy(prediction, labels).backward();
            optimizer.step();
        }

        List<String> withGrad = new ArrayList<>();
        model.namedParameters().forEach((name, p) -> {
            if (p.grad() != null) {
                withGrad.add(name);
            }
        });
        assertEquals(List.of("fc.weight", "fc.bias"), withGrad);
        model.namedParameters().forEach((name, p) -> {
            if (name.startsWith("fc.")) {
                assertFalse(java.util.Arrays.equals(before.get(name), p.toArray()), name + " trained");
            } else {
                assertArrayEquals(before.get(name), p.toArray(), name + " bit-identical");
            }
        });
    }
}
