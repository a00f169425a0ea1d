#!/usr/bin/env python3
"""Whole-process cost of `tokenbook log`: start, price, append, budget impact, exit.

Spawns the real binary N times (posix_spawn, no shell) against a ledger with
a daily and a monthly budget, first empty, then holding PREFILL entries, and
prints wall time (min / median / p90) and CPU time (user + system) per call.
Also times `tokenbook --version`, the floor any command pays to start.

  /usr/bin/python3 bench/cli_log_bench.py build/release/tokenbook [N] [PREFILL]
"""
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def measure(argv, n):
    walls = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(n):
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status = os.waitpid(pid, 0)
        walls.append((time.perf_counter() - start) * 1000)
        if status != 0:
            raise SystemExit(f"{argv} failed with status {status}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.close(devnull)
    cpu = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000 / n
    walls.sort()
    return (f"wall min {walls[0]:.2f} ms, median {statistics.median(walls):.2f} ms, "
            f"p90 {walls[int(n * 0.9)]:.2f} ms; cpu {cpu:.2f} ms per call")


def ulid(i):
    out = []
    for _ in range(26):
        out.append(CROCKFORD[i % 32])
        i //= 32
    return "0" + "".join(reversed(out))[1:]


def main():
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    prefill = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    root = tempfile.mkdtemp(prefix="tokenbook-log-bench-")
    try:
        ledger = os.path.join(root, ".tokenbook")
        os.makedirs(ledger, mode=0o700)
        with open(os.path.join(ledger, "config.toml"), "w") as f:
            f.write('[budgets]\ndaily = "100000"\nmonthly = "1000000"\n')
        log = [binary, "--ledger", ledger, "log", "--model", "claude-sonnet-4-5", "--input", "12000",
               "--output", "4500", "--cache-read", "8000", "--session", "bench", "--agent", "bench"]
        print("tokenbook --version       :", measure([binary, "--version"], n))
        print("log, empty ledger          :", measure(log, n))
        # A ledger of PREFILL entries (copies of a logged line with fresh ids), as a busy month leaves it.
        with open(os.path.join(ledger, "ledger.jsonl")) as f:
            template = json.loads(f.readline())
        with open(os.path.join(ledger, "ledger.jsonl"), "a") as f:
            for i in range(prefill):
                template["id"] = ulid(i + 1)
                f.write(json.dumps(template, separators=(",", ":")) + "\n")
        measure(log, 1)  # the first call after the bulk write reads it all once and caches the totals
        print(f"log, {prefill:,} entries  :", measure(log, n))
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
