"""End-to-end tests of `tokenbook ingest` and the Claude Code hook example, through the real binary."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "ingest"
HOOK = ROOT / "examples" / "hooks" / "claude-code-ingest.sh"
TRANSCRIPT = "projects/-home-dev-work-app/sess-1.jsonl"


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TOKENBOOK_") and k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_DATA_HOME")}
    env["HOME"] = str(tmp_path / "home")
    env["TOKENBOOK_DIR"] = str(tmp_path / "ledger")
    env["TOKENBOOK_NOW"] = "2026-06-01T12:00:00Z"
    env.update(extra)
    return env


def run(tmp_path, *args, stdin=None, **extra):
    return subprocess.run([CLI, *args], capture_output=True, text=True, input=stdin,
                          env=env_for(tmp_path, **extra), check=False)


def ingest_json(tmp_path, *args, **extra):
    result = run(tmp_path, "ingest", *args, "--json", **extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def claude_home(tmp_path):
    """A ~/.claude holding the crafted transcripts."""
    home = tmp_path / "home" / ".claude"
    shutil.copytree(DATA / "claude", home)
    return home


def ledger_lines(tmp_path):
    path = tmp_path / "ledger" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_default_location_every_rule_and_exact_cost(tmp_path):
    home = claude_home(tmp_path)
    doc = ingest_json(tmp_path, "claude-code")
    assert doc["files"] == 2
    assert doc["entries"] == 8
    assert doc["copies_merged"] == 2
    assert doc["duplicates"] == 1
    assert doc["unpriced"] == 1
    assert doc["unpriced_models"] == ["acme-frontier-9"]
    assert doc["unusable"] == 3
    assert doc["cost_micros"] == 25518
    assert doc["cost_usd"] == "0.025518"
    assert doc["tokens"] == {"input": 1236, "output": 1168, "cache_read": 1000, "cache_write_5m": 600,
                             "cache_write_1h": 600, "reasoning": 0}
    transcript = str(home / TRANSCRIPT)
    assert [(i["file"], i["line"]) for i in doc["issues"]] == [(transcript, 11), (transcript, 12), (transcript, 13)]
    assert doc["issues"][1]["reason"] == 'field "message.usage.input_tokens": a negative count'
    entries = {e["source"]["key"]: e for e in ledger_lines(tmp_path)}
    assert sum(e["cost_micros"] for e in entries.values()) == 25518
    assert entries["cc:msg_m1:req_m1"]["tokens"] == {"input": 100, "output": 40, "cache_read": 1000,
                                                     "cache_write_5m": 200}
    assert entries["cc:msg_m6:req_m6"]["tokens"]["cache_write_1h"] == 600
    assert entries["cc:msg_m7:req_m7"]["service_tier"] == "fast"
    assert entries["cc:msg_m5:req_m5"]["cost_source"] == "unpriced"
    assert entries["cc:msg_m1:req_m1"]["project"] == "app"
    assert entries["cc:msg_m1:req_m1"]["tool"] == "claude-code"


def test_second_run_reads_nothing_and_adds_nothing(tmp_path):
    claude_home(tmp_path)
    ingest_json(tmp_path, "claude-code")
    before = (tmp_path / "ledger" / "ledger.jsonl").read_bytes()
    again = ingest_json(tmp_path, "claude-code")
    assert (again["files"], again["files_read"], again["bytes_read"], again["entries"]) == (2, 0, 0, 0)
    full = ingest_json(tmp_path, "claude-code", "--full")
    assert full["entries"] == 0
    assert full["duplicates"] == 9
    assert (tmp_path / "ledger" / "ledger.jsonl").read_bytes() == before


def test_appended_lines_are_the_only_bytes_read(tmp_path):
    home = claude_home(tmp_path)
    ingest_json(tmp_path, "claude-code")
    line = json.dumps({"type": "assistant", "sessionId": "sess-1", "timestamp": "2026-03-05T10:00:00.000Z",
                       "requestId": "req_new", "message": {"id": "msg_new", "model": "claude-sonnet-4-5",
                                                           "usage": {"input_tokens": 1000, "output_tokens": 100}}})
    with open(home / TRANSCRIPT, "a") as f:
        f.write(line + "\n")
    doc = ingest_json(tmp_path, "claude-code")
    assert doc["files_read"] == 1
    assert doc["bytes_read"] == len(line) + 1
    assert doc["entries"] == 1
    assert doc["cost_micros"] == 1000 * 3 + 100 * 15


def test_reports_after_an_ingest_read_the_kept_totals_and_match_a_full_read(tmp_path):
    home = claude_home(tmp_path)
    ingest_json(tmp_path, "claude-code")
    cache = tmp_path / "ledger" / "cache" / "report-totals.bin"
    assert cache.exists()  # kept by the ingest itself
    variants = [["--period", "all", "--by", "day"], ["--period", "all", "--by", "month,model"],
                ["--period", "all", "--by", "hour", "--tz", "Asia/Kathmandu"],
                ["--period", "all", "--by", "model", "--model", "claude-sonnet-4-5"],
                ["--period", "all", "--by", "project"]]

    def reports():
        out = []
        for args in variants:
            result = run(tmp_path, "report", *args, "--format", "json")
            assert result.returncode == 0, result.stderr
            out.append(result.stdout)
        return out

    kept = reports()
    aside = cache.with_suffix(".aside")
    cache.rename(aside)
    assert reports() == kept  # read from every line: the same bytes
    aside.rename(cache)
    # A line added by another writer after the cache is read on top of it.
    with open(home / TRANSCRIPT, "a") as f:
        f.write(json.dumps({"type": "assistant", "sessionId": "sess-1", "timestamp": "2026-03-05T10:07:00.000Z",
                            "requestId": "req_more", "message": {"id": "msg_more", "model": "claude-sonnet-4-5",
                                                                 "usage": {"input_tokens": 10, "output_tokens": 1}}})
                + "\n")
    assert ingest_json(tmp_path, "claude-code")["entries"] == 1
    assert cache.exists()
    with_cache = reports()
    cache.unlink()
    assert reports() == with_cache
    assert with_cache != kept
    # A broken line is named by the report, whichever way it would have summed.
    with open(tmp_path / "ledger" / "ledger.jsonl", "a") as f:
        f.write('{"v":1,"id":"broken"\n')
    result = run(tmp_path, "report", "--period", "all", "--by", "day", "--format", "json")
    issues = json.loads(result.stdout)["issues"]
    assert [(pathlib.Path(i["file"]).name, i["line"]) for i in issues] == [("ledger.jsonl", 10)]


def test_config_dir_list_dry_run_and_since(tmp_path):
    a = tmp_path / "a"
    shutil.copytree(DATA / "claude", a)
    b = tmp_path / "b"
    b.mkdir()
    dirs = f"{a}, {b}"
    dry = ingest_json(tmp_path, "claude-code", "--dry-run", CLAUDE_CONFIG_DIR=dirs)
    assert dry["dry_run"] is True
    assert dry["entries"] == 8
    assert ledger_lines(tmp_path) == []
    assert not (tmp_path / "ledger" / "cache" / "ingest-claude-code.jsonl").exists()
    since = ingest_json(tmp_path, "claude-code", "--since", "2026-03-03", CLAUDE_CONFIG_DIR=dirs)
    assert since["entries"] == 3  # m6, m7 (March 3) and m8 (March 4)
    assert since["before_since"] == 8
    # --since keeps no state: a later run without it adds the older ones.
    rest = ingest_json(tmp_path, "claude-code", CLAUDE_CONFIG_DIR=dirs)
    assert rest["entries"] == 5
    assert len(ledger_lines(tmp_path)) == 8


def test_text_output_and_issues_on_stderr(tmp_path):
    home = claude_home(tmp_path)
    result = run(tmp_path, "ingest", "claude-code", "--path", str(home))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "claude-code: 2 files (2 read, 0 unchanged), 0.0 MB, 16 lines"
    assert lines[1].startswith("  added 8 entries, $0.025518 (input 1,236, output 1,168, cache_read 1,000,")
    assert "1 entry is UNPRICED (unknown model: acme-frontier-9)" in result.stderr
    assert f"{home / TRANSCRIPT}:12: field \"message.usage.input_tokens\": a negative count" in result.stderr


def test_codex_rollouts(tmp_path):
    codex = tmp_path / "home" / ".codex"
    shutil.copytree(DATA / "codex", codex)
    doc = ingest_json(tmp_path, "codex")
    assert doc["files"] == 2
    assert doc["entries"] == 3
    assert doc["duplicates"] == 2
    assert doc["cost_micros"] == 8006
    assert doc["tokens"]["reasoning"] == 275
    again = ingest_json(tmp_path, "codex", "--full")
    assert again["entries"] == 0


@pytest.mark.parametrize("source,file,cost", [
    ("anthropic-response", "anthropic-response.json",
     1200 * 3 + 300 * 15 + 10000 * 3 // 10 + 500 * 375 // 100 + 1500 * 6),
    ("openai-response", "openai-chat-response.json", 1200 * 125 // 100 + 800 * 125 // 1000 + 500 * 10),
    ("openai-response", "openai-responses-response.json", 2000 * 125 // 100 + 1000 * 125 // 1000 + 700 * 10),
])
def test_response_documents_are_idempotent(tmp_path, source, file, cost):
    text = (DATA / file).read_text()
    first = ingest_json(tmp_path, source, stdin=text)
    assert [e["added"] for e in first["entries"]] == [True]
    assert first["entries"][0]["cost_micros"] == cost
    second = ingest_json(tmp_path, source, "--path", str(DATA / file))
    assert [e["added"] for e in second["entries"]] == [False]
    assert len(ledger_lines(tmp_path)) == 1
    assert "SECRET" not in (tmp_path / "ledger" / "ledger.jsonl").read_text()


def test_claude_json_result_one_entry_per_model(tmp_path):
    doc = ingest_json(tmp_path, "claude-json", "--path", str(DATA / "claude-json-result.json"))
    assert [e["model"] for e in doc["entries"]] == ["claude-sonnet-4-5", "claude-haiku-4-5"]
    # 10 x $3 + 20 x $15 + 1000 x $0.30 + 100 x $3.75 per MTok; 50 x $1 + 5 x $5
    assert [e["cost_micros"] for e in doc["entries"]] == [30 + 300 + 300 + 375, 50 + 25]


def test_errors_exit_codes(tmp_path):
    assert run(tmp_path, "ingest", "nonsense").returncode == 64
    missing = run(tmp_path, "ingest", "claude-code", "--path", str(tmp_path / "nowhere"))
    assert missing.returncode == 66
    assert "nowhere" in missing.stderr
    bad = run(tmp_path, "ingest", "openai-response", stdin='{"model": "gpt-5", "usage": {"prompt_tokens": -1}}')
    assert bad.returncode == 65
    assert bad.stderr == 'tokenbook: <stdin>: field "usage.prompt_tokens": a negative count\n'


def run_hook(tmp_path, payload):
    env = env_for(tmp_path, TOKENBOOK=CLI)
    return subprocess.run(["sh", str(HOOK)], input=json.dumps(payload), capture_output=True, text=True,
                          env=env, check=False)


def test_hook_ingests_the_session_and_is_idempotent(tmp_path):
    home = claude_home(tmp_path)
    payload = {"session_id": "sess-1", "transcript_path": str(home / TRANSCRIPT), "cwd": "/home/dev/work/app",
               "hook_event_name": "Stop"}
    first = run_hook(tmp_path, payload)
    assert first.returncode == 0
    assert first.stdout == ""
    keys = sorted(e["source"]["key"] for e in ledger_lines(tmp_path))
    assert len(keys) == 8  # the transcript and its sub-agent's
    payload["hook_event_name"] = "SessionEnd"
    again = run_hook(tmp_path, payload)
    assert again.returncode == 0
    assert sorted(e["source"]["key"] for e in ledger_lines(tmp_path)) == keys


def test_hook_never_fails_the_session(tmp_path):
    for payload in ({}, {"transcript_path": str(tmp_path / "missing.jsonl")}):
        result = run_hook(tmp_path, payload)
        assert result.returncode == 0
        assert result.stdout == ""
        assert "claude-code-ingest:" in result.stderr
    settings = json.loads((ROOT / "examples" / "hooks" / "claude-code-settings.json").read_text())
    for event in ("Stop", "SessionEnd"):
        assert settings["hooks"][event][0]["hooks"][0]["command"].endswith("claude-code-ingest.sh")
