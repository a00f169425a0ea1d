"""End-to-end tests of `tokenbook blocks`, `anomalies`, `suggest`, `route` and `statusline` through the real binary."""
import json
import os
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-04-10T21:05:00Z"

STATUS_INPUT = json.dumps({
    "session_id": "6513270e-269e-4d37-b2a7-4de452e6b438",
    "transcript_path": "/home/dev/.claude/projects/-home-dev-work-proj-0/6513270e.jsonl",
    "cwd": "/home/dev/work/proj-0",
    "version": "2.1.9",
    "model": {"id": "claude-opus-4-6", "display_name": "Opus"},
    "workspace": {"current_dir": "/home/dev/work/proj-0", "project_dir": "/home/dev/work/proj-0"},
    "output_style": {"name": "default"},
    "exceeds_200k_tokens": False,
    "cost": {"total_cost_usd": 1.2345, "total_duration_ms": 600000, "total_api_duration_ms": 200000,
             "total_lines_added": 120, "total_lines_removed": 30},
})


def run(tmp_path, *args, now=NOW, stdin=None):
    env = dict(os.environ)
    for key in ("NO_COLOR", "TOKENBOOK_DIR", "TOKENBOOK_NOW", "XDG_DATA_HOME"):
        env.pop(key, None)
    env["HOME"] = str(tmp_path / "home")
    if now:
        env["TOKENBOOK_NOW"] = now
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
                          input=stdin if stdin is not None else "")


def make_ledger(tmp_path, config="", entries=()):
    (tmp_path / "home").mkdir(exist_ok=True)
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "config.toml").write_text(config)
    (ledger / "ledger.jsonl").write_text("")
    for entry in entries:
        result = run(tmp_path, "--ledger", str(ledger), "log", *entry)
        assert result.returncode == 0, result.stderr
    return ledger


def book(tmp_path, ledger, *args, **kwargs):
    return run(tmp_path, "--ledger", str(ledger), *args, **kwargs)


# ---------------------------------------------------------------------------
# blocks

BLOCK_ENTRIES = [
    ["-m", "claude-sonnet-4-5", "--input", "1000", "--cost", "1.00", "--at", "2026-04-10T09:10:00Z"],
    ["-m", "claude-sonnet-4-5", "--input", "2000", "--cost", "2.00", "--at", "2026-04-10T13:59:00Z"],
    ["-m", "claude-sonnet-4-5", "--input", "500", "--cost", "0.50", "--at", "2026-04-10T14:00:00Z"],
    ["-m", "claude-haiku-4-5", "--input", "10000", "--cost", "1.00", "--at", "2026-04-10T20:05:00Z", "--session", "S"],
    ["-m", "claude-sonnet-4-5", "--input", "5000", "--cost", "0.50", "--at", "2026-04-10T20:35:00Z", "--session", "S"],
    ["-m", "gpt-5", "--input", "100", "--cost", "9.00", "--at", "2026-04-10T20:40:00Z"],
]


@pytest.fixture
def blocks_ledger(tmp_path):
    return make_ledger(tmp_path, config="[budgets]\ndaily = 20\nmonthly = 100\n", entries=BLOCK_ENTRIES)


