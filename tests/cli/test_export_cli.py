"""End-to-end tests of `tokenbook export` through the real binary.

Ledgers are written line by line in the documented format (docs/ledger-format.md),
with the keys in the writer's order, so that an export can be compared byte for byte.
"""
import csv
import io
import json
import os
import resource
import signal
import subprocess
import urllib.parse

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-11-22T12:00:00Z"

HEADER = ("id,timestamp,model,provider,input_tokens,output_tokens,cache_read_tokens,cache_write_5m_tokens,"
          "cache_write_1h_tokens,reasoning_tokens,requests,cost_micros,cost_usd,cost_source,rates_as_of,session,"
          "agent,category,action_type,action,feature,project,tool,task_type,service_tier,duration_ms,tags,notes,"
          "source_kind,source_key\r\n")


def usd(micros):
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def entry(n, ts, *, model="claude-sonnet-4-5", provider="anthropic", tokens=None, requests=1, cost=0,
          cost_source="computed", rates_as_of="2026-11-01", dims=None, duration_ms=None, tags=None, notes=None,
          source=None):
    """One ledger line, keys in the order the writer uses."""
    d = {"v": 1, "id": f"01JD3Q5Z8X9K2M4N6P7R0S1T{n:02d}", "ts": ts, "model": model}
    if provider:
        d["provider"] = provider
    d["tokens"] = tokens if tokens is not None else {"input": 1000, "output": 100}
    d["requests"] = requests
    d["cost_micros"] = cost
    d["cost_usd"] = usd(cost)
    d["cost_source"] = cost_source
    if rates_as_of:
        d["rates_as_of"] = rates_as_of
    for key in ("session", "agent", "category", "action_type", "action", "feature", "project", "tool",
                "task_type", "service_tier"):
        if dims and key in dims:
            d[key] = dims[key]
    if duration_ms is not None:
        d["duration_ms"] = duration_ms
    if tags:
        d["tags"] = dict(sorted(tags.items()))
    if notes is not None:
        d["notes"] = notes
    if source:
        d["source"] = {"kind": source[0], "key": source[1]}
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


