#!/usr/bin/python3
"""Writes the engine's test fixtures from real PyTorch 1.13 (run with /usr/bin/python3).

  printing.json  tensors (dtype, shape, values, requires_grad) and the exact string PyTorch prints
  ops.json       op name, inputs, output values, grad_fn name, and the gradients of sum(out * weight)
  errors.json    PyTorch's message for each mistake the engine must report the same way

Float values are written as Python floats (exact for float32) or the strings "nan", "inf", "-inf".
The Java tests map op and error names to lambdas; they never call Python.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "src", "test", "resources", "fixtures")
torch.manual_seed(0)


def enc(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def flat(t):
    return [enc(v) for v in t.detach().reshape(-1).tolist()]


def dtype_name(t):
    return {torch.float32: "float32", torch.bool: "bool", torch.int64: "int64"}[t.dtype]


# ---------------------------------------------------------------- printing
printing = []


def p(name, t):
    printing.append({"name": name, "dtype": dtype_name(t), "shape": list(t.shape), "values": flat(t),
                     "requires_grad": t.requires_grad, "expected": str(t)})


p("scalar", torch.tensor(7.0739))
p("scalar int-valued", torch.tensor(27.))
p("scalar zero", torch.tensor(0.))
p("scalar negative zero", torch.tensor(-0.))
p("scalar nan", torch.tensor(float("nan")))
p("scalar inf", torch.tensor(float("-inf")))
p("scalar tiny", torch.tensor(1e-5))
p("scalar huge", torch.tensor(1e10))
p("scalar big int", torch.tensor(123456789.))
p("scalar requires grad", torch.tensor(2.5, requires_grad=True))
p("vector ints", torch.tensor([36., 81.]))
p("vector aligned negatives", torch.tensor([-12., -8.]))
p("vector sci", torch.tensor([1.8, 18., 0.018]))
p("vector sci 2", torch.tensor([102.4, 1024., 0.1024]))
p("vector 4 decimals", torch.tensor([4.5, 4.5]))
p("vector mixed sign", torch.tensor([-1.5, 0.25, 3.125, -0.0001]))
p("vector rounding half even", torch.tensor([0.00005, 0.00015, 0.12345, 2.71828]))
p("vector nan inf", torch.tensor([1., float("nan"), float("inf"), -2.]))
p("vector nan inf fractional", torch.tensor([1.5, float("nan"), float("-inf")]))
p("vector all zero", torch.zeros(4))
p("vector negative zero", torch.tensor([-0., 1.]))
p("vector big ints sci", torch.tensor([1e9, 1., 2.]))
p("vector ratio sci ints", torch.tensor([1., 2000.]))
p("vector small", torch.tensor([1e-5, 2e-5]))
p("vector randn 5", torch.randn(5))
p("vector randn 30 wraps", torch.randn(30))
p("vector randn 30 requires grad", torch.randn(30, requires_grad=True))
p("vector 1000 no summary", torch.arange(1000.))
p("vector 1001 summary", torch.arange(1001.))
p("vector 2000 randn summary", torch.randn(2000))
p("vector 25 ints wraps", torch.arange(25.) * 1000)
p("vector 12 suffix wraps", (torch.randn(12) * 100).requires_grad_())
p("vector one element", torch.tensor([3.]))
p("matrix ones", torch.ones(2, 2))
p("matrix ones requires grad", torch.ones(2, 2, requires_grad=True))
p("matrix randn", torch.randn(3, 4))
p("matrix 1x1", torch.tensor([[5.]]))
p("matrix wide wraps", torch.randn(2, 15))
p("matrix summary", torch.randn(4, 300))
p("matrix summary rows", torch.randn(300, 4))
p("3d", torch.randn(2, 3, 4))
p("4d summary", torch.randn(10, 10, 10, 2))
p("3d requires grad", torch.randn(2, 2, 2, requires_grad=True))
p("empty", torch.zeros(0))
p("empty 2d", torch.zeros(2, 0))
p("empty int64", torch.zeros(0, dtype=torch.int64))
p("empty bool", torch.zeros(0, 3, dtype=torch.bool))
p("bool vector", torch.tensor([True, False]))
p("bool true", torch.tensor([True, True]))
p("bool scalar", torch.tensor(True))
p("bool matrix", torch.tensor([[True, False, True], [False, False, True]]))
p("int64 vector", torch.tensor([1, 2, 3]))
p("int64 negatives", torch.tensor([-100, 5]))
p("int64 scalar", torch.tensor(0))
p("int64 matrix", torch.tensor([[1, 22], [333, -4]]))
p("int64 summary", torch.arange(2000))
p("int64 wrap", torch.arange(40) * 123456)

# ---------------------------------------------------------------- ops
ops = []
gen = torch.Generator().manual_seed(1)


def rnd(*shape, lo=-2.0, hi=2.0):
    return (torch.rand(tuple(shape), generator=gen) * (hi - lo) + lo)


def op(name, fn, *inputs):
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    out = fn(*leaves)
    w = rnd(*out.shape, lo=0.5, hi=1.5)
    (out * w).sum().backward()
    ops.append({
        "name": name,
        "inputs": [{"shape": list(x.shape), "values": flat(x)} for x in inputs],
        "weight": flat(w),
        "out_shape": list(out.shape),
        "out": flat(out),
        "grad_fn": type(out.grad_fn).__name__,
        "grads": [flat(x.grad) if x.grad is not None else None for x in leaves],
    })


op("add", lambda a, b: a + b, rnd(3, 4), rnd(4))
op("add_bcast", lambda a, b: a + b, rnd(3, 1), rnd(1, 4))
op("add_scalar", lambda a: a + 2, rnd(2, 3))
op("radd_scalar", lambda a: 2 + a, rnd(2, 3))
op("sub", lambda a, b: a - b, rnd(2, 3, 4), rnd(3, 1))
op("sub_scalar", lambda a: a - 1.5, rnd(4))
op("rsub_scalar", lambda a: 1.5 - a, rnd(4))
op("mul", lambda a, b: a * b, rnd(3, 4), rnd(3, 4))
op("mul_bcast", lambda a, b: a * b, rnd(2, 1, 4), rnd(3, 1))
op("mul_scalar", lambda a: a * 3, rnd(2, 2))
op("mul_self", lambda a: a * a, rnd(5))
op("div", lambda a, b: a / b, rnd(3, 4), rnd(4, lo=0.5, hi=2.0))
op("div_scalar", lambda a: a / 4, rnd(3))
op("rdiv_scalar", lambda a: 2 / a, rnd(3, lo=0.5, hi=2.0))
op("neg", lambda a: -a, rnd(3, 4))
op("pow3", lambda a: a ** 3, rnd(3, 4))
op("pow_half", lambda a: a ** 0.5, rnd(4, lo=0.5, hi=3.0))
op("exp", lambda a: a.exp(), rnd(3, 4))
op("log", lambda a: a.log(), rnd(3, 4, lo=0.5, hi=3.0))
op("sqrt", lambda a: a.sqrt(), rnd(5, lo=0.5, hi=3.0))
op("abs", lambda a: a.abs(), rnd(5))
op("relu", lambda a: a.relu(), rnd(6))
op("sigmoid", lambda a: a.sigmoid(), rnd(3, 4))
op("tanh", lambda a: a.tanh(), rnd(3, 4))
op("sum", lambda a: a.sum(), rnd(3, 4))
op("sum_dim", lambda a: a.sum(1), rnd(3, 4))
op("sum_dims_keepdim", lambda a: a.sum((0, 2), keepdim=True), rnd(2, 3, 4))
op("mean", lambda a: a.mean(), rnd(3, 4))
op("mean_dim", lambda a: a.mean(-1), rnd(3, 4))
op("amax", lambda a: a.amax(), torch.tensor([1., 5., 2., 5.]))
op("amax_dim", lambda a: a.amax(1), torch.tensor([[1., 5., 2.], [7., -1., 7.]]))
op("norm", lambda a: a.norm(), rnd(3, 4))
op("norm_dim", lambda a: a.norm(dim=1, keepdim=True), rnd(3, 4))
op("mm", lambda a, b: a @ b, rnd(3, 4), rnd(4, 5))
op("mm_t", lambda a, b: a @ b.t(), rnd(3, 4), rnd(5, 4))
op("dot", lambda a, b: a @ b, rnd(4), rnd(4))
op("mv", lambda a, b: a @ b, rnd(3, 4), rnd(4))
op("vm", lambda a, b: a @ b, rnd(4), rnd(4, 3))
op("matmul_folded", lambda a, b: a @ b, rnd(2, 3, 4), rnd(4, 2))
op("bmm", lambda a, b: a @ b, rnd(2, 3, 4), rnd(2, 4, 2))
op("bmm_bcast", lambda a, b: a @ b, rnd(2, 1, 3, 4), rnd(3, 4, 2))
op("view", lambda a: a.view(4, 3), rnd(3, 4))
op("reshape", lambda a: a.reshape(2, 6), rnd(3, 4))
op("reshape_nc", lambda a: a.t().reshape(12), rnd(3, 4))
op("permute", lambda a: a.permute(2, 0, 1), rnd(2, 3, 4))
op("transpose", lambda a: a.transpose(0, 2), rnd(2, 3, 4))
op("t", lambda a: a.t(), rnd(3, 4))
op("expand", lambda a: a.expand(3, 4), rnd(1, 4))
op("squeeze", lambda a: a.squeeze(), rnd(1, 3, 1))
op("squeeze_dim", lambda a: a.squeeze(0), rnd(1, 3, 1))
op("unsqueeze", lambda a: a.unsqueeze(1), rnd(2, 3))
op("narrow", lambda a: a.narrow(1, 1, 2), rnd(3, 4))
op("slice_step", lambda a: a[0:5:2], rnd(5, 2))
op("select", lambda a: a.select(1, 2), rnd(3, 4))
op("flatten", lambda a: a.flatten(), rnd(2, 3, 4))
op("clone", lambda a: a.clone(), rnd(2, 3))
op("contiguous_nc", lambda a: a.t().contiguous(), rnd(2, 3))
op("chain", lambda a, b: ((a * 3) / (b - 1)).exp().sum(0), rnd(2, 3), rnd(3, lo=1.5, hi=3.0))
op("view_expanded", lambda a: a.expand(3, 4).view(3, 2, 2), rnd(4))
op("reshape_t_view", lambda a: a.t().reshape(3, 2, 2), rnd(4, 3))


def mul_inplace(a, b):
    y = a * 1
    y.mul_(b)
    return y


def div_inplace(a, b):
    y = a * 1
    y.div_(b)
    return y


def relu_inplace(a):
    y = a * 1
    y.relu_()
    return y


op("mul_inplace", mul_inplace, rnd(3), rnd(3))
op("relu_inplace", relu_inplace, rnd(6))
op("relu_chain", lambda a: ((a * 2).relu() * 3 + a.relu()).relu(), rnd(8))
op("div_inplace", div_inplace, rnd(3), rnd(3, lo=0.5, hi=2.0))

# ---------------------------------------------------------------- errors
errors = {}


def err(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - we want the message of whatever PyTorch raises
        errors[name] = {"type": type(e).__name__, "message": str(e)}
        return
    raise SystemExit("no error for " + name)


x = torch.ones(3, requires_grad=True)
err("backward_non_scalar", lambda: (x * 2).backward())
err("backward_no_grad", lambda: torch.ones(3).sum().backward())


def twice():
    y = (x * x).sum()
    y.backward()
    y.backward()


err("backward_twice", twice)
err("backward_shape", lambda: (x * 2).backward(torch.ones(2)))
err("broadcast", lambda: torch.ones(3) + torch.ones(4))
err("broadcast_2d", lambda: torch.ones(2, 3) * torch.ones(4, 3))
err("inplace_leaf", lambda: x.add_(1))


def modified_output():
    b = (x * 1).exp()
    c = b.sum()
    b.mul_(2)
    c.backward()


def modified_input():
    a = x * 1
    b = a * a
    a.mul_(2)
    b.sum().backward()


def modified_leaf():
    leaf = torch.ones(3, requires_grad=True)
    b = leaf * leaf
    with torch.no_grad():
        leaf.mul_(2)
    b.sum().backward()


err("modified_output", modified_output)
err("modified_input", modified_input)
err("modified_leaf", modified_leaf)
err("requires_grad_non_leaf", lambda: (x * 2).requires_grad_(False))
err("grad_unused", lambda: torch.autograd.grad((x * 2).sum(), [torch.ones(2, requires_grad=True)]))
err("grad_no_requires", lambda: torch.autograd.grad((x * 2).sum(), [torch.ones(2)]))
err("mm_shapes", lambda: torch.ones(2, 3) @ torch.ones(2, 3))
err("view_invalid", lambda: torch.ones(2, 3).view(-1, 4))
err("reshape_invalid", lambda: torch.ones(2, 3).reshape(5))
err("view_non_contiguous", lambda: torch.ones(2, 3).t().view(6))
err("dim_out_of_range", lambda: torch.ones(2, 3).sum(2))
err("expand_invalid", lambda: torch.ones(2, 3).expand(3, 3))
err("dot_sizes", lambda: torch.ones(3) @ torch.ones(4))
err("mv_sizes", lambda: torch.ones(3, 2) @ torch.ones(3))
err("bmm_sizes", lambda: torch.ones(2, 2, 3) @ torch.ones(2, 4, 3))
err("permute_dims", lambda: torch.ones(2, 3).permute(0))
err("permute_duplicate", lambda: torch.ones(2, 3).permute(0, 0))
err("select_range", lambda: torch.ones(2, 3).select(0, 5))
err("narrow_range", lambda: torch.ones(2, 3).narrow(1, 2, 2))
err("inplace_view_of_leaf", lambda: x[0:2].mul_(2))
err("item_many", lambda: torch.ones(2, 3).item())

os.makedirs(OUT, exist_ok=True)
for fname, data in (("printing.json", printing), ("ops.json", ops), ("errors.json", errors)):
    with open(os.path.join(OUT, fname), "w") as f:
        # one case per line: readable diffs when PyTorch's output changes
        if isinstance(data, list):
            f.write("[\n" + ",\n".join(json.dumps(c) for c in data) + "\n]\n")
        else:
            f.write("{\n" + ",\n".join(json.dumps(k) + ": " + json.dumps(v) for k, v in data.items()) + "\n}\n")
print("torch", torch.__version__, "wrote", len(printing), "printing,", len(ops), "ops,", len(errors), "errors to", os.path.normpath(OUT))