def test_blocks_json_boundaries_burn_rate_and_projection(tmp_path, blocks_ledger):
    result = book(tmp_path, blocks_ledger, "blocks", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["now"] == "2026-04-10T21:05:00.000Z"
    assert doc["block_hours"] == 5
    blocks = doc["blocks"]
    assert [(b["start"], b["end"], b["entries"], b["cost_micros"], b["tokens"], b["active"]) for b in blocks] == [
        ("2026-04-10T09:00:00.000Z", "2026-04-10T14:00:00.000Z", 2, 3000000, 3000, False),
        # 14:00:00 is the first block's end: it starts the next one.
        ("2026-04-10T14:00:00.000Z", "2026-04-10T19:00:00.000Z", 1, 500000, 500, False),
        ("2026-04-10T20:00:00.000Z", "2026-04-11T01:00:00.000Z", 2, 1500000, 15000, True),
    ]
    assert [b["gap_before_ms"] for b in blocks] == [0, 0, 3600000]
    # 09:10 -> 13:59 is 17,340,000 ms: 3,000,000 µ$ × 3,600,000 / 17,340,000 = 622,837.37 -> 622,837.
    assert blocks[0]["burn_rate"] == {"window_ms": 17340000, "tokens_per_hour": 623,
                                      "cost_per_hour_micros": 622837, "cost_per_hour_usd": "0.622837"}
    assert blocks[0]["projection"] is None
    assert blocks[1]["burn_rate"] is None  # one entry is no pace
    assert blocks[2]["models"] == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    assert blocks[2]["burn_rate"] == {"window_ms": 3600000, "tokens_per_hour": 15000,
                                      "cost_per_hour_micros": 1500000, "cost_per_hour_usd": "1.500000"}
    assert blocks[2]["projection"] == {"remaining_ms": 14100000, "tokens": 73750, "cost_micros": 7375000,
                                       "cost_usd": "7.375000"}


def test_blocks_text(tmp_path, blocks_ledger):
    result = book(tmp_path, blocks_ledger, "blocks")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Usage blocks: 5-hour windows from the first entry's UTC hour (times in UTC)\n"
        "block                   entries  tokens   cost     burn  note\n"
        "2026-04-10 09:00-14:00        2   3,000  $3.00  $0.62/h\n"
        "2026-04-10 14:00-19:00        1     500  $0.50        -\n"
        "2026-04-10 20:00-01:00        2  15,000  $1.50  $1.50/h  active, 3h55m left\n"
        "Active block: $1.50 so far at $1.50/h (15,000 tokens/h); projected $7.38 and 73,750 tokens by 01:00.\n")
    assert result.stderr == ""


def test_blocks_active_only_other_zone_and_all_providers(tmp_path, blocks_ledger):
    result = book(tmp_path, blocks_ledger, "blocks", "--active", "--json")
    assert result.returncode == 0, result.stderr
    assert [b["start"] for b in json.loads(result.stdout)["blocks"]] == ["2026-04-10T20:00:00.000Z"]

    result = book(tmp_path, blocks_ledger, "--tz", "Europe/Berlin", "blocks", "--active")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2].startswith("2026-04-10 22:00-03:00 ")

    result = book(tmp_path, blocks_ledger, "blocks", "--active", "--all-providers", "--json")
    assert json.loads(result.stdout)["blocks"][0]["cost_micros"] == 10500000
    result = book(tmp_path, blocks_ledger, "blocks", "--model", "gpt-5", "--json")
    assert [(b["start"], b["cost_micros"]) for b in json.loads(result.stdout)["blocks"]] == [
        ("2026-04-10T20:00:00.000Z", 9000000)]

    result = book(tmp_path, blocks_ledger, "blocks", "--active", now="2026-04-11T01:00:00Z")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "No active usage block.\n"


def test_blocks_errors(tmp_path, blocks_ledger):
    result = book(tmp_path, blocks_ledger, "blocks", "--period", "fortnight")
    assert result.returncode == 64
    assert result.stderr.startswith("tokenbook: --period: unknown period \"fortnight\"")
    result = run(tmp_path, "--ledger", str(tmp_path / "nowhere"), "blocks")
    assert result.returncode == 66
    assert "no ledger at" in result.stderr


# ---------------------------------------------------------------------------
# statusline

def test_statusline_line(tmp_path, blocks_ledger):
    status = json.loads(STATUS_INPUT)
    status["session_id"] = "S"
    result = book(tmp_path, blocks_ledger, "statusline", stdin=json.dumps(status))
    assert result.returncode == 0, result.stderr
    # Today $14.00 of the $20 daily budget is 70%; the month is at 14%.
    assert result.stdout == "Opus | session $1.50 | today $14.00 | block $1.50, 3h55m left | $1.50/h | daily 70%\n"
    assert result.stderr == ""

    # A session the ledger has not seen: Claude Code's own cost.
    result = book(tmp_path, blocks_ledger, "statusline", stdin=STATUS_INPUT)
    assert result.stdout == "Opus | session $1.23 | today $14.00 | block $1.50, 3h55m left | $1.50/h | daily 70%\n"

    result = book(tmp_path, blocks_ledger, "statusline", "--json", stdin=STATUS_INPUT)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["line"] == "Opus | session $1.23 | today $14.00 | block $1.50, 3h55m left | $1.50/h | daily 70%"
    assert doc["session_source"] == "input"
    assert doc["session_cost_micros"] == 1234500
    assert doc["today_micros"] == 14000000
    assert doc["block"]["cost_micros"] == 1500000
    assert doc["budget"] == {"name": "daily", "period": "2026-04-10", "spent_micros": 14000000,
                             "spent_usd": "14.000000", "limit_micros": 20000000, "limit_usd": "20.000000",
                             "percent_bp": 7000, "level": "ok"}


