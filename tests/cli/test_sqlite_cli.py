"""End-to-end tests of the SQLite ledger backend (docs/backends.md) through the real binary.

The same entries in a JSONL ledger and in a SQLite one give identical reports; `export
--format sqlite` makes a database the sqlite3 module can query through the documented views;
several processes log and reserve budget at once on one database; unusable URLs and files
fail with messages that name them.
"""
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-11-22T12:00:00Z"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODELS = [("claude-sonnet-4-5", "anthropic"), ("gpt-5", "openai"), ("gemini-2.5-pro", "google"),
          ("my-local-model", "")]


def usd(micros):
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def entry(n, rng):
    """One ledger line, keys in the writer's order, with varied dimensions and tags."""
    model, provider = MODELS[n % len(MODELS)]
    month = 9 + n % 3
    day = 1 + (n * 7) % 28
    ts = f"2026-{month:02d}-{day:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 13) % 60:02d}.{n % 1000:03d}Z"
    cost = 0 if not provider else rng.randrange(1, 5_000_000)
    d = {"v": 1, "id": f"01JD3Q5Z8X9K2M4N6P7R{n:06d}", "ts": ts, "model": model}
    if provider:
        d["provider"] = provider
    d["tokens"] = {"input": rng.randrange(0, 100_000), "output": rng.randrange(0, 10_000)}
    if n % 3 == 0:
        d["tokens"]["cache_read"] = rng.randrange(0, 500_000)
    d["requests"] = 1 + n % 2
    d["cost_micros"] = cost
    d["cost_usd"] = usd(cost)
    d["cost_source"] = "computed" if provider else "unpriced"
    if provider:
        d["rates_as_of"] = "2026-11-01"
    d["session"] = f"s{n % 5}"
    if n % 2 == 0:
        d["agent"] = ["reviewer", "writer", "planner"][n % 3]
    d["project"] = ["tb", "web"][n % 2]
    if n % 4 == 0:
        d["tags"] = {"env": ["ci", "prod"][n % 2], "team": "core"}
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def env_for(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "TOKENBOOK_DIR", "XDG_DATA_HOME", "TOKENBOOK_NOW")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({"HOME": str(home), "TOKENBOOK_NOW": NOW})
    return env


def run(tmp_path, *args, check=True):
    r = subprocess.run([CLI] + [str(a) for a in args], capture_output=True, env=env_for(tmp_path), check=False,
                       cwd=tmp_path)
    if check:
        assert r.returncode == 0, (args, r.stdout.decode(), r.stderr.decode())
    return r


def url(path):
    return f"sqlite://{path}"


CONFIG = ('time_zone = "Europe/Berlin"\n'
          '[budgets]\nmonthly = "500"\ndaily = "20"\n'
          '[[budgets.scoped]]\nname = "web"\nperiod = "monthly"\nlimit = "100"\nproject = "web"\n')


@pytest.fixture
def pair(tmp_path):
    """The same 600 entries in a JSONL ledger and (exported) in a SQLite one, with one config."""
    rng = random.Random(9)
    jdir = tmp_path / "jsonl"
    jdir.mkdir()
    (jdir / "config.toml").write_text(CONFIG)
    (jdir / "ledger.jsonl").write_text("".join(entry(n, rng) + "\n" for n in range(600)))
    sdir = tmp_path / "sqlite"
    sdir.mkdir()
    (sdir / "config.toml").write_text(CONFIG)
    db = sdir / "ledger.db"
    run(tmp_path, "--ledger", jdir, "export", "--format", "sqlite", "--output", db)
    return tmp_path, jdir, db


@pytest.mark.parametrize("args", [
    ["--period", "all", "--by", "model"],
    ["--period", "all", "--by", "month,model"],
    ["--period", "2026-10", "--by", "agent,project"],
    ["--period", "all", "--by", "tag:env"],
    ["--period", "month", "--by", "day"],
    ["--since", "2026-09-15", "--until", "2026-10-20", "--by", "session", "--top", "3"],
    ["--period", "all", "--by", "provider", "--agent", "reviewer"],
    ["--period", "year", "--by", "week", "--tz", "America/New_York"],
])
def test_reports_are_identical_from_both_backends(pair, args):
    tmp_path, jdir, db = pair
    a = run(tmp_path, "--ledger", jdir, "report", "--json", *args).stdout
    b = run(tmp_path, "--ledger", url(db), "report", "--json", *args).stdout
    assert json.loads(a)["totals"]["entries"] > 0 or "--period" in args
    assert a == b


