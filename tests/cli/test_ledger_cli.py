"""End-to-end tests of `tokenbook init`, `log`, `report` and `budget` through the real binary.

Every test works in its own temporary directory with HOME and the ledger
pinned there, so nothing outside it is read or written.
"""
import csv
import io
import json
import os
import stat
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-11-22T10:00:00Z"

# The worked examples of the foundation issue, as `log` flags, with their exact cost.
SONNET = ["--model", "claude-sonnet-4", "--input", "12000", "--output", "4500",
          "--cache-read", "8000", "--cache-write-5m", "3000"]
OPUS = ["--model", "claude-opus-4", "--input", "12000", "--output", "4500",
        "--cache-read", "8000", "--cache-write", "3000"]
BEDROCK = ["--model", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
           "--input", "120000", "--output", "35000"]
SONNET_MICROS, OPUS_MICROS, BEDROCK_MICROS = 117150, 585750, 885000


class Book:
    """A ledger in a temporary directory and a way to run the command against it."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.dir = tmp_path / ".tokenbook"
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.work = tmp_path / "work"
        self.work.mkdir()

    def run(self, *args, now=NOW, env=None, cwd=None, ledger=True):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENBOOK_")}
        full_env.pop("NO_COLOR", None)
        full_env["HOME"] = str(self.home)
        full_env.pop("XDG_DATA_HOME", None)
        if now:
            full_env["TOKENBOOK_NOW"] = now
        if env:
            full_env.update(env)
        argv = [CLI]
        if ledger:
            argv += ["--ledger", str(self.dir)]
        return subprocess.run(argv + list(args), capture_output=True, text=True, env=full_env,
                              cwd=cwd or self.work, check=False)

    def csv(self, *args):
        """stdout as written (text mode would turn CRLF into LF)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENBOOK_")}
        full_env.update({"HOME": str(self.home), "TOKENBOOK_NOW": NOW})
        result = subprocess.run([CLI, "--ledger", str(self.dir), *args], capture_output=True,
                                env=full_env, cwd=self.work, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.decode()

    def ok(self, *args, **kw):
        result = self.run(*args, **kw)
        assert result.returncode == 0, (result.returncode, result.stderr)
        return result

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    def ledger_bytes(self):
        path = self.dir / "ledger.jsonl"
        return path.read_bytes() if path.exists() else None

    def write_config(self, text):
        self.dir.mkdir(mode=0o700, exist_ok=True)
        (self.dir / "config.toml").write_text(text)


@pytest.fixture
def book(tmp_path):
    return Book(tmp_path)


def entries(book):
    return [json.loads(line) for line in book.ledger_bytes().decode().splitlines()]


# --- init -----------------------------------------------------------------------------------

def test_init_creates_a_private_ledger_with_config_and_gitignore(book):
    out = book.ok("init", "--budget-monthly", "100", "--stage", "mvp").stdout
    assert out.splitlines() == [
        f"Initialised an empty ledger at {book.dir}",
        "Monthly budget: $100.00 (warning at 80%, critical at 95%)",
        "Stage: mvp",
    ]
    assert stat.S_IMODE(os.stat(book.dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(book.dir / "ledger.jsonl").st_mode) == 0o600
    assert (book.dir / "ledger.jsonl").read_bytes() == b""
    assert "cache/" in (book.dir / ".gitignore").read_text().splitlines()
    config = (book.dir / "config.toml").read_text()
    assert 'monthly = "100.00"' in config and 'stage = "mvp"' in config
    status = book.json("budget")
    assert [b["name"] for b in status["budgets"]] == ["monthly"]
    assert status["budgets"][0]["limit_micros"] == 100_000_000


def test_init_without_ledger_flag_creates_dot_tokenbook_here(book):
    result = book.run("init", ledger=False)
    assert result.returncode == 0, result.stderr
    assert (book.work / ".tokenbook" / "ledger.jsonl").exists()
    # Later commands find it from a subdirectory, as git finds .git.
    sub = book.work / "a" / "b"
    sub.mkdir(parents=True)
    book.ok("log", *SONNET, ledger=False, cwd=sub)
    assert len((book.work / ".tokenbook" / "ledger.jsonl").read_text().splitlines()) == 1


def test_init_twice_keeps_the_config_and_refuses_to_overwrite_it(book):
    book.ok("init", "--budget-monthly", "50")
    before = (book.dir / "config.toml").read_bytes()
    assert book.ok("init").stdout == f"Ledger already initialised at {book.dir}\n"
    again = book.run("init", "--budget-monthly", "70")
    assert again.returncode == 65
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert (book.dir / "config.toml").read_bytes() == before


@pytest.mark.parametrize("args, needle", [
    (["--budget-monthly", "-5"], "--budget-monthly"),
    (["--budget-monthly", "lots"], "--budget-monthly"),
    (["--stage", "unicorn"], "--stage"),
])
def test_init_rejects_bad_values_before_creating_anything(book, args, needle):
    result = book.run("init", *args)
    assert result.returncode == 64
    assert result.stderr.count("\n") == 1 and needle in result.stderr
    assert not book.dir.exists()


# --- log --------------------------------------------------------------------------------------

def test_log_prints_the_cost_and_the_budget_impact(book):
    book.ok("init", "--budget-monthly", "100")
    assert book.ok("log", *SONNET).stdout == "Entry logged: $0.12\nBudget: $0.12 / $100.00 (0.1%)\n"
    assert book.ok("log", *OPUS).stdout == "Entry logged: $0.59\nBudget: $0.70 / $100.00 (0.7%)\n"


def test_log_stores_the_exact_cost_of_the_worked_examples(book):
    for flags in (SONNET, OPUS, BEDROCK):
        book.ok("log", *flags, "--session", "s1")
    lines = entries(book)
    assert [e["cost_micros"] for e in lines] == [SONNET_MICROS, OPUS_MICROS, BEDROCK_MICROS]
    assert [e["model"] for e in lines] == ["claude-sonnet-4", "claude-opus-4", "claude-sonnet-4-5"]
    assert all(e["cost_source"] == "computed" for e in lines)


def test_log_json_reports_cost_and_budgets(book):
    book.write_config('[budgets]\ndaily = "1.00"\nmonthly = "10"\n')
    doc = book.json("log", *OPUS)
    assert doc["logged"] is True and len(doc["id"]) == 26
    assert doc["cost_micros"] == OPUS_MICROS and doc["cost_usd"] == "0.585750"
    assert [(b["name"], b["spent_micros"], b["percent_bp"], b["level"]) for b in doc["budgets"]] == [
        ("daily", OPUS_MICROS, 5857, "ok"),
        ("monthly", OPUS_MICROS, 585, "ok"),
    ]


def test_log_every_dimension_and_tag_is_stored(book):
    book.ok("log", "--model", "gpt-4o", "--input", "1000", "--output", "200", "--reasoning", "50",
            "--requests", "2", "--session", "s9", "--agent", "planner", "--category", "research",
            "--action-type", "skill", "--action", "summarise", "--feature", "search",
            "--project", "acme", "--tool", "claude-code", "--task-type", "planning",
            "--service-tier", "batch", "--duration-ms", "1500", "--tag", "team=infra",
            "--tag", "ticket=T-1", "--notes", "first try", "--at", "2026-11-20T08:30:00Z")
    [e] = entries(book)
    assert e["ts"] == "2026-11-20T08:30:00.000Z"
    assert e["tokens"] == {"input": 1000, "output": 200, "reasoning": 50}
    for key, value in [("session", "s9"), ("agent", "planner"), ("category", "research"),
                       ("action_type", "skill"), ("action", "summarise"), ("feature", "search"),
                       ("project", "acme"), ("tool", "claude-code"), ("task_type", "planning"),
                       ("service_tier", "batch"), ("duration_ms", 1500), ("notes", "first try"),
                       ("requests", 2)]:
        assert e[key] == value, key
    assert e["tags"] == {"team": "infra", "ticket": "T-1"}


def test_log_project_defaults_to_the_git_work_tree_name(book):
    repo = book.work / "my-repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    book.ok("log", *SONNET, cwd=repo / "src")
    book.ok("log", *SONNET, "--project", "explicit", cwd=repo / "src")
    book.ok("log", *SONNET)  # outside my-repo: the enclosing work tree's name, if any
    outer = next((p.name for p in [book.work, *book.work.parents] if (p / ".git").exists()), None)
    assert [e.get("project") for e in entries(book)] == ["my-repo", "explicit", outer]


def test_log_cost_override_is_kept_exactly(book):
    book.ok("log", "--model", "claude-sonnet-4", "--input", "10", "--output", "10", "--cost", "0.0123456")
    [e] = entries(book)
    assert e["cost_micros"] == 12346 and e["cost_source"] == "override"


def test_log_source_key_makes_a_second_log_a_no_op(book):
    first = book.json("log", *SONNET, "--source-key", "run-42")
    second = book.run("log", *SONNET, "--source-key", "run-42")
    assert second.returncode == 0
    assert second.stdout == f'Already logged: source key "run-42" is entry {first["id"]}; nothing added\n'
    assert len(entries(book)) == 1


def test_log_unknown_model_is_refused_unless_allowed(book):
    book.ok("init")
    before = book.ledger_bytes()
    result = book.run("log", "--model", "claude-sonet-4", "--input", "1", "--output", "1")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert 'unknown model "claude-sonet-4"' in result.stderr and "claude-sonnet-4" in result.stderr
    assert book.ledger_bytes() == before
    out = book.ok("log", "--model", "my-local-model", "--input", "1", "--output", "1", "--allow-unpriced").stdout
    assert out.startswith('Entry logged: unpriced (model "my-local-model"')
    assert entries(book)[0]["cost_source"] == "unpriced"


@pytest.mark.parametrize("args, code, needle", [
    (["--input", "-1", "--output", "1"], 64, "--input"),
    (["--input", "ten", "--output", "1"], 64, "--input"),
    (["--input", "1", "--output", "1", "--frobnicate"], 64, "frobnicate"),
    (["--input", "1", "--output", "1", "--reasoning", "5"], 64, "--reasoning"),
    (["--input", "1", "--output", "1", "--action-type", "robot"], 64, "--action-type"),
    (["--input", "1", "--output", "1", "--tag", "novalue"], 64, "--tag"),
    (["--input", "1", "--output", "1", "--at", "yesterday-ish"], 64, "--at"),
    (["--input", "1", "--output", "1", "--cost", "-3"], 64, "--cost"),
    (["--input", "1", "--output", "1", "--cost", "1e999"], 64, "--cost"),
    (["--input", "99999999999999999999", "--output", "1"], 64, "--input"),
])
def test_log_bad_input_is_one_line_and_changes_nothing(book, args, code, needle):
    book.ok("init")
    book.ok("log", *SONNET)
    before = book.ledger_bytes()
    result = book.run("log", "--model", "claude-sonnet-4", *args)
    assert result.returncode == code, result.stderr
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert book.ledger_bytes() == before


def test_log_into_an_unusable_ledger_fails_cleanly(book):
    # A directory where the ledger file should be: no one, root included, can append to it.
    book.dir.mkdir(mode=0o700)
    (book.dir / "ledger.jsonl").mkdir()
    result = book.run("log", *SONNET)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "ledger.jsonl" in result.stderr
    assert list((book.dir / "ledger.jsonl").iterdir()) == []


def test_budget_impact_is_coloured_only_on_request(book):
    book.write_config('[budgets]\nmonthly = "0.20"\n')
    out = book.ok("log", *SONNET).stdout
    assert "\033[" not in out
    assert out.splitlines()[1] == "Budget: $0.12 / $0.20 (58.6%)"


# --- report -----------------------------------------------------------------------------------

def populate(book):
    book.ok("log", *SONNET, "--agent", "reviewer", "--feature", "search", "--at", "2026-11-20T09:00:00Z")
    book.ok("log", *OPUS, "--agent", "planner", "--feature", "search", "--at", "2026-11-21T09:00:00Z")
    book.ok("log", *BEDROCK, "--agent", "reviewer", "--feature", "billing", "--at", "2026-11-22T09:00:00Z",
            "--tag", "team=infra")
    book.ok("log", *SONNET, "--agent", "reviewer", "--at", "2026-10-31T23:00:00Z")  # last month


def test_report_json_totals_are_exact_and_groups_sum_to_them(book):
    populate(book)
    doc = book.json("report", "--by", "agent")
    t = doc["totals"]
    assert t["entries"] == 3
    assert t["cost_micros"] == SONNET_MICROS + OPUS_MICROS + BEDROCK_MICROS
    assert t["cost_usd"] == "1.587900"
    assert (t["input_tokens"], t["output_tokens"]) == (144000, 44000)
    assert (t["cache_read_tokens"], t["cache_write_tokens"], t["unpriced_entries"]) == (16000, 6000, 0)
    assert doc["period"] == {"label": "2026-11", "start": "2026-11-01T00:00:00.000Z",
                             "end": "2026-12-01T00:00:00.000Z", "tz": "UTC"}
    groups = {g["key"]["agent"]: g for g in doc["groups"]}
    assert groups["reviewer"]["cost_micros"] == SONNET_MICROS + BEDROCK_MICROS
    assert groups["planner"]["cost_micros"] == OPUS_MICROS
    for field in ("entries", "cost_micros", "input_tokens", "output_tokens", "cache_read_tokens",
                  "cache_write_tokens", "unpriced_entries"):
        assert sum(g[field] for g in doc["groups"]) == t[field], field


def test_report_periods_filters_and_several_keys(book):
    populate(book)
    assert book.json("report", "--period", "all")["totals"]["entries"] == 4
    assert book.json("report", "--period", "2026-10")["totals"]["cost_micros"] == SONNET_MICROS
    assert book.json("report", "--period", "today")["totals"]["cost_micros"] == BEDROCK_MICROS
    assert book.json("report", "--period", "yesterday")["totals"]["cost_micros"] == OPUS_MICROS
    # A date is a whole day on both sides; an instant is excluded at the end.
    assert book.json("report", "--since", "2026-11-21", "--until", "2026-11-21")["totals"]["entries"] == 1
    assert book.json("report", "--since", "2026-11-21", "--until", "2026-11-22")["totals"]["entries"] == 2
    assert book.json("report", "--since", "2026-11-21",
                     "--until", "2026-11-22T09:00:00Z")["totals"]["entries"] == 1
    assert book.json("report", "--agent", "reviewer")["totals"]["entries"] == 2
    assert book.json("report", "--tag", "team=infra")["totals"]["cost_micros"] == BEDROCK_MICROS
    doc = book.json("report", "--by", "feature,day")
    keys = [(g["key"]["feature"], g["key"]["day"]) for g in doc["groups"]]
    assert sorted(keys) == [("billing", "2026-11-22"), ("search", "2026-11-20"), ("search", "2026-11-21")]


def test_report_days_follow_the_time_zone(book):
    book.ok("log", *SONNET, "--at", "2026-11-21T23:30:00Z")
    utc = book.json("report", "--by", "day")
    tokyo = book.json("--tz", "Asia/Tokyo", "report", "--by", "day")
    assert [g["key"]["day"] for g in utc["groups"]] == ["2026-11-21"]
    assert [g["key"]["day"] for g in tokyo["groups"]] == ["2026-11-22"]
    assert tokyo["period"]["tz"] == "Asia/Tokyo"


def test_report_top_folds_the_rest_into_other(book):
    populate(book)
    doc = book.json("report", "--period", "all", "--by", "feature", "--top", "1")
    assert [g["key"]["feature"] for g in doc["groups"]] == ["billing", "(other)"]
    assert sum(g["cost_micros"] for g in doc["groups"]) == doc["totals"]["cost_micros"]


def test_report_text_is_an_aligned_table(book):
    populate(book)
    out = book.ok("report", "--by", "agent").stdout
    assert out == (
        "Period: 2026-11 (2026-11-01 00:00 to 2026-12-01 00:00 UTC)\n"
        "\n"
        "agent     entries    input  output  cache read  cache write   cost\n"
        "reviewer        2  132,000  39,500       8,000        3,000  $1.00\n"
        "planner         1   12,000   4,500       8,000        3,000  $0.59\n"
        "------------------------------------------------------------------\n"
        "total           3  144,000  44,000      16,000        6,000  $1.59\n"
        "\n"
        "Cache hit: 10.0% of input tokens were read from the cache\n"
    )


def test_report_csv_and_markdown(book):
    populate(book)
    rows = list(csv.DictReader(io.StringIO(book.csv("report", "--by", "agent", "--format", "csv"), newline="")))
    assert [(r["agent"], int(r["cost_micros"])) for r in rows] == [
        ("reviewer", SONNET_MICROS + BEDROCK_MICROS), ("planner", OPUS_MICROS)]
    assert rows[0]["cost_usd"] == "1.002150"
    md = book.ok("report", "--by", "agent", "--format", "md").stdout.splitlines()
    assert md[2] == "| agent | entries | input | output | cache read | cache write | cost |"
    assert md[3] == "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    assert md[6] == "| **total** | **3** | **144,000** | **44,000** | **16,000** | **6,000** | **$1.59** |"


def test_report_csv_quotes_values_per_rfc_4180(book):
    book.ok("log", *SONNET, "--agent", 'say "hi", then\nleave')
    text = book.csv("report", "--by", "agent", "--format", "csv")
    assert text.split("\r\n")[1].startswith('"say ""hi"", then\nleave",1,')
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0]["agent"] == 'say "hi", then\nleave'


def test_report_reprice_uses_todays_table(book, tmp_path):
    book.ok("log", *SONNET)
    cheaper = tmp_path / "cheap.toml"
    cheaper.write_text('schema = 1\nas_of = "2026-11-01"\n[[models]]\nid = "claude-sonnet-4"\n'
                       'provider = "anthropic"\ninput = "1.50"\noutput = "7.50"\ncache_read = "0.15"\n'
                       'cache_write_5m = "1.875"\n')
    stored = book.json("--rates", str(cheaper), "report")
    repriced = book.json("--rates", str(cheaper), "report", "--reprice")
    assert stored["totals"]["cost_micros"] == SONNET_MICROS
    # 12,000 × 1.50 + 4,500 × 7.50 + 8,000 × 0.15 + 3,000 × 1.875 per MTok
    assert repriced["totals"]["cost_micros"] == 18000 + 33750 + 1200 + 5625

def test_report_skips_a_torn_line_and_says_where(book):
    book.ok("log", *SONNET)
    with open(book.dir / "ledger.jsonl", "ab") as f:
        f.write(b'{"v":1,"id":"01J')
    result = book.run("report")
    assert result.returncode == 0
    assert "ledger.jsonl:2:" in result.stderr
    assert "Entry" not in result.stderr
    doc = book.json("report")
    assert doc["totals"]["cost_micros"] == SONNET_MICROS
    assert doc["issues"][0]["line"] == 2


@pytest.mark.parametrize("args, needle", [
    (["--period", "fortnight"], "fortnight"),
    (["--by", "colour"], "colour"),
    (["--format", "xml"], "--format"),
    (["--since", "2026-13-01"], "2026-13-01"),
    (["--tz", "Mars/Olympus"], "Mars/Olympus"),
    (["--top", "-2"], "--top"),
    (["--agent"], "--agent"),
])
def test_report_bad_input_is_one_clear_line(book, args, needle):
    book.ok("log", *SONNET)
    before = book.ledger_bytes()
    if args[0] == "--tz":
        result = book.run(*args, "report")
    else:
        result = book.run("report", *args)
    assert result.returncode == 64, result.stderr
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert book.ledger_bytes() == before


# --- budget -----------------------------------------------------------------------------------

@pytest.mark.parametrize("limit, code, level", [
    ("10.00", 0, "ok"),         # 1.17%
    ("0.14", 1, "warning"),      # 83.7%
    ("0.12", 2, "critical"),     # 97.6%
    ("0.10", 2, "exceeded"),     # 117%
])
def test_budget_exit_code_follows_the_worst_level(book, limit, code, level):
    book.write_config(f'[budgets]\nmonthly = "{limit}"\n')
    book.ok("log", *SONNET)
    result = book.run("budget")
    assert result.returncode == code, result.stderr
    doc = json.loads(book.run("budget", "--json").stdout)
    assert doc["budgets"][0]["level"] == level
    assert doc["budgets"][0]["spent_micros"] == SONNET_MICROS
    assert book.run("budget", "--json").returncode == code


def test_budget_text_table(book):
    book.write_config('[budgets]\ndaily = "0.14"\nmonthly = "100"\n')
    book.ok("log", *SONNET)
    out = book.run("budget").stdout.splitlines()
    assert out[0] == "Budgets at 2026-11-22 10:00 UTC"
    assert out[1].split() == ["budget", "period", "spent", "limit", "used", "level", "projected", "advice"]
    assert out[2].split()[:6] == ["daily", "2026-11-22", "$0.12", "$0.14", "83.7%", "warning"]
    assert out[3].split()[:7] == ["monthly", "2026-11", "$0.12", "$100.00", "0.1%", "ok", "$0.16"]


def test_budget_without_budgets_suggests_one(book):
    book.ok("init", "--stage", "mvp")
    result = book.run("budget")
    assert result.returncode == 0
    assert result.stdout.splitlines()[1] == "No budget set. This month so far: $0.00."
    assert result.stdout.splitlines()[2].startswith("Suggested monthly budget: $")


def test_budget_crossing_records_one_alert(book):
    book.write_config('[budgets]\nmonthly = "0.20"\n')
    book.ok("log", *SONNET)
    second = book.run("log", *SONNET)  # 0.2343 of 0.20: exceeded
    assert second.returncode == 0
    assert "budget monthly is exceeded" in second.stderr
    third = book.run("log", *SONNET)
    assert "budget monthly" not in third.stderr  # recorded once per period and level
    alerts = [json.loads(l) for l in (book.dir / "alerts.jsonl").read_text().splitlines()]
    assert [a["level"] for a in alerts] == ["exceeded"]


# --- empty and missing ledgers ----------------------------------------------------------------

def test_every_reading_command_handles_an_empty_ledger(book):
    book.ok("init")
    assert book.ok("report").stdout.splitlines()[1] == "No entries in this period."
    doc = book.json("report", "--by", "model")
    assert doc["totals"]["entries"] == 0 and doc["groups"] == []
    csv_text = book.csv("report", "--by", "model", "--format", "csv")
    assert csv_text.count("\r\n") == 1  # the header alone
    assert book.run("budget").returncode == 0
    assert book.json("budget")["budgets"] == []


def test_a_missing_ledger_is_one_clear_line(book):
    for command in (["report"], ["budget"]):
        result = book.run(*command)
        assert result.returncode == 66
        assert len(result.stderr.strip().splitlines()) == 1
        assert "no ledger at" in result.stderr and "tokenbook init" in result.stderr
    assert not book.dir.exists()


def test_a_broken_config_names_file_line_and_key(book):
    book.write_config('[budgets]\nmonthly = "-5"\n')
    result = book.run("budget")
    assert result.returncode == 65
    assert "config.toml:2:" in result.stderr and "budgets.monthly" in result.stderr


def test_config_flag_reads_another_file(book, tmp_path):
    book.ok("init")
    other = tmp_path / "team.toml"
    other.write_text('[budgets]\nmonthly = "0.10"\n')
    book.ok("log", *SONNET)
    assert book.run("budget").returncode == 0
    assert book.run("--config", str(other), "budget").returncode == 2


@pytest.mark.parametrize("command", ["init", "log", "report", "budget"])
def test_help_on_every_command(book, command):
    result = book.run(command, "--help", ledger=False)
    assert result.returncode == 0
    assert f"Usage: tokenbook {command} [OPTIONS]" in result.stdout


def test_report_counts_unpriced_tokens_once(book):
    book.ok("log", "--model", "my-local-model", "--input", "100", "--output", "40", "--reasoning", "30",
            "--cache-read", "5", "--allow-unpriced")
    t = book.json("report")["totals"]
    assert (t["unpriced_entries"], t["unpriced_tokens"], t["reasoning_tokens"]) == (1, 145, 30)


def test_a_given_cost_still_resolves_the_model_and_provider(book):
    book.ok("log", "--model", "anthropic/claude-sonnet-4.5", "--input", "10", "--output", "10", "--cost", "1.25")
    [e] = entries(book)
    assert (e["model"], e["provider"], e["cost_micros"], e["cost_source"]) == (
        "claude-sonnet-4-5", "anthropic", 1_250_000, "override")
    assert book.json("report", "--provider", "anthropic")["totals"]["cost_micros"] == 1_250_000
