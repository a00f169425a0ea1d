"""End-to-end tests of `tokenbook migrate` through the real binary."""
import json
import os
import re
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-11-22T12:00:00Z"

# claude-sonnet-4-5 at $3/MTok in, $15/MTok out: 1,000 in + 500 out = 3,000 + 7,500 µ$.
SONNET_1000_500 = 10_500


class Env:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.dir = tmp_path / "ledger"
        self.path = self.dir / "ledger.jsonl"
        self.home = tmp_path / "home"
        self.home.mkdir()

    def file(self, name, lines, raw=False):
        path = self.tmp / name
        text = "".join((line if raw else json.dumps(line)) + "\n" for line in lines)
        path.write_text(text)
        return path

    def run(self, *args):
        env = {k: v for k, v in os.environ.items()
               if k not in ("NO_COLOR", "TOKENBOOK_DIR", "XDG_DATA_HOME", "TOKENBOOK_NOW")}
        env.update({"HOME": str(self.home), "TOKENBOOK_NOW": NOW})
        return subprocess.run([CLI, "--ledger", str(self.dir), *args], capture_output=True, text=True, env=env,
                              check=False, cwd=self.tmp)

    def migrate_json(self, *args):
        result = self.run("migrate", *args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def entries(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]

    def bytes(self):
        return self.path.read_bytes() if self.path.exists() else None


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def error_lines(result):
    return result.stderr.splitlines()


def shape1(ts="2025-09-30T12:00:00Z", session="s1", model="claude-sonnet-4-5-20250929", inp=1000, out=500,
           cost=0.0105, notes="hello"):
    return {"timestamp": ts, "session": session, "model": model, "input_tokens": inp, "output_tokens": out,
            "total_tokens": inp + out, "cost_usd": cost, "notes": notes}


def shape2(ts="2025-10-01T08:15:30.5+02:00", **over):
    line = {"timestamp": ts, "session_id": "abc", "project": "webapp", "model": "claude-sonnet-4-5", "tool": "aider",
            "input_tokens": 2000, "output_tokens": 300, "cache_read_tokens": 50000, "cache_write_tokens": 4000,
            "cost_usd": "0.0315", "task_type": "refactor", "duration_seconds": 12.3456}
    line.update(over)
    return line


def test_shape_one_keeps_the_reported_cost_exactly(env):
    f = env.file("old.jsonl", [shape1(), shape1(ts="2025-09-30T12:00:01Z", cost="0.0000025", notes="tiny"),
                               shape1(ts="2025-09-30T12:00:02Z", cost=3.5e-06, notes="e")])
    doc = env.migrate_json(str(f))
    assert (doc["entries"], doc["imported"], doc["already_present"]) == (3, 3, 0)
    got = env.entries()
    # Half-even to the micro-dollar: 2.5 -> 2, 3.5 -> 4.
    assert [e["cost_micros"] for e in got] == [10500, 2, 4]
    assert [e["cost_source"] for e in got] == ["reported"] * 3
    first = got[0]
    assert first["ts"] == "2025-09-30T12:00:00.000Z"
    assert first["model"] == "claude-sonnet-4-5"  # resolved from the dated spelling
    assert first["provider"] == "anthropic"
    assert first["tokens"] == {"input": 1000, "output": 500}
    assert first["session"] == "s1"
    assert first["notes"] == "hello"
    assert first["source"]["kind"] == "migrate"
    assert re.fullmatch(r"migrate:[0-9a-f]{32}:1", first["source"]["key"])
    assert "rates_as_of" not in first


def test_shape_two_maps_cache_duration_and_dimensions(env):
    f = env.file("new.jsonl", [shape2(), shape2(ts="2025-10-01 08:15:30", session_id="naive"),
                               shape2(ts="2025-10-01T06:15:30", session_id="naive-t")])
    env.migrate_json(str(f))
    got = env.entries()
    assert [e["ts"] for e in got] == ["2025-10-01T06:15:30.500Z", "2025-10-01T08:15:30.000Z",
                                      "2025-10-01T06:15:30.000Z"]
    e = got[0]
    assert e["tokens"] == {"input": 2000, "output": 300, "cache_read": 50000, "cache_write_5m": 4000}
    assert e["cost_micros"] == 31500
    assert e["duration_ms"] == 12346  # 12.3456 s, half-even to the millisecond
    assert (e["session"], e["project"], e["tool"], e["task_type"]) == ("abc", "webapp", "aider", "refactor")


def test_a_naive_timestamp_is_read_in_the_ledger_zone_or_tz(env):
    f = env.file("naive.jsonl", [shape1(ts="2025-07-01T12:00:00", cost=0.0105)])
    doc = env.migrate_json("--dry-run", str(f))  # no ledger yet: UTC
    assert (doc["naive_timestamps"], doc["naive_time_zone"]) == (1, "UTC")
    result = env.run("--tz", "Europe/Paris", "migrate", str(f))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "1 timestamp without a UTC offset read in Europe/Paris"
    assert env.entries()[0]["ts"] == "2025-07-01T10:00:00.000Z"
    # The key holds the text as written: read in another zone later, it is the same record.
    again = env.migrate_json(str(f))
    assert (again["imported"], again["already_present"]) == (0, 1)


def test_our_price_is_checked_and_differences_flagged_exactly(env):
    f = env.file("check.jsonl", [
        shape1(cost=0.0105),                                    # equal to ours
        shape1(ts="2025-09-30T12:05:00Z", cost="0.012"),        # 1,500 µ$ above ours
        shape1(ts="2025-09-30T12:06:00Z", model="acme-llm-1", cost=0.5),  # not in our table
        shape1(ts="2025-09-30T12:07:00Z", model="gpt-5"),       # no cost: we price it
    ])
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    del lines[3]["cost_usd"]
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))

    result = env.run("migrate", str(f))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"{f.name}: 4 entries read".replace(f.name, str(f)),
        "imported 4 new entries, 0 already in the ledger",
        "reported cost $0.022500 on 2 entries; our price $0.021000 (ours - reported: -$0.001500)",
        "our price differs on 1 entry (the reported cost is what is recorded):",
        f"  {f}:2  claude-sonnet-4-5  reported $0.012000  ours $0.010500  (-$0.001500)",
        "not checked, the model is not in the rate table (the reported cost is recorded):",
        f"  {f}:3  acme-llm-1  reported $0.500000",
        "1 entry without cost_usd priced from the rate table",
    ]
    got = env.entries()
    assert [e["cost_micros"] for e in got] == [10500, 12000, 500000, 6250]
    assert [e["cost_source"] for e in got] == ["reported", "reported", "reported", "computed"]
    assert got[2]["model"] == "acme-llm-1" and "provider" not in got[2]
    assert got[3]["rates_as_of"]

    doc = env.migrate_json("--dry-run", str(f))
    check = doc["price_check"]
    assert (check["entries"], check["reported_micros"], check["ours_micros"], check["difference_micros"]) == \
        (2, 22500, 21000, -1500)
    assert check["differences"] == [{"line": 2, "model": "claude-sonnet-4-5", "reported_micros": 12000,
                                     "reported_usd": "0.012000", "ours_micros": SONNET_1000_500,
                                     "ours_usd": "0.010500", "difference_micros": -1500,
                                     "difference_usd": "-0.001500"}]
    assert check["unknown_models"] == [{"line": 3, "model": "acme-llm-1", "reported_micros": 500000,
                                        "reported_usd": "0.500000"}]
    assert (doc["computed_entries"], doc["unpriced_entries"]) == (1, 0)


