"""End-to-end tests of `tokenbook dashboard` through the real binary, and of
the page it writes in headless Chromium (skipped when `chromium` is absent)."""
import json
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
NOW = "2026-04-10T21:30:00Z"  # 23:30 in Berlin, a Friday

CONFIG = """time_zone = "Europe/Berlin"
[budgets]
monthly = "20.00"
[[budgets.scoped]]
feature = "search"
period = "weekly"
limit = "1.50"
"""

# The ledger of test_summary_cli.py: five entries with exact costs, one unpriced.
ENTRIES = [
    ["-m", "claude-sonnet-4-5", "--input", "12000", "--output", "3000", "--cache-read", "40000",
     "--cache-write-5m", "2000", "--cost", "0.2125", "--at", "2026-04-10T20:00:00Z", "--feature", "search",
     "--agent", "planner", "--category", "build", "--session", "s1", "--project", "acme"],
    ["-m", "gpt-5", "--input", "8000", "--output", "2000", "--cost", "1.10", "--at", "2026-04-05T22:30:00Z",
     "--feature", "search", "--agent", "coder", "--category", "test", "--session", "s2", "--project", "acme"],
    ["-m", "claude-haiku-4-5", "--input", "3000", "--output", "700", "--cost", "0.0042", "--at",
     "2026-03-31T22:30:00Z", "--feature", "ledger", "--agent", "reviewer", "--category", "review", "--session", "s3",
     "--project", "beta"],
    ["-m", "mystery-model", "--input", "500", "--output", "100", "--allow-unpriced", "--at", "2026-04-09T08:00:00Z",
     "--feature", "search", "--agent", "coder", "--session", "s2", "--project", "acme"],
    ["-m", "gpt-5", "--input", "1000", "--cost", "2.00", "--at", "2026-03-20T12:00:00Z", "--feature", "search",
     "--agent", "planner", "--category", "build", "--project", "acme"],
]

HOSTILE = [
    ["-m", "<script>alert(1)</script>", "--input", "100", "--cost", "0.30", "--at", "2026-04-02T10:00:00Z",
     "--agent", '"><img src=x onerror=alert(1)>', "--feature", "</svg><svg onload=alert(1)>"],
    ["-m", "gpt-5", "--input", "100", "--cost", "0.20", "--at", "2026-04-03T10:00:00Z",
     "--agent", "a&b'c", "--feature", "<style>*{display:none}</style>"],
]

CHARTS = ["chart-budget", "chart-daily", "chart-models", "chart-features", "chart-agents", "chart-cache"]
UNPRICED_WARNING = "tokenbook: warning: 1 unpriced entry is counted as $0.00 (models not in the rate table)\n"


def run(tmp_path, *args, now=NOW):
    env = dict(os.environ)
    for key in ("NO_COLOR", "TOKENBOOK_DIR", "TOKENBOOK_NOW", "XDG_DATA_HOME"):
        env.pop(key, None)
    env["HOME"] = str(tmp_path / "home")
    if now:
        env["TOKENBOOK_NOW"] = now
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)


def make_ledger(tmp_path, config=CONFIG, entries=()):
    (tmp_path / "home").mkdir(exist_ok=True)
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "config.toml").write_text(config)
    (ledger / "ledger.jsonl").write_text("")
    for entry in entries:
        result = run(tmp_path, "--ledger", str(ledger), "log", *entry)
        assert result.returncode == 0, result.stderr
    return ledger


@pytest.fixture
def ledger(tmp_path):
    return make_ledger(tmp_path, entries=ENTRIES)


