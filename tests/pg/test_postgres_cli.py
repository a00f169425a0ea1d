"""End-to-end tests of the PostgreSQL ledger backend (docs/backends.md) through the real binary.

Against the throwaway server tests/pg/cluster.sh starts (TOKENBOOK_TEST_PG_URL; tests/pg/run.sh
skips the run without one). The same entries in JSONL, SQLite and PostgreSQL ledgers give
byte-identical reports; `sync --to` fills another backend once and only once; a config.toml
`backend` and `--ledger URL` both reach the database; a server that is not there fails with a
message naming it, without its password.
"""
import json
import os
import random
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "cli"))
from test_sqlite_cli import CONFIG, entry, run  # noqa: E402  (the same entries and runner)

SERVER = os.environ.get("TOKENBOOK_TEST_PG_URL", "")
pytestmark = pytest.mark.skipif(not SERVER, reason="no PostgreSQL test server (tests/pg/run.sh)")


def psql(db, sql):
    exe = shutil.which("psql") or next(
        (os.path.join(d, "psql") for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True)
         for d in [os.path.join("/usr/lib/postgresql", d, "bin")] if os.path.exists(os.path.join(d, "psql"))),
        "psql")
    r = subprocess.run([exe, "-XAtq", "-v", "ON_ERROR_STOP=1", f"{SERVER}/{db}", "-c", sql],
                       capture_output=True, check=False)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode().strip()


@pytest.fixture
def database(tmp_path):
    """A fresh database's URL, dropped afterwards."""
    name = f"tkb_cli_{os.getpid()}_{random.randrange(1 << 30)}"
    psql("postgres", f"CREATE DATABASE {name}")
    yield f"{SERVER}/{name}", name
    psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def three(tmp_path, database):
    """The same 600 entries in JSONL, SQLite and PostgreSQL ledgers (the last two by sync), one config."""
    url, name = database
    rng = random.Random(9)
    jdir = tmp_path / "jsonl"
    jdir.mkdir()
    (jdir / "config.toml").write_text(CONFIG)
    (jdir / "ledger.jsonl").write_text("".join(entry(n, rng) + "\n" for n in range(600)))
    sdir = tmp_path / "sqlite"
    sdir.mkdir()
    (sdir / "config.toml").write_text('backend = "sqlite:ledger.db"\n' + CONFIG)
    pdir = tmp_path / "pg"
    pdir.mkdir()
    (pdir / "config.toml").write_text(f'backend = "{url}"\n' + CONFIG)
    for target in (f"sqlite://{sdir}/ledger.db", url):
        r = json.loads(run(tmp_path, "--ledger", jdir, "sync", "--to", target, "--json").stdout)
        assert (r["entries"], r["added"], r["already_there"]) == (600, 600, 0)
    return tmp_path, jdir, sdir, pdir, name


@pytest.mark.parametrize("args", [
    ["--period", "all", "--by", "model"],
    ["--period", "all", "--by", "month,model"],
    ["--period", "2026-10", "--by", "agent,project"],
    ["--period", "all", "--by", "tag:env"],
    ["--period", "month", "--by", "day"],
    ["--since", "2026-09-15", "--until", "2026-10-20", "--by", "session", "--top", "3"],
    ["--period", "all", "--by", "provider", "--agent", "reviewer"],
    ["--period", "year", "--by", "week", "--tz", "America/New_York"],
    # Summed by the server per bucket: zones with offsets of +5:45, across
    # changes of offset (New York on 2026-11-01, Lord Howe's half hour on
    # 2026-10-04, Berlin's on 2026-10-25), a range, a filter.
    ["--period", "all", "--by", "hour", "--tz", "Asia/Kathmandu"],
    ["--period", "all", "--by", "day,model", "--tz", "America/New_York"],
    ["--period", "all", "--by", "hour,provider", "--tz", "America/New_York"],
    ["--period", "all", "--by", "week,provider", "--tz", "Australia/Lord_Howe"],
    ["--period", "all", "--by", "month,model"],
    ["--since", "2026-09-15", "--until", "2026-10-20", "--by", "day", "--tz", "Asia/Kathmandu"],
    ["--period", "2026-10", "--by", "day,model,provider", "--model", "gpt-5", "--model", "my-local-model"],
    ["--period", "all", "--by", "model", "--tz", "UTC"],
    ["--period", "all", "--tz", "Australia/Lord_Howe"],
])
def test_reports_are_identical_from_all_three_backends(three, args):
    tmp_path, jdir, sdir, pdir, _ = three
    a = run(tmp_path, "--ledger", jdir, "report", "--json", *args).stdout
    b = run(tmp_path, "--ledger", sdir, "report", "--json", *args).stdout
    c = run(tmp_path, "--ledger", pdir, "report", "--json", *args).stdout
    assert json.loads(a)["totals"]["entries"] > 0 or "--period" in args
    assert a == b == c


