#!/usr/bin/python3
"""Writes the nn/optim test fixtures with real PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 tools/make_resnet_fixtures.py

Outputs (committed, small), under engine/src/test/resources/nn/:
  resnet_small_step.safetensors  A ResNet with torchvision's BasicBlock structure ([2, 2, 2, 2] blocks,
                                 downsample = Sequential(conv1x1, bn)) at base width 6 instead of 64 (odd sizes exercise the SIMD tails),
                                 10 classes, one training step exactly as the tutorial's:
                                   prediction = model(data); loss = (prediction - labels).sum()
                                   loss.backward(); SGD(lr=1e-2, momentum=0.9).step()
                                 Tensors: init.<key> (state_dict before the step, num_batches_tracked
                                 int64 included), data, labels, prediction, loss, grad.<name>,
                                 param.<name> (after the step), buffer.<name> (after the step), and
                                 eval_prediction (model.eval() forward of data after the step).
                                 __metadata__ "spread": how far float32 PyTorch is from a float64 run
                                 of the same step, per tensor (max |f32 - f64| / max |f64|), the basis
                                 of the test tolerances.
  resnet_small_step_spread.json  The same spread numbers, readable.
  resnet18_state_dict.txt        torchvision resnet18()'s state_dict: "<key> <dtype> <shape>" per line.
  optim_steps.json               SGD / Adam / AdamW trajectories over a few steps for several settings.
  grad_fn_names.txt              grad_fn names PyTorch 1.13 gives the nn ops.
  conv_small_images.safetensors  F.conv2d forward and backward on images so small that most taps fall
                                 on padding (the kernels' tap-class path): per case <case>.x, .weight,
                                 .bias, .grad_out (the upstream gradient), .out, .grad_x, .grad_weight,
                                 .grad_bias; __metadata__ "cases" (stride, padding per case) and
                                 "spread" (float32 against float64, per tensor).

Only some of them: /usr/bin/python3 tools/make_resnet_fixtures.py conv
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, conv1x1

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "src", "test", "resources", "nn")


class SmallResNet(nn.Module):
    """torchvision.models.resnet.ResNet with BasicBlock, every width divided by 64 / base."""

    def __init__(self, layers=(2, 2, 2, 2), num_classes=10, base=6):
        super().__init__()
        self.inplanes = base
        self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(base, layers[0])
        self.layer2 = self._make_layer(base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(base * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base * 8, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata):
    """safetensors by hand: u64 LE header length, JSON header, raw little-endian data."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # align the data to 8 bytes, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def run_step(model, data, labels):
    """The tutorial's step; returns every tensor the test compares."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    prediction = model(data)
    loss = (prediction - labels).sum()
    loss.backward()
    optimizer.step()
    out = {"prediction": prediction.detach().clone(), "loss": loss.detach().clone()}
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().clone()
    for name, p in model.named_parameters():
        out["param." + name] = p.detach().clone()
    for name, b in model.named_buffers():
        out["buffer." + name] = b.detach().clone()
    model.eval()
    with torch.no_grad():
        out["eval_prediction"] = model(data)
    return out


def spread(a, b):
    """max |a - b| / max |b|, in float64."""
    a = a.double()
    b = b.double()
    scale = b.abs().max().item()
    diff = (a - b).abs().max().item()
    return diff / scale if scale > 0 else diff


def resnet_fixture():
    torch.manual_seed(0)
    model = SmallResNet()
    data = torch.rand(2, 3, 64, 64)
    labels = torch.rand(2, 10)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}

    model64 = SmallResNet()
    model64.load_state_dict(init)
    model64 = model64.double()

    out32 = run_step(model, data, labels)
    out64 = run_step(model64, data.double(), labels.double())

    spreads = {}
    for name, t in out32.items():
        if t.is_floating_point():
            spreads[name] = spread(t, out64[name])
    # running_var of a channel of width 1 etc. are exact in both: floor at float32's epsilon / 2
    tensors = {}
    for k, v in init.items():
        tensors["init." + k] = v
    tensors["data"] = data
    tensors["labels"] = labels
    tensors.update(out32)
    metadata = {
        "description": "SmallResNet (torchvision BasicBlock structure, base width 6, 10 classes), one "
                       "tutorial step: loss=(prediction-labels).sum(), SGD(lr=1e-2, momentum=0.9); "
                       "eval_prediction = model.eval()(data) after the step",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "spread": json.dumps(spreads, sort_keys=True),
    }
    path = os.path.join(OUT, "resnet_small_step.safetensors")
    write_safetensors(path, tensors, metadata)
    with open(os.path.join(OUT, "resnet_small_step_spread.json"), "w") as f:
        json.dump({"what": "max|float32 - float64| / max|float64| per tensor, PyTorch "
                   + torch.__version__ + ", same step in both precisions",
                   "spread": spreads}, f, indent=1, sort_keys=True)
        f.write("\n")
    n = sum(p.numel() for p in model.parameters())
    print(f"{path}: {os.path.getsize(path)} bytes, {n} parameters, loss {out32['loss'].item():.6f}")
    worst = sorted(spreads.items(), key=lambda kv: -kv[1])[:5]
    print("largest float32-vs-float64 spreads:", worst)


def resnet18_keys():
    model = torchvision.models.resnet18()
    lines = [f"{k} {str(v.dtype).replace('torch.', '')} {list(v.shape)}".replace(" [", " [").replace(", ", ",")
             for k, v in model.state_dict().items()]
    n = sum(p.numel() for p in model.parameters())
    with open(os.path.join(OUT, "resnet18_state_dict.txt"), "w") as f:
        f.write(f"# torchvision {torchvision.__version__} resnet18().state_dict(): key dtype shape; {n} parameters\n")
        for line in lines:
            f.write(line + "\n")
    print(f"resnet18: {len(lines)} state_dict entries, {n} parameters")


def optim_fixture():
    """A few steps of each optimizer on a fixed parameter with fixed gradients."""
    torch.manual_seed(1)
    w0 = torch.randn(7)
    grads = [torch.randn(7) for _ in range(4)]
    configs = [
        ("sgd", dict(lr=0.1)),
        ("sgd", dict(lr=0.1, momentum=0.9)),
        ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.5)),
        ("sgd", dict(lr=0.05, momentum=0.8, weight_decay=0.1)),
        ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
        ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("adam", dict(lr=0.01)),
        ("adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
        ("adamw", dict(lr=0.01)),
        ("adamw", dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.1)),
    ]
    cases = []
    for kind, kwargs in configs:
        p = nn.Parameter(w0.clone())
        cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
        opt = cls([p], **kwargs)
        traj = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            traj.append([float(x) for x in p.detach()])
        options = {k: (list(v) if isinstance(v, tuple) else v) for k, v in opt.defaults.items()
                   if k in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "betas", "eps")}
        cases.append({"optimizer": kind, "options": options, "after_each_step": traj})
    with open(os.path.join(OUT, "optim_steps.json"), "w") as f:
        json.dump({"torch": torch.__version__, "w0": [float(x) for x in w0],
                   "grads": [[float(x) for x in g] for g in grads], "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"optim: {len(cases)} cases")


def grad_fn_names():
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    bn = nn.BatchNorm2d(4)
    lin = nn.Linear(4, 5)
    lin_nobias = nn.Linear(4, 5, bias=False)
    names = {}
    y = conv(x)
    names["conv2d"] = type(y.grad_fn).__name__
    y = bn(y)
    names["batch_norm_train"] = type(y.grad_fn).__name__
    names["relu"] = type(F.relu(y).grad_fn).__name__
    names["max_pool2d"] = type(F.max_pool2d(y, 3, 2, 1).grad_fn).__name__
    p = F.adaptive_avg_pool2d(y, (1, 1))
    names["adaptive_avg_pool2d"] = type(p.grad_fn).__name__
    f = torch.flatten(p, 1)
    names["flatten"] = type(f.grad_fn).__name__
    names["linear"] = type(lin(f).grad_fn).__name__
    names["linear_no_bias"] = type(lin_nobias(f).grad_fn).__name__
    logits = lin(f)
    names["log_softmax"] = type(F.log_softmax(logits, 1).grad_fn).__name__
    names["cross_entropy"] = type(F.cross_entropy(logits, torch.tensor([1, 2])).grad_fn).__name__
    names["nll_loss"] = type(F.nll_loss(F.log_softmax(logits, 1), torch.tensor([1, 2])).grad_fn).__name__
    names["mse_loss"] = type(F.mse_loss(logits, torch.rand(2, 5)).grad_fn).__name__
    bn.eval()
    names["batch_norm_eval"] = type(bn(conv(x)).grad_fn).__name__
    with open(os.path.join(OUT, "grad_fn_names.txt"), "w") as f:
        f.write(f"# torch {torch.__version__}: op grad_fn\n")
        for k, v in names.items():
            f.write(f"{k} {v}\n")
    print("grad_fn names:", names)


def bn_error():
    bn = nn.BatchNorm2d(128)
    try:
        bn(torch.rand(1, 128, 1, 1))
    except Exception as e:  # noqa: BLE001
        print("BatchNorm one value per channel:", type(e).__name__, e)


def conv_fixture():
    """Small-image convolutions: layer4's 2x2 at batch 8 and 16, its stride-2 entry, a 1x1 image."""
    torch.manual_seed(1)
    # name: (batch, channels, out channels, height, width, kernel, stride, padding)
    cases = {
        "layer4": (16, 24, 20, 2, 2, 3, 1, 1),
        "layer4_b8": (8, 17, 33, 2, 2, 3, 1, 1),
        # batch 24: whole row panels of 6 (AVX2) and 8 (AVX-512) rows, so the classes pay on both
        "stride2": (24, 12, 16, 4, 4, 3, 2, 1),
        "one_pixel": (12, 9, 7, 1, 1, 3, 1, 1),
    }
    tensors = {}
    spreads = {}
    meta_cases = {}
    for name, (b, c, o, h, w, k, stride, pad) in cases.items():
        x = torch.rand(b, c, h, w) - 0.5
        weight = torch.rand(o, c, k, k) - 0.5
        bias = torch.rand(o) - 0.5
        results = {}
        for dtype in (torch.float32, torch.float64):
            xs = x.detach().clone().to(dtype).requires_grad_()
            ws = weight.detach().clone().to(dtype).requires_grad_()
            bs = bias.detach().clone().to(dtype).requires_grad_()
            out = F.conv2d(xs, ws, bs, stride=stride, padding=pad)
            if dtype == torch.float32:
                grad_out = torch.rand(out.shape) - 0.5
            out.backward(grad_out.to(dtype))
            results[dtype] = {"out": out.detach(), "grad_x": xs.grad, "grad_weight": ws.grad, "grad_bias": bs.grad}
        tensors[name + ".x"] = x
        tensors[name + ".weight"] = weight
        tensors[name + ".bias"] = bias
        tensors[name + ".grad_out"] = grad_out
        for key, t in results[torch.float32].items():
            tensors[name + "." + key] = t
            spreads[name + "." + key] = spread(t, results[torch.float64][key])
        meta_cases[name] = {"stride": stride, "padding": pad}
    path = os.path.join(OUT, "conv_small_images.safetensors")
    write_safetensors(path, tensors, {
        "description": "F.conv2d forward and backward (upstream gradient grad_out) on small images",
        "torch": torch.__version__,
        "cases": json.dumps(meta_cases, sort_keys=True),
        "spread": json.dumps(spreads, sort_keys=True),
    })
    print(f"{path}: {os.path.getsize(path)} bytes, cases {list(cases)}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["conv"]:
        conv_fixture()
        sys.exit(0)
    conv_fixture()
    resnet_fixture()
    resnet18_keys()
    optim_fixture()
    grad_fn_names()
    bn_error()