def test_unknown_model_without_a_cost_is_recorded_unpriced(env):
    line = shape1(model="acme-llm-1")
    del line["cost_usd"]
    doc = env.migrate_json(str(env.file("u.jsonl", [line])))
    assert doc["unpriced_entries"] == 1
    e = env.entries()[0]
    assert (e["cost_source"], e["cost_micros"]) == ("unpriced", 0)


def test_migrating_twice_adds_nothing_and_identical_lines_are_both_kept(env):
    f = env.file("twice.jsonl", [shape1(), shape1(), shape2()])
    first = env.migrate_json(str(f))
    assert (first["imported"], first["already_present"]) == (3, 0)
    keys = [e["source"]["key"] for e in env.entries()]
    assert keys[0].endswith(":1") and keys[1].endswith(":2") and keys[0][:-2] == keys[1][:-2]
    before = env.bytes()

    second = env.run("migrate", str(f))
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[:2] == [f"{f}: 3 entries read", "imported 0 new entries, 3 already in the ledger"]
    assert env.bytes() == before

    # The same records spelled differently (key order, number spelling, offset form) are the same records.
    respelled = env.file("respelled.jsonl", [
        '{"notes": "hello", "cost_usd": "0.010500", "total_tokens": 1500, "output_tokens": 500, "input_tokens": 1000, '
        '"model": "claude-sonnet-4-5-20250929", "session": "s1", "timestamp": "2025-09-30T14:00:00+02:00"}',
        '{"timestamp": "2025-09-30T12:00:00.000Z", "session": "s1", "model": "claude-sonnet-4-5-20250929", '
        '"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500, "cost_usd": 1.05e-2, "notes": "hello"}',
    ], raw=True)
    third = env.migrate_json(str(respelled))
    assert (third["imported"], third["already_present"]) == (0, 2)
    assert env.bytes() == before

    # A line the tool appended later is the only thing a new run adds.
    with f.open("a") as out:
        out.write(json.dumps(shape1()) + "\n")
    fourth = env.migrate_json(str(f))
    assert (fourth["imported"], fourth["already_present"]) == (1, 3)
    assert env.bytes().startswith(before)
    assert env.entries()[-1]["source"]["key"] == keys[0][:-2] + ":3"


