#!/usr/bin/env python3
"""Whole-process cost of `tokenbook statusline` on ledgers of growing size.

For each size, writes a ledger of that many entries spread over the 60 days
before a pinned "now" (2,000 sessions, Claude and OpenAI models, a daily,
weekly, monthly and session budget), then spawns the real binary (posix_spawn,
no shell) with Claude Code's status JSON on stdin:

  first     the first run, with no cache/statusline.bin (reads the ledger whole)
  warm      later runs with nothing new in the ledger
  appended  runs after one more entry was appended each time (the usual case
            after a turn: the hook ingested it)

and prints wall time (min / median / p90) and CPU (user + system) per call.

  /usr/bin/python3 bench/statusline_bench.py build/release/tokenbook [RUNS] [SIZE...]
"""
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NOW_MS = 1_776_000_000_000  # 2026-04-12T13:20:00Z
INPUT = json.dumps({"session_id": "sess-7", "model": {"id": "claude-opus-4-6", "display_name": "Opus"},
                    "cost": {"total_cost_usd": 1.25}}).encode()
MODELS = [("claude-opus-4-6", "anthropic"), ("claude-sonnet-4-5", "anthropic"), ("gpt-5", "openai")]


def ulid(ms, i):
    out = []
    v = (ms << 80) | i
    for _ in range(26):
        out.append(CROCKFORD[v & 31])
        v >>= 5
    return "".join(reversed(out))


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def line(rng, i, ms):
    model, provider = MODELS[rng.randrange(3)]
    cost = rng.randrange(1, 400_000)
    return json.dumps({"v": 1, "id": ulid(ms, i), "ts": iso(ms), "model": model, "provider": provider,
                       "tokens": {"input": rng.randrange(5000), "output": rng.randrange(900)}, "requests": 1,
                       "cost_micros": cost, "cost_usd": f"{cost / 1e6:.6f}", "cost_source": "override",
                       "session": f"sess-{rng.randrange(2000)}", "agent": "bench", "tool": "claude-code"},
                      separators=(",", ":")) + "\n"


def run(argv, n, before=None):
    walls = []
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(n):
        if before:
            before()
        r, w = os.pipe()
        os.write(w, INPUT)
        os.close(w)
        devnull = os.open(os.devnull, os.O_WRONLY)
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, r, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)])
        _, status = os.waitpid(pid, 0)
        walls.append((time.perf_counter() - start) * 1000)
        os.close(r)
        os.close(devnull)
        if status != 0:
            raise SystemExit(f"{argv} failed with status {status}")
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ((usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)) * 1000 / n
    walls.sort()
    return (f"wall min {walls[0]:7.2f} ms, median {statistics.median(walls):7.2f} ms, "
            f"p90 {walls[min(n - 1, int(n * 0.9))]:7.2f} ms; cpu {cpu:7.2f} ms")


def main():
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    sizes = [int(s) for s in sys.argv[3:]] or [10_000, 100_000, 1_000_000]
    os.environ["TOKENBOOK_NOW"] = iso(NOW_MS)
    root = tempfile.mkdtemp(prefix="tokenbook-statusline-bench-")
    try:
        for size in sizes:
            ledger = os.path.join(root, f"l{size}")
            os.makedirs(ledger, mode=0o700)
            with open(os.path.join(ledger, "config.toml"), "w") as f:
                f.write('[budgets]\ndaily = 100\nweekly = 500\nmonthly = 2000\nsession = 20\n')
            rng = random.Random(size)
            path = os.path.join(ledger, "ledger.jsonl")
            with open(path, "w") as f:
                for i in range(size):
                    f.write(line(rng, i, NOW_MS - rng.randrange(60 * 86_400_000)))
            argv = [binary, "--ledger", ledger, "statusline"]
            cache = os.path.join(ledger, "cache", "statusline.bin")

            def drop_cache():
                if os.path.exists(cache):
                    os.unlink(cache)

            counter = [size]

            def append_one():
                counter[0] += 1
                with open(path, "a") as f:
                    f.write(line(rng, counter[0], NOW_MS - rng.randrange(3_600_000)))

            mb = os.path.getsize(path) / 1e6
            print(f"{size:>9,} entries ({mb:.0f} MB)")
            print("  first    :", run(argv, max(3, runs // 5), before=drop_cache))
            run(argv, 1)
            print("  warm     :", run(argv, runs))
            print("  appended :", run(argv, runs, before=append_one))
            shutil.rmtree(ledger)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
