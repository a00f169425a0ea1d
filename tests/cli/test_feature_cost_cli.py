"""End-to-end tests of `tokenbook feature-cost` through the real binary."""
import json
import os
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-04-10T21:30:00Z"

# Exact costs; days are Berlin days (2026-04-05T22:30Z is April 6 there).
ENTRIES = [
    ["-m", "claude-sonnet-4-5", "--input", "12000", "--output", "3000", "--cache-read", "40000",
     "--cache-write-5m", "2000", "--cost", "0.2125", "--at", "2026-04-10T20:00:00Z", "--feature", "search",
     "--agent", "planner", "--category", "build", "--session", "s1"],
    ["-m", "gpt-5", "--input", "8000", "--output", "2000", "--cost", "1.10", "--at", "2026-04-05T22:30:00Z",
     "--feature", "search", "--agent", "coder", "--category", "test", "--session", "s2"],
    ["-m", "claude-haiku-4-5", "--input", "3000", "--output", "700", "--cost", "0.0042", "--at",
     "2026-03-31T22:30:00Z", "--feature", "ledger", "--agent", "reviewer", "--category", "review"],
    ["-m", "mystery-model", "--input", "500", "--output", "100", "--allow-unpriced", "--at", "2026-04-09T08:00:00Z",
     "--feature", "search", "--agent", "coder", "--session", "s2"],
    ["-m", "gpt-5", "--input", "1000", "--cost", "2.00", "--at", "2026-03-20T12:00:00Z", "--feature", "search",
     "--agent", "planner", "--category", "build"],
]

EXPECTED_TEXT = """Feature "search", all (Europe/Berlin)

              entries  tokens   cost   share
total               4  68,600  $3.31  100.0%

by agent
  planner           2  58,000  $2.21   66.8%
  coder             2  10,600  $1.10   33.2%

by category
  build             2  58,000  $2.21   66.8%
  test              1  10,000  $1.10   33.2%
  (none)            1     600  $0.00    0.0%

by day
  2026-03-20        1   1,000  $2.00   60.4%
  2026-04-06        1  10,000  $1.10   33.2%
  2026-04-09        1     600  $0.00    0.0%
  2026-04-10        1  57,000  $0.21    6.4%

warning: 1 unpriced entry (600 tokens) counted as $0.00: its model is not in the rate table
"""


def run(tmp_path, *args):
    env = dict(os.environ)
    for key in ("NO_COLOR", "TOKENBOOK_DIR", "XDG_DATA_HOME"):
        env.pop(key, None)
    env["HOME"] = str(tmp_path / "home")
    env["TOKENBOOK_NOW"] = NOW
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)


def make_ledger(tmp_path, entries=()):
    (tmp_path / "home").mkdir(exist_ok=True)
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "config.toml").write_text('time_zone = "Europe/Berlin"\n')
    (ledger / "ledger.jsonl").write_text("")
    for entry in entries:
        result = run(tmp_path, "--ledger", str(ledger), "log", "--project", "acme", *entry)
        assert result.returncode == 0, result.stderr
    return ledger


@pytest.fixture
def ledger(tmp_path):
    return make_ledger(tmp_path, ENTRIES)


def feature_cost(tmp_path, ledger, *args):
    return run(tmp_path, "--ledger", str(ledger), "feature-cost", *args)


def test_text_table(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger, "search")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == EXPECTED_TEXT


