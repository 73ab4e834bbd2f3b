package dev.autograd.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.autograd.AutogradException;
import dev.autograd.Tensor;
import dev.autograd.nn.BatchNorm2d;
import dev.autograd.nn.ResNet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PyTorch-written files into modules: load_state_dict's matching, errors and atomicity. */
class LoadIntoModuleTest {

    @Test
    void pytorchWeightsLoadIntoTheSmallResNet() {
        var sd = StateDicts.load(WeightsTest.fixture("resnet_small_init.pth"));
        ResNet model = new ResNet(new int[] {2, 2, 2, 2}, 10, 6);
        assertEquals("<All keys matched successfully>", model.loadStateDict(sd).toString());
        Map<String, Tensor> own = model.stateDict();
        assertEquals(sd.keySet(), own.keySet());
        sd.forEach((k, v) -> assertTrue(StateDicts.fromTensor(v).contentEquals(StateDicts.fromTensor(own.get(k))), k));
    }

    @Test
    void aFailedLoadChangesNothing() {
        var sd = new LinkedHashMap<>(StateDicts.load(WeightsTest.fixture("resnet_small_init.pth")));
        ResNet model = new ResNet(new int[] {2, 2, 2, 2}, 10, 6);
        float[] before = model.conv1.weight.toArray();
        sd.put("fc.weight", Tensor.zeros(1000, 48));
        var e = assertThrows(AutogradException.class, () -> model.loadStateDict(sd));
        assertEquals("Error(s) in loading state_dict for ResNet:\n\tsize mismatch for fc.weight: copying a param with "
                + "shape torch.Size([1000, 48]) from checkpoint, the shape in current model is torch.Size([10, 48]).",
                e.getMessage());
        assertArrayEquals(before, model.conv1.weight.toArray());
    }

    /** As PyTorch 1.13: a dict without version metadata that lacks num_batches_tracked loads it as 0. */
    @Test
    void oldStateDictsWithoutNumBatchesTracked() {
        BatchNorm2d bn = new BatchNorm2d(3);
        bn.forward(Tensor.rand(2, 3, 2, 2));
        Map<String, Tensor> sd = new LinkedHashMap<>(bn.stateDict());
        sd.remove("num_batches_tracked");
        assertEquals("<All keys matched successfully>", bn.loadStateDict(sd).toString());
        assertEquals(0L, bn.numBatchesTracked.toLongArray()[0]);
    }
}