class Book:
    """A ledger directory under tmp_path and a runner with an isolated environment."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.dir = tmp_path / "ledger"
        self.path = self.dir / "ledger.jsonl"
        self.home = tmp_path / "home"
        self.home.mkdir()

    def write(self, lines, tail=""):
        self.dir.mkdir(exist_ok=True)
        self.path.write_bytes(("".join(line + "\n" for line in lines) + tail).encode())

    def bytes(self):
        return self.path.read_bytes() if self.path.exists() else None

    def run(self, *args, ledger=True, preexec_fn=None, cwd=None):
        env = {k: v for k, v in os.environ.items()
               if k not in ("NO_COLOR", "TOKENBOOK_DIR", "XDG_DATA_HOME", "TOKENBOOK_NOW")}
        env.update({"HOME": str(self.home), "TOKENBOOK_NOW": NOW})
        full = [CLI] + (["--ledger", str(self.dir)] if ledger else []) + list(args)
        return subprocess.run(full, capture_output=True, env=env, check=False, preexec_fn=preexec_fn,
                              cwd=cwd or self.tmp)


@pytest.fixture
def book(tmp_path):
    return Book(tmp_path)


def error_lines(result):
    return result.stderr.decode().splitlines()


def sample_lines():
    return [
        entry(1, "2026-11-20T09:30:00.125Z", tokens={"input": 12000, "output": 4500, "cache_read": 30000,
                                                    "cache_write_5m": 2000},
              cost=117150, dims={"session": "s1", "agent": "reviewer", "project": "tb"},
              tags={"team": "core", "env": "ci"}, notes="first", duration_ms=5300),
        entry(2, "2026-11-21T10:00:00.000Z", model="gpt-5", provider="openai",
              tokens={"input": 1000, "output": 2000, "reasoning": 500}, cost=21250,
              dims={"agent": "writer", "action_type": "skill", "service_tier": "flex"},
              tags={"a;b": "c=d", "pct": "100%"}, notes='said "hi", then\nleft',
              source=("claude-code", "cc:1")),
        entry(3, "2026-10-05T23:59:59.999Z", model="my-model", provider="", tokens={"input": 7}, cost=0,
              cost_source="unpriced", rates_as_of="", dims={"agent": "reviewer"}),
    ]


def test_csv_has_a_header_and_one_exact_record_per_entry(book):
    book.write(sample_lines())
    result = book.run("export")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert result.stdout.decode() == HEADER + (
        "01JD3Q5Z8X9K2M4N6P7R0S1T01,2026-11-20T09:30:00.125Z,claude-sonnet-4-5,anthropic,12000,4500,30000,2000,0,0,"
        "1,117150,0.117150,computed,2026-11-01,s1,reviewer,,,,,tb,,,,5300,env=ci;team=core,first,,\r\n"
        "01JD3Q5Z8X9K2M4N6P7R0S1T02,2026-11-21T10:00:00.000Z,gpt-5,openai,1000,2000,0,0,0,500,"
        "1,21250,0.021250,computed,2026-11-01,,writer,,skill,,,,,,flex,,a%3Bb=c%3Dd;pct=100%25,"
        "\"said \"\"hi\"\", then\nleft\",claude-code,cc:1\r\n"
        "01JD3Q5Z8X9K2M4N6P7R0S1T03,2026-10-05T23:59:59.999Z,my-model,,7,0,0,0,0,0,"
        "1,0,0.000000,unpriced,,,reviewer,,,,,,,,,,,,,\r\n")


def test_csv_reads_back_with_a_standard_reader_and_tags_decode_exactly(book):
    book.write(sample_lines())
    result = book.run("export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode(), newline="")))
    assert [r["id"][-2:] for r in rows] == ["01", "02", "03"]
    assert rows[1]["notes"] == 'said "hi", then\nleft'
    assert int(rows[0]["cost_micros"]) == 117150
    assert sum(int(r["cost_micros"]) for r in rows) == 138400

    def tags(cell):
        if not cell:
            return {}
        pairs = [p.split("=", 1) for p in cell.split(";")]
        return {urllib.parse.unquote(k): urllib.parse.unquote(v) for k, v in pairs}

    assert tags(rows[0]["tags"]) == {"env": "ci", "team": "core"}
    assert tags(rows[1]["tags"]) == {"a;b": "c=d", "pct": "100%"}
    assert tags(rows[2]["tags"]) == {}


def test_jsonl_export_is_the_ledger_line_format_and_reimports(book, tmp_path):
    lines = sample_lines()
    book.write(lines)
    result = book.run("export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == lines
    for line, original in zip(result.stdout.decode().splitlines(), lines):
        assert json.loads(line) == json.loads(original)

    # The export is a ledger: put it in a fresh one and export that again.
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "ledger.jsonl").write_bytes(result.stdout)
    again = book.run("--ledger", str(copy), "export", "--format", "jsonl", ledger=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout
    as_csv = [book.run("export"), book.run("--ledger", str(copy), "export", ledger=False)]
    assert as_csv[0].stdout == as_csv[1].stdout


def ids(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["id"][-2:] for line in result.stdout.decode().splitlines()]


def test_filters_and_periods_select_entries(book):
    book.write(sample_lines())
    assert ids(book.run("export", "-f", "jsonl")) == ["01", "02", "03"]  # default period: all
    assert ids(book.run("export", "-f", "jsonl", "--agent", "reviewer")) == ["01", "03"]
    assert ids(book.run("export", "-f", "jsonl", "--agent", "reviewer", "--agent", "writer")) == ["01", "02", "03"]
    assert ids(book.run("export", "-f", "jsonl", "--agent", "reviewer", "--model", "my-model")) == ["03"]
    assert ids(book.run("export", "-f", "jsonl", "--tag", "team=core")) == ["01"]
    assert ids(book.run("export", "-f", "jsonl", "--tag", "a;b=c=d")) == ["02"]
    assert ids(book.run("export", "-f", "jsonl", "--period", "month")) == ["01", "02"]  # November 2026
    assert ids(book.run("export", "-f", "jsonl", "--period", "2026-10")) == ["03"]
    assert ids(book.run("export", "-f", "jsonl", "--since", "2026-11-21")) == ["02"]
    assert ids(book.run("export", "-f", "jsonl", "--until", "2026-11-20")) == ["01", "03"]
    assert ids(book.run("export", "-f", "jsonl", "--since", "2026-11-20T09:30:00.126Z")) == ["02"]
    assert ids(book.run("--tz", "Asia/Tokyo", "export", "-f", "jsonl", "--period", "2026-10-06")) == ["03"]
    assert ids(book.run("export", "-f", "jsonl", "--project", "nope")) == []


def test_output_file_and_json_summary(book):
    book.write(sample_lines())
    out = book.tmp / "out" / "usage.csv"
    out.parent.mkdir()
    result = book.run("export", "--agent", "reviewer", "--output", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"format": "csv", "path": str(out), "period": "all", "entries": 2,
                                         "skipped_lines": []}
    assert out.read_bytes() == book.run("export", "--agent", "reviewer").stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ["usage.csv"]  # no temporary file left
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())

    text = book.run("export", "-f", "jsonl", "-o", "relative.jsonl", "--period", "month")
    assert text.returncode == 0, text.stderr
    assert text.stdout.decode() == "exported 2 entries to relative.jsonl (jsonl, period 2026-11)\n"
    assert (book.tmp / "relative.jsonl").read_text().splitlines() == sample_lines()[:2]

    # An existing file is replaced whole.
    out.write_text("old contents\n")
    assert book.run("export", "-o", str(out), "--model", "gpt-5").returncode == 0
    assert out.read_bytes().decode().count("\r\n") == 2


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_export_leaves_no_partial_file_and_keeps_the_old_one(book):
    lines = [entry(n, f"2026-11-01T00:00:{n:02d}.000Z", notes="x" * 200) for n in range(1, 60)]
    book.write(lines)
    out = book.tmp / "out.csv"
    out.write_text("previous export\n")

    def limit_file_size():
        # Writes past 4 KiB fail with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = book.run("export", "--output", str(out), preexec_fn=limit_file_size)
    assert result.returncode == 73
    errors = error_lines(result)
    assert errors == [f"tokenbook: cannot write {out}: File too large"]
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in book.tmp.iterdir()) == ["home", "ledger", "out.csv"]
    assert book.bytes() == "".join(line + "\n" for line in lines).encode()


def test_output_into_a_missing_directory_creates_nothing(book):
    book.write(sample_lines())
    result = book.run("export", "-o", str(book.tmp / "missing" / "out.csv"))
    assert result.returncode == 73
    assert error_lines(result) == [f"tokenbook: cannot create a file in {book.tmp}/missing: No such file or directory"]
    assert not (book.tmp / "missing").exists()


def test_a_full_standard_output_is_an_error(book):
    book.write(sample_lines())
    env = {k: v for k, v in os.environ.items() if k not in ("TOKENBOOK_DIR", "XDG_DATA_HOME")}
    env.update({"HOME": str(book.home), "TOKENBOOK_NOW": NOW})
    with open("/dev/full", "wb") as full:
        result = subprocess.run([CLI, "--ledger", str(book.dir), "export"], stdout=full, stderr=subprocess.PIPE,
                                env=env, check=False)
    assert result.returncode == 73
    assert result.stderr.decode().splitlines() == ["tokenbook: cannot write standard output: No space left on device"]


def test_the_ledger_itself_is_never_an_output(book):
    book.write(sample_lines())
    before = book.bytes()
    for path in (str(book.path), str(book.dir / "." / "ledger.jsonl")):
        result = book.run("export", "-f", "jsonl", "-o", path)
        assert result.returncode == 64
        assert error_lines(result) == [f"tokenbook: --output: {path} is the ledger itself; export to another file"]
    assert book.bytes() == before
    assert sorted(p.name for p in book.dir.iterdir()) == ["ledger.jsonl"]


def test_empty_ledger_exports_a_header_only(book):
    book.write([])
    csv_result = book.run("export")
    assert csv_result.returncode == 0
    assert csv_result.stdout.decode() == HEADER
    jsonl = book.run("export", "-f", "jsonl")
    assert jsonl.returncode == 0 and jsonl.stdout == b""
    out = book.tmp / "empty.csv"
    summary = book.run("export", "-o", str(out), "--json")
    assert json.loads(summary.stdout)["entries"] == 0
    assert out.read_bytes().decode() == HEADER


def test_skipped_ledger_lines_are_reported_and_the_export_goes_on(book):
    good = sample_lines()
    book.write([good[0], "not json", good[1], '{"v":1,"id":"x","ts":"2026-11-01T00:00:00Z","model":"m",'
                '"cost_micros":1.5,"cost_source":"computed"}'], tail='{"v":1,"id":"torn')
    result = book.run("export", "-f", "jsonl")
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == good[:2]
    assert result.stderr.decode().splitlines() == [
        f"tokenbook: warning: {book.path}:2: invalid JSON at column 2: Invalid value.",
        f"tokenbook: warning: {book.path}:4: field \"cost_micros\": expected an integer, got 1.5",
        f"tokenbook: warning: {book.path}:5: torn last line (17 bytes without a newline; a crash during a "
        "write?); skipped",
    ]
    summary = book.run("export", "-o", str(book.tmp / "x.csv"), "--json")
    doc = json.loads(summary.stdout)
    assert doc["entries"] == 2
    assert [(s["line"], s["file"]) for s in doc["skipped_lines"]] == [(2, str(book.path)), (4, str(book.path)),
                                                                      (5, str(book.path))]


@pytest.mark.parametrize("args, code, message", [
    (["--bogus"], 64, "tokenbook: The following argument was not expected: --bogus (see `tokenbook export --help`)"),
    (["--format", "xml"], 64, None),
    (["--period", "fortnight"], 64, "tokenbook: unknown period \"fortnight\"; expected one of: today, yesterday, "
                                    "week, month, year, last-Nd (e.g. last-7d), YYYY, YYYY-MM, YYYY-MM-DD, all"),
    (["--since", "soon"], 64, None),
    (["--period", "month", "--since", "2026-01-01"], 64, None),
    (["--tag", "novalue"], 64, "tokenbook: --tag: \"novalue\" is not KEY=VALUE"),
    (["--json"], 64, "tokenbook: --json describes the file written by --output FILE; without --output the export "
                     "itself goes to standard output (--format jsonl for JSON lines)"),
])
def test_bad_input_is_one_clear_error_and_changes_nothing(book, args, code, message):
    book.write(sample_lines())
    before = book.bytes()
    result = book.run("export", *args)
    assert result.returncode == code
    assert result.stdout == b""
    errors = error_lines(result)
    assert len(errors) == 1, errors
    if message is not None:
        assert errors[0] == message
    assert book.bytes() == before


def test_missing_ledger_is_exit_66(book):
    result = book.run("export")
    assert result.returncode == 66
    assert error_lines(result) == [f"tokenbook: no ledger at {book.dir} (create one with `tokenbook init`, "
                                   "or name it with --ledger)"]
    assert not book.dir.exists()
