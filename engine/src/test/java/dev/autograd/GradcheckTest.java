package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every op's backward against central finite differences, one line per op (tinygrad's helper_test_op):
 * broadcasting shapes, scalars, size-1 dims and non-contiguous views.
 */
class GradcheckTest {

    private static final Generator GEN = new Generator(7);

    /** A leaf requiring grad with values in [lo, hi). */
    static Tensor leaf(float lo, float hi, int... shape) {
        return Tensor.rand(GEN, shape).mul(hi - lo).add(lo).requiresGrad_();
    }

    static Tensor leaf(int... shape) {
        return leaf(-2f, 2f, shape);
    }

    /** A leaf with magnitudes in [0.2, 2) and random signs: away from the kinks of relu and abs. */
    static Tensor kinkFree(int... shape) {
        Tensor sign = Tensor.rand(GEN, shape).lt(0.5f).toFloat().mul(2f).sub(1f);
        return Tensor.rand(GEN, shape).mul(1.8f).add(0.2f).mul(sign).requiresGrad_();
    }

    /** A non-contiguous leaf view: the transpose of a [b, a] leaf. */
    static Tensor transposed(int a, int b) {
        return leaf(b, a).t();
    }

    static void check(String op, Function<Tensor[], Tensor> f, Tensor... inputs) {
        assertTrue(Autograd.gradcheck(f, inputs, 1e-2, 2e-2, 2e-2), op);
        // the grad_fn of the output is reachable and backward runs through .grad without errors
        Tensor out = f.apply(inputs);
        assertTrue(out.requiresGrad(), op + " output requires grad");
    }

    @Test
    void binaryOps() {
        check("add", t -> t[0].add(t[1]), leaf(3, 4), leaf(4));
        check("add bcast", t -> t[0].add(t[1]), leaf(3, 1), leaf(1, 4));
        check("add scalar tensor", t -> t[0].add(t[1]), leaf(2, 3), leaf());
        check("add scalar", t -> t[0].add(2f), leaf(2, 3));
        check("sub", t -> t[0].sub(t[1]), leaf(2, 3, 4), leaf(3, 1));
        check("sub scalar", t -> t[0].sub(1.5f), leaf(4));
        check("rsub", t -> t[0].rsub(1.5f), leaf(4));
        check("mul", t -> t[0].mul(t[1]), leaf(3, 4), leaf(3, 4));
        check("mul bcast", t -> t[0].mul(t[1]), leaf(2, 1, 4), leaf(3, 1));
        check("mul self (diamond)", t -> t[0].mul(t[0]), leaf(5));
        check("mul nc", t -> t[0].mul(t[1]), transposed(3, 4), leaf(4));
        check("mul scalar", t -> t[0].mul(3f), leaf(2, 2));
        check("div", t -> t[0].div(t[1]), leaf(3, 4), leaf(0.5f, 2f, 4));
        check("div bcast", t -> t[0].div(t[1]), leaf(3, 1), leaf(0.5f, 2f, 1, 4));
        check("div scalar", t -> t[0].div(4f), leaf(3));
        check("rdiv", t -> t[0].rdiv(2f), leaf(0.5f, 2f, 3));
        check("pow tensor", t -> t[0].pow(t[1]), leaf(0.5f, 2f, 3), leaf(3));
    }

    @Test
    void unaryOps() {
        check("neg", t -> t[0].neg(), leaf(3, 4));
        check("pow 3", t -> t[0].pow(3f), leaf(3, 4));
        check("pow 2 nc", t -> t[0].pow(2f), transposed(3, 2));
        check("pow -0.5", t -> t[0].pow(-0.5f), leaf(0.5f, 2f, 4));
        check("exp", t -> t[0].exp(), leaf(3, 4));
        check("log", t -> t[0].log(), leaf(0.5f, 3f, 3, 4));
        check("sqrt", t -> t[0].sqrt(), leaf(0.5f, 3f, 5));
        check("abs", t -> t[0].abs(), leaf(0.2f, 2f, 5).mul(-1f).detach().requiresGrad_());
        check("relu", t -> t[0].relu(), Tensor.of(-1f, -0.5f, 0.5f, 2f).requiresGrad_());
        check("relu nc", t -> t[0].t().relu(), kinkFree(4, 3));
        check("relu owned grad", t -> t[0].mul(2f).relu().mul(3f), kinkFree(3, 4));
        check("relu shared grad", t -> t[0].relu().add(t[0]), kinkFree(3, 4));
        check("relu_", t -> t[0].mul(1f).relu_().mul(t[0]), kinkFree(3, 4));
        check("abs mixed", t -> t[0].abs(), kinkFree(2, 5));
        check("sigmoid", t -> t[0].sigmoid(), leaf(3, 4));
        check("tanh", t -> t[0].tanh(), transposed(2, 3));
        check("reciprocal", t -> t[0].reciprocal(), leaf(0.5f, 2f, 4));
        check("clone", t -> t[0].clone(), transposed(2, 3));
    }

