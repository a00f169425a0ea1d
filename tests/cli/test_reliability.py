"""The ledger's promises with real processes: many writers at once, writers killed mid-write, a full disk.

docs/reliability.md lists each promise, the test here that proves it, and the longer runs of the
same driver (tools/stress) with their figures. The CI configurations are bounded to a few seconds;
under a sanitizer (ASAN_OPTIONS or TSAN_OPTIONS set, as the test presets do) they shrink again.
"""
import json
import os
import pathlib
import resource
import shutil
import signal
import subprocess
import sys
import threading

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
ROOT = pathlib.Path(__file__).resolve().parents[2]
STRESS = os.environ.get("TOKENBOOK_STRESS") or str(ROOT / "build" / "release" / "tokenbook_stress")
CLAUDE = ROOT / "tests" / "data" / "ingest" / "claude"
SANITIZED = any(k in os.environ for k in ("ASAN_OPTIONS", "TSAN_OPTIONS"))

# What the crafted Claude Code logs add to an empty ledger (tests/data/ingest/README.md).
FIXTURE_ENTRIES = 8
FIXTURE_MICROS = 25518

needs_stress = pytest.mark.skipif(not os.path.exists(STRESS), reason=f"no stress driver at {STRESS}")


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TOKENBOOK_") and k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_DATA_HOME")}
    env["HOME"] = str(tmp_path / "home")
    env["TOKENBOOK_DIR"] = str(tmp_path / "ledger")
    env.update(extra)
    return env


def run(tmp_path, *args, preexec_fn=None, **extra):
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env_for(tmp_path, **extra),
                          check=False, preexec_fn=preexec_fn, timeout=120)


def stress(*args):
    result = subprocess.run([STRESS, *args], capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    figures = json.loads(result.stdout)
    print(json.dumps(figures))  # shown with pytest -s: the figures docs/reliability.md quotes
    return figures


def ledger_lines(path):
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "the ledger ends in a partial line"
    return [json.loads(line) for line in text.splitlines()]


@needs_stress
def test_processes_and_threads_appending_reserving_and_ingesting_lose_nothing(tmp_path):
    processes, threads, seconds = (3, 2, 2) if SANITIZED else (4, 4, 3)
    logs = tmp_path / "claude"
    shutil.copytree(CLAUDE, logs)
    figures = stress("run", "--dir", str(tmp_path / "run"), "--processes", str(processes), "--threads",
                     str(threads), "--seconds", str(seconds), "--ingest", str(logs), "--budget-entries", "100")
    assert figures["ok"] is True
    assert figures["failures"] == 0 and figures["errors"] == 0
    assert figures["lost"] == 0 and figures["duplicated_ids"] == 0 and figures["torn_or_invalid_lines"] == 0
    assert figures["entries_acknowledged"] > 500
    assert figures["ledger_lines"] == figures["entries_acknowledged"] + FIXTURE_ENTRIES
    assert figures["total_micros"] == figures["report_total_micros"]
    assert figures["ingest_runs"] >= processes
    assert figures["ingested_entries"] == FIXTURE_ENTRIES == figures["expected_ingested_entries"]
    # The blocking budget: reached exactly, never passed, the rest denied.
    assert figures["guarded_micros"] <= figures["budget_limit_micros"]
    if figures["admissions_denied"] > 0:
        assert figures["guarded_micros"] == figures["budget_limit_micros"]


@needs_stress
def test_writers_killed_at_random_points_lose_no_acknowledged_entry(tmp_path):
    rounds = 60 if SANITIZED else 200
    figures = stress("kill", "--dir", str(tmp_path / "kill"), "--rounds", str(rounds), "--max-delay-ms", "15")
    assert figures["ok"] is True
    assert figures["kills"] == rounds
    assert figures["acknowledged"] > 0
    # Every torn tail but the one a final clean writer closes was closed by the next writer.
    assert figures["torn_tails_closed_by_next_writer"] <= figures["torn_tails"]


def test_cli_processes_logging_and_ingesting_at_once(tmp_path):
    """`tokenbook log` and `tokenbook ingest` run as separate processes on one ledger."""
    logs = tmp_path / "claude"
    shutil.copytree(CLAUDE, logs)
    (tmp_path / "ledger").mkdir()
    loggers, per_logger, ingesters = (3, 5, 3) if SANITIZED else (4, 10, 6)
    results = {}

    def logger(k):
        ids = []
        for n in range(per_logger):
            r = run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", str(1000 + n), "--output", "50",
                    "--agent", f"logger-{k}", "--tag", f"seq={n}", "--json")
            assert r.returncode == 0, r.stderr
            doc = json.loads(r.stdout)
            ids.append((doc["id"], doc["cost_micros"]))
        results[("log", k)] = ids

    def ingester(k):
        r = run(tmp_path, "ingest", "claude-code", "--path", str(logs), "--json")
        assert r.returncode == 0, r.stderr
        results[("ingest", k)] = json.loads(r.stdout)

    workers = [threading.Thread(target=logger, args=(k,)) for k in range(loggers)]
    workers += [threading.Thread(target=ingester, args=(k,)) for k in range(ingesters)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == loggers + ingesters  # every worker finished without an assertion

    entries = ledger_lines(tmp_path / "ledger" / "ledger.jsonl")
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids)), "a duplicated line"
    by_id = {e["id"]: e for e in entries}
    logged = [pair for key, value in results.items() if key[0] == "log" for pair in value]
    for entry_id, cost in logged:
        assert by_id[entry_id]["cost_micros"] == cost
    ingested = [e for e in entries if e.get("source", {}).get("kind") == "claude-code"]
    assert len(ingested) == FIXTURE_ENTRIES
    assert len({e["source"]["key"] for e in ingested}) == FIXTURE_ENTRIES
    assert sum(results[("ingest", k)]["entries"] for k in range(ingesters)) == FIXTURE_ENTRIES
    assert len(entries) == len(logged) + FIXTURE_ENTRIES
    report = run(tmp_path, "report", "--period", "all", "--json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["issues"] == []
    assert doc["totals"]["entries"] == len(entries)
    assert doc["totals"]["cost_micros"] == sum(c for _, c in logged) + FIXTURE_MICROS


def file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def log_until_failure(tmp_path, notes, preexec_fn=None, limit=200):
    """Logs entries with long notes until one fails; returns the ids acknowledged and the failure."""
    ids = []
    for n in range(limit):
        r = run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", "1000", "--notes", notes,
                "--tag", f"seq={n}", "--json", preexec_fn=preexec_fn)
        if r.returncode != 0:
            return ids, r
        ids.append(json.loads(r.stdout)["id"])
    pytest.fail("no append failed")