@pytest.mark.parametrize("command", [["budget", "--json"], ["export", "--format", "jsonl"],
                                     ["export", "--format", "csv"], ["blocks", "--json"]])
def test_other_commands_agree_between_backends(pair, command):
    tmp_path, jdir, db = pair
    a = run(tmp_path, "--ledger", jdir, *command, check=False)
    b = run(tmp_path, "--ledger", url(db), *command, check=False)
    assert a.returncode == b.returncode
    assert a.stdout == b.stdout


def test_export_round_trips_the_ledger_lines_byte_for_byte(pair):
    tmp_path, jdir, db = pair
    back = run(tmp_path, "--ledger", url(db), "export", "--format", "jsonl").stdout
    assert back == (jdir / "ledger.jsonl").read_bytes()


def test_export_sqlite_views_give_the_report_totals(pair):
    tmp_path, jdir, db = pair
    report = json.loads(run(tmp_path, "--ledger", jdir, "report", "--json", "--period", "all",
                            "--tz", "UTC", "--by", "month,model").stdout)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    total, count = con.execute("select sum(cost_micros), sum(entries) from monthly_by_model").fetchone()
    assert total == report["totals"]["cost_micros"]
    assert count == report["totals"]["entries"]
    by_view = {(m, model): c for m, model, c in
               con.execute("select month, model, cost_micros from monthly_by_model")}
    by_report = {(g["key"]["month"], g["key"]["model"]): g["cost_micros"] for g in report["groups"]}
    assert len(by_view) == 12
    assert by_view == by_report
    days = con.execute("select sum(cost_micros) from daily_cost").fetchone()[0]
    assert days == total
    for micros, text in con.execute("select cost_micros, cost_usd from entries_usd"):
        assert text == usd(micros)
    con.close()
    if shutil.which("sqlite3"):
        out = subprocess.run(["sqlite3", str(db), "select sum(cost_micros) from daily_cost"],
                             capture_output=True, check=True).stdout.decode().strip()
        assert int(out) == total


def test_export_sqlite_is_atomic_and_repeatable(pair):
    tmp_path, jdir, db = pair
    out = tmp_path / "again.db"
    for _ in range(2):
        r = run(tmp_path, "--ledger", jdir, "export", "--format", "sqlite", "--output", out, "--json")
        assert json.loads(r.stdout)["entries"] == 600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".again")) == []
    con = sqlite3.connect(str(out))
    assert con.execute("select count(*) from entries").fetchone()[0] == 600
    con.close()
    # From a SQLite ledger too, with a filter.
    r = run(tmp_path, "--ledger", url(db), "export", "--format", "sqlite", "--output", tmp_path / "web.db",
            "--project", "web", "--json")
    assert json.loads(r.stdout)["entries"] == 300
    # Any file name will do, even one a URL could not carry.
    odd = tmp_path / "usage?v=1#x.db"
    run(tmp_path, "--ledger", jdir, "export", "--format", "sqlite", "--output", odd)
    con = sqlite3.connect(f"file:{tmp_path / 'usage%3Fv=1%23x.db'}?mode=ro", uri=True)
    assert con.execute("select count(*) from entries").fetchone()[0] == 600
    con.close()
    # Not over the ledger itself, and not to standard output.
    r = run(tmp_path, "--ledger", url(db), "export", "--format", "sqlite", "--output", db, check=False)
    assert r.returncode != 0 and b"ledger itself" in r.stderr
    r = run(tmp_path, "--ledger", url(db), "export", "--format", "sqlite", check=False)
    assert r.returncode == 64


def test_config_backend_puts_the_entries_in_the_database(tmp_path):
    d = tmp_path / "book"
    d.mkdir()
    (d / "config.toml").write_text('backend = "sqlite:entries/ledger.db"\n')
    run(tmp_path, "--ledger", d, "log", "-m", "claude-sonnet-4-5", "--input", "1000", "--output", "10",
        "--source-key", "k1")
    run(tmp_path, "--ledger", d, "log", "-m", "claude-sonnet-4-5", "--input", "1000", "--output", "10",
        "--source-key", "k1")
    assert not (d / "ledger.jsonl").exists()
    con = sqlite3.connect(str(d / "entries" / "ledger.db"))
    assert con.execute("select count(*), sum(input_tokens) from entries").fetchone() == (1, 1000)
    con.close()
    report = json.loads(run(tmp_path, "--ledger", d, "report", "--json", "--period", "all").stdout)
    assert report["totals"]["entries"] == 1


