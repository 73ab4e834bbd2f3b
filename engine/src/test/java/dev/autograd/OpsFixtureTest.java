package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Each op against real PyTorch (fixtures/ops.json): output values, grad_fn name, and the gradients of
 * {@code sum(out * weight)}. One line per op, named as in tools/make_tensor_fixtures.py.
 */
class OpsFixtureTest {

    static final Map<String, Function<Tensor[], Tensor>> OPS = new HashMap<>();

    static void op(String name, Function<Tensor[], Tensor> f) {
        OPS.put(name, f);
    }

    static {
        op("add", t -> t[0].add(t[1]));
        op("add_bcast", t -> t[0].add(t[1]));
        op("add_scalar", t -> t[0].add(2f));
        op("radd_scalar", t -> t[0].add(2f));
        op("sub", t -> t[0].sub(t[1]));
        op("sub_scalar", t -> t[0].sub(1.5f));
        op("rsub_scalar", t -> t[0].rsub(1.5f));
        op("mul", t -> t[0].mul(t[1]));
        op("mul_bcast", t -> t[0].mul(t[1]));
        op("mul_scalar", t -> t[0].mul(3f));
        op("mul_self", t -> t[0].mul(t[0]));
        op("div", t -> t[0].div(t[1]));
        op("div_scalar", t -> t[0].div(4f));
        op("rdiv_scalar", t -> t[0].rdiv(2f));
        op("neg", t -> t[0].neg());
        op("pow3", t -> t[0].pow(3f));
        op("pow_half", t -> t[0].pow(0.5f));
        op("exp", t -> t[0].exp());
        op("log", t -> t[0].log());
        op("sqrt", t -> t[0].sqrt());
        op("abs", t -> t[0].abs());
        op("relu", t -> t[0].relu());
        op("sigmoid", t -> t[0].sigmoid());
        op("tanh", t -> t[0].tanh());
        op("sum", t -> t[0].sum());
        op("sum_dim", t -> t[0].sum(1));
        op("sum_dims_keepdim", t -> t[0].sum(new int[] {0, 2}, true));
        op("mean", t -> t[0].mean());
        op("mean_dim", t -> t[0].mean(-1));
        op("amax", t -> t[0].amax());
        op("amax_dim", t -> t[0].amax(1, false));
        op("norm", t -> t[0].norm());
        op("norm_dim", t -> t[0].norm(1, true));
        op("mm", t -> t[0].matmul(t[1]));
        op("mm_t", t -> t[0].matmul(t[1].t()));
        op("dot", t -> t[0].matmul(t[1]));
        op("mv", t -> t[0].matmul(t[1]));
        op("vm", t -> t[0].matmul(t[1]));
        op("matmul_folded", t -> t[0].matmul(t[1]));
        op("bmm", t -> t[0].matmul(t[1]));
        op("bmm_bcast", t -> t[0].matmul(t[1]));
        op("view", t -> t[0].view(4, 3));
        op("reshape", t -> t[0].reshape(2, 6));
        op("reshape_nc", t -> t[0].t().reshape(12));
        op("permute", t -> t[0].permute(2, 0, 1));
        op("transpose", t -> t[0].transpose(0, 2));
        op("t", t -> t[0].t());
        op("expand", t -> t[0].expand(3, 4));
        op("squeeze", t -> t[0].squeeze());
        op("squeeze_dim", t -> t[0].squeeze(0));
        op("unsqueeze", t -> t[0].unsqueeze(1));
        op("narrow", t -> t[0].narrow(1, 1, 2));
        op("slice_step", t -> t[0].slice(0, 0, 5, 2));
        op("select", t -> t[0].select(1, 2));
        op("flatten", t -> t[0].flatten());
        op("clone", t -> t[0].clone());
        op("contiguous_nc", t -> t[0].t().contiguous());
        op("chain", t -> t[0].mul(3f).div(t[1].sub(1f)).exp().sum(0));
        op("view_expanded", t -> t[0].expand(3, 4).view(3, 2, 2));
        op("reshape_t_view", t -> t[0].t().reshape(3, 2, 2));
        op("mul_inplace", t -> t[0].mul(1f).mul_(t[1]));
        op("div_inplace", t -> t[0].mul(1f).div_(t[1]));
        op("relu_inplace", t -> t[0].mul(1f).relu_());
        op("relu_chain", t -> t[0].mul(2f).relu().mul(3f).add(t[0].relu()).relu());
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            double tol = 1e-5 + 1e-5 * Math.abs(e);
            assertTrue(Math.abs(e - a) <= tol || (Float.isNaN(e) && Float.isNaN(a)),
                    what + "[" + i + "]: expected " + e + " got " + a);
        }
    }

    @TestFactory
    Stream<DynamicTest> opsMatchPyTorch() {
        List<Map<String, Object>> cases = Fixtures.list("ops.json");
        return cases.stream().map(c -> DynamicTest.dynamicTest((String) c.get("name"), () -> {
            String name = (String) c.get("name");
            Function<Tensor[], Tensor> f = OPS.get(name);
            assertTrue(f != null, "no lambda for fixture op " + name);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> in = (List<Map<String, Object>>) c.get("inputs");
            Tensor[] leaves = new Tensor[in.size()];
            for (int i = 0; i < leaves.length; i++) {
                leaves[i] = Fixtures.tensor(in.get(i)).requiresGrad_();
            }
            Tensor out = f.apply(leaves);
            assertArrayEquals(Fixtures.ints(c.get("out_shape")), out.shape(), name + ": shape");
            assertClose(Fixtures.floats(c.get("out")), out.toArray(), name + ": output");
            assertEquals(c.get("grad_fn"), out.gradFn().name(), name + ": grad_fn");
            Tensor w = Tensor.wrap(Fixtures.floats(c.get("weight")), out.shape());
            out.mul(w).sum().backward();
            List<?> grads = (List<?>) c.get("grads");
            for (int i = 0; i < leaves.length; i++) {
                if (grads.get(i) == null) {
                    assertNull(leaves[i].grad(), name + ": grad " + i);
                } else {
                    assertClose(Fixtures.floats(grads.get(i)), leaves[i].grad().toArray(), name + ": grad " + i);
                }
            }
        }));
    }

    @Test
    void everyLambdaHasAFixture() {
        List<Map<String, Object>> cases = Fixtures.list("ops.json");
        assertEquals(OPS.size(), cases.size());
    }
}
