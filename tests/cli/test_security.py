"""What docs/security.md promises, checked through the real binary and library.

File modes whatever the umask; no prompt, response or secret from a log reaches any file tokenbook
writes; no shell or other program is ever started (the binaries do not even import the calls that
would); paths named inside logs are never opened.
"""
import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
ROOT = pathlib.Path(__file__).resolve().parents[2]
STRESS = os.environ.get("TOKENBOOK_STRESS") or str(ROOT / "build" / "release" / "tokenbook_stress")
LIBRARY = os.environ.get("TOKENBOOK_LIBRARY") or str(ROOT / "build" / "release" / "libtokenbook.so")
CLAUDE = ROOT / "tests" / "data" / "ingest" / "claude"

SECRETS = ["sk-ant-api03-SECRETKEY-d41d8cd98f00b204e980", "sk-proj-SECRETOPENAI-0123456789abcdef",
           "PROMPT-TEXT-never-stored-5512", "RESPONSE-TEXT-never-stored-9923", "TOOL-OUTPUT-never-stored-3141",
           "THINKING-never-stored-2718", "hunter2-password-in-a-tool-call"]


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TOKENBOOK_") and k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_DATA_HOME")}
    env["HOME"] = str(tmp_path / "home")
    env["TOKENBOOK_DIR"] = str(tmp_path / "ledger")
    env.update(extra)
    return env


def run(tmp_path, *args, umask=None, timeout=60, **extra):
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env_for(tmp_path, **extra),
                          check=False, preexec_fn=preexec, timeout=timeout)


