"""End-to-end tests of `tokenbook compare` through the real binary: the what-if form
(priced from the built-in rate table) and the ledger form (two filtered slices)."""
import json
import os
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-11-22T12:00:00Z"


class Env:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.dir = tmp_path / "ledger"
        self.path = self.dir / "ledger.jsonl"
        self.home = tmp_path / "home"
        self.home.mkdir()

    def write(self, lines):
        self.dir.mkdir(exist_ok=True)
        self.path.write_text("".join(line + "\n" for line in lines))

    def bytes(self):
        return self.path.read_bytes() if self.path.exists() else None

    def run(self, *args):
        env = {k: v for k, v in os.environ.items()
               if k not in ("NO_COLOR", "TOKENBOOK_DIR", "XDG_DATA_HOME", "TOKENBOOK_NOW")}
        env.update({"HOME": str(self.home), "TOKENBOOK_NOW": NOW})
        return subprocess.run([CLI, "--ledger", str(self.dir), *args], capture_output=True, text=True, env=env,
                              check=False, cwd=self.tmp)

    def compare_json(self, *args):
        result = self.run("compare", *args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def error_lines(result):
    return result.stderr.splitlines()


def entry(n, ts, cost, tokens, *, model="claude-sonnet-4-5", cost_source="computed", **dims):
    d = {"v": 1, "id": f"01JD3Q5Z8X9K2M4N6P7R0S1T{n:02d}", "ts": ts, "model": model, "tokens": tokens,
         "requests": 1, "cost_micros": cost, "cost_source": cost_source}
    tags = dims.pop("tags", None)
    d.update(dims)
    if tags:
        d["tags"] = tags
    return json.dumps(d, separators=(",", ":"))


# --------------------------------------------------------------------------- what-if


def test_what_if_splits_bare_counts_and_prices_exactly(env):
    doc = env.compare_json("--approach-1", "baseline", "--tokens-1", "100000",
                           "--approach-2", "rag", "--tokens-2", "30000")
    assert doc["form"] == "what-if"
    assert (doc["default_model"], doc["model_defaulted"], doc["input_share_percent"]) == \
        ("claude-sonnet-4-5", True, 80)
    a, b = doc["approaches"]
    assert (a["name"], a["model"], a["split_by_input_share"]) == ("baseline", "claude-sonnet-4-5", True)
    assert a["tokens"] == {"input": 80000, "output": 20000, "cache_read": 0, "total": 100000}
    # 80,000 × $3/MTok + 20,000 × $15/MTok
    assert a["cost_micros"] == 80000 * 3 + 20000 * 15 == 540000
    assert b["tokens"] == {"input": 24000, "output": 6000, "cache_read": 0, "total": 30000}
    assert b["cost_micros"] == 24000 * 3 + 6000 * 15 == 162000
    assert doc["difference"] == {"cost_micros": -378000, "cost_usd": "-0.378000", "percent": "-70.0",
                                 "cheaper": "rag", "savings_micros": 378000, "savings_usd": "0.378000",
                                 "savings_percent": "70.0"}


def test_what_if_text_states_the_model_and_the_split(env):
    result = env.run("compare", "--approach-1", "baseline", "--tokens-1", "100000",
                     "--approach-2", "rag", "--tokens-2", "30000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "what-if at list prices on claude-sonnet-4-5 (the default model; --model M to change), "
        "rates as of 2026-11-01",
        "a bare token count is split 80% input / 20% output (--input-share)",
        "  approach             model                           input       output   cache read           cost",
        "  baseline             claude-sonnet-4-5              80,000       20,000            0      $0.540000",
        "  rag                  claude-sonnet-4-5              24,000        6,000            0      $0.162000",
        "difference (rag - baseline): -$0.378000 (-70.0%)",
        "rag is cheaper: it saves $0.378000 (70.0% of baseline's cost)",
    ]


def test_input_share_split_rounds_half_even(env):
    doc = env.compare_json("--tokens-1", "5", "--tokens-2", "7", "--input-share", "50")
    a, b = doc["approaches"]
    assert (a["tokens"]["input"], a["tokens"]["output"]) == (2, 3)  # 2.5 -> 2
    assert (b["tokens"]["input"], b["tokens"]["output"]) == (4, 3)  # 3.5 -> 4
    assert (a["name"], b["name"]) == ("approach 1", "approach 2")
    all_output = env.compare_json("--tokens-1", "1000", "--tokens-2", "1000", "--input-share", "0")
    assert all_output["approaches"][0]["tokens"]["output"] == 1000
    assert all_output["difference"]["cheaper"] is None
    assert all_output["difference"]["percent"] == "0.0"


def test_precise_counts_models_and_long_context_tier(env):
    doc = env.compare_json("--approach-1", "no-cache", "--input-1", "60000", "--output-1", "2000",
                           "--approach-2", "cached", "--input-2", "10000", "--cache-read-2", "50000",
                           "--output-2", "2000")
    a, b = doc["approaches"]
    assert a["split_by_input_share"] is False
    assert a["cost_micros"] == 60000 * 3 + 2000 * 15 == 210000
    assert b["cost_micros"] == 10000 * 3 + 50000 * 3 // 10 + 2000 * 15 == 75000  # cache read $0.30/MTok
    assert doc["difference"]["percent"] == "-64.3"  # -135000 / 210000

    per_side = env.compare_json("--tokens-1", "1000000", "--tokens-2", "1000000", "--model-2", "claude-haiku-4.5")
    a, b = per_side["approaches"]
    assert (a["model"], b["model"]) == ("claude-sonnet-4-5", "claude-haiku-4-5")
    assert b["cost_micros"] == 800000 * 1 + 200000 * 5 == 1800000
    assert per_side["model_defaulted"] is True

    # Over 200k input tokens, Sonnet 4.5 bills the whole request at $6 / $22.50.
    tier = env.compare_json("--tokens-1", "250000", "--tokens-2", "250001", "--model", "claude-sonnet-4-5")
    assert tier["model_defaulted"] is False
    assert tier["approaches"][0]["cost_micros"] == 200000 * 3 + 50000 * 15 == 1350000
    assert tier["approaches"][1]["cost_micros"] == 200001 * 6 + 50000 * 45 // 2 == 2325006


@pytest.mark.parametrize("args, code, message", [
    (["--tokens-1", "12k", "--tokens-2", "1"], 64,
     "tokenbook: Could not convert: --tokens-1 = 12k (see `tokenbook compare --help`)"),
    (["--tokens-1", "-5", "--tokens-2", "1"], 64, "tokenbook: --tokens-1: must not be negative (got -5)"),
    (["--tokens-1", "5"], 64, "tokenbook: approach 2 needs --tokens-2 N (or --input-2 and --output-2), "
                              "or compare the ledger with --a and --b"),
    (["--tokens-1", "5", "--input-1", "3", "--tokens-2", "1"], 64,
     "tokenbook: --tokens-1 is split by --input-share; give it or --input-1/--output-1/--cache-read-1, not both"),
    (["--tokens-1", "5", "--tokens-2", "1", "--input-share", "101"], 64,
     "tokenbook: --input-share: a whole per cent from 0 to 100 (got 101)"),
    (["--tokens-1", "5", "--tokens-2", "1", "--model", "claude-sonet-4-5"], 3,
     "tokenbook: --model: unknown model \"claude-sonet-4-5\"; closest known: claude-sonnet-4-5, claude-sonnet-4-6, "
     "claude-sonnet-4 (tokenbook rates list shows every model)"),
    (["--tokens-1", "5", "--tokens-2", "1", "--model-2", "nope-model"], 3, None),
    (["--tokens-1", "5", "--a", "agent=x"], 64,
     "tokenbook: --a compares the ledger and --tokens-1 prices a what-if; give the flags of one form"),
    (["--frobnicate"], 64,
     "tokenbook: The following argument was not expected: --frobnicate (see `tokenbook compare --help`)"),
])
def test_bad_input_is_one_clear_error_and_changes_nothing(env, args, code, message):
    env.write([entry(1, "2026-11-01T00:00:00.000Z", 100, {"input": 1})])
    before = env.bytes()
    result = env.run("compare", *args)
    assert result.returncode == code
    errors = error_lines(result)
    assert len(errors) == 1, errors
    if message is not None:
        assert errors[0] == message
    assert env.bytes() == before


# --------------------------------------------------------------------------- ledger form


def ledger_lines():
    return [
        entry(1, "2026-11-02T10:00:00.000Z", 10001, {"input": 1000, "output": 500}, agent="reviewer",
              tags={"team": "core"}),
        entry(2, "2026-11-03T10:00:00.000Z", 20000, {"input": 2000, "output": 500, "cache_read": 500},
              agent="reviewer", tags={"team": "web"}),
        entry(3, "2026-11-04T10:00:00.000Z", 5, {"input": 1, "output": 1}, agent="reviewer", project="tb"),
        entry(4, "2026-11-05T10:00:00.000Z", 45000, {"input": 3000, "output": 1000, "reasoning": 400},
              agent="writer", tags={"team": "core"}),
        entry(5, "2026-10-15T10:00:00.000Z", 99999, {"input": 9}, agent="writer"),
        entry(6, "2026-11-06T10:00:00.000Z", 0, {"input": 700}, model="acme", cost_source="unpriced",
              agent="writer"),
        entry(7, "2026-11-01T08:00:00.000Z", 3, {"input": 2000}, agent="editor"),
        entry(8, "2026-11-01T09:00:00.000Z", 0, {"input": 1000}, agent="editor"),
    ]


def test_ledger_form_compares_two_slices_exactly(env):
    env.write(ledger_lines())
    doc = env.compare_json("--a", "agent=reviewer", "--b", "agent=writer", "--period", "month")
    assert (doc["form"], doc["period"], doc["time_zone"]) == ("ledger", "2026-11", "UTC")
    a, b = doc["sides"]
    assert (a["name"], a["filters"], b["filters"]) == ("a", ["agent=reviewer"], ["agent=writer"])
    assert (a["entries"], a["tokens"]["total"], a["cost_micros"]) == (3, 4502, 30006)
    assert a["cost_per_entry_micros"] == 10002  # 30006 / 3
    assert a["cost_per_1k_tokens_micros"] == 6665  # 30006000 / 4502 = 6665.04
    assert b["tokens"] == {"input": 3700, "output": 1000, "cache_read": 0, "cache_write_5m": 0,
                           "cache_write_1h": 0, "reasoning": 400, "total": 4700}  # reasoning is within output
    assert (b["entries"], b["cost_micros"], b["unpriced_entries"]) == (2, 45000, 1)
    assert b["cost_per_entry_micros"] == 22500
    assert b["cost_per_1k_tokens_micros"] == 9574  # 45000000 / 4700 = 9574.47
    assert doc["difference"] == {
        "entries": -1, "tokens": 198, "cost_micros": 14994, "cost_usd": "0.014994", "cost_percent": "50.0",
        "cost_per_entry_micros": 12498, "cost_per_entry_usd": "0.012498", "cost_per_entry_percent": "125.0",
        "cost_per_1k_tokens_micros": 2909, "cost_per_1k_tokens_usd": "0.002909",
        "cost_per_1k_tokens_percent": "43.6"}
    assert doc["skipped_lines"] == 0


def test_ledger_form_takes_several_filters_per_side(env):
    env.write(ledger_lines())
    doc = env.compare_json("--a", "agent=reviewer", "--a", "tag:team=core", "--b", "agent=reviewer",
                           "--b", "project=tb")
    a, b = doc["sides"]
    assert (a["entries"], a["cost_micros"], a["cost_per_1k_tokens_micros"]) == (1, 10001, 6667)  # 6667.33
    assert (b["entries"], b["cost_micros"], b["cost_per_entry_micros"]) == (1, 5, 5)
    assert b["cost_per_1k_tokens_micros"] == 2500  # 5,000 / 2 tokens
    either = env.compare_json("--a", "agent=reviewer,writer", "--b", "tag:team=core,web")
    assert either["period"] == "all"
    assert [s["entries"] for s in either["sides"]] == [6, 3]
    no_project = env.compare_json("--a", "agent=reviewer", "--a", "project=", "--b", "project=tb")
    assert [s["entries"] for s in no_project["sides"]] == [2, 1]


def test_ledger_form_rounds_half_even(env):
    env.write(ledger_lines())
    doc = env.compare_json("--a", "agent=editor", "--b", "agent=reviewer", "--until", "2026-11-03")
    a, b = doc["sides"]
    assert (a["entries"], a["cost_micros"], a["cost_per_entry_micros"]) == (2, 3, 2)  # 1.5 -> 2
    assert a["cost_per_1k_tokens_micros"] == 1  # 3,000 / 3,000 tokens
    assert (b["entries"], b["cost_micros"], b["cost_per_entry_micros"]) == (2, 30001, 15000)  # 15000.5 -> 15000
    assert b["cost_per_1k_tokens_micros"] == 6667  # 30,001,000 / 4,500 = 6666.9
    assert doc["difference"]["cost_per_entry_percent"] == "749900.0"
    assert doc["difference"]["cost_percent"] == "999933.3"  # 29998 / 3


def test_ledger_form_text_is_a_table(env):
    env.write(ledger_lines())
    result = env.run("compare", "--a", "agent=reviewer", "--b", "agent=writer", "--period", "month")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "compare, period 2026-11 (UTC)",
        "  a: agent=reviewer",
        "  b: agent=writer",
        "            entries          tokens            cost      cost/entry     cost/1k tok",
        "  a               3           4,502       $0.030006       $0.010002       $0.006665",
        "  b               2           4,700       $0.045000       $0.022500       $0.009574",
        "  b - a          -1            +198      +$0.014994      +$0.012498      +$0.002909",
        "                                             +50.0%         +125.0%          +43.6%",
        "UNPRICED: b has 1 entry with a model not in the rate table, counted at $0",
    ]


