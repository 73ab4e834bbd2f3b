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
import statistics
import sys
import time

import torch
import torchvision


def await_turn():
    """--paced: the driver's next line; True for a timed step ("go"), False for one that warms up again."""
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("--paced: stdin ended before the last step")
    if line.strip() not in ("go", "warm"):
        raise SystemExit("--paced: expected 'go' or 'warm' on stdin, got %r" % line.strip())
    return line.strip() == "go"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paced", action="store_true",
                        help="after warm-up print 'ready', then run each timed step when a line arrives on stdin and "
                             "print 'done' after it (bench/compare's side-by-side runs)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = torchvision.models.resnet18()
    model.train()
    data = torch.rand(args.batch, 3, args.size, args.size)
    labels = torch.rand(args.batch, 1000)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)

    losses, fwd, bwd, stp, tot = [], [], [], [], []
    i = 0
    while len(tot) < args.steps:
        timed = i >= args.warmup
        paced = args.paced and timed
        if paced and i == args.warmup:
            print("ready", flush=True)
        if paced:
            timed = await_turn()
        i += 1
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
        if paced:
            print("done", flush=True)

    print(json.dumps({
        "scenario": "resnet-step", "engine": "pytorch " + torch.__version__,
        "batch": args.batch, "size": args.size, "steps": args.steps, "threads": args.threads,
        "simd": True, "loss": losses,
        "forward_ms": round(statistics.median(fwd), 3), "backward_ms": round(statistics.median(bwd), 3),
        "step_ms": round(statistics.median(stp), 3), "total_ms": round(statistics.median(tot), 3),
    }))


if __name__ == "__main__":
    main()
