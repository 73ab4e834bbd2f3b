package dev.autograd.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.autograd.AutogradException;
import dev.autograd.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SGD (momentum, dampening, weight decay, nesterov), Adam and AdamW against trajectories real PyTorch
 * 1.13 computed (fixture optim_steps.json from tools/make_resnet_fixtures.py): four steps each with
 * fixed gradients.
 */
class OptimizerTest {

    @SuppressWarnings("unchecked")
    @Test
    void trajectoriesMatchPyTorch() throws IOException {
        Map<String, Object> json;
        try (InputStream in = OptimizerTest.class.getResourceAsStream("/nn/optim_steps.json")) {
            json = (Map<String, Object>) dev.autograd.nn.FixturesAccess.json(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        float[] w0 = floats((List<Object>) json.get("w0"));
        List<Object> grads = (List<Object>) json.get("grads");
        List<Object> cases = (List<Object>) json.get("cases");
        assertEquals(10, cases.size());
        for (Object c : cases) {
            Map<String, Object> cs = (Map<String, Object>) c;
            Map<String, Object> o = (Map<String, Object>) cs.get("options");
            Tensor p = Tensor.wrap(w0.clone(), w0.length).requiresGrad_(true);
            double lr = (Double) o.get("lr");
            double wd = (Double) o.getOrDefault("weight_decay", 0.0);
            Optimizer opt = switch ((String) cs.get("optimizer")) {
                case "sgd" -> new SGD(List.of(p), lr, (Double) o.get("momentum"), (Double) o.get("dampening"), wd,
                        (Boolean) o.get("nesterov"));
                case "adam" -> new Adam(List.of(p), lr, beta(o, 0), beta(o, 1), (Double) o.get("eps"), wd);
                case "adamw" -> new AdamW(List.of(p), lr, beta(o, 0), beta(o, 1), (Double) o.get("eps"), wd);
                default -> throw new IllegalStateException();
            };
            List<Object> traj = (List<Object>) cs.get("after_each_step");
            for (int s = 0; s < grads.size(); s++) {
                p.setGrad(Tensor.wrap(floats((List<Object>) grads.get(s)), w0.length));
                opt.step();
                float[] expected = floats((List<Object>) traj.get(s));
                float[] actual = p.toArray();
                for (int i = 0; i < expected.length; i++) {
                    // a few float32 ulps: the fused kernel and PyTorch's foreach ops round differently
                    assertEquals(expected[i], actual[i], 4e-6 * Math.max(1, Math.abs(expected[i])),
                            cs.get("optimizer") + " " + o + " step " + (s + 1) + " element " + i);
                }
            }
        }
    }

    static double beta(Map<String, Object> o, int i) {
        return (Double) ((List<Object>) o.get("betas")).get(i);
    }

    static float[] floats(List<Object> list) {
        float[] f = new float[list.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = ((Double) list.get(i)).floatValue();
        }
        return f;
    }

    @Test
    void parametersWithoutGradAreSkippedAndUntouched() {
        Tensor a = Tensor.of(1f, 2f).requiresGrad_(true);
        Tensor frozen = Tensor.of(3f, 4f);
        SGD sgd = new SGD(List.of(a, frozen), 0.1, 0.9);
        a.setGrad(Tensor.of(1f, 1f));
        sgd.step();
        assertArrayEquals(new float[] {0.9f, 1.9f}, a.toArray());
        assertArrayEquals(new float[] {3f, 4f}, frozen.toArray());
        assertNull(sgd.state(frozen));
        sgd.zeroGrad();
        assertNull(a.grad());
        sgd.step(); // nothing has a gradient: nothing moves
        assertArrayEquals(new float[] {0.9f, 1.9f}, a.toArray());
    }

    @Test
    void zeroGradToZeroKeepsTheTensor() {
        Tensor a = Tensor.of(1f, 2f).requiresGrad_(true);
        a.mul(3f).sum().backward();
        SGD sgd = new SGD(List.of(a), 0.1);
        Tensor g = a.grad();
        sgd.zeroGrad(false);
        assertArrayEquals(new float[] {0f, 0f}, a.grad().toArray());
        a.mul(3f).sum().backward();
        assertArrayEquals(new float[] {3f, 3f}, a.grad().toArray());
        assertEquals(g.numel(), a.grad().numel());
    }

    @Test
    void invalidSettingsUsePyTorchsMessages() {
        Tensor a = Tensor.of(1f).requiresGrad_(true);
        assertEquals("Invalid learning rate: -0.1",
                assertThrows(AutogradException.class, () -> new SGD(List.of(a), -0.1)).getMessage());
        assertEquals("Nesterov momentum requires a momentum and zero dampening",
                assertThrows(AutogradException.class, () -> new SGD(List.of(a), 0.1, 0, 0, 0, true)).getMessage());
        assertEquals("Invalid beta parameter at index 1: 1.0",
                assertThrows(AutogradException.class, () -> new Adam(List.of(a), 0.1, 0.9, 1.0, 1e-8, 0)).getMessage());
    }
}