def test_statusline_survives_bad_input(tmp_path, blocks_ledger):
    expected = "today $14.00 | block $1.50, 3h55m left | $1.50/h | daily 70%\n"
    for bad in ("not json", "[1, 2]", "{\"model\": 5", "\x00\xff"):
        result = book(tmp_path, blocks_ledger, "statusline", stdin=bad)
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected
        assert result.stderr.startswith("tokenbook: warning: status-line input: ")
    # Wrong types are ignored field by field; empty input is no input.
    result = book(tmp_path, blocks_ledger, "statusline", stdin='{"model": {"display_name": 3}, "cost": null}')
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")
    result = book(tmp_path, blocks_ledger, "statusline", stdin="")
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")
    result = book(tmp_path, blocks_ledger, "statusline", stdin="{" + " " * (2 << 20) + "}")
    assert result.returncode == 0
    assert result.stdout == expected
    assert result.stderr == "tokenbook: warning: status-line input is over 1048576 bytes; ignored\n"


def test_statusline_without_a_ledger(tmp_path):
    (tmp_path / "home").mkdir()
    result = run(tmp_path, "--ledger", str(tmp_path / "nowhere"), "statusline", stdin=STATUS_INPUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Opus | session $1.23 | no ledger\n"


def test_statusline_bad_config_names_the_line(tmp_path):
    ledger = make_ledger(tmp_path, config="[budgets]\ndaily = \"ten\"\n")
    result = book(tmp_path, ledger, "statusline", stdin=STATUS_INPUT)
    assert result.returncode == 65
    assert result.stderr == (f"tokenbook: {ledger}/config.toml:2:9: budgets.daily: not a decimal number: \"ten\" (no digits)\n")


# ---------------------------------------------------------------------------
# anomalies

def spike_entries():
    entries = [["-m", "claude-sonnet-4-5", "--cost", "1.00", "--at", f"2026-04-09T{h:02d}:10:00Z"]
               for h in range(8, 17)]
    entries += [["-m", "claude-sonnet-4-5", "--cost", "4.75", "--at", f"2026-04-09T12:2{i}:00Z", "--session", "loop"]
                for i in range(4)]
    return entries


def test_anomalies_found_and_recorded_once(tmp_path):
    ledger = make_ledger(tmp_path, config="time_zone = \"Europe/Berlin\"\n", entries=spike_entries())
    result = book(tmp_path, ledger, "anomalies", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["period"] == {"label": "2026-03-12..2026-04-10", "start": "2026-03-11T23:00:00.000Z",
                             "end": "2026-04-10T22:00:00.000Z"}
    assert doc["rule"] == {"min_points": 8, "score_threshold_milli": 3500, "min_ratio": 3,
                           "min_excess_micros": 500000, "min_excess_usd": "0.500000"}
    assert doc["baselines"]["hour"] == {"points": 9, "median_micros": 1000000, "median_usd": "1.000000",
                                        "mad_micros": 0, "mad_usd": "0.000000"}
    assert doc["baselines"]["session"]["points"] == 1
    assert doc["anomalies"] == [{
        "kind": "hour", "key": "2026-04-09T14", "start": "2026-04-09T12:00:00.000Z",
        "end": "2026-04-09T13:00:00.000Z", "entries": 5, "spent_micros": 20000000, "spent_usd": "20.000000",
        "median_micros": 1000000, "median_usd": "1.000000", "score_milli": None, "recorded": True}]
    assert doc["recorded"] == 1
    lines = (ledger / "anomalies.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{
        "v": 1, "ts": "2026-04-10T21:05:00.000Z", "kind": "hour", "key": "2026-04-09T14",
        "start": "2026-04-09T12:00:00.000Z", "end": "2026-04-09T13:00:00.000Z", "entries": 5,
        "spent_micros": 20000000, "spent_usd": "20.000000", "median_micros": 1000000, "score_milli": None}]
    # The budget alerts file is left alone.
    assert not (ledger / "alerts.jsonl").exists()

    result = book(tmp_path, ledger, "anomalies")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Spend anomalies over 2026-03-12..2026-04-10 (Europe/Berlin)\n"
        "Usual level: 9 hours with spend, median $1.00, MAD $0.00; 1 session, median $19.00, MAD $0.00\n"
        "kind  key             spent  median  score  entries\n"
        "hour  2026-04-09T14  $20.00   $1.00      -        5\n")
    assert len((ledger / "anomalies.jsonl").read_text().splitlines()) == 1