def test_json_figures_are_exact_and_groups_sum_to_the_total(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger, "search", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["feature"] == "search"
    assert doc["period"] == {"label": "all", "start": None, "end": None, "tz": "Europe/Berlin"}
    assert doc["bucket"] == "day"
    total = doc["totals"]
    assert total["entries"] == 4
    assert total["cost_micros"] == 3312500
    assert total["cost_usd"] == "3.312500"
    assert total["tokens"] == 68600
    assert total["unpriced_entries"] == 1
    assert total["unpriced_tokens"] == 600
    assert [(g["key"]["agent"], g["cost_micros"], g["entries"]) for g in doc["by_agent"]] == [
        ("planner", 2212500, 2), ("coder", 1100000, 2)]
    assert [(g["key"]["category"], g["cost_micros"]) for g in doc["by_category"]] == [
        ("build", 2212500), ("test", 1100000), ("", 0)]
    assert [(g["key"]["day"], g["cost_micros"]) for g in doc["timeline"]] == [
        ("2026-03-20", 2000000), ("2026-04-06", 1100000), ("2026-04-09", 0), ("2026-04-10", 212500)]
    assert doc["timeline"][1]["start"] == "2026-04-05T22:00:00.000Z"
    assert doc["timeline"][1]["end"] == "2026-04-06T22:00:00.000Z"
    assert [(g["key"]["day"], g["key"]["category"]) for g in doc["phases"]] == [
        ("2026-03-20", "build"), ("2026-04-06", "test"), ("2026-04-09", ""), ("2026-04-10", "build")]
    for part in ("by_agent", "by_category", "timeline", "phases"):
        assert sum(g["cost_micros"] for g in doc[part]) == total["cost_micros"], part
        assert sum(g["entries"] for g in doc[part]) == total["entries"], part
        assert sum(g["tokens"] for g in doc[part]) == total["tokens"], part
    assert doc["issues"] == []


def test_period_and_bucket(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger, "search", "--period", "2026-04", "--bucket", "week")
    assert result.returncode == 0, result.stderr
    assert result.stdout == """Feature "search", 2026-04 (Europe/Berlin)

              entries  tokens   cost   share
total               3  67,600  $1.31  100.0%

by agent
  coder             2  10,600  $1.10   83.8%
  planner           1  57,000  $0.21   16.2%

by category
  test              1  10,000  $1.10   83.8%
  build             1  57,000  $0.21   16.2%
  (none)            1     600  $0.00    0.0%

by week
  2026-04-06        3  67,600  $1.31  100.0%

warning: 1 unpriced entry (600 tokens) counted as $0.00: its model is not in the rate table
"""


def test_since_and_until(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger, "search", "--since", "2026-04-01", "--until", "2026-04-09", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["period"]["label"] == "2026-04-01..2026-04-09"
    assert doc["period"]["start"] == "2026-03-31T22:00:00.000Z"
    assert doc["period"]["end"] == "2026-04-09T22:00:00.000Z"
    assert doc["totals"]["entries"] == 2
    assert doc["totals"]["cost_micros"] == 1100000


def test_tz_overrides_the_config(tmp_path, ledger):
    result = run(tmp_path, "--ledger", str(ledger), "--tz", "UTC", "feature-cost", "search", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["period"]["tz"] == "UTC"
    assert [g["key"]["day"] for g in doc["timeline"]] == ["2026-03-20", "2026-04-05", "2026-04-09", "2026-04-10"]


def test_feature_without_entries_names_the_ones_that_have_some(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger, "serch")
    assert result.returncode == 0
    assert result.stdout == 'no entries for feature "serch"\nfeatures with entries: search, ledger\n'
    assert result.stderr == ""


def test_feature_without_entries_in_the_period(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger, "ledger", "--period", "2026-03-20")
    assert result.returncode == 0
    assert result.stdout == ('no entries for feature "ledger" in 2026-03-20\n'
                             "features with entries in 2026-03-20: search\n")


def test_feature_without_entries_as_json(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger, "serch", "--json")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert doc["feature"] == "serch"
    assert doc["totals"]["entries"] == 0
    assert doc["totals"]["cost_micros"] == 0
    assert doc["totals"]["first"] is None
    assert doc["by_agent"] == [] and doc["by_category"] == [] and doc["timeline"] == [] and doc["phases"] == []


def test_empty_feature_selects_entries_without_one(tmp_path):
    ledger = make_ledger(tmp_path, [["-m", "gpt-5", "--cost", "0.25", "--at", "2026-04-01T10:00:00Z"],
                                    ["-m", "gpt-5", "--cost", "1", "--at", "2026-04-02T10:00:00Z", "--feature", "x"]])
    result = feature_cost(tmp_path, ledger, "", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["totals"]["entries"] == 1
    assert doc["totals"]["cost_micros"] == 250000


def test_empty_ledger_is_graceful(tmp_path):
    ledger = make_ledger(tmp_path)
    result = feature_cost(tmp_path, ledger, "search")
    assert result.returncode == 0
    assert result.stdout == 'no entries for feature "search"\n'
    assert result.stderr == ""


def test_missing_ledger_exits_66_with_one_line(tmp_path):
    (tmp_path / "home").mkdir()
    result = run(tmp_path, "--ledger", str(tmp_path / "nowhere"), "feature-cost", "search")
    assert result.returncode == 66
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("tokenbook: no ledger at ")


def test_skipped_lines_are_warned_about(tmp_path, ledger):
    with open(ledger / "ledger.jsonl", "a") as f:
        f.write("garbage\n")
    result = feature_cost(tmp_path, ledger, "search", "--json")
    assert result.returncode == 0
    assert result.stderr == (f"tokenbook: warning: {ledger}/ledger.jsonl:6: invalid JSON at column 1: "
                             "Invalid value. (line skipped)\n")
    doc = json.loads(result.stdout)
    assert doc["issues"] == [{"file": f"{ledger}/ledger.jsonl", "line": 6,
                              "message": "invalid JSON at column 1: Invalid value."}]
    assert doc["totals"]["cost_micros"] == 3312500


def test_control_characters_in_names_are_not_printed(tmp_path):
    ledger = make_ledger(tmp_path, [["-m", "gpt-5", "--cost", "0.5", "--at", "2026-04-01T10:00:00Z",
                                     "--feature", "f", "--agent", "evil\x1b[31mred"]])
    result = feature_cost(tmp_path, ledger, "f")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "  evil?[31mred" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--period", "fortnight"], 'tokenbook: unknown period "fortnight"'),
    (["--since", "someday"], 'tokenbook: bad since "someday"'),
    (["--bucket", "year"], 'tokenbook: --bucket: "year" is not one of hour, day, week, month'),
])
def test_bad_flags_are_usage_errors(tmp_path, ledger, args, message):
    result = feature_cost(tmp_path, ledger, "search", *args)
    assert result.returncode == 64
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1


def test_feature_is_required(tmp_path, ledger):
    result = feature_cost(tmp_path, ledger)
    assert result.returncode == 64
