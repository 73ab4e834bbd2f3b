package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.nn.Functional;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * NaN and Inf through every op and its gradient, against what PyTorch 1.13 computes for the same inputs
 * (fixture numerics.json, written by tools/make_numerics_fixtures.py), and anomaly mode
 * ({@link Autograd#detectAnomaly()}) against torch.autograd.detect_anomaly's messages.
 */
class NumericsTest {

    /** The fixture's expressions, by name, in Java. */
    static final Map<String, Function<Tensor[], Tensor>> EXPRESSIONS = new HashMap<>();

    static {
        Map<String, Function<Tensor[], Tensor>> e = EXPRESSIONS;
        e.put("relu", t -> t[0].relu());
        e.put("amax all", t -> t[0].amax());
        e.put("amax dim", t -> t[0].amax(1, false));
        e.put("amax inf", t -> t[0].amax());
        e.put("sum inf", t -> t[0].sum());
        e.put("sum inf minus inf", t -> t[0].sum());
        e.put("sum nan", t -> t[0].sum());
        e.put("mean nan", t -> t[0].mean());
        e.put("mean inf dim", t -> t[0].mean(0));
        e.put("mul zero times inf", t -> t[0].mul(t[1]));
        e.put("mul inf grad", t -> t[0].mul(t[1]).mul(t[1]));
        e.put("div by zero", t -> t[0].div(t[1]));
        e.put("exp", t -> t[0].exp());
        e.put("log", t -> t[0].log());
        e.put("sqrt", t -> t[0].sqrt());
        e.put("abs", t -> t[0].abs());
        e.put("sigmoid", t -> t[0].sigmoid());
        e.put("tanh", t -> t[0].tanh());
        e.put("neg", t -> t[0].neg());
        e.put("pow 2", t -> t[0].pow(2f));
        e.put("pow half", t -> t[0].pow(0.5f));
        e.put("pow -1", t -> t[0].pow(-1f));
        e.put("reciprocal", t -> t[0].reciprocal());
        e.put("norm inf", t -> t[0].norm());
        e.put("norm nan", t -> t[0].norm());
        e.put("norm zero", t -> t[0].norm());
        e.put("mm inf times zero", t -> t[0].matmul(t[1]));
        e.put("mm nan", t -> t[0].matmul(t[1]));
        e.put("dot inf", t -> t[0].dot(t[1]));
        e.put("log_softmax inf", t -> Functional.logSoftmax(t[0], 1));
        e.put("log_softmax -inf", t -> Functional.logSoftmax(t[0], 1));
        e.put("sub inf inf", t -> t[0].sub(t[1]));
        e.put("eq nan", t -> t[0].eq(t[1]));
        e.put("ne nan", t -> t[0].ne(t[1]));
        e.put("lt nan", t -> t[0].lt(t[1]));
        e.put("sum empty", t -> t[0].sum());
        e.put("mean empty", t -> t[0].mean());
    }

    /** Equal as PyTorch prints them: NaN matches NaN, infinities by sign, finite values to 1e-6 relative. */
    static boolean same(float expected, float actual) {
        if (Float.isNaN(expected) || Float.isInfinite(expected)) {
            return Float.compare(expected, actual) == 0;
        }
        return Math.abs(expected - actual) <= 1e-6 * Math.max(1, Math.abs(expected));
    }

    static String compare(String what, float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            return what + ": " + expected.length + " values expected, got " + actual.length + "\n";
        }
        for (int i = 0; i < expected.length; i++) {
            if (!same(expected[i], actual[i])) {
                return what + ": PyTorch " + java.util.Arrays.toString(expected) + ", we " + java.util.Arrays.toString(actual) + "\n";
            }
        }
        return "";
    }

    static Tensor[] inputs(Map<String, Object> c, boolean requiresGrad) {
        List<?> specs = (List<?>) c.get("inputs");
        Tensor[] t = new Tensor[specs.size()];
        for (int i = 0; i < t.length; i++) {
            @SuppressWarnings("unchecked")
            Map<String, Object> spec = (Map<String, Object>) specs.get(i);
            t[i] = Fixtures.tensor(spec);
            if (requiresGrad) {
                t[i].requiresGrad_();
            }
        }
        return t;
    }

    @Test
    @SuppressWarnings("unchecked")
    void nanAndInfPropagateAsInPyTorch() {
        List<Map<String, Object>> cases = (List<Map<String, Object>>) Fixtures.map("numerics.json").get("cases");
        StringBuilder diffs = new StringBuilder();
        for (Map<String, Object> c : cases) {
            String name = (String) c.get("name");
            Function<Tensor[], Tensor> f = EXPRESSIONS.get(name);
            assertNotNull(f, "no Java expression for fixture case " + name);
            List<?> grads = (List<?>) c.get("grads");
            Tensor[] in = inputs(c, grads != null);
            Tensor out = f.apply(in);
            assertEquals(Shapes.str(Fixtures.ints(c.get("out_shape"))), Shapes.str(out.shape()), name);
            diffs.append(compare(name + " forward", Fixtures.floats(c.get("out")), out.toArray()));
            if (grads != null) {
                out.backward(Tensor.onesLike(out));
                for (int i = 0; i < in.length; i++) {
                    Object g = grads.get(i);
                    Tensor actual = in[i].grad();
                    if (g == null) {
                        assertNull(actual, name + " input " + i);
                    } else if (actual == null) {
                        diffs.append(name).append(" grad ").append(i).append(": PyTorch gives one, we none\n");
                    } else {
                        diffs.append(compare(name + " grad " + i, Fixtures.floats(g), actual.toArray()));
                    }
                }
            }
        }
        assertTrue(diffs.isEmpty(), "differences from PyTorch 1.13:\n" + diffs);
    }

    static final Map<String, Function<Tensor[], Tensor>> ANOMALOUS = Map.of(
            "mul by nan", t -> t[0].mul(t[1]),
            "sqrt at zero", t -> t[0].sqrt().mul(0f),
            "div zero by zero", t -> t[0].div(t[1]),
            "log then exp chain", t -> t[0].log().mul(t[0]).exp(),
            "finite", t -> t[0].mul(2f).sum());

    @Test
    @SuppressWarnings("unchecked")
    void anomalyModeNamesTheOpWhoseBackwardFirstReturnedNan() {
        List<Map<String, Object>> cases = (List<Map<String, Object>>) Fixtures.map("numerics.json").get("anomaly");
        for (Map<String, Object> c : cases) {
            String name = (String) c.get("name");
            Tensor[] in = inputs(c, true);
            String expected = (String) c.get("message");
            try (var a = Autograd.detectAnomaly()) {
                assertTrue(Autograd.isAnomalyEnabled());
                Tensor out = ANOMALOUS.get(name).apply(in);
                if (expected == null) {
                    out.backward(Tensor.onesLike(out));
                    continue;
                }
                AutogradException e = assertThrows(AutogradException.class, () -> out.backward(Tensor.onesLike(out)), name);
                assertEquals(expected, e.getMessage(), name);
                // the cause is the forward call site: this test's lambda, under the op's Tensor method
                Throwable site = e.getCause();
                assertNotNull(site, name);
                assertTrue(site.getMessage().startsWith("Error detected in "), site.getMessage());
                assertTrue(site.getStackTrace()[0].getClassName().equals(Tensor.class.getName()),
                        name + ": top frame " + site.getStackTrace()[0]);
                boolean fromHere = false;
                for (StackTraceElement frame : site.getStackTrace()) {
                    fromHere |= frame.getClassName().startsWith(NumericsTest.class.getName());
                }
                assertTrue(fromHere, name + ": the trace must reach the caller");
            }
            assertFalse(Autograd.isAnomalyEnabled());
        }
    }

    @Test
    void anomalyModeIsOffByDefaultAndCapturesNothing() {
        assertFalse(Autograd.isAnomalyEnabled());
        Tensor x = Tensor.of(1f, 2f).requiresGrad_();
        Tensor y = x.mul(Tensor.of(Float.NaN, 1f));
        assertNull(y.gradFn().forwardTrace, "no stack trace captured outside anomaly mode");
        y.sum().backward(); // NaN gradients flow silently, as in PyTorch
        assertTrue(Float.isNaN(x.grad().toArray()[0]));
    }

    @Test
    void anomalyInBackwardOnlyStillNamesTheOp() {
        Tensor x = Tensor.of(0f).requiresGrad_();
        Tensor y = x.sqrt().mul(0f).sum(); // recorded outside anomaly mode: no forward trace
        try (var a = Autograd.detectAnomaly()) {
            AutogradException e = assertThrows(AutogradException.class, y::backward);
            assertEquals("Function 'SqrtBackward0' returned nan values in its 0th output.", e.getMessage());
            assertTrue(e.getCause().getMessage().contains("No forward pass information available"), e.getCause().getMessage());
        }
    }

    @Test
    void anomalyModeIsPerThreadAndNestable() throws Exception {
        try (var a = Autograd.detectAnomaly()) {
            try (var b = Autograd.setDetectAnomaly(false)) {
                assertFalse(Autograd.isAnomalyEnabled());
            }
            assertTrue(Autograd.isAnomalyEnabled());
            boolean[] other = new boolean[1];
            Thread t = new Thread(() -> other[0] = Autograd.isAnomalyEnabled());
            t.start();
            t.join();
            assertFalse(other[0], "another thread is not in this thread's anomaly scope");
        }
    }
}