def test_anomalies_no_record_and_nothing_found(tmp_path):
    ledger = make_ledger(tmp_path, entries=spike_entries())
    result = book(tmp_path, ledger, "anomalies", "--no-record", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(a["key"], a["recorded"]) for a in doc["anomalies"]] == [("2026-04-09T12", False)]
    assert doc["recorded"] == 0
    assert not (ledger / "anomalies.jsonl").exists()

    result = book(tmp_path, ledger, "anomalies", "--period", "today")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("No anomalies.\n")
    assert not (ledger / "anomalies.jsonl").exists()


# ---------------------------------------------------------------------------
# suggest

def test_suggest_cheaper_model_and_batch(tmp_path):
    entries = [["-m", "claude-haiku-4-5", "--input", "1000", "--output", "100", "--task-type", "summarize",
                "--at", f"2026-04-02T09:0{i}:00Z"] for i in range(5)]
    entries += [["-m", "claude-opus-4-6", "--input", "100000", "--output", "10000", "--task-type", "summarize",
                 "--at", f"2026-04-0{d}T09:00:00Z"] for d in (3, 4)]
    entries += [["-m", "claude-sonnet-4-6", "--input", "1000000", "--action-type", "scheduled",
                 "--at", "2026-04-05T03:00:00Z"]]
    ledger = make_ledger(tmp_path, entries=entries)
    result = book(tmp_path, ledger, "suggest", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["total_cost_micros"] == 5 * 1500 + 2 * 750000 + 3000000
    assert doc["total_saving_micros"] == 2700000
    assert [(s["kind"], s["saving_micros"], s["current_micros"], s["alternative_micros"], s["entries"])
            for s in doc["suggestions"]] == [
        ("batch", 1500000, 3000000, 1500000, 1),
        ("cheaper_model", 1200000, 1500000, 300000, 2),
    ]
    assert doc["suggestions"][1]["model"] == "claude-opus-4-6"
    assert doc["suggestions"][1]["to_model"] == "claude-haiku-4-5"
    assert doc["suggestions"][1]["value"] == "summarize"

    result = book(tmp_path, ledger, "suggest")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Advice over 2026-03-12..2026-04-10: 2 suggestions, saving $2.70 of $4.51 spent\n"
        "1. [batch] save $1.50: claude-sonnet-4-6: 1 scheduled entry at standard rates cost $3.00; at the batch tier"
        " they would cost $1.50\n"
        "2. [cheaper_model] save $1.20: task_type \"summarize\" on claude-opus-4-6: 2 entries cost $1.50; on"
        " claude-haiku-4-5 (it ran 5 entries of task_type \"summarize\" in the period) they would cost $0.30\n")

    result = book(tmp_path, ledger, "suggest", "--min-saving", "1.25", "--json")
    assert [s["kind"] for s in json.loads(result.stdout)["suggestions"]] == ["batch"]
    result = book(tmp_path, ledger, "suggest", "--period", "2026-03")
    assert result.stdout == ("Advice over 2026-03: 0 suggestions, saving $0.00 of $0.00 spent\n"
                             "Nothing to suggest: no saving of $0.10 or more found.\n")