    @Test
    void reductions() {
        check("sum", t -> t[0].sum(), leaf(3, 4));
        check("sum nc", t -> t[0].sum(), transposed(3, 4));
        check("sum dim", t -> t[0].sum(1), leaf(3, 4));
        check("sum dims keepdim", t -> t[0].sum(new int[] {0, 2}, true), leaf(2, 3, 4));
        check("mean", t -> t[0].mean(), leaf(3, 4));
        check("mean dim", t -> t[0].mean(-1), transposed(3, 4));
        check("mean dims", t -> t[0].mean(new int[] {0, 1}, false), leaf(2, 3, 4));
        check("amax", t -> t[0].amax(), Tensor.of(1f, 5f, 2f, -3f).requiresGrad_());
        check("amax dim", t -> t[0].amax(1, false), Tensor.of(new float[][] {{1f, 5f, 2f}, {7f, -1f, 0f}}).requiresGrad_());
        check("norm", t -> t[0].norm(), leaf(3, 4));
        check("norm dim", t -> t[0].norm(1, true), leaf(3, 4));
    }

    @Test
    void matmulAndViews() {
        check("mm", t -> t[0].matmul(t[1]), leaf(3, 4), leaf(4, 5));
        check("mm transposed", t -> t[0].matmul(t[1]), transposed(3, 4), transposed(4, 2));
        check("dot", t -> t[0].matmul(t[1]), leaf(4), leaf(4));
        check("mv", t -> t[0].matmul(t[1]), leaf(3, 4), leaf(4));
        check("vm", t -> t[0].matmul(t[1]), leaf(4), leaf(4, 3));
        check("bmm folded", t -> t[0].matmul(t[1]), leaf(2, 3, 4), leaf(4, 2));
        check("bmm", t -> t[0].matmul(t[1]), leaf(2, 3, 4), leaf(2, 4, 2));
        check("bmm broadcast", t -> t[0].matmul(t[1]), leaf(2, 1, 3, 4), leaf(3, 4, 2));
        check("view", t -> t[0].view(4, 3).mul(t[0].view(4, 3)), leaf(3, 4));
        check("reshape nc", t -> t[0].reshape(6), transposed(2, 3));
        check("permute", t -> t[0].permute(2, 0, 1).mul(Tensor.arange(24f).reshape(4, 2, 3)), leaf(2, 3, 4));
        check("transpose", t -> t[0].transpose(0, 2).exp(), leaf(2, 3, 4));
        check("expand", t -> t[0].expand(3, 4).mul(Tensor.arange(12f).reshape(3, 4)), leaf(1, 4));
        check("squeeze", t -> t[0].squeeze().mul(Tensor.arange(3f)), leaf(1, 3, 1));
        check("unsqueeze", t -> t[0].unsqueeze(1).mul(Tensor.arange(6f).reshape(2, 3)), leaf(2));
        check("narrow", t -> t[0].narrow(1, 1, 2).exp(), leaf(3, 4));
        check("slice step", t -> t[0].slice(0, 0, 5, 2).exp(), leaf(5, 2));
        check("select", t -> t[0].select(1, 2).exp(), leaf(3, 4));
        check("flatten", t -> t[0].flatten(1, 2).exp(), leaf(2, 3, 4));
    }

    @Test
    void zeroDimTensors() {
        check("mul 0-dim", t -> t[0].mul(t[1]), leaf(2, 3), leaf());
        check("div by 0-dim", t -> t[0].div(t[1]), leaf(3), leaf(0.5f, 2f));
        check("0-dim over vector", t -> t[0].div(t[1]), leaf(), leaf(0.5f, 2f, 4));
        check("0-dim exp", t -> t[0].exp(), leaf());
        check("0-dim pow", t -> t[0].pow(3f), leaf());
        check("0-dim sum", t -> t[0].sum(), leaf());
        check("0-dim mean", t -> t[0].mean(), leaf());
        check("0-dim expand", t -> t[0].expand(2, 3).mul(Tensor.arange(6f).reshape(2, 3)), leaf());
        check("0-dim unsqueeze", t -> t[0].unsqueeze(0).mul(Tensor.arange(1f, 3f, 1f)), leaf());
    }

    @Test
    void compositeGraph() {
        Tensor x = leaf(3, 4);
        Tensor w = leaf(4, 2);
        Tensor b = leaf(2);
        check("linear+tanh+mean", t -> t[0].matmul(t[1]).add(t[2]).tanh().mean(), x, w, b);
        assertEquals("MeanBackward0", x.matmul(w).add(b).tanh().mean().gradFn().name());
    }
}
