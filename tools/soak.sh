#!/usr/bin/env bash
# The full soak of issue 8: 1,000 resnet-step training steps (B=1, S=64) under -Xmx384m, with the heap
# after a full GC printed every 100 steps. Exit 0 when the heap at step 1,000 is within 5% of step 100
# and the first step's graph was collected. Extra arguments go to `autograd run soak` (e.g. --threads 1).
# Output: stdout, and the samples as JSON lines in target/soak.jsonl.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$root/target"
rm -f "$root/target/soak.jsonl"
export JAVA_OPTS="-Xmx384m ${JAVA_OPTS:-}"
exec "$root/autograd" run soak --steps 1000 --every 100 --batch 1 --size 64 --log "$root/target/soak.jsonl" "$@"
