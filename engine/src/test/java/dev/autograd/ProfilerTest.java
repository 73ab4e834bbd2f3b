package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The per-layer profiler: rows keyed by the owning layer or the op name, forward and backward timed, off by default. */
class ProfilerTest {

    @Test
    void rowsAreLayersForOpsWithParametersAndOpNamesOtherwise() {
        Tensor w = Tensor.rand(4, 4).requiresGrad_();
        Tensor x = Tensor.rand(4, 4);
        Map<String, Tensor> names = new LinkedHashMap<>();
        names.put("block.linear.weight", w);
        List<Profiler.Row> rows;
        try (Profiler p = Profiler.start(names)) {
            p.mark();
            Tensor loss = x.mul(w).relu().relu().sum();
            loss.backward();
            p.add("optimizer.step", 1_000_000);
            rows = p.rows();
        }
        assertEquals(List.of("block.linear", "Relu", "Sum", "optimizer.step"), rows.stream().map(r -> r.name).toList());
        Profiler.Row layer = rows.get(0);
        assertEquals("Mul", layer.op);
        assertEquals(1, layer.calls());
        assertTrue(layer.forwardMs() >= 0 && layer.backwardMs() > 0, "mul's closure and w's accumulation are timed");
        assertEquals(2, rows.get(1).calls(), "both relus in one row");
        assertTrue(rows.get(1).backwardMs() > 0);
        assertEquals(1.0, rows.get(3).otherMs(), 1e-9);
        assertNotNull(w.grad());
    }

    @Test
    void offByDefaultAndAfterClose() {
        assertTrue(!Profiler.enabled);
        Profiler p = Profiler.start(Map.of());
        assertThrows(IllegalStateException.class, () -> Profiler.start(Map.of()));
        p.close();
        assertTrue(!Profiler.enabled);
        Tensor a = Tensor.rand(3).requiresGrad_();
        a.exp().sum().backward();
        assertTrue(p.rows().isEmpty(), "nothing recorded after close");
    }

    @Test
    void otherThreadsAreNotProfiled() throws Exception {
        try (Profiler p = Profiler.start(Map.of())) {
            Thread t = new Thread(() -> Tensor.rand(3).requiresGrad_().exp().sum().backward());
            t.start();
            t.join();
            assertTrue(p.rows().isEmpty());
        }
    }

    @Test
    void opNameDropsTheBackwardSuffix() {
        assertEquals("Convolution", Profiler.opName("ConvolutionBackward0"));
        assertEquals("Mean", Profiler.opName("MeanBackward1"));
        assertEquals("AccumulateGrad", Profiler.opName("AccumulateGrad"));
    }
}
