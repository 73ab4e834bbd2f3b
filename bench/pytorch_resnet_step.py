#!/usr/bin/python3
"""PyTorch's side of `autograd run resnet-step`: the same tutorial step, timed the same way.

    /usr/bin/python3 bench/pytorch_resnet_step.py --batch 1 --size 64 --steps 20 --threads 1

The step (PyTorch's "A Gentle Introduction to torch.autograd"): torchvision resnet18() in train mode,
data = rand(B, 3, S, S), labels = rand(B, 1000), prediction = model(data),
loss = (prediction - labels).sum(), loss.backward(), SGD(lr=1e-2, momentum=0.9).step().
Grads are set to None before each step (PyTorch 2's zero_grad default) so every step does the same
work. Prints one JSON object with the keys of the Java scenario's --format json; times are medians
in milliseconds over the steps after the warm-up.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blas_threads  # noqa: E402

blas_threads.from_argv()  # before torch loads OpenBLAS (the fc layer's product)
import torch  # noqa: E402
import torchvision  # noqa: E402
from pacing import paced_turns  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paced", action="store_true",
                        help="after warm-up print 'ready', then obey stdin line by line ('warm SECONDS': untimed "
                             "steps; 'go N': the next N timed steps) and print 'done' after each (bench/compare's "
                             "side-by-side runs)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = torchvision.models.resnet18()
    model.train()
    data = torch.rand(args.batch, 3, args.size, args.size)
    labels = torch.rand(args.batch, 1000)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)

    losses, fwd, bwd, stp, tot = [], [], [], [], []

    def step(timed):
        optimizer.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        prediction = model(data)
        loss = (prediction - labels).sum()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if timed:
            losses.append(loss.item())
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
            stp.append((t3 - t2) * 1e3)
            tot.append((t3 - t0) * 1e3)

    for _ in range(args.warmup):
        step(False)
    if args.paced:
        paced_turns(args.steps, lambda: step(False), lambda: step(True))
    else:
        for _ in range(args.steps):
            step(True)

    print(json.dumps({
        "scenario": "resnet-step", "engine": "pytorch " + torch.__version__,
        "batch": args.batch, "size": args.size, "steps": args.steps, "threads": args.threads,
        "simd": True, "loss": losses,
        "forward_ms": round(statistics.median(fwd), 3), "backward_ms": round(statistics.median(bwd), 3),
        "step_ms": round(statistics.median(stp), 3), "total_ms": round(statistics.median(tot), 3),
    }))


if __name__ == "__main__":
    main()
