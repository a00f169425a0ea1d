#!/usr/bin/env python3
"""Log one working session's usage, then print this month's report by model.

    TOKENBOOK_LIBRARY=build/libtokenbook.so.1 PYTHONPATH=bindings/python \\
        python3 examples/python/monthly_report.py /tmp/some-dir

The ledger lives in DIR/.tokenbook (created when missing). Each run logs the
same session again under a new session id, so the report grows run by run;
money is exact integer micro-dollars throughout and printed as dollars.
"""

import sys
import uuid
from pathlib import Path

import tokenbook

# What an agent session might have used: (model, agent, input, output, cache read, cache write 5m).
SESSION = [
    ("claude-sonnet-4", "planner", 12_000, 4_500, 8_000, 3_000),
    ("claude-sonnet-4", "coder", 120_000, 35_000, 0, 0),
    ("claude-opus-4", "reviewer", 12_000, 4_500, 8_000, 3_000),
    ("gpt-5-mini", "summarizer", 40_000, 2_000, 0, 0),
    ("claude-sonnet-4", "coder", 60_000, 12_000, 30_000, 0),
]


def usd(micros):
    return f"${tokenbook.dollars(micros)}"  # exact: six decimals, never rounded


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} DIR", file=sys.stderr)
        return 2
    ledger_dir = Path(argv[1]) / ".tokenbook"
    session = f"s-{uuid.uuid4().hex[:8]}"

    with tokenbook.Ledger(ledger_dir) as book:
        logged = book.log_batch([
            {
                "model": model,
                "agent": agent,
                "session": session,
                "project": "example",
                "input_tokens": inp,
                "output_tokens": out,
                "cache_read_tokens": cache_read,
                "cache_write_5m_tokens": cache_write,
            }
            for model, agent, inp, out, cache_read, cache_write in SESSION
        ])
        session_cost = sum(r.cost_micros for r in logged)
        print(f"logged {len(logged)} entries for session {session}: {usd(session_cost)}")

        report = book.report(period="month", by=["model"])

    period = report["period"]
    print(f"\n{period['label']} ({period['tz']}) by model")
    print(f"{'model':<24} {'entries':>8} {'input':>12} {'output':>10} {'cost':>13}")
    for group in report["groups"]:
        print(f"{group['key']['model']:<24} {group['entries']:>8,} {group['input_tokens']:>12,} "
              f"{group['output_tokens']:>10,} {usd(group['cost_micros']):>13}")
    totals = report["totals"]
    print(f"{'total':<24} {totals['entries']:>8,} {totals['input_tokens']:>12,} "
          f"{totals['output_tokens']:>10,} {usd(totals['cost_micros']):>13}")
    if totals["unpriced_entries"]:
        print(f"warning: {totals['unpriced_entries']} entries have unknown models and no price")

    # The groups always add up to the total, to the micro-dollar.
    assert sum(g["cost_micros"] for g in report["groups"]) == totals["cost_micros"]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
