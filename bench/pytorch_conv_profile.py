#!/usr/bin/python3
"""PyTorch's side of the per-layer comparison in docs/performance.md ("Where the time goes").

Runs the tutorial's ResNet-18 training step (zero_grad, forward, (prediction - labels).sum(),
backward, SGD with momentum) and prints, per convolution shape, the self CPU time per step of
PyTorch's forward kernel (aten::mkldnn_convolution, or aten::_slow_conv2d_forward where PyTorch
picks that one) and of its backward (aten::convolution_backward, or aten::_slow_conv2d_backward),
from torch.autograd.profiler over --steps steps after --warmup. Compare with
`./autograd run resnet-step --batch B --profile`.

Usage: /usr/bin/python3 bench/pytorch_conv_profile.py [--batch 16] [--threads 2] [--steps 10] [--warmup 15]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blas_threads  # noqa: E402

blas_threads.from_argv(default="2")  # before torch loads OpenBLAS (the fc layer's product)
import torch  # noqa: E402
import torchvision  # noqa: E402

KERNELS = ("aten::mkldnn_convolution", "aten::_slow_conv2d_forward",
           "aten::convolution_backward", "aten::_slow_conv2d_backward")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=15)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    data = torch.rand(args.batch, 3, args.size, args.size)
    labels = torch.rand(args.batch, 1000)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = (model(data) - labels).sum()
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"batch {args.batch}, size {args.size}, {args.threads} threads, torch {torch.__version__}: "
          f"median step {times[len(times) // 2] * 1e3:.1f} ms (unprofiled, {args.steps} steps)")
    with torch.autograd.profiler.profile(record_shapes=True) as prof:
        for _ in range(args.steps):
            step()
    total = 0.0
    for event in prof.key_averages(group_by_input_shape=True):
        if event.key in KERNELS:
            ms = event.self_cpu_time_total / 1000 / args.steps
            total += ms
            print(f"{event.key:30s} {str(event.input_shapes[:2]):50s} {ms:8.2f} ms/step"
                  f"  x{event.count // args.steps}")
    print(f"convolutions in all: {total:.1f} ms/step (profiled steps)")


if __name__ == "__main__":
    main()