def dashboard(tmp_path, ledger, *args):
    result = run(tmp_path, "--ledger", str(ledger), "dashboard", "-o", "-", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def report(tmp_path, ledger, *args):
    result = run(tmp_path, "--ledger", str(ledger), "report", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------
# Reading the page back.

VOID = {"meta", "br", "hr", "img", "link", "input", "wbr", "source", "area", "base", "col", "embed", "track"}


class Page(HTMLParser):
    """Checks that elements nest and close properly, and collects the tables
    (by id: rows of cells, each cell its text and attributes) and every tag."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.ids = [], [], [], set()
        self.tables, self._table, self._row, self._cell = {}, None, None, None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"never closed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            assert attrs["id"] not in self.ids, f"duplicate id {attrs['id']}"
            self.ids.add(attrs["id"])
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = {"text": "", **attrs}
            self._row.append(self._cell)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def svg_fragments(text):
    """Every <svg>...</svg> of the page, parsed as XML (they must be well-formed XML too)."""
    out, start = {}, 0
    while (start := text.find("<svg ", start)) != -1:
        end = text.index("</svg>", start) + len("</svg>")
        root = ET.fromstring(text[start:end])
        out[root.get("id")] = root
        start = end
    return out


# ---------------------------------------------------------------------------
# The command.


def test_dashboard_writes_dashboard_html_beside_the_ledger(tmp_path, ledger):
    result = run(tmp_path, "--ledger", str(ledger), "dashboard")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Wrote {ledger}/dashboard.html\n"
    assert result.stderr == UNPRICED_WARNING
    text = (ledger / "dashboard.html").read_text()
    assert text.startswith("<!DOCTYPE html>\n")
    assert text == dashboard(tmp_path, ledger)
    assert sorted(p.name for p in ledger.iterdir() if p.name.startswith(".dashboard")) == []


def test_the_same_bytes_when_regenerated(tmp_path, ledger):
    assert run(tmp_path, "--ledger", str(ledger), "dashboard").returncode == 0
    first = (ledger / "dashboard.html").read_bytes()
    assert run(tmp_path, "--ledger", str(ledger), "dashboard").returncode == 0
    assert (ledger / "dashboard.html").read_bytes() == first


def test_output_file_elsewhere(tmp_path, ledger):
    target = tmp_path / "site" / "spend.html"
    target.parent.mkdir()
    result = run(tmp_path, "--ledger", str(ledger), "dashboard", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Wrote {target}\n"
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert not (ledger / "dashboard.html").exists()


def test_unwritable_output_is_one_line_and_exit_73(tmp_path, ledger):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    result = run(tmp_path, "--ledger", str(ledger), "dashboard", "-o", str(blocker / "d.html"))
    assert result.returncode == 73
    assert result.stdout == ""
    assert result.stderr == f"tokenbook: cannot write {blocker}/d.html: Not a directory\n"


def test_missing_ledger_exits_66(tmp_path):
    (tmp_path / "home").mkdir()
    result = run(tmp_path, "--ledger", str(tmp_path / "nowhere"), "dashboard")
    assert result.returncode == 66
    assert result.stderr.startswith("tokenbook: no ledger at ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("args, message", [
    (["--period", "fortnight"], 'tokenbook: --period: unknown period "fortnight"'),
    (["--top", "-1"], None),
])
def test_bad_flags_are_usage_errors(tmp_path, ledger, args, message):
    result = run(tmp_path, "--ledger", str(ledger), "dashboard", *args)
    assert result.returncode == 64
    if message:
        assert result.stderr.startswith(message)
    assert not (ledger / "dashboard.html").exists()


def test_bad_tokenbook_now_and_tz_are_usage_errors(tmp_path, ledger):
    assert run(tmp_path, "--ledger", str(ledger), "dashboard", now="soon").returncode == 64
    result = run(tmp_path, "--ledger", str(ledger), "--tz", "Mars/Olympus", "dashboard")
    assert result.returncode == 64
    assert result.stderr == 'tokenbook: --tz: unknown time zone "Mars/Olympus"\n'


# ---------------------------------------------------------------------------
# The page.


def test_page_is_well_formed_self_contained_and_has_every_chart(tmp_path, ledger):
    text = dashboard(tmp_path, ledger)
    page = Page(text)
    assert page.errors == []
    svgs = svg_fragments(text)
    assert sorted(svgs) == sorted(CHARTS)
    for chart_id, svg in svgs.items():
        assert svg.get("role") == "img"
        title = svg.find("title")
        assert title is not None and title.text, chart_id
        assert svg.get("aria-labelledby") == title.get("id")
        assert len(list(svg.iter())) > 3, chart_id  # something drawn
    # Every chart has a table of its numbers.
    for table in ("table-budget", "table-daily", "table-models", "table-features", "table-agents", "table-cache"):
        assert table in page.tables, table
    # No script, nothing fetched: no element that loads anything, no URL.
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "img", "iframe", "object", "embed", "link", "image", "use", "foreignobject",
                        "audio", "video", "source"}
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "href", "srcset", "xlink:href") or (tag == "a" and value.startswith("#")), \
                (tag, name, value)
    for needle in ("http:", "https:", "//", "url(", "@import"):
        assert needle not in text.replace("file://", ""), needle
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == [{"http-equiv": "Content-Security-Policy",
                    "content": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}]
    assert "@media (prefers-color-scheme:dark)" in text


def cells(page, table_id):
    """The rows of a table that hold figures (not its header), by their first cell's text."""
    return {r[0]["text"]: r for r in page.tables[table_id]
            if any("data-micros" in c or "data-num" in c for c in r)}


def micros(cell):
    return int(cell["data-micros"])


def test_numbers_equal_the_reports(tmp_path, ledger):
    page = Page(dashboard(tmp_path, ledger))

    totals = cells(page, "table-totals")
    assert micros(totals["This month"][4]) == report(tmp_path, ledger, "--period", "month")["totals"]["cost_micros"]
    assert micros(totals["All time"][4]) == report(tmp_path, ledger, "--period", "all")["totals"]["cost_micros"]
    assert micros(totals["This month"][4]) == 1316700
    assert totals["This month"][4]["text"] == "$1.32"

    # Spend per day: every day of April, each equal to the report's day bucket.
    days = report(tmp_path, ledger, "--by", "day", "--fill")
    daily = cells(page, "table-daily")
    assert [k for k in daily if k != "Total"] == [g["key"]["day"] for g in days["groups"]]
    for g in days["groups"]:
        row = daily[g["key"]["day"]]
        assert micros(row[3]) == g["cost_micros"], g["key"]
        assert int(row[1]["text"].replace(",", "")) == g["entries"]
    assert micros(daily["Total"][3]) == days["totals"]["cost_micros"]

    # Cache hit per day: the same integers as the report's ratio.
    cache = cells(page, "table-cache")
    for g in days["groups"]:
        ratio = g["cache_hit_ratio"]
        row = cache[g["key"]["day"]]
        assert (int(row[4]["data-num"]), int(row[4]["data-den"])) == \
            ((ratio["numerator"], ratio["denominator"]) if ratio else (0, 0)), g["key"]
    assert cache["2026-04-10"][4]["text"] == "76.9%"

    # Models, features and agents: the report's groups, in its order.
    for table, dim in (("table-models", "model"), ("table-features", "feature"), ("table-agents", "agent")):
        doc = report(tmp_path, ledger, "--by", dim, "--top", "8")
        rows = cells(page, table)
        shown = [(k, micros(r[3])) for k, r in rows.items() if k != "Total"]
        expected = [(g["key"][dim] or "(none)", g["cost_micros"]) for g in doc["groups"]]
        assert shown == expected, table
        assert micros(rows["Total"][3]) == doc["totals"]["cost_micros"]
        assert sum(v for _, v in shown) == doc["totals"]["cost_micros"]
        for k, r in rows.items():
            assert int(r[4]["data-den"]) == doc["totals"]["cost_micros"]

    # This month against the budget: the budget and its month-end projection
    # are `tokenbook budget`'s.
    result = run(tmp_path, "--ledger", str(ledger), "budget", "--json")
    budgets = {b["name"]: b for b in json.loads(result.stdout)["budgets"]}
    month = {r[0]["text"]: r for r in page.tables["table-budget"] if r}
    assert micros(month["Projected at month end"][2]) == budgets["monthly"]["projected_micros"] == 3950100
    assert micros(month["Monthly budget"][2]) == budgets["monthly"]["limit_micros"] == 20000000
    assert micros(month["2026-04-10"][2]) == budgets["monthly"]["spent_micros"]


def test_top_folds_the_rest(tmp_path, ledger):
    page = Page(dashboard(tmp_path, ledger, "--period", "all", "--top", "1"))
    agents = cells(page, "table-agents")
    assert list(agents) == ["planner", "(2 others)", "Total"]
    assert micros(agents["planner"][3]) + micros(agents["(2 others)"][3]) == micros(agents["Total"][3]) == 3316700


def test_hostile_names_are_text(tmp_path):
    ledger = make_ledger(tmp_path, entries=HOSTILE)
    text = dashboard(tmp_path, ledger)
    page = Page(text)
    assert page.errors == []
    assert sorted(svg_fragments(text)) == sorted(CHARTS)
    names = {tag for tag, _ in page.tags}
    assert "script" not in names and "img" not in names
    assert [t for t, _ in page.tags].count("svg") == len(CHARTS)
    assert [t for t, _ in page.tags].count("style") == 1
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert "<script>alert(1)</script>" in cells(page, "table-models")
    assert '"><img src=x onerror=alert(1)>' in cells(page, "table-agents")
    assert "a&b'c" in cells(page, "table-agents")
    assert "</svg><svg onload=alert(1)>" in cells(page, "table-features")
    assert "<style>*{display:none}</style>" in cells(page, "table-features")


def test_empty_ledger(tmp_path):
    ledger = make_ledger(tmp_path, config="")
    result = run(tmp_path, "--ledger", str(ledger), "dashboard")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = (ledger / "dashboard.html").read_text()
    assert Page(text).errors == []
    assert sorted(svg_fragments(text)) == sorted(CHARTS)
    assert "No budget is set." in text


# ---------------------------------------------------------------------------
# In a browser.

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (Debian: apt-get install chromium)")


def chromium(tmp_path, *args, timeout=120):
    """Headless Chromium with its own profile and as little background traffic as it allows."""
    profile = tmp_path / "chromium-profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-default-apps", "--disable-extensions", *args]
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def page_requests(net_log):
    """The requests a page made, from a Chromium net log: those with an
    initiator or in the page's network partition (the browser's own
    background traffic, such as update checks, has neither)."""
    doc = json.loads(net_log.read_text())
    types = doc["constants"]["logEventTypes"]
    start_job = types["URL_REQUEST_START_JOB"]
    out = []
    for event in doc["events"]:
        params = event.get("params") or {}
        if event["type"] == start_job and "url" in params:
            initiator = params.get("initiator")
            from_page = initiator is not None and initiator != "not an origin"
            if from_page or "file://" in params.get("network_isolation_key", ""):
                out.append(params["url"])
    return out


@pytest.fixture
def page_file(tmp_path, ledger):
    assert run(tmp_path, "--ledger", str(ledger), "dashboard").returncode == 0
    return ledger / "dashboard.html"


@needs_chromium
def test_chromium_renders_the_charts_and_fetches_nothing(tmp_path, page_file):
    net_log = tmp_path / "net-log.json"
    result = chromium(tmp_path, f"--log-net-log={net_log}", "--dump-dom", page_file.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Page(result.stdout)
    for chart in CHARTS:
        assert chart in dom.ids, chart
    rendered = {attrs.get("id") for tag, attrs in dom.tags if tag == "svg"}
    assert rendered == set(CHARTS)
    assert len([1 for tag, attrs in dom.tags if tag == "rect" and attrs.get("class") == "col"]) == 30
    assert "script" not in {tag for tag, _ in dom.tags}
    assert page_requests(net_log) == []


@needs_chromium
def test_the_net_log_check_sees_a_page_request(tmp_path):
    # The check above would notice a fetch: a page that makes one is caught.
    probe = tmp_path / "probe.html"
    probe.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    net_log = tmp_path / "net-log.json"
    result = chromium(tmp_path, f"--log-net-log={net_log}", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert page_requests(net_log) == ["http://127.0.0.1:9/x.png"]


def png_pixel(path, x, y):
    """The RGB of one pixel of an 8-bit RGB or RGBA PNG (stdlib only)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev = bytearray(stride)
    for row in range(y + 1):
        kind = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
    return tuple(prev[x * bpp:x * bpp + 3])


@needs_chromium
@pytest.mark.parametrize("theme, flags, background", [
    ("light", [], (255, 255, 255)),
    ("dark", ["--force-dark-mode"], (13, 17, 23)),
])
def test_chromium_screenshot_in_both_themes(tmp_path, page_file, theme, flags, background):
    shot = tmp_path / f"{theme}.png"
    result = chromium(tmp_path, *flags, f"--screenshot={shot}", "--window-size=1280,2000", page_file.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2000)
    assert len(data) > 50_000  # text and charts, not a blank page
    assert png_pixel(shot, 4, 4) == background  # the theme's page background
