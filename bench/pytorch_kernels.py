#!/usr/bin/python3
"""PyTorch's side of the kernel comparison in docs/performance.md.

Prints one JSON object per line in the same shape as `autograd bench ... --format json`:
SGEMM (torch.mm) in GFLOPS and add (torch.add with out=) in GB/s counting 12 bytes per element.
Each figure is the median of --repeats timed calls after a warm-up, repeated --rounds times; the
best round is printed (the machine is shared, so the best round is the least disturbed one).

Usage: /usr/bin/python3 bench/pytorch_kernels.py [--threads 2] [--repeats 15] [--rounds 3] [--clock wall|cpu]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blas_threads  # noqa: E402

blas_threads.from_argv(default="2")  # before torch loads OpenBLAS
import torch  # noqa: E402


CLOCK = time.perf_counter


def median_seconds(fn, repeats, warmup_s=1.0):
    end = time.perf_counter() + warmup_s
    n = 0
    while n < 2 or time.perf_counter() < end:
        fn()
        n += 1
    times = []
    for _ in range(repeats):
        t = CLOCK()
        fn()
        times.append(CLOCK() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu: the calling thread's CPU time (needs --threads 1: OpenBLAS then runs on it)")
    args = p.parse_args()
    if args.clock == "cpu":
        if args.threads != 1:
            p.error("--clock cpu needs --threads 1")
        global CLOCK
        CLOCK = time.thread_time
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    for m, n, k in [(1024, 1024, 1024), (512, 4, 4608), (64, 256, 576)]:
        a = torch.rand(m, k, generator=g) * 2 - 1
        b = torch.rand(k, n, generator=g) * 2 - 1
        c = torch.empty(m, n)
        best = min(median_seconds(lambda: torch.mm(a, b, out=c), args.repeats) for _ in range(args.rounds))
        print(json.dumps({"kernel": "matmul", "m": m, "n": n, "k": k, "threads": args.threads,
                          "gflops": round(2.0 * m * n * k / best / 1e9, 2), "impl": "pytorch", "clock": args.clock},
                         separators=(",", ":")), flush=True)
    n = 32 * 1024 * 1024
    a = torch.rand(n, generator=g)
    b = torch.rand(n, generator=g)
    out = torch.empty(n)
    best = min(median_seconds(lambda: torch.add(a, b, out=out), args.repeats) for _ in range(args.rounds))
    print(json.dumps({"kernel": "add", "n": n, "threads": args.threads,
                      "gbps": round(12.0 * n / best / 1e9, 2), "impl": "pytorch", "clock": args.clock}, separators=(",", ":")),
          flush=True)
    print(json.dumps({"torch": torch.__version__, "openblas_num_threads": os.environ["OPENBLAS_NUM_THREADS"], "threads": torch.get_num_threads()}, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
