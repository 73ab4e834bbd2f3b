#!/usr/bin/python3
"""Writes what real PyTorch 1.13 prints for each tutorial scenario of `autograd run` (run with
/usr/bin/python3) into cli/src/test/resources/scenarios/<name>.txt. The CLI tests compare the Java
output with these; `object at 0x...` addresses and, for the random scenarios, the random values
themselves are not compared (the tests check what follows from them instead)."""
import contextlib
import io
import os
import traceback

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli", "src", "test", "resources", "scenarios")
SCENARIOS = {}


def scenario(name):
    def register(fn):
        SCENARIOS[name] = fn
        return fn
    return register


def lesson(fn):
    """The tutorial's deliberate error, printed as Python's last traceback line."""
    try:
        fn()
    except RuntimeError as e:
        print("RuntimeError: " + str(e))


@scenario("q-gradient")
def q_gradient():
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3 * a ** 3 - b ** 2
    external_grad = torch.tensor([1., 1.])
    Q.backward(gradient=external_grad)
    print(a.grad)
    print(b.grad)
    print(9 * a ** 2 == a.grad)
    print(-2 * b == b.grad)


@scenario("mean-grad")
def mean_grad():
    x = torch.ones(2, 2, requires_grad=True)
    print(x)
    y = x + 2
    print(y)
    print(y.grad_fn)
    z = y * y * 3
    out = z.mean()
    print(z, out)
    out.backward()
    print(x.grad)


@scenario("requires-grad-flag")
def requires_grad_flag():
    a = torch.randn(2, 2)
    a = ((a * 3) / (a - 1))
    print(a.requires_grad)
    a.requires_grad_(True)
    print(a.requires_grad)
    b = (a * a).sum()
    print(b.grad_fn)


@scenario("vjp")
def vjp():
    x = torch.randn(3, requires_grad=True)
    y = x * 2
    while y.data.norm() < 1000:
        y = y * 2
    print(y)
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
    y.backward(v)
    print(x.grad)


@scenario("chain-rule")
def chain_rule():
    x = torch.ones(3, requires_grad=True)
    y = x + 2
    z = y * y * 3
    v = torch.tensor([0.1, 1.0, 0.001], dtype=torch.float)
    z.backward(v)
    print(x.grad)
    lesson(lambda: z.backward())


@scenario("no-grad")
def no_grad():
    x = torch.randn(3, requires_grad=True)
    print(x.requires_grad)
    print((x ** 2).requires_grad)
    with torch.no_grad():
        print((x ** 2).requires_grad)
    print(x.requires_grad)
    y = x.detach()
    print(y.requires_grad)
    print(x.eq(y).all())


@scenario("dag-exclusion")
def dag_exclusion():
    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    a = x + y
    print(f"Does `a` require gradients? : {a.requires_grad}")
    b = x + z
    print(f"Does `b` require gradients?: {b.requires_grad}")


@scenario("accumulate")
def accumulate():
    weights = torch.ones(4, requires_grad=True)
    for epoch in range(2):
        model_output = (weights * 3).sum()
        model_output.backward()
        print(weights.grad)
    weights = torch.ones(4, requires_grad=True)
    for epoch in range(2):
        model_output = (weights * 3).sum()
        model_output.backward()
        print(weights.grad)
        weights.grad.zero_()


@scenario("no-grad-error")
def no_grad_error():
    x = torch.randn(3)
    y = x + 2
    z = (y * y * 2).mean()
    lesson(lambda: z.backward())


os.makedirs(OUT, exist_ok=True)
for name, fn in SCENARIOS.items():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn()
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write(buf.getvalue())
print("torch", torch.__version__, "wrote", len(SCENARIOS), "scenarios to", os.path.normpath(OUT))