def check_whole(tmp_path, ids):
    entries = ledger_lines(tmp_path / "ledger" / "ledger.jsonl")  # no partial line
    got = [e["id"] for e in entries]
    assert len(got) == len(set(got))
    assert set(ids) <= set(got)
    return entries


def test_file_size_limit_gives_a_clear_error_and_no_partial_entry(tmp_path):
    first = run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", "10", "--json")
    assert first.returncode == 0, first.stderr
    ledger = tmp_path / "ledger" / "ledger.jsonl"
    limit = ledger.stat().st_size + 6000
    ids, failure = log_until_failure(tmp_path, "n" * 1500, preexec_fn=file_size_limit(limit))
    assert ids, "not even one entry fitted"
    assert "File too large" in failure.stderr and "nothing was appended" in failure.stderr, failure.stderr
    assert failure.stdout == ""  # nothing acknowledged
    entries = check_whole(tmp_path, ids)
    assert len(entries) == 1 + len(ids)
    assert ledger.stat().st_size <= limit
    # Room again: the next append is whole and the report has nothing to skip.
    again = run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", "10", "--json")
    assert again.returncode == 0, again.stderr
    assert len(check_whole(tmp_path, ids)) == 2 + len(ids)
    report = json.loads(run(tmp_path, "report", "--period", "all", "--json").stdout)
    assert report["issues"] == [] and report["totals"]["entries"] == 2 + len(ids)


def test_full_tmpfs_gives_a_clear_error_and_no_partial_entry(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tokenbook-test", str(mnt)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        ledger_dir = mnt / "ledger"
        env = {"TOKENBOOK_DIR": str(ledger_dir)}
        first = run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", "10", "--json", **env)
        assert first.returncode == 0, first.stderr
        ids = [json.loads(first.stdout)["id"]]
        # Fill most of the rest, so that the ledger runs out of room soon.
        filler = mnt / "filler"
        with open(filler, "wb") as f:
            try:
                f.write(b"\0" * (48 * 1024))
            except OSError:
                pass
        for n in range(100):
            r = run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", "1000", "--notes", "n" * 2000,
                    "--tag", f"seq={n}", "--json", **env)
            if r.returncode != 0:
                failure = r
                break
            ids.append(json.loads(r.stdout)["id"])
        else:
            pytest.fail("the tmpfs never filled up")
        assert "No space left on device" in failure.stderr, failure.stderr
        assert "nothing was appended" in failure.stderr, failure.stderr
        text = (ledger_dir / "ledger.jsonl").read_text()
        assert text.endswith("\n")
        got = [json.loads(line)["id"] for line in text.splitlines()]
        assert got == ids
        filler.unlink()  # room again
        again = run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", "10", "--json", **env)
        assert again.returncode == 0, again.stderr
        report = json.loads(run(tmp_path, "report", "--period", "all", "--json", **env).stdout)
        assert report["issues"] == [] and report["totals"]["entries"] == len(ids) + 1
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-s"]))
