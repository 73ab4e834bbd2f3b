"""Sizes OpenBLAS's threads like torch's, for the PyTorch scripts; call it before importing torch.

Debian's torch multiplies matrices (torch.mm, the fc layer's addmm) with OpenBLAS, whose thread pool
is sized once, when the library loads, by OPENBLAS_NUM_THREADS, whatever torch.set_num_threads says.
Without this a script run with --threads 1 still multiplies on every core: torch.mm of 64x576 by
576x256 after torch.set_num_threads(1) kept both cores busy (CPU time twice the wall time; 2026-11-23).
bench/compare sets the same variables for the processes it starts.
"""
import os
import sys


def from_argv(default=None):
    """OPENBLAS_NUM_THREADS and OMP_NUM_THREADS = the --threads argument (else default), unless already set."""
    threads = default
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            threads = sys.argv[i + 1]
        elif arg.startswith("--threads="):
            threads = arg.split("=", 1)[1]
    if threads is not None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