def test_suggest_errors(tmp_path):
    ledger = make_ledger(tmp_path)
    for bad in ("ten", "-1", "0.0000001"):
        result = book(tmp_path, ledger, "suggest", "--min-saving", bad)
        assert result.returncode == 64
        assert result.stderr.startswith(f"tokenbook: --min-saving: \"{bad}\" is not an amount in USD")


# ---------------------------------------------------------------------------
# route

ROUTER_CONFIG = """[budgets]
monthly = 100

[router]
[[router.rules]]
name = "quick"
keywords = ["summarize"]
tier = "cheap"

[[router.rules]]
name = "security"
task_types = ["security-review"]
model = "claude-opus-4-6"
downgrade = false
"""


def route(tmp_path, ledger, *args):
    result = book(tmp_path, ledger, "route", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_route_at_each_budget_level(tmp_path):
    ledger = make_ledger(tmp_path, config=ROUTER_CONFIG)
    result = book(tmp_path, ledger, "route", "refactor the parser")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("claude-opus-4-6\n"
                             "  no rule matched; default claude-opus-4-6; budget \"monthly\" at 0.00%\n")
    assert route(tmp_path, ledger, "please summarize")["model"] == "claude-haiku-4-5"

    def spend(usd):
        result = book(tmp_path, ledger, "log", "-m", "claude-sonnet-4-5", "--cost", usd, "--at", "2026-04-10T08:00:00Z")
        assert result.returncode == 0, result.stderr

    spend("49.99")
    d = route(tmp_path, ledger, "refactor the parser")
    assert (d["model"], d["budget"], d["wanted_tier"], d["downgraded"]) == (
        "claude-opus-4-6", {"name": "monthly", "percent_bp": 4999}, None, False)
    spend("0.01")  # 50%
    d = route(tmp_path, ledger, "refactor the parser")
    assert (d["model"], d["tier"], d["wanted_tier"], d["downgraded"]) == ("claude-sonnet-4-6", "mid", "mid", True)
    result = book(tmp_path, ledger, "route", "refactor the parser")
    assert result.stdout == (
        "claude-sonnet-4-6\n"
        "  no rule matched; default claude-opus-4-6; budget \"monthly\" at 50.00% (at or above 50%: mid tier),"
        " downgraded to claude-sonnet-4-6\n")
    spend("30.00")  # 80%
    d = route(tmp_path, ledger, "refactor the parser")
    assert (d["model"], d["tier"], d["wanted_tier"]) == ("claude-haiku-4-5", "cheap", "cheap")
    d = route(tmp_path, ledger, "check this", "--task-type", "security-review")
    assert (d["model"], d["rule"], d["matched"], d["downgraded"], d["downgrade_allowed"]) == (
        "claude-opus-4-6", "security", "task_type \"security-review\"", False, False)
    result = book(tmp_path, ledger, "route", "check this", "--task-type", "security-review")
    assert result.stdout.splitlines()[1] == (
        "  rule \"security\" (task_type \"security-review\") chose claude-opus-4-6; budget \"monthly\" at 80.00%"
        " (at or above 80%: cheap tier), kept: the rule has downgrade = false")


def test_route_errors(tmp_path):
    ledger = make_ledger(tmp_path, config="[router.tiers]\ncheap = \"claude-haiku-9\"\n")
    result = book(tmp_path, ledger, "route", "anything")
    assert result.returncode == 66
    assert result.stderr.startswith(
        f"tokenbook: {ledger}/config.toml:2:9: router.tiers.cheap: unknown model \"claude-haiku-9\"")
    (ledger / "config.toml").write_text("[[router.rules]]\npattern = \"(\"\ntier = \"cheap\"\n")
    result = book(tmp_path, ledger, "route", "anything")
    assert result.returncode == 65
    assert result.stderr.startswith(
        f"tokenbook: {ledger}/config.toml:2:11: router.rules[0].pattern: not a valid regular expression")
    result = book(tmp_path, ledger, "route")
    assert result.returncode == 64
    assert result.stderr == "tokenbook: give a task description, or --task-type (see `tokenbook route --help`)\n"