@pytest.mark.parametrize("command", [["budget", "--json"], ["export", "--format", "jsonl"],
                                     ["export", "--format", "csv"], ["blocks", "--json"]])
def test_other_commands_agree_between_backends(three, command):
    tmp_path, jdir, _, pdir, _ = three
    a = run(tmp_path, "--ledger", jdir, *command, check=False)
    b = run(tmp_path, "--ledger", pdir, *command, check=False)
    assert a.returncode == b.returncode
    assert a.stdout == b.stdout


def test_the_database_holds_integer_money_and_the_exact_lines(three):
    tmp_path, jdir, _, pdir, name = three
    back = run(tmp_path, "--ledger", pdir, "export", "--format", "jsonl").stdout
    assert back == (jdir / "ledger.jsonl").read_bytes()
    report = json.loads(run(tmp_path, "--ledger", jdir, "report", "--json", "--period", "all", "--tz", "UTC").stdout)
    assert int(psql(name, "select sum(cost_micros) from entries")) == report["totals"]["cost_micros"]
    assert int(psql(name, "select sum(cost_micros) from monthly_by_model")) == report["totals"]["cost_micros"]
    assert psql(name, "select pg_typeof(sum(cost_micros))::text from quarter_totals") == "numeric"
    assert psql(name, "select pg_typeof(cost_micros)::text from quarter_totals limit 1") == "bigint"


def test_sync_is_idempotent_and_goes_both_ways(three):
    tmp_path, jdir, sdir, pdir, name = three
    again = json.loads(run(tmp_path, "--ledger", jdir, "sync", "--to", f"sqlite://{sdir}/ledger.db", "--json").stdout)
    assert (again["added"], again["already_there"]) == (0, 600)
    url = f"{SERVER}/{name}"
    again = json.loads(run(tmp_path, "--ledger", jdir, "sync", "--to", url, "--json").stdout)
    assert (again["added"], again["already_there"]) == (0, 600)
    assert psql(name, "select count(*) from entries") == "600"
    # From PostgreSQL into a fresh directory: the JSONL ledger, byte for byte.
    back = tmp_path / "back"
    text = run(tmp_path, "--ledger", pdir, "sync", "--to", back).stdout.decode()
    assert "600 entries" in text and "600 added" in text
    assert (back / "ledger.jsonl").read_bytes() == (jdir / "ledger.jsonl").read_bytes()
    # Onto itself: refused.
    r = run(tmp_path, "--ledger", pdir, "sync", "--to", url, check=False)
    assert r.returncode == 64 and b"ledger itself" in r.stderr


def test_ledger_url_alone_logs_into_the_database(tmp_path, database):
    url, name = database
    for _ in range(2):
        run(tmp_path, "--ledger", url, "log", "-m", "claude-sonnet-4-5", "--input", "1000", "--output", "10",
            "--source-key", "k1")
    assert psql(name, "select count(*), sum(input_tokens) from entries") == "1|1000"
    report = json.loads(run(tmp_path, "--ledger", url, "report", "--json", "--period", "all").stdout)
    assert report["totals"]["entries"] == 1
    # Its local files live in a per-user directory of that database.
    local = tmp_path / "home" / ".local" / "share" / "tokenbook" / "postgresql"
    assert [p.name for p in local.iterdir()] == [f"127.0.0.1_{url.rsplit(':', 1)[1].split('/')[0]}_{name}_tokenbook"]


def test_unreachable_and_malformed_urls_fail_naming_them(tmp_path):
    r = run(tmp_path, "--ledger", "postgresql://ann:secret@127.0.0.1:1/tokens", "report", check=False)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "postgresql://ann@127.0.0.1:1/tokens" in err and "cannot connect" in err
    assert "secret" not in err
    r = run(tmp_path, "--ledger", "postgresql://h:notaport/x", "report", check=False)
    assert r.returncode != 0 and b"postgresql://h:notaport/x" in r.stderr


def test_log_while_the_server_is_down_waits_in_the_spool(tmp_path):
    d = tmp_path / "book"
    d.mkdir()
    (d / "config.toml").write_text('backend = "postgresql://tokenbook:pw@127.0.0.1:1/tokens"\n')
    r = run(tmp_path, "--ledger", d, "log", "-m", "claude-sonnet-4-5", "--input", "1000", "--output", "10")
    err = r.stderr.decode()
    assert "postgresql://tokenbook@127.0.0.1:1/tokens is unreachable" in err and "spool.jsonl" in err
    assert "pw" not in err
    lines = (d / "spool.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["tokens"]["input"] == 1000
    r = run(tmp_path, "--ledger", d, "report", check=False)
    assert r.returncode != 0 and b"cannot connect" in r.stderr
