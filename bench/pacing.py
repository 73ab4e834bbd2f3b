"""The `--paced` protocol of bench/compare's side-by-side runs, for the PyTorch scripts."""
import sys
import time


def paced_turns(count, untimed, timed):
    """PyTorch's side of `--paced`: prints 'ready', then obeys stdin line by line and prints 'done' after each.

    'warm SECONDS' runs untimed() until that many seconds have passed (at least once), 'go N' runs
    timed() N times; count timed runs in all. The protocol of autograd's BenchOptions.repeat, spoken
    by bench/compare's measure().
    """
    print("ready", flush=True)
    done = 0
    while done < count:
        line = sys.stdin.readline()
        if not line:
            raise SystemExit("--paced: stdin ended after %d of %d timed repeats" % (done, count))
        turn = line.split()
        if len(turn) == 2 and turn[0] == "warm" and seconds(turn[1]) >= 0:
            end = time.perf_counter() + seconds(turn[1])
            untimed()
            while time.perf_counter() < end:
                untimed()
        elif len(turn) == 2 and turn[0] == "go" and turn[1].isdigit() and 1 <= int(turn[1]) <= count - done:
            for _ in range(int(turn[1])):
                timed()
                done += 1
        else:
            raise SystemExit("--paced: expected 'warm SECONDS' or 'go N' on stdin, got %r" % line.strip())
        print("done", flush=True)


def seconds(text):
    try:
        value = float(text)
    except ValueError:
        return -1
    return value if value == value and value != float("inf") else -1