def test_existing_entries_are_kept_byte_for_byte(env):
    env.dir.mkdir()
    existing = ('{"v":1,"id":"01JD3Q5Z8X9K2M4N6P7R0S1T2V","ts":"2026-11-01T00:00:00.000Z","model":"gpt-5",'
                '"tokens":{"input":10},"requests":1,"cost_micros":13,"cost_usd":"0.000013",'
                '"cost_source":"computed"}\n')
    env.path.write_text(existing)
    env.migrate_json(str(env.file("a.jsonl", [shape1()])))
    text = env.path.read_text()
    assert text.startswith(existing)
    assert len(text.splitlines()) == 2


def bad_file(env):
    return env.file("bad.jsonl", [
        json.dumps(shape1()),
        json.dumps(shape1(inp=1.5)),
        "[1, 2]",
        '{"timestamp": "2025-09-30T12:00:00Z", "model": "gpt-5"',
        json.dumps({"hello": "world"}),
        json.dumps(shape1(cost="-0.01")),
        json.dumps(shape1(ts="yesterday")),
        json.dumps(shape2(output_tokens="300")),
        '{"timestamp": "2025-09-30T12:00:00Z", "model": "a", "model": "b", "input_tokens": 1, "output_tokens": 1}',
        json.dumps(shape1(ts="1970-01-01T00:00:00Z")),
        json.dumps(shape2(duration_seconds=-1)),
        json.dumps(shape1(inp=2**62)),
        json.dumps(shape2(session_id="other", session="mine")),
        "",
        json.dumps(shape2()),
    ], raw=True)


BAD_MESSAGES = [
    ':2: field "input_tokens": expected a whole number of tokens, got 1.5',
    ":3: not a JSON object",
    ":4: invalid JSON at column 55: Missing a comma or '}' after an object member.",
    ':5: field "timestamp": missing (a line needs timestamp, model, input_tokens and output_tokens)',
    ':6: field "cost_usd": must not be negative, got "-0.01"',
    ':7: field "timestamp": "yesterday" is not RFC 3339 (2025-09-30T12:00:00Z, 2025-09-30T14:00:00.250+02:00 or, '
    'read in UTC, 2025-09-30T12:00:00)',
    ':8: field "output_tokens": expected a whole number of tokens, got "300"',
    ':9: field "model": given twice',
    ':10: field "timestamp": "1970-01-01T00:00:00Z" is the Unix epoch itself, which cannot be recorded',
    ':11: field "duration_seconds": must not be negative, got -1',
    ':12: field "input_tokens": too large (at most 4611686018427387903), got 4611686018427387904',
    ':13: field "session_id": "other" differs from session "mine"',
]


