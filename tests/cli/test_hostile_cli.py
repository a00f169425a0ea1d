"""Hostile input through the real binary: the bad-input catalogue of the reliability work.

Every bad input gets a clear message naming the file, the line and, where there is one, the
field; a command that reads keeps going past it; nothing already in the ledger changes. The
policies these tests pin (long lines, symlinks, ownership) are written up in
docs/ledger-format.md, "Hostile files".
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-11-22T10:00:00Z"
GOOD = ('{"v":1,"id":"01JD3Q5Z8X9K2M4N6P7R0S1T2V","ts":"2026-11-22T05:49:04.123Z",'
        '"model":"claude-sonnet-4-5","provider":"anthropic","tokens":{"input":12000,"output":4500},'
        '"requests":1,"cost_micros":103500,"cost_usd":"0.103500","cost_source":"computed"}')
HUGE = 300 << 20  # a 300 MB line
RSS_LIMIT_KB = 200 << 10  # the whole process, for a command that meets a 300 MB line


def under_asan():
    """The sanitizer build's command reserves far more address space and memory."""
    return "asan" in CLI or os.environ.get("TOKENBOOK_SANITIZED") == "1"


def env_for(root, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TOKENBOOK_") and k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_DATA_HOME")}
    env["HOME"] = str(root / "home")
    env["TOKENBOOK_NOW"] = NOW
    env.update(extra)
    return env


def run(root, *args, stdin=None, timeout=120, **extra):
    return subprocess.run([CLI, "--ledger", str(root / "book"), *args], capture_output=True, input=stdin,
                          env=env_for(root, **extra), check=False, timeout=timeout)