def test_tokenbook_dir_and_init_take_a_url(tmp_path):
    db = tmp_path / "x" / "l.db"
    r = run(tmp_path, "--ledger", url(db), "init", "--budget-monthly", "10")
    assert db.exists() and (tmp_path / "x" / "config.toml").exists()
    env = env_for(tmp_path)
    env["TOKENBOOK_DIR"] = "sqlite:x/l.db"  # relative to the working directory
    r = subprocess.run([CLI, "log", "-m", "gpt-5", "--input", "10", "--json"], capture_output=True, env=env,
                       cwd=tmp_path, check=False)
    assert r.returncode == 0, r.stderr
    status = json.loads(run(tmp_path, "--ledger", url(db), "budget", "--json").stdout)
    assert [b["name"] for b in status["budgets"]] == ["monthly"]


def _log_many(args):
    tmp_path, db, worker = args
    for i in range(20):
        r = run(tmp_path, "--ledger", url(db), "log", "-m", "claude-sonnet-4-5", "--input", str(100 + i),
                "--agent", f"w{worker}", "--source-key", f"shared-{i}" if i < 5 else f"w{worker}-{i}", check=False)
        if r.returncode != 0:
            return r.stderr.decode()
    return ""


def test_several_processes_log_at_once_without_loss_or_duplicates(tmp_path):
    db = tmp_path / "l.db"
    run(tmp_path, "--ledger", url(db), "init")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        errors = pool.map_async(_log_many, [(tmp_path, db, w) for w in range(4)]).get(timeout=300)
    assert errors == [""] * 4
    con = sqlite3.connect(str(db))
    assert con.execute("select count(*), count(distinct source_key), count(distinct id) from entries").fetchone() \
        == (65, 65, 65)
    con.close()


def _reserve_and_commit(args):
    db, worker = args
    sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
    import tokenbook  # noqa: E402  (the C ABI, as an embedding program uses it)
    committed = 0
    with tokenbook.Ledger(url(db)) as book:
        for _ in range(40):
            a = book.admit("claude-sonnet-4-5", cost_micros=10_000, session=f"p{worker}")
            if a.decision == "deny":
                continue
            book.commit(a, "claude-sonnet-4-5", cost_micros=10_000, session=f"p{worker}")
            committed += 1
    return committed


@pytest.mark.skipif(not os.environ.get("TOKENBOOK_LIBRARY"), reason="needs TOKENBOOK_LIBRARY (the C ABI library)")
@pytest.mark.skipif(bool(os.environ.get("ASAN_OPTIONS") or os.environ.get("TSAN_OPTIONS")),
                    reason="a sanitizer build's library cannot load into an uninstrumented interpreter here "
                           "(the C++ suite runs the same race under the sanitizers)")
def test_several_processes_reserving_against_a_blocking_budget_never_overshoot(tmp_path):
    db = tmp_path / "l.db"
    (tmp_path / "config.toml").write_text('[budgets]\nmonthly = { limit = "1.00", action = "block" }\n')
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        # A worker that dies leaves map() waiting forever: bound the wait.
        committed = pool.map_async(_reserve_and_commit, [(db, w) for w in range(4)]).get(timeout=300)
    assert sum(committed) == 100
    con = sqlite3.connect(str(db))
    assert con.execute("select count(*), sum(cost_micros) from entries").fetchone() == (100, 1_000_000)
    con.close()


def test_unusable_urls_and_files_fail_with_messages_that_name_them(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 5000)
    r = run(tmp_path, "--ledger", url(junk), "report", check=False)
    assert r.returncode != 0
    assert str(junk).encode() in r.stderr and b"not a SQLite database" in r.stderr

    newer = tmp_path / "newer.db"
    run(tmp_path, "--ledger", url(newer), "init")
    con = sqlite3.connect(str(newer))
    con.execute("pragma user_version = 7")
    con.commit()
    con.close()
    r = run(tmp_path, "--ledger", url(newer), "report", check=False)
    assert r.returncode != 0 and b"schema version 7 is newer" in r.stderr and str(newer).encode() in r.stderr

    r = run(tmp_path, "--ledger", "postgresql://127.0.0.1:1/tokens", "report", check=False)
    assert r.returncode != 0 and b"postgresql://127.0.0.1:1/tokens: cannot connect" in r.stderr
    r = run(tmp_path, "--ledger", "sqlite://host/x.db", "report", check=False)
    assert r.returncode != 0 and b"local file" in r.stderr
    r = run(tmp_path, "--ledger", url(tmp_path / "missing.db"), "report", check=False)
    assert r.returncode != 0 and b"missing.db" in r.stderr
    assert not (tmp_path / "missing.db").exists()
