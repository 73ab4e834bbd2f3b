#!/usr/bin/python3
"""Writes engine/src/test/resources/fixtures/numerics.json from real PyTorch 1.13 (run with /usr/bin/python3).

How NaN and Inf propagate through ops and their gradients, and anomaly mode's messages:
  cases    name, inputs (float32 values, "nan"/"inf"/"-inf" as strings), the forward output, and the
           gradients of out.backward(ones) (null where an input gets none)
  anomaly  name, inputs, and the message torch.autograd.detect_anomaly() raises in backward
The Java test (NumericsTest) maps each name to the same expression; tests never call Python.
"""
import json
import math
import os
import warnings

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "src", "test", "resources", "fixtures")
NAN, INF = float("nan"), float("inf")


def enc(v):
    if isinstance(v, bool):
        return v
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def flat(t):
    return [enc(float(v)) for v in t.detach().reshape(-1).tolist()]


cases = []


def case(name, fn, *inputs, grad=True):
    xs = [torch.tensor(v, dtype=torch.float32, requires_grad=grad) for v in inputs]
    out = fn(*xs)
    entry = {"name": name, "inputs": [{"shape": list(x.shape), "values": flat(x)} for x in xs],
             "out_shape": list(out.shape), "out": flat(out.float())}
    if grad and out.requires_grad:
        out.backward(torch.ones_like(out))
        entry["grads"] = [flat(x.grad) if x.grad is not None else None for x in xs]
    cases.append(entry)


case("relu", lambda x: x.relu(), [NAN, -1., 0., 2., INF, -INF])
case("amax all", lambda x: x.amax(), [1., NAN, 3.])
case("amax dim", lambda x: x.amax(1), [[1., NAN, 3.], [4., 5., 6.], [-INF, -INF, -INF]])
case("amax inf", lambda x: x.amax(), [1., INF, 3.])
case("sum inf", lambda x: x.sum(), [1., INF, 2.])
case("sum inf minus inf", lambda x: x.sum(), [INF, -INF])
case("sum nan", lambda x: x.sum(), [1., NAN])
case("mean nan", lambda x: x.mean(), [1., NAN, 3.])
case("mean inf dim", lambda x: x.mean(0), [[1., INF], [2., 3.]])
case("mul zero times inf", lambda x, y: x * y, [0., 1., 0.], [INF, 0., NAN])
case("mul inf grad", lambda x, y: (x * y) * y, [0., 1.], [INF, 2.])
case("div by zero", lambda x, y: x / y, [1., -1., 0., INF], [0., 0., 0., INF])
case("exp", lambda x: x.exp(), [100., -INF, INF, NAN, 0.])
case("log", lambda x: x.log(), [0., -1., INF, NAN, 1.])
case("sqrt", lambda x: x.sqrt(), [0., -1., INF, NAN, 4.])
case("abs", lambda x: x.abs(), [NAN, -INF, 0., -2.])
case("sigmoid", lambda x: x.sigmoid(), [INF, -INF, NAN, 0.])
case("tanh", lambda x: x.tanh(), [INF, -INF, NAN, 0.])
case("neg", lambda x: -x, [INF, NAN, 0.])
case("pow 2", lambda x: x ** 2, [INF, -INF, NAN, 0.])
case("pow half", lambda x: x ** 0.5, [0., -1., INF])
case("pow -1", lambda x: x ** -1, [0., -0., INF])
case("reciprocal", lambda x: x.reciprocal(), [0., INF, NAN])
case("norm inf", lambda x: x.norm(), [INF, 1.])
case("norm nan", lambda x: x.norm(), [NAN, 1.])
case("norm zero", lambda x: x.norm(), [0., 0.])
case("mm inf times zero", lambda a, b: a @ b, [[INF, 1.]], [[0.], [1.]])
case("mm nan", lambda a, b: a @ b, [[NAN, 1.], [2., 3.]], [[1., 2.], [3., 4.]])
case("dot inf", lambda a, b: a.dot(b), [INF, 1.], [1., 1.])
case("log_softmax inf", lambda x: torch.log_softmax(x, 1), [[INF, 1.], [1., 2.]])
case("log_softmax -inf", lambda x: torch.log_softmax(x, 1), [[-INF, 1.], [0., 0.]])
case("sub inf inf", lambda x, y: x - y, [INF, 1.], [INF, -INF])
case("eq nan", lambda x, y: (x == y), [NAN, 1.], [NAN, 1.], grad=False)
case("ne nan", lambda x, y: (x != y), [NAN, 1.], [NAN, 1.], grad=False)
case("lt nan", lambda x, y: (x < y), [NAN, 1.], [1., NAN], grad=False)
case("sum empty", lambda x: x.sum(), [], grad=False)
case("mean empty", lambda x: x.mean(), [], grad=False)

anomaly = []


def anomalous(name, fn, *inputs):
    xs = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            out = fn(*xs)
            try:
                out.backward(torch.ones_like(out))
                message = None
            except RuntimeError as e:
                message = str(e)
    anomaly.append({"name": name, "inputs": [{"shape": list(x.shape), "values": flat(x)} for x in xs],
                    "message": message})


anomalous("mul by nan", lambda x, y: x * y, [1., 2.], [NAN, 1.])
anomalous("sqrt at zero", lambda x: x.sqrt() * 0, [0., 1.])
anomalous("div zero by zero", lambda x, y: x / y, [0.], [0.])
anomalous("log then exp chain", lambda x: (x.log() * x).exp(), [0., 1.])
anomalous("finite", lambda x: (x * 2).sum(), [1., 2.])

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "numerics.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases, "anomaly": anomaly}, f, indent=None)
    f.write("\n")
print("wrote", len(cases), "cases and", len(anomaly), "anomaly cases")
for a in anomaly:
    print(a["name"], "->", a["message"])