def test_ledger_form_on_an_empty_ledger_has_zero_entries(env):
    env.write([])
    doc = env.compare_json("--a", "agent=reviewer", "--b", "agent=writer")
    for side in doc["sides"]:
        assert (side["entries"], side["cost_micros"], side["tokens"]["total"]) == (0, 0, 0)
        assert side["cost_per_entry_micros"] is None and side["cost_per_entry_usd"] is None
        assert side["cost_per_1k_tokens_micros"] is None
    assert doc["difference"]["cost_micros"] == 0
    assert doc["difference"]["cost_percent"] is None
    assert doc["difference"]["cost_per_entry_micros"] is None
    text = env.run("compare", "--a", "agent=reviewer", "--b", "agent=writer")
    assert text.returncode == 0
    assert text.stdout.splitlines()[4] == \
        "  a               0               0       $0.000000             n/a             n/a"


def test_ledger_form_reports_skipped_lines_once(env):
    env.write(ledger_lines()[:1] + ["garbage"])
    result = env.run("compare", "--a", "agent=reviewer", "--b", "agent=writer")
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        f"tokenbook: warning: {env.path}:2: invalid JSON at column 1: Invalid value."]


@pytest.mark.parametrize("args, code, message", [
    (["--a", "agent=x"], 64,
     "tokenbook: the ledger form needs both --a FILTER and --b FILTER (e.g. --a agent=reviewer --b agent=writer)"),
    (["--a", "colour=red", "--b", "agent=x"], 64, None),
    (["--a", "agent=x", "--b", "agent=y", "--period", "fortnight"], 64, None),
    (["--a", "agent=x", "--b", "agent=y", "--period", "all", "--since", "2026-01-01"], 64, None),
])
def test_ledger_form_bad_input(env, args, code, message):
    env.write(ledger_lines())
    before = env.bytes()
    result = env.run("compare", *args)
    assert result.returncode == code
    errors = error_lines(result)
    assert len(errors) == 1, errors
    if message is not None:
        assert errors[0] == message
    assert env.bytes() == before


def test_ledger_form_without_a_ledger_is_exit_66(env):
    result = env.run("compare", "--a", "agent=x", "--b", "agent=y")
    assert result.returncode == 66
    assert error_lines(result) == [f"tokenbook: no ledger at {env.dir} (create one with `tokenbook init`, "
                                   "or name it with --ledger)"]
    assert not env.dir.exists()
