package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/** Each mistake gives PyTorch's exact message (fixtures/errors.json), as one AutogradException. */
class ErrorsTest {

    static final Map<String, Executable> CASES = new LinkedHashMap<>();

    static void err(String name, Executable e) {
        CASES.put(name, e);
    }

    static Tensor x() {
        return Torch.ones(3).requiresGrad_();
    }

    static {
        err("backward_non_scalar", () -> x().mul(2f).backward());
        err("backward_no_grad", () -> Torch.ones(3).sum().backward());
        err("backward_twice", () -> {
            Tensor x = x();
            Tensor y = x.mul(x).sum();
            y.backward();
            y.backward();
        });
        err("backward_shape", () -> x().mul(2f).backward(Torch.ones(2)));
        err("broadcast", () -> Torch.ones(3).add(Torch.ones(4)));
        err("broadcast_2d", () -> Torch.ones(2, 3).mul(Torch.ones(4, 3)));
        err("inplace_leaf", () -> x().add_(1f));
        err("modified_output", () -> {
            Tensor b = x().mul(1f).exp();
            Tensor c = b.sum();
            b.mul_(2f);
            c.backward();
        });
        err("modified_input", () -> {
            Tensor a = x().mul(1f);
            Tensor b = a.mul(a);
            a.mul_(2f);
            b.sum().backward();
        });
        err("modified_leaf", () -> {
            Tensor leaf = Torch.ones(3).requiresGrad_();
            Tensor b = leaf.mul(leaf);
            try (var g = Torch.noGrad()) {
                leaf.mul_(2f);
            }
            b.sum().backward();
        });
        err("requires_grad_non_leaf", () -> x().mul(2f).requiresGrad_(false));
        err("grad_unused", () -> Autograd.grad(x().mul(2f).sum(), Torch.ones(2).requiresGrad_()));
        err("grad_no_requires", () -> Autograd.grad(x().mul(2f).sum(), Torch.ones(2)));
        err("mm_shapes", () -> Torch.ones(2, 3).matmul(Torch.ones(2, 3)));
        err("view_invalid", () -> Torch.ones(2, 3).view(-1, 4));
        err("reshape_invalid", () -> Torch.ones(2, 3).reshape(5));
        err("view_non_contiguous", () -> Torch.ones(2, 3).t().view(6));
        err("dim_out_of_range", () -> Torch.ones(2, 3).sum(2));
        err("expand_invalid", () -> Torch.ones(2, 3).expand(3, 3));
        err("dot_sizes", () -> Torch.ones(3).matmul(Torch.ones(4)));
        err("mv_sizes", () -> Torch.ones(3, 2).matmul(Torch.ones(3)));
        err("bmm_sizes", () -> Torch.ones(2, 2, 3).matmul(Torch.ones(2, 4, 3)));
        err("permute_dims", () -> Torch.ones(2, 3).permute(0));
        err("permute_duplicate", () -> Torch.ones(2, 3).permute(0, 0));
        err("select_range", () -> Torch.ones(2, 3).select(0, 5));
        err("narrow_range", () -> Torch.ones(2, 3).narrow(1, 2, 2));
        err("inplace_view_of_leaf", () -> x().slice(0, 0, 2, 1).mul_(2f));
        err("item_many", () -> Torch.ones(2, 3).item());
    }

    @TestFactory
    Stream<DynamicTest> messagesMatchPyTorch() {
        Map<String, Object> expected = Fixtures.map("errors.json");
        assertEquals(expected.keySet(), CASES.keySet());
        return CASES.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> want = (Map<String, Object>) expected.get(e.getKey());
            AutogradException thrown = assertThrows(AutogradException.class, e.getValue());
            assertEquals(want.get("message"), thrown.getMessage());
            assertTrue(thrown.getMessage().length() > 0);
        }));
    }
}
