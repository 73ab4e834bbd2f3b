package dev.autograd.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.AutogradException;
import dev.autograd.DType;
import dev.autograd.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ResNet-18 has torchvision's structure: 11,689,512 parameters and exactly torchvision's state_dict
 * (keys, order, dtypes, shapes; fixture resnet18_state_dict.txt written by real torchvision), and the
 * Module API behaves as PyTorch's (load errors, replacing fc, modes, freezing).
 */
class ResNet18StructureTest {

    static ResNet model;

    @BeforeAll
    static void build() {
        model = ResNet.resnet18();
    }

    @Test
    void parameterCountIsTorchvisions() {
        assertEquals(11_689_512L, model.parameterCount());
        assertEquals(62, model.parameters().size());
    }

    @Test
    void stateDictIsTorchvisionsKeyForKey() {
        List<String> expected = new ArrayList<>();
        for (String line : Fixtures.text("resnet18_state_dict.txt").split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                expected.add(line.trim());
            }
        }
        List<String> actual = new ArrayList<>();
        model.stateDict().forEach((k, v) -> actual.add(k + " " + (v.dtype() == DType.INT64 ? "int64" : "float32") + " "
                + Arrays.toString(v.shape()).replace(" ", "")));
        assertEquals(expected, actual);
    }

    @Test
    void initialisationFollowsTorchvision() {
        // kaiming_normal_(fan_out, relu): std = sqrt(2 / (64 * 7 * 7)) for conv1
        float[] w = model.conv1.weight.toArray();
        double sq = 0;
        for (float v : w) {
            sq += v * v;
        }
        double std = Math.sqrt(sq / w.length);
        assertEquals(Math.sqrt(2.0 / (64 * 49)), std, 0.05 * std);
        assertTrue(Arrays.equals(model.bn1.weight.toArray(), Tensor.ones(64).toArray()));
        assertTrue(Arrays.equals(model.bn1.bias.toArray(), new float[64]));
        // fc keeps nn.Linear's default: uniform in +-1/sqrt(512)
        float bound = (float) (1 / Math.sqrt(512));
        for (float v : ((Linear) model.fc).weight.toArray()) {
            assertTrue(Math.abs(v) <= bound);
        }
    }

    @Test
    void loadStateDictReportsPyTorchsErrors() {
        Linear lin = new Linear(4, 3);
        Sequential net = new Sequential(lin, new ReLU());
        Map<String, Tensor> state = new LinkedHashMap<>(net.stateDict());
        state.put("0.weight", Tensor.zeros(2, 4));
        state.remove("0.bias");
        state.put("foo", Tensor.zeros(1));
        AutogradException e = assertThrows(AutogradException.class, () -> net.loadStateDict(state, true));
        assertEquals("Error(s) in loading state_dict for Sequential:\n"
                + "\tMissing key(s) in state_dict: \"0.bias\". \n"
                + "\tUnexpected key(s) in state_dict: \"foo\". \n"
                + "\tsize mismatch for 0.weight: copying a param with shape torch.Size([2, 4]) from checkpoint, "
                + "the shape in current model is torch.Size([3, 4]).", e.getMessage());
        e = assertThrows(AutogradException.class, () -> net.loadStateDict(state, false));
        assertEquals("Error(s) in loading state_dict for Sequential:\n"
                + "\tsize mismatch for 0.weight: copying a param with shape torch.Size([2, 4]) from checkpoint, "
                + "the shape in current model is torch.Size([3, 4]).", e.getMessage());
        state.put("0.weight", Tensor.ones(3, 4));
        Module.LoadResult r = net.loadStateDict(state, false);
        assertEquals(List.of("0.bias"), r.missingKeys());
        assertEquals(List.of("foo"), r.unexpectedKeys());
        assertTrue(Arrays.equals(Tensor.ones(3, 4).toArray(), lin.weight.toArray()));
        assertEquals("<All keys matched successfully>", net.loadStateDict(net.stateDict()).toString());
    }

    @Test
    void loadStateDictCopiesValuesAndCounters() {
        BatchNorm2d a = new BatchNorm2d(3);
        BatchNorm2d b = new BatchNorm2d(3);
        a.forward(Tensor.rand(2, 3, 2, 2));
        b.loadStateDict(a.stateDict());
        assertEquals(1L, b.numBatchesTracked.toLongArray()[0]);
        assertTrue(Arrays.equals(a.runningVar.toArray(), b.runningVar.toArray()));
        assertFalse(b.runningMean.data() == a.runningMean.data(), "values copied, not shared");
    }

    @Test
    void replacingFcAsTheTutorialDoes() {
        ResNet small = new ResNet(new int[] {1, 1, 1, 1}, 1000, 4);
        small.requiresGrad_(false);
        Linear fc = small.setChild("fc", new Linear(32, 10));
        assertSame(fc, small.fc);
        assertSame(fc, small.child("fc"));
        List<String> trainable = new ArrayList<>();
        small.namedParameters().forEach((name, p) -> {
            if (p.requiresGrad()) {
                trainable.add(name);
            }
        });
        assertEquals(List.of("fc.weight", "fc.bias"), trainable);
        assertEquals(List.of(2, 10), Arrays.stream(small.forward(Tensor.rand(2, 3, 32, 32)).shape()).boxed().toList());
        assertThrows(AutogradException.class, () -> small.setChild("layer1", new ReLU()));
    }

    @Test
    void trainAndEvalReachEveryModule() {
        ResNet small = new ResNet(new int[] {1, 1, 1, 1}, 10, 4);
        small.eval();
        for (Module m : small.namedModules().values()) {
            assertFalse(m.isTraining());
        }
        small.train();
        assertTrue(small.layer4.get(0).isTraining());
    }

    @Test
    void batchNormRefusesOneValuePerChannelInTraining() {
        ResNet small = new ResNet(new int[] {1, 1, 1, 1}, 10, 4);
        AutogradException e = assertThrows(AutogradException.class, () -> small.forward(Tensor.rand(1, 3, 5, 5)));
        assertEquals("Expected more than 1 value per channel when training, got input size torch.Size([1, 8, 1, 1])",
                e.getMessage());
        small.eval();
        assertEquals(10, small.forward(Tensor.rand(1, 3, 5, 5)).numel());
    }

    @Test
    void zeroGradSetsToNoneOrZero() {
        Linear lin = new Linear(3, 2);
        lin.forward(Tensor.rand(4, 3)).sum().backward();
        lin.zeroGrad(false);
        assertTrue(Arrays.equals(new float[6], lin.weight.grad().toArray()));
        lin.zeroGrad();
        assertNull(lin.weight.grad());
    }
}
