#!/usr/bin/env python3
"""Entries a second through the Python binding: Ledger.log_batch and Ledger.log.

    TOKENBOOK_LIBRARY=build/libtokenbook.so.1 PYTHONPATH=bindings/python \\
        python3 bindings/python/bench_log.py [--batch N] [--batches K] [--single N] [--durability flush|fsync]

Each run logs into a fresh temporary ledger. log_batch is timed from the
list of dicts to the list of LogResults (argument conversion, the C call
with its one write, the results); the target is at least 100,000 entries a
second. Rates are given by wall clock and per CPU second of this process (the
latter is steadier on a shared machine). Exits nonzero when --min-batch-rate
is given and the wall-clock log_batch rate falls below it.
"""

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time

import tokenbook

MODELS = ("claude-sonnet-4-5", "claude-opus-4", "gpt-5", "gemini-2.5-pro")


def make_entries(n, start):
    base = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    return [
        {
            "model": MODELS[i % len(MODELS)],
            "input_tokens": 12_000 + i % 1000,
            "output_tokens": 4_500,
            "cache_read_tokens": 8_000,
            "cache_write_5m_tokens": 3_000,
            "timestamp": base + dt.timedelta(seconds=start + i),
            "session": f"s-{(start + i) // 100}",
            "agent": "planner" if i % 3 else "coder",
            "project": "bench",
            "tags": {"team": "core"},
        }
        for i in range(n)
    ]


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w0, time.process_time() - c0


def bench_batch(book, size, batches):
    wall, cpu = [], []
    for k in range(batches):
        entries = make_entries(size, k * size)
        results, w, c = timed(lambda: book.log_batch(entries))
        assert len(results) == size and all(r.appended for r in results)
        wall.append(size / w)
        cpu.append(size / c)
    return wall, cpu


def bench_single(book, n):
    entries = make_entries(n, 10_000_000)

    def run():
        for fields in entries:
            book.log(**fields)

    _, w, c = timed(run)
    return n / w, n / c


def bench_convert_only(size, batches):
    """The Python side of log_batch alone (building the C array), for scale."""
    from tokenbook import _batch

    rates = []
    for k in range(batches):
        entries = make_entries(size, k * size)
        _, _, c = timed(lambda: _batch.pack(entries))
        rates.append(size / c)
    return statistics.median(rates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10_000, help="entries per log_batch call")
    parser.add_argument("--batches", type=int, default=10, help="log_batch calls")
    parser.add_argument("--single", type=int, default=5_000, help="entries logged one log() call each")
    parser.add_argument("--durability", choices=("flush", "fsync"), default="flush")
    parser.add_argument("--min-batch-rate", type=float, default=0, help="fail below this many entries/s")
    args = parser.parse_args(argv)

    print(f"tokenbook {tokenbook.version()} (ABI {tokenbook.abi_version()}) from {tokenbook.library_path()}")
    print(f"Python {sys.version.split()[0]}, durability {args.durability}")
    with tempfile.TemporaryDirectory() as tmp:
        with tokenbook.Ledger(f"{tmp}/.tokenbook", durability=args.durability) as book:
            wall, cpu = bench_batch(book, args.batch, args.batches)
            single = bench_single(book, args.single) if args.single else None
            total = book.report(period="all")["totals"]["entries"]
    convert = bench_convert_only(args.batch, args.batches)
    median = statistics.median(wall)
    print(f"log_batch: {median:,.0f} entries/s wall, {statistics.median(cpu):,.0f} entries/s per CPU second "
          f"(medians over {args.batches} batches of {args.batch:,}; wall min {min(wall):,.0f}, max {max(wall):,.0f})")
    print(f"  building the C array alone: {convert:,.0f} entries/s per CPU second")
    if single is not None:
        print(f"log:       {single[0]:,.0f} entries/s wall, {single[1]:,.0f} entries/s per CPU second "
              f"over {args.single:,} calls")
    print(f"entries in the ledger: {total:,}")
    if args.min_batch_rate and median < args.min_batch_rate:
        print(f"FAIL: log_batch below {args.min_batch_rate:,.0f} entries/s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