def test_bad_lines_are_all_reported_and_nothing_is_imported(env):
    f = bad_file(env)
    env.dir.mkdir()
    env.path.write_text("")
    result = env.run("migrate", str(f))
    assert result.returncode == 65
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"tokenbook: {f}{m}" for m in BAD_MESSAGES] + [
        f"tokenbook: 12 bad lines in {f}; nothing imported (fix them, or import the other 2 lines with --skip-bad)"]
    assert env.bytes() == b""

    doc = json.loads(env.run("migrate", str(f), "--json").stdout)
    assert (doc["error"], doc["imported"], doc["entries"]) == ("bad_lines", 0, 2)
    assert [(b["line"], b["field"]) for b in doc["bad_lines"]][:3] == [(2, "input_tokens"), (3, None), (4, None)]
    assert doc["bad_lines"][0]["message"] == "expected a whole number of tokens, got 1.5"
    assert doc["bad_lines"][0]["text"] == f"{f}{BAD_MESSAGES[0]}"
    assert env.bytes() == b""


def test_skip_bad_imports_the_good_lines_and_still_reports_the_bad(env):
    f = bad_file(env)
    result = env.run("migrate", "--skip-bad", str(f))
    assert result.returncode == 0
    assert result.stderr.splitlines() == [f"tokenbook: {f}{m}" for m in BAD_MESSAGES]
    assert result.stdout.splitlines()[:2] == [f"{f}: 2 entries read, 12 bad lines skipped",
                                              "imported 2 new entries, 0 already in the ledger"]
    assert [e["session"] for e in env.entries()] == ["s1", "abc"]


def test_dry_run_writes_nothing(env):
    f = env.file("d.jsonl", [shape1(), shape2()])
    result = env.run("migrate", "--dry-run", str(f))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"{f}: 2 entries read",
                                              "dry run: would import 2 new entries, 0 already in the ledger; "
                                              "nothing written"]
    assert not env.dir.exists()
    env.migrate_json(str(env.file("one.jsonl", [shape1()])))
    before = env.bytes()
    doc = env.migrate_json("-n", str(f))
    assert (doc["dry_run"], doc["imported"], doc["already_present"]) == (True, 1, 1)
    assert env.bytes() == before


def test_empty_file_imports_nothing(env):
    f = env.tmp / "empty.jsonl"
    f.write_text("\n  \n")
    result = env.run("migrate", str(f))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{f}: 0 entries read", "imported 0 new entries, 0 already in the ledger"]
    doc = env.migrate_json(str(f))
    assert (doc["entries"], doc["imported"], doc["bad_lines"]) == (0, 0, [])
    assert env.bytes() == b""


@pytest.mark.parametrize("args, code, message", [
    (["missing.jsonl"], 66, "tokenbook: cannot read missing.jsonl: No such file or directory"),
    (["."], 66, "tokenbook: cannot read .: it is a directory"),
    (["--bogus", "x.jsonl"], 64,
     "tokenbook: The following argument was not expected: --bogus (see `tokenbook migrate --help`)"),
    ([], 64, "tokenbook: file is required (see `tokenbook migrate --help`)"),
])
def test_bad_input_is_one_clear_error_and_changes_nothing(env, args, code, message):
    env.dir.mkdir()
    env.path.write_text("")
    result = env.run("migrate", *args)
    assert result.returncode == code
    assert error_lines(result) == [message]
    assert env.bytes() == b""


def test_an_unreadable_file_creates_no_ledger(env):
    result = env.run("migrate", "missing.jsonl")
    assert result.returncode == 66
    assert not env.dir.exists()