def modes(root):
    """{relative path: permission bits} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = pathlib.Path(dirpath) / name
            out[str(p.relative_to(root))] = (stat.S_IMODE(p.lstat().st_mode), p.is_dir())
    out["."] = (stat.S_IMODE(pathlib.Path(root).stat().st_mode), True)
    return out


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_ledger_files_are_0600_and_directories_0700_whatever_the_umask(tmp_path, umask):
    logs = tmp_path / "claude"
    shutil.copytree(CLAUDE, logs)
    assert run(tmp_path, "log", "--model", "claude-sonnet-4-5", "--input", "100", umask=umask).returncode == 0
    assert run(tmp_path, "ingest", "claude-code", "--path", str(logs), umask=umask).returncode == 0
    ledger = tmp_path / "ledger"
    # A blocking budget, reservations and alerts: the files of admission too.
    if os.path.exists(STRESS):
        stress_dir = tmp_path / "stress"
        r = subprocess.run([STRESS, "run", "--dir", str(stress_dir), "--processes", "1", "--threads", "2",
                            "--entries", "60", "--budget-entries", "5"],
                           capture_output=True, text=True, check=False, preexec_fn=lambda: os.umask(umask))
        assert r.returncode == 0, r.stderr
        found = modes(stress_dir / "ledger")
        assert "reservations.jsonl" in found and "budget.lock" in found
        found.pop("config.toml")  # the directory and config.toml are made by the driver, not by tokenbook
        found.pop(".")
        for name, (mode, is_dir) in found.items():
            assert mode == (0o700 if is_dir else 0o600), f"{name}: {oct(mode)} under umask {oct(umask)}"
    found = modes(ledger)
    assert "ledger.jsonl" in found and "cache" in found
    for name, (mode, is_dir) in found.items():
        assert mode == (0o700 if is_dir else 0o600), f"{name}: {oct(mode)} under umask {oct(umask)}"


def write_secret_logs(root):
    """A Claude Code config dir and a Codex home whose messages carry secrets and prompt text."""
    claude = root / "claude" / "projects" / "-home-dev-work-shop"
    claude.mkdir(parents=True)
    lines = [
        {"type": "user", "sessionId": "s-sec", "cwd": "/home/dev/work/shop", "timestamp": "2026-03-01T10:00:00.000Z",
         "message": {"role": "user", "content": f"{SECRETS[2]} my key is {SECRETS[0]}"}},
        {"type": "assistant", "sessionId": "s-sec", "cwd": "/home/dev/work/shop", "requestId": "req_sec1",
         "timestamp": "2026-03-01T10:00:01.000Z",
         "message": {"id": "msg_sec1", "role": "assistant", "model": "claude-sonnet-4-5",
                     "content": [{"type": "thinking", "thinking": SECRETS[5]},
                                 {"type": "text", "text": f"{SECRETS[3]} {SECRETS[0]}"},
                                 {"type": "tool_use", "id": "tu1", "name": "Bash",
                                  "input": {"command": f"curl -H 'x-api-key: {SECRETS[0]}' -u admin:{SECRETS[6]}"}}],
                     "usage": {"input_tokens": 120, "output_tokens": 30}}},
        {"type": "user", "sessionId": "s-sec", "cwd": "/home/dev/work/shop", "timestamp": "2026-03-01T10:00:02.000Z",
         "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
                                                   "content": f"{SECRETS[4]} {SECRETS[1]}"}]}},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    # A broken line that mentions usage and a secret: reported, but the report must not quote it.
    text += '{"type":"assistant","message":{"usage":{"input_tokens":' + f'"{SECRETS[0]}"' + "}}\n"
    (claude / "s-sec.jsonl").write_text(text)

    codex = root / "codex" / "sessions" / "2026" / "05" / "13"
    codex.mkdir(parents=True)
    events = [
        {"timestamp": "2026-05-13T08:59:00.000Z", "type": "session_meta",
         "payload": {"id": "cx-sec", "cwd": "/home/dev/work/shop", "instructions": SECRETS[2]}},
        {"timestamp": "2026-05-13T09:00:00.000Z", "type": "turn_context", "payload": {"model": "gpt-5"}},
        {"timestamp": "2026-05-13T09:00:10.000Z", "type": "response_item",
         "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": SECRETS[1]}]}},
        {"timestamp": "2026-05-13T09:00:20.000Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "arguments": json.dumps({"cmd": SECRETS[6]})}},
        {"timestamp": "2026-05-13T09:00:30.000Z", "type": "event_msg",
         "payload": {"type": "agent_message", "message": SECRETS[3]}},
        {"timestamp": "2026-05-13T09:01:00.000Z", "type": "event_msg",
         "payload": {"type": "token_count", "info": {"last_token_usage": {
             "input_tokens": 1000, "cached_input_tokens": 0, "output_tokens": 100, "reasoning_output_tokens": 0,
             "total_tokens": 1100}}}},
    ]
    (codex / "rollout-2026-05-13T08-59-00-sec.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return root / "claude", root / "codex"


def test_no_prompt_response_or_secret_reaches_any_file(tmp_path):
    claude, codex = write_secret_logs(tmp_path / "logs")
    outputs = []
    for source, path in (("claude-code", claude), ("codex", codex)):
        r = run(tmp_path, "ingest", source, "--path", str(path), "--json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["entries"] == 1, doc
        outputs.append(r.stdout + r.stderr)
    for args in (["report", "--period", "all", "--json"], ["report", "--period", "all", "--by", "project,session"],
                 ["export", "--format", "jsonl"], ["summary", "-o", "-"]):
        r = run(tmp_path, *args)
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout + r.stderr)
    written = [p for p in (tmp_path / "ledger").rglob("*") if p.is_file()]
    assert any(p.name == "ledger.jsonl" for p in written)
    for p in written:
        data = p.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} found in {p}"
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
    # What is kept: the counts, the model, the session id and the project (the cwd's last part).
    entries = [json.loads(line) for line in (tmp_path / "ledger" / "ledger.jsonl").read_text().splitlines()]
    assert {e["project"] for e in entries} == {"shop"}


def undefined_dynamic_symbols(path):
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm to list the imported symbols")
    r = subprocess.run([nm, "-D", "--undefined-only", path], capture_output=True, text=True, check=True)
    return {line.split()[-1].split("@")[0] for line in r.stdout.splitlines() if line.strip()}


# The calls that start a shell or another program, or a process at all.
SPAWNING = {"system", "popen", "execl", "execle", "execlp", "execv", "execve", "execvp", "execvpe", "fexecve",
            "execveat", "posix_spawn", "posix_spawnp", "fork", "vfork", "clone", "clone3", "wordexp"}


@pytest.mark.parametrize("which", ["cli", "library"])
def test_no_shell_or_program_is_ever_started(which):
    path = shutil.which(CLI) if which == "cli" else LIBRARY
    if not path or not os.path.exists(path):
        pytest.skip(f"no {which} binary to inspect")
    imported = undefined_dynamic_symbols(path)
    assert imported, "nm listed nothing: not a dynamic binary?"
    assert "write" in imported or "pwrite64" in imported or "pwrite" in imported  # the listing works
    assert SPAWNING.isdisjoint(imported), sorted(SPAWNING & imported)


def test_paths_inside_logs_are_never_opened(tmp_path):
    """A cwd or file path in a log naming a FIFO or /dev/zero: opening either would hang or never end."""
    fifo = tmp_path / "trap.fifo"
    os.mkfifo(fifo)
    project = tmp_path / "logs" / "projects" / "-trap"
    project.mkdir(parents=True)
    lines = []
    for k, cwd in enumerate([str(fifo), "/dev/zero", "/proc/self/mem", str(tmp_path / "no-such-dir")]):
        lines.append({"type": "assistant", "sessionId": "s-trap", "cwd": cwd, "requestId": f"req_trap{k}",
                      "timestamp": "2026-03-01T10:00:00.000Z",
                      "message": {"id": f"msg_trap{k}", "role": "assistant", "model": "claude-sonnet-4-5",
                                  "content": [{"type": "tool_use", "name": "Read", "input": {"file_path": cwd}}],
                                  "usage": {"input_tokens": 10, "output_tokens": 1}}})
    (project / "s-trap.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (tmp_path / "logs" / "projects" / "-trap" / "pipe.jsonl").symlink_to(fifo)  # a link to a FIFO is not a log
    r = run(tmp_path, "ingest", "claude-code", "--path", str(tmp_path / "logs"), "--json", timeout=30)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["entries"] == 4
    entries = [json.loads(line) for line in (tmp_path / "ledger" / "ledger.jsonl").read_text().splitlines()]
    assert sorted(e["project"] for e in entries) == sorted(["trap.fifo", "zero", "mem", "no-such-dir"])
    assert not (tmp_path / "no-such-dir").exists()
