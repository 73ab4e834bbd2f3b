#!/usr/bin/python3
"""Writes the weights-I/O test fixtures with real PyTorch (run with /usr/bin/python3, torch 1.13).

Outputs go to engine/src/test/resources/io/ (a few KB in all) and are committed:
  small_model.pth / small_model.safetensors  a small conv+bn+linear model's state_dict, both formats
  views.pth          a transposed (non-contiguous) view, two tensors sharing one storage at different
                     offsets, an nn.Parameter (torch._utils._rebuild_parameter), an empty tensor
  dtypes.pth / dtypes.safetensors            f32 f16 bf16 f64 i64 i32 bool tensors and a 0-dim scalar
  legacy.pth         the pre-1.6 format (_use_new_zipfile_serialization=False), with views and sharing
  legacy_v1.pth      the legacy format as PyTorch 0.3 wrote it (torchvision's resnet18-5c106cde.pth era):
                     torch._utils._rebuild_tensor (v1), a storage view (view_metadata), no num_batches_tracked;
                     written by hand here and checked by loading it with torch.load
  batch.safetensors / batch.pth              a dict holding `data` and `labels` (the --data input)
  resnet_small_init.pth  torch.save of the initial state_dict of make_resnet_fixtures.py's small ResNet
                     (same seed, so equal to the init.* tensors of nn/resnet_small_step.safetensors): the
                     CLI test runs `resnet-step --weights` on it and compares the --dump with PyTorch's step
  hostile_system.pth a torch.save file whose pickle calls os.system (must be refused, never run)
  hostile_eval.pth   the same with builtins.eval
  expected.txt       one line per tensor: file name dtype shape sha256 of its contiguous little-endian bytes
The safetensors files are written by hand (8-byte little-endian header length, JSON header, raw bytes),
as the safetensors package does, so they are an oracle independent of the Java writer.
"""
import collections
import hashlib
import json
import os
import struct
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "src", "test", "resources", "io")

ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL"}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits as int16
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


expected = []


def record(fname, tensors):
    for name, t in tensors.items():
        shape = "[" + ", ".join(str(s) for s in t.shape) + "]"
        expected.append(f"{fname} {name} {ST_DTYPE[t.dtype]} {shape} {hashlib.sha256(raw_bytes(t)).hexdigest()}")


class _Storage:
    """A storage as PyTorch 0.3's pickler saw it: a root storage, or a view of one."""

    def __init__(self, key, data, view=None):
        self.key, self.data, self.view = key, data, view


class _V1Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride)

    def __reduce__(self):
        return (torch._utils._rebuild_tensor, self.args)


def save_legacy_v1(path, tensors):
    """The legacy layout: magic, protocol, sys_info, object pickle, storage keys, then int64 count + bytes."""
    import io
    import pickle
    roots = {}

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                roots[obj.key] = obj.data
                view = None if obj.view is None else (obj.view[0], obj.view[1], obj.view[2])
                return ("storage", torch.FloatStorage, obj.key, "cpu", obj.data.numel(), view)
            return None

    with open(path, "wb") as f:
        pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump(dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4)), f, protocol=2)
        buf = io.BytesIO()
        P(buf, protocol=2).dump(tensors)
        f.write(buf.getvalue())
        keys = sorted(roots)
        pickle.dump(keys, f, protocol=2)
        for k in keys:
            d = roots[k].contiguous()
            f.write(struct.pack("<q", d.numel()))
            f.write(d.numpy().tobytes())


class System:
    def __reduce__(self):
        return (os.system, ("echo pwned-by-pickle",))


class Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned-by-pickle')",))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    # a small model: conv -> bn -> relu -> pool -> linear
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
    model.train()
    model(torch.randn(2, 3, 6, 6))  # moves running stats and num_batches_tracked off their initial values
    sd = model.state_dict()
    torch.save(sd, os.path.join(OUT, "small_model.pth"))
    save_safetensors(os.path.join(OUT, "small_model.safetensors"), sd, {"format": "pt", "source": "make_io_fixtures.py"})
    record("small_model.pth", sd)
    record("small_model.safetensors", sd)

    # views and shared storage
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    shared = torch.arange(10, dtype=torch.float32) * 0.5
    views = collections.OrderedDict()
    views["transposed"] = base.t()                 # strides (1, 4): non-contiguous
    views["base"] = base
    views["head"] = shared[:4]                      # shares `shared`'s storage, offset 0
    views["tail"] = shared[6:].view(2, 2)           # same storage, offset 6
    views["strided"] = shared[1::3]                 # offset 1, stride 3
    views["param"] = torch.nn.Parameter(torch.tensor([[1.5, -2.0]]))
    views["empty"] = torch.zeros(0, 3)
    torch.save(views, os.path.join(OUT, "views.pth"))
    record("views.pth", views)

    # every dtype
    dt = collections.OrderedDict()
    dt["f32"] = torch.tensor([1.0, -2.5, 3.25e-3, float("inf")], dtype=torch.float32)
    dt["f16"] = torch.tensor([1.0, -2.5, 65504.0, 6.1e-5, 1e-7], dtype=torch.float16)
    dt["bf16"] = torch.tensor([1.0, -2.5, 3.0e38, 1e-30], dtype=torch.bfloat16)
    dt["f64"] = torch.tensor([[1.0, 1e-300], [-2.5, 1.0 / 3.0]], dtype=torch.float64)
    dt["i64"] = torch.tensor([0, -1, 2 ** 62, -(2 ** 63)], dtype=torch.int64)
    dt["i32"] = torch.tensor([7, -8, 2 ** 31 - 1], dtype=torch.int32)
    dt["bool"] = torch.tensor([[True, False, True], [False, False, True]])
    dt["scalar"] = torch.tensor(3.5)
    torch.save(dt, os.path.join(OUT, "dtypes.pth"))
    save_safetensors(os.path.join(OUT, "dtypes.safetensors"), dt)
    record("dtypes.pth", dt)
    record("dtypes.safetensors", dt)

    # the pre-1.6 format
    torch.save(views, os.path.join(OUT, "legacy.pth"), _use_new_zipfile_serialization=False)
    record("legacy.pth", views)

    # PyTorch 0.3's legacy layout, checked by torch.load itself
    root = torch.arange(10, dtype=torch.float32) / 4
    weight = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    old = collections.OrderedDict()
    old["conv.weight"] = _V1Tensor(_Storage("140001", weight.flatten()), 0, torch.Size([2, 3]), (3, 1))
    old["fc.weight_t"] = _V1Tensor(_Storage("140001", weight.flatten()), 0, torch.Size([3, 2]), (1, 3))
    old["bn.running_mean"] = _V1Tensor(_Storage("140002", root, ("140003", 4, 5)), 1, torch.Size([2]), (2,))
    path = os.path.join(OUT, "legacy_v1.pth")
    save_legacy_v1(path, old)
    loaded = torch.load(path)
    assert torch.equal(loaded["conv.weight"], weight)
    assert torch.equal(loaded["fc.weight_t"], weight.t())
    assert torch.equal(loaded["bn.running_mean"], root[4:9][1::2][:2]), loaded["bn.running_mean"]
    record("legacy_v1.pth", loaded)

    # a --data input
    batch = collections.OrderedDict()
    batch["data"] = torch.randn(2, 3, 8, 8)
    batch["labels"] = torch.tensor([1, 0], dtype=torch.int64)
    save_safetensors(os.path.join(OUT, "batch.safetensors"), batch)
    torch.save(batch, os.path.join(OUT, "batch.pth"))
    record("batch.safetensors", batch)
    record("batch.pth", batch)

    # the small ResNet's initial weights as a real .pth (make_resnet_fixtures.py seeds 0, then builds it)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_resnet_fixtures import SmallResNet
    torch.manual_seed(0)
    torch.save(SmallResNet().state_dict(), os.path.join(OUT, "resnet_small_init.pth"))

    # hostile files: torch.save pickles the reduce call; loading them in Python would run it
    torch.save({"weight": torch.ones(2), "payload": System()}, os.path.join(OUT, "hostile_system.pth"))
    torch.save({"payload": Eval()}, os.path.join(OUT, "hostile_eval.pth"))

    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("# written by tools/make_io_fixtures.py with torch " + torch.__version__ + "\n")
        f.write("\n".join(expected) + "\n")


if __name__ == "__main__":
    sys.exit(main())