def run_measured(root, *args):
    """Runs the command and returns (result, its peak RSS in KiB)."""
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
             "sys.stdout.buffer.write(r.stdout)\n"
             "sys.stderr.buffer.write(r.stderr)\n"
             "sys.stderr.write('\\nPEAK_RSS_KB=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.exit(r.returncode)\n")
    result = subprocess.run([sys.executable, "-c", probe, CLI, "--ledger", str(root / "book"), *args],
                            capture_output=True, env=env_for(root), check=False, timeout=300)
    err = result.stderr.decode(errors="replace")
    peak = int(err.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    return result, err.rsplit("PEAK_RSS_KB=", 1)[0], peak


@pytest.fixture
def root(tmp_path):
    (tmp_path / "home").mkdir()
    return tmp_path


def make_ledger(root, *lines):
    book = root / "book"
    book.mkdir(mode=0o700, exist_ok=True)
    data = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    (book / "ledger.jsonl").write_bytes(data)
    return book / "ledger.jsonl"


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def report(root):
    result = run(root, "report", "--period", "all", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr.decode(errors="replace")


# --- ledger lines ---------------------------------------------------------------------------

BAD_LINES = [
    (GOOD.replace('"claude-sonnet-4-5"', '"claude-\xff-4-5"').encode("latin-1"), "invalid UTF-8"),
    (GOOD.replace('"claude-sonnet-4-5"', '"claude-\ud800"', 1).encode("utf-8", "surrogatepass"), "invalid UTF-8"),
    (GOOD.replace('"claude-sonnet-4-5"', '"claude\\udc00"'), 'field "model"'),
    (GOOD.replace('"claude-sonnet-4-5"', '"claude\x00sonnet"').encode(), "column 89: a NUL byte"),
    (GOOD.replace('"input":12000', '"input":18446744073709551616'), 'field "tokens.input"'),
    # An exponent beyond a double's range stops RapidJSON itself: a column, not a field.
    (GOOD.replace('"input":12000', '"input":1e400'), "column 143: Number too big"),
    (GOOD.replace('"input":12000', '"input":-1'), 'field "tokens.input"'),
    (GOOD.replace('"cost_micros":103500', '"cost_micros":9223372036854775808'), 'field "cost_micros"'),
    (GOOD.replace('"requests":1', '"requests":' + "[" * 100_000 + "]" * 100_000), 'field "requests"'),
    ('{"v":1,"x":' + "[" * 100_000, "invalid JSON"),
    ('{"v":1,"x":' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "}", 'field "id": missing'),
]


@pytest.mark.parametrize("line, needle", BAD_LINES, ids=[
    "invalid-utf8", "encoded-surrogate", "escaped-lone-surrogate", "nul", "tokens-2^64", "tokens-1e400",
    "tokens-negative", "cost-2^63", "nested-100k-in-field", "nested-100k-unclosed", "nested-100k-unknown-field"])
def test_a_bad_ledger_line_is_reported_by_file_line_and_field_and_skipped(root, line, needle):
    ledger = make_ledger(root, GOOD, line, GOOD.replace("T2V", "T2W"))
    before = digest(ledger)
    doc, _ = report(root)
    assert doc["totals"]["cost_micros"] == 2 * 103500  # the lines around it still count
    assert [(pathlib.Path(i["file"]).name, i["line"]) for i in doc["issues"]] == [("ledger.jsonl", 2)]
    assert needle in doc["issues"][0]["message"], doc["issues"][0]
    text = run(root, "report", "--period", "all")
    assert text.returncode == 0
    assert "ledger.jsonl:2:" in text.stderr.decode(errors="replace")
    # Appending past it keeps every byte already written.
    result = run(root, "log", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1")
    assert result.returncode == 0, result.stderr
    data = ledger.read_bytes()
    assert hashlib.sha256(data[:ledger.stat().st_size - len(data.splitlines()[-1]) - 1]).hexdigest() == before


@pytest.mark.parametrize("value, needle", [
    ("18446744073709551616", "--input"), ("1e400", "--input"), ("-1", "--input")])
def test_log_refuses_numbers_beyond_64_bits_and_writes_nothing(root, value, needle):
    ledger = make_ledger(root, GOOD)
    before = digest(ledger)
    result = run(root, "log", "--model", "claude-sonnet-4-5", "--input", value, "--output", "1")
    assert result.returncode != 0
    assert needle in result.stderr.decode()
    assert digest(ledger) == before


def test_a_300_mb_ledger_line_is_skipped_in_bounded_memory(root):
    if under_asan():
        pytest.skip("peak RSS is not meaningful under AddressSanitizer's allocator")
    book = root / "book"
    book.mkdir(mode=0o700)
    ledger = book / "ledger.jsonl"
    with open(ledger, "wb") as f:
        f.write(GOOD.encode() + b"\n")
        f.write(b'{"v":1,"notes":"')
        block = b"x" * (1 << 20)
        for _ in range(HUGE >> 20):
            f.write(block)
        f.write(b'"}\n')
        f.write(GOOD.replace("T2V", "T2W").encode() + b"\n")
    size = ledger.stat().st_size
    result, stderr, peak = run_measured(root, "report", "--period", "all", "--json")
    assert result.returncode == 0, stderr
    doc = json.loads(result.stdout)
    assert doc["totals"]["cost_micros"] == 2 * 103500
    assert [(i["line"], "longer than" in i["message"]) for i in doc["issues"]] == [(2, True)]
    assert peak < RSS_LIMIT_KB, f"peak RSS {peak} KiB"
    print(f"report over a 300 MB line: peak RSS {peak} KiB")
    result = run(root, "log", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1")
    assert result.returncode == 0, result.stderr
    assert ledger.stat().st_size > size  # appended after, nothing rewritten
    ledger.unlink()


# --- config and rate files ------------------------------------------------------------------

@pytest.mark.parametrize("text, needle", [
    (b'time_zone = "Europe/\xff"\n', "config.toml:1"),
    (b'time_zone = "UTC"\n[budgets]\nmonthly = "1\x00"\n', "config.toml:3"),
    (b'[budgets]\nmonthly = 18446744073709551616\n', "config.toml:2"),
    (b'[budgets]\nmonthly = 1e400\n', "config.toml:2"),
    (b'[budgets]\nmonthly = -1\n', "config.toml:2"),
    (b'[budgets]\nmonthly = ' + b"[" * 100_000 + b"\n", "config.toml:2"),
    (b'[rates]\nfiles = [' + b"{a=" * 50_000 + b"\n", "config.toml:2"),
    (b'[caf\xc3\xa9]\n', "config.toml:1:5"),
    (b'[budgets]\nmonthly = [}]\n', "config.toml:2"),
], ids=["invalid-utf8", "nul", "2^64", "1e400", "negative", "nested-arrays", "nested-tables", "non-ascii-key",
        "bracket-brace"])
def test_a_bad_config_names_file_and_line_and_changes_nothing(root, text, needle):
    ledger = make_ledger(root, GOOD)
    before = digest(ledger)
    (root / "book" / "config.toml").write_bytes(text)
    result = run(root, "log", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1")
    assert result.returncode != 0
    err = result.stderr.decode(errors="replace")
    assert needle in err, err
    assert len(err.strip().splitlines()) <= 2, err
    assert digest(ledger) == before


@pytest.mark.parametrize("name, text, needle", [
    ("bad.toml", b'schema = 1\nas_of = "2026-01-01"\n[[models]]\nid = "m\xff"\n', "bad.toml:4"),
    ("bad.toml", b'schema = 1\nas_of = "2026-01-01"\n[[models]]\nid = "m"\nprovider = "p"\ninput = 1e400\n',
     "bad.toml:6"),
    ("bad.toml", b'schema = 1\nas_of = "2026-01-01"\n[[models]]\nid = "m"\nprovider = "p"\n'
                 b'input = 18446744073709551616\n', "bad.toml:6"),
    ("bad.toml", b'schema = 1\nas_of = "2026-01-01"\n[[models]]\nid = "m"\nprovider = "p"\ninput = -1\n',
     "bad.toml:6"),
    ("bad.toml", b"schema = " + b"[" * 100_000, "bad.toml:1"),
    ("bad.json", b'{"m": {"input_cost_per_token": 1e400, "output_cost_per_token": 1e-6}}', "bad.json"),
    ("bad.json", b'{"m\xff": {"input_cost_per_token": 1e-6}}', "bad.json"),
    ("bad.json", b"[" * 100_000, "bad.json"),
], ids=["toml-invalid-utf8", "toml-1e400", "toml-2^64", "toml-negative", "toml-nested", "json-1e400",
        "json-invalid-utf8", "json-nested"])
def test_a_bad_rate_file_names_itself(root, name, text, needle):
    path = root / name
    path.write_bytes(text)
    result = subprocess.run([CLI, "--rates", str(path), "rates", "list"], capture_output=True, env=env_for(root),
                            check=False, timeout=60)
    assert result.returncode != 0
    err = result.stderr.decode(errors="replace")
    assert needle in err, err


# --- ingest logs ----------------------------------------------------------------------------

CC_LINE = ('{"type":"assistant","timestamp":"2026-05-01T10:00:00.000Z","sessionId":"s1","cwd":"/w/app",'
           '"requestId":"req_%d","message":{"id":"msg_%d","model":"claude-sonnet-4-5",'
           '"usage":{"input_tokens":%s,"output_tokens":10}}}')


def claude_projects(root, lines):
    folder = root / "claude" / "projects" / "-w-app"
    folder.mkdir(parents=True)
    (folder / "s1.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    return root / "claude" / "projects"


def ingest(root, projects, *extra):
    result = run(root, "ingest", "claude-code", "--path", str(projects), "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ingest_reports_each_hostile_line_by_file_and_line_and_keeps_going(root):
    lines = [
        (CC_LINE % (1, 1, "100")).encode(),
        (CC_LINE % (2, 2, "18446744073709551616")).encode(),
        (CC_LINE % (3, 3, "1e400")).encode(),
        (CC_LINE % (4, 4, "-1")).encode(),
        (CC_LINE % (5, 5, "100")).replace("claude-sonnet-4-5", "claude-\xff").encode("latin-1"),
        (CC_LINE % (6, 6, "100")).replace("claude-sonnet-4-5", "claude\\udc00"),
        (CC_LINE % (7, 7, "100")).replace("s1", "s\x001").encode(),
        ('{"type":"assistant","timestamp":"2026-05-01T10:00:00.000Z","message":{"model":"m","usage":'
         '{"input_tokens":' + "[" * 100_000 + "]" * 100_000 + "}}}").encode(),
        ('{"message":{"usage":' + "{" * 100_000).encode(),
        (CC_LINE % (8, 8, "200")).encode(),
    ]
    lines[5] = lines[5].encode()
    projects = claude_projects(root, lines)
    doc = ingest(root, projects)
    assert doc["entries"] == 2, json.dumps(doc)
    assert doc["tokens"]["input"] == 300
    reasons = {i["line"]: i["reason"] for i in doc["issues"]}
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 9}, reasons
    assert "input_tokens" in reasons[2] and "input_tokens" in reasons[4]
    assert "column 188: Number too big" in reasons[3]  # RapidJSON's own check on 1e400
    assert "UTF-8" in reasons[5] and "UTF-8" in reasons[6]
    assert reasons[8] == 'field "message.usage.input_tokens": an array'  # not a silent zero
    assert "invalid JSON" in reasons[9]
    assert all(i["file"].endswith("s1.jsonl") for i in doc["issues"])


def test_a_300_mb_log_line_is_skipped_in_bounded_memory(root):
    if under_asan():
        pytest.skip("peak RSS is not meaningful under AddressSanitizer's allocator")
    folder = root / "claude" / "projects" / "-w-app"
    folder.mkdir(parents=True)
    log = folder / "s1.jsonl"
    with open(log, "wb") as f:
        f.write((CC_LINE % (1, 1, "100")).encode() + b"\n")
        f.write(b'{"type":"user","message":{"content":"')
        block = b"y" * (1 << 20)
        for _ in range(HUGE >> 20):
            f.write(block)
        f.write(b'"}}\n')
        f.write((CC_LINE % (2, 2, "200")).encode() + b"\n")
    result, stderr, peak = run_measured(root, "ingest", "claude-code", "--path", str(root / "claude" / "projects"),
                                        "--json")
    assert result.returncode == 0, stderr
    doc = json.loads(result.stdout)
    assert doc["entries"] == 2
    assert [(i["line"], "longer than" in i["reason"]) for i in doc["issues"]] == [(2, True)]
    assert peak < RSS_LIMIT_KB, f"peak RSS {peak} KiB"
    print(f"ingest over a 300 MB line: peak RSS {peak} KiB")
    log.unlink()


@pytest.mark.parametrize("source, body, needle", [
    ("anthropic-response", b'{"model":"claude-sonnet-4-5","usage":{"input_tokens":18446744073709551616}}',
     "usage.input_tokens"),
    ("anthropic-response", b'{"model":"claude\\udc00","usage":{"input_tokens":1}}', 'field "model"'),
    ("openai-response", b'{"model":"gpt-5","usage":{"prompt_tokens":1e400}}', "offset 42: Number too big"),
    ("claude-json", b'{"modelUsage":' + b"[" * 100_000, "invalid JSON"),
    ("openai-response", b'{"model":"gpt-5\xff","usage":{"prompt_tokens":1}}', "invalid JSON"),
])
def test_a_hostile_response_document_is_one_clear_error(root, source, body, needle):
    ledger = make_ledger(root, GOOD)
    before = digest(ledger)
    doc = root / "response.json"
    doc.write_bytes(body)
    result = run(root, "ingest", source, "--path", str(doc))
    assert result.returncode != 0
    err = result.stderr.decode(errors="replace")
    assert needle in err, err
    assert digest(ledger) == before


def test_statusline_survives_100k_levels_of_nesting_on_stdin(root):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"cost":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                 b"{" * 100_000):
        result = run(root, "statusline", stdin=body)
        assert result.returncode in (0, 1, 65), result.stderr
        assert result.returncode >= 0  # not killed by a signal (a stack overflow would be SIGSEGV)


# --- files that are not what they seem ------------------------------------------------------

def test_a_symlinked_ledger_file_is_followed(root):
    real = root / "elsewhere.jsonl"
    real.write_bytes(GOOD.encode() + b"\n")
    book = root / "book"
    book.mkdir(mode=0o700)
    (book / "ledger.jsonl").symlink_to(real)
    doc, _ = report(root)
    assert doc["totals"]["cost_micros"] == 103500


def test_a_symlink_loop_is_a_clear_error_not_a_hang(root):
    book = root / "book"
    book.mkdir(mode=0o700)
    (book / "ledger.jsonl").symlink_to(book / "loop.jsonl")
    (book / "loop.jsonl").symlink_to(book / "ledger.jsonl")
    for args in (["report"], ["log", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1"]):
        result = run(root, *args, timeout=20)
        assert result.returncode != 0
        err = result.stderr.decode()
        assert "ledger.jsonl" in err and "symbolic links" in err, err
    assert (book / "ledger.jsonl").is_symlink()


def test_ingest_does_not_follow_directory_symlinks_nor_hang_on_loops(root):
    projects = claude_projects(root, [(CC_LINE % (1, 1, "100")).encode()])
    (projects / "-w-app" / "again").symlink_to(projects)  # a directory loop
    (projects / "-w-app" / "self.jsonl").symlink_to(projects / "-w-app" / "self.jsonl")  # a file loop
    doc = ingest(root, projects)
    assert doc["entries"] == 1


def runs_as_nobody():
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def as_nobody(root, *args):
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", CLI, *args],
                          capture_output=True, env=env_for(root), check=False, timeout=60)


@pytest.mark.skipif(not runs_as_nobody(), reason="needs root and setpriv to run the command as another user")
def test_an_unreadable_ledger_is_a_clear_error_and_stays_as_it_is():
    # pytest's tmp_path is private to root, so a world-traversable directory of our own.
    root = pathlib.Path(tempfile.mkdtemp(prefix="tokenbook-hostile-", dir="/tmp"))
    try:
        root.chmod(0o755)
        (root / "home").mkdir()
        book = root / "book"
        book.mkdir()
        ledger = book / "ledger.jsonl"
        ledger.write_bytes(GOOD.encode() + b"\n")
        ledger.chmod(0o600)  # root's, unreadable to nobody
        os.chown(book, 65534, 65534)
        before = digest(ledger)
        result = as_nobody(root, "--ledger", str(book), "report")
        assert result.returncode != 0
        err = result.stderr.decode()
        assert "ledger.jsonl" in err and "ermission denied" in err, err
        result = as_nobody(root, "--ledger", str(book), "log", "--model", "claude-sonnet-4-5", "--input", "1")
        assert result.returncode != 0
        assert digest(ledger) == before
    finally:
        shutil.rmtree(root)


def test_a_ledger_directory_owned_by_another_user_is_read_but_never_written(root):
    if os.geteuid() != 0:
        pytest.skip("only root can give a directory to another user")
    ledger = make_ledger(root, GOOD)
    book = root / "book"
    os.chown(book, 65534, 65534)
    before = sorted(p.name for p in book.iterdir())
    before_digest = digest(ledger)
    doc, _ = report(root)  # reading is fine
    assert doc["totals"]["cost_micros"] == 103500
    result = run(root, "log", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1")
    assert result.returncode != 0
    err = result.stderr.decode()
    assert "belongs to uid 65534" in err and "refusing to write" in err, err
    assert digest(ledger) == before_digest
    assert sorted(p.name for p in book.iterdir()) == before  # no cache, no lock, nothing
    # The documented way out, for a container whose mount belongs to another uid.
    result = run(root, "log", "--model", "claude-sonnet-4-5", "--input", "1", "--output", "1",
                 TOKENBOOK_ALLOW_OTHER_OWNER="1")
    assert result.returncode == 0, result.stderr
