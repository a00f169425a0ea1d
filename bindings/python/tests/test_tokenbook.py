"""Tests of the Python binding over the real libtokenbook.

Run with Debian's pytest:

    TOKENBOOK_LIBRARY=build/libtokenbook.so.1 /usr/bin/python3 -m pytest bindings/python/tests

The library is found as the binding finds it (TOKENBOOK_LIBRARY, next to the
package, the system loader); when it cannot be found every test fails with
the reason. Every function the library exports is exercised, through the
Pythonic surface and, for the paths that surface never takes (wrong
struct_size, NULL arguments), through the raw function table.
"""

import ctypes
import ctypes.util
import datetime as dt
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
from decimal import Decimal

import pytest

BINDING_DIR = pathlib.Path(__file__).resolve().parents[1]
SOURCE_DIR = BINDING_DIR.parents[1]
if str(BINDING_DIR) not in sys.path:
    sys.path.insert(0, str(BINDING_DIR))

import tokenbook  # noqa: E402
from tokenbook import _native  # noqa: E402

UTC = dt.timezone.utc
SONNET_4_TOKENS = dict(input_tokens=12_000, output_tokens=4_500, cache_read_tokens=8_000, cache_write_5m_tokens=3_000)
MY_RATES = 'schema = 1\nas_of = "2026-11-20"\n[[models]]\nid = "my-model"\nprovider = "acme"\ninput = "1.5"\noutput = "2"\n'


@pytest.fixture(scope="session", autouse=True)
def library():
    try:
        return _native.load()
    except tokenbook.LibraryError as e:
        reason = str(e)
    pytest.fail(
        f"the tokenbook library is needed for these tests: {reason}\n"
        f"Build it (cmake --build BUILD --target tokenbook_shared) and set "
        f"TOKENBOOK_LIBRARY=BUILD/libtokenbook.so.1",
        pytrace=False,
    )


@pytest.fixture
def ledger_dir(tmp_path):
    return tmp_path / ".tokenbook"


@pytest.fixture
def book(ledger_dir):
    with tokenbook.Ledger(ledger_dir) as b:
        yield b


@pytest.fixture
def budget_book(ledger_dir):
    ledger_dir.mkdir()
    (ledger_dir / "config.toml").write_text('[budgets]\ndaily = "5.00"\naction = "block"\n')
    with tokenbook.Ledger(ledger_dir) as b:
        yield b


# ---------------------------------------------------------------------------
# Loading, versions, the function table


def test_every_exported_function_is_in_the_table():
    exported = set((SOURCE_DIR / "capi" / "tokenbook.symbols").read_text().split())
    assert {name for name, *_ in _native.FUNCTIONS} == exported


def test_versions(library):
    assert tokenbook.abi_version() == tokenbook.ABI_VERSION == 1
    major, minor, patch = (int(p) for p in tokenbook.version().split("."))
    assert tokenbook.version_number() == major * 10000 + minor * 100 + patch
    assert tokenbook.library_path() == library.path


def test_status_names_match_the_exception_classes():
    for code in range(1, 17):
        err = tokenbook.error_for_status(code, "message")
        assert isinstance(err, tokenbook.Error)
        assert err.code == code
        assert err.status == tokenbook.status_name(code)
        assert err.message == "message"
        assert str(err) == f"{err.status}: message"
    assert tokenbook.status_name(0) == "OK"
    assert tokenbook.status_name(999) == "UNKNOWN_STATUS"
    odd = tokenbook.error_for_status(99, "from the future")
    assert type(odd) is tokenbook.Unknown and odd.code == 99


def test_exception_classes_are_pythonic():
    assert issubclass(tokenbook.InvalidArgument, ValueError)
    assert issubclass(tokenbook.OutOfRange, ValueError)
    assert issubclass(tokenbook.NotFound, LookupError)
    for cls in (tokenbook.ResourceExhausted, tokenbook.FailedPrecondition, tokenbook.LibraryError,
                tokenbook.PermissionDenied, tokenbook.DataLoss, tokenbook.Internal):
        assert issubclass(cls, tokenbook.Error)


def test_missing_symbol_says_library_and_binding_do_not_match(monkeypatch, library):
    monkeypatch.setattr(_native, "FUNCTIONS", _native.FUNCTIONS + [("tkb_from_a_later_version", [], None, None)])
    with pytest.raises(tokenbook.LibraryMismatch, match="library and binding do not match.*tkb_from_a_later_version"):
        _native.open_library(library.path)


def test_a_library_without_tokenbook_symbols_does_not_match():
    libc = ctypes.util.find_library("c") or "libc.so.6"
    with pytest.raises(tokenbook.LibraryMismatch, match="library and binding do not match.*tkb_abi_version"):
        _native.open_library(libc)


def test_abi_mismatch_is_a_clear_error(monkeypatch, library):
    monkeypatch.setattr(_native, "ABI_VERSION", 2)
    with pytest.raises(tokenbook.LibraryMismatch, match="library and binding do not match.*ABI version 1.*written for ABI version 2"):
        _native.open_library(library.path)


def test_bad_tokenbook_library_path_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(_native, "_library", None)
    monkeypatch.setenv("TOKENBOOK_LIBRARY", str(tmp_path / "libnothing.so.1"))
    with pytest.raises(tokenbook.LibraryError, match="TOKENBOOK_LIBRARY"):
        _native.load()


def test_not_found_anywhere_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setattr(_native, "_library", None)
    monkeypatch.delenv("TOKENBOOK_LIBRARY", raising=False)
    monkeypatch.setattr(_native, "_PACKAGE_DIR", str(tmp_path))
    monkeypatch.setattr(_native, "_SYSTEM_NAMES", ("libtokenbook-absent.so.1",))
    monkeypatch.setattr(_native.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(tokenbook.LibraryError, match="cannot find the tokenbook library.*TOKENBOOK_LIBRARY"):
        _native.load()


def _python_without_env(code, env_extra, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("TOKENBOOK_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, check=False)


def test_library_next_to_the_package_is_found(tmp_path, library):
    package = tmp_path / "site" / "tokenbook"
    shutil.copytree(BINDING_DIR / "tokenbook", package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.realpath(library.path), package / "libtokenbook.so.1")
    run = _python_without_env("import tokenbook; print(tokenbook.library_path()); print(tokenbook.price('gpt-5', input_tokens=1000000))",
                              {"PYTHONPATH": str(tmp_path / "site")}, tmp_path)
    assert run.returncode == 0, run.stderr
    path, cost = run.stdout.split()
    assert path == str(package / "libtokenbook.so.1")
    assert int(cost) == 1_250_000


def test_library_found_by_the_system_loader(tmp_path, library):
    lib_dir = tmp_path / "lib"
    lib_dir.mkdir()
    shutil.copy(os.path.realpath(library.path), lib_dir / "libtokenbook.so.1")
    run = _python_without_env("import tokenbook; print(tokenbook.library_path())",
                              {"PYTHONPATH": str(BINDING_DIR), "LD_LIBRARY_PATH": str(lib_dir)}, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "libtokenbook.so.1"


# ---------------------------------------------------------------------------
# Struct mirrors (the static_asserts of capi/src/capi_layout.cpp)


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="layouts pinned for 64-bit targets")
def test_struct_layouts_match_the_c_header():
    n = _native
    assert ctypes.sizeof(n.tkb_tokens) == 48 and n.tkb_tokens.reasoning.offset == 40
    assert ctypes.sizeof(n.tkb_price_request) == 88
    assert [getattr(n.tkb_price_request, f).offset for f in ("model", "tokens", "requests", "service_tier", "at_unix_ms")] == [8, 16, 64, 72, 80]
    assert ctypes.sizeof(n.tkb_open_options) == 32
    assert [getattr(n.tkb_open_options, f).offset for f in ("create", "durability", "rates", "strict_models")] == [4, 8, 16, 24]
    assert ctypes.sizeof(n.tkb_entry) == 216
    assert [getattr(n.tkb_entry, f).offset for f in ("model", "tokens", "requests", "timestamp_unix_ms", "cost_override_micros",
                                                     "has_cost_override", "session", "service_tier", "duration_ms", "tags",
                                                     "source_key")] == [8, 16, 64, 72, 80, 88, 96, 168, 176, 184, 208]
    assert ctypes.sizeof(n.tkb_log_result) == 56
    assert [getattr(n.tkb_log_result, f).offset for f in ("cost_micros", "appended", "priced", "id")] == [8, 16, 20, 24]
    assert ctypes.sizeof(n.tkb_report_query) == 64
    assert [getattr(n.tkb_report_query, f).offset for f in ("period", "top", "time_zone")] == [8, 48, 56]
    assert ctypes.sizeof(n.tkb_admission) == 280
    assert [getattr(n.tkb_admission, f).offset for f in ("decision", "estimated_cost_micros", "reservation", "reason")] == [4, 8, 16, 24]
    assert ctypes.sizeof(n.tkb_route_request) == 56
    assert [getattr(n.tkb_route_request, f).offset for f in ("task", "task_type", "agent")] == [8, 16, 48]


def test_structs_start_like_their_init_macros():
    n = _native
    for cls in (n.tkb_price_request, n.tkb_open_options, n.tkb_entry, n.tkb_log_result, n.tkb_report_query, n.tkb_admission,
                n.tkb_route_request):
        assert cls().struct_size == ctypes.sizeof(cls)
    opts = n.tkb_open_options()
    assert (opts.create, opts.durability, opts.rates, opts.strict_models) == (1, -1, None, 0)
    assert n.tkb_entry().duration_ms == -1


def test_wrong_struct_sizes_are_invalid_argument(library, ledger_dir):
    rates = tokenbook.Rates.builtin()
    ptr = rates._handle.acquire()
    try:
        req = _native.tkb_price_request(model=b"gpt-5")
        req.struct_size = 3
        with pytest.raises(tokenbook.InvalidArgument, match="struct_size"):
            library.tkb_price(ptr, req, ctypes.byref(ctypes.c_int64()))
        req.struct_size = ctypes.sizeof(req) + 8  # larger than the library knows
        with pytest.raises(tokenbook.InvalidArgument, match="struct_size"):
            library.tkb_price(ptr, req, ctypes.byref(ctypes.c_int64()))
    finally:
        rates._handle.release()
    out = ctypes.c_void_p()
    opts = _native.tkb_open_options()
    opts.struct_size = 1
    with pytest.raises(tokenbook.InvalidArgument, match="tkb_open_options.struct_size"):
        library.tkb_ledger_open(ctypes.byref(out), str(ledger_dir).encode(), opts)
    assert out.value is None  # written only on success
    with tokenbook.Ledger(ledger_dir) as book:
        handle = book._handle.acquire()
        try:
            entry = _native.tkb_entry(model=b"gpt-5")
            entry.struct_size = 8
            with pytest.raises(tokenbook.InvalidArgument, match="tkb_entry.struct_size"):
                library.tkb_ledger_log(handle, entry, None)
            entry.struct_size = ctypes.sizeof(entry)
            result = _native.tkb_log_result()
            result.struct_size = 0
            with pytest.raises(tokenbook.InvalidArgument, match="tkb_log_result.struct_size"):
                library.tkb_ledger_log(handle, entry, result)
            query = _native.tkb_report_query()
            query.struct_size = 4
            with pytest.raises(tokenbook.InvalidArgument, match="tkb_report_query.struct_size"):
                library.tkb_ledger_report(handle, query, ctypes.byref(ctypes.c_void_p()))
            admission = _native.tkb_admission()
            admission.struct_size = 0
            with pytest.raises(tokenbook.InvalidArgument, match="tkb_admission.struct_size"):
                library.tkb_ledger_admit(handle, entry, 0, admission)
        finally:
            book._handle.release()


def test_null_arguments_are_invalid_argument(library):
    null = None
    for call in (
        lambda: library.tkb_rates_builtin(null),
        lambda: library.tkb_rates_load(ctypes.byref(ctypes.c_void_p()), null),
        lambda: library.tkb_rates_parse(ctypes.byref(ctypes.c_void_p()), null, 0, b"toml", null),
        lambda: library.tkb_rates_layer(ctypes.byref(ctypes.c_void_p()), null, null),
        lambda: library.tkb_rates_count(null, ctypes.byref(ctypes.c_size_t())),
        lambda: library.tkb_rates_resolve(null, b"gpt-5", null, 0, null),
        lambda: library.tkb_price(null, _native.tkb_price_request(model=b"gpt-5"), ctypes.byref(ctypes.c_int64())),
        lambda: library.tkb_price_explain(null, _native.tkb_price_request(model=b"gpt-5"), ctypes.byref(ctypes.c_void_p())),
        lambda: library.tkb_ledger_open(null, b"/tmp", null),
        lambda: library.tkb_ledger_log(null, _native.tkb_entry(model=b"gpt-5"), null),
        lambda: library.tkb_ledger_log_batch(null, null, 1, null),
        lambda: library.tkb_ledger_report_json(null, null, null, 0, null),
        lambda: library.tkb_ledger_report(null, null, ctypes.byref(ctypes.c_void_p())),
        lambda: library.tkb_ledger_budget(null, ctypes.byref(ctypes.c_void_p())),
        lambda: library.tkb_ledger_admit(null, _native.tkb_entry(model=b"gpt-5"), 0, _native.tkb_admission()),
        lambda: library.tkb_ledger_commit(null, 1, _native.tkb_entry(model=b"gpt-5"), null),
        lambda: library.tkb_ledger_release(null, 1),
    ):
        with pytest.raises(tokenbook.InvalidArgument, match="NULL"):
            call()
    # The frees accept NULL.
    library.tkb_free(None)
    library.tkb_rates_free(None)
    library.tkb_ledger_free(None)
    assert library.tkb_last_error() is not None


def test_last_error_is_per_thread_and_cleared_on_success(library):
    with pytest.raises(tokenbook.InvalidArgument):
        library.tkb_rates_builtin(None)
    assert b"out" in library.tkb_last_error()
    seen = []
    t = threading.Thread(target=lambda: seen.append(library.tkb_last_error()))
    t.start()
    t.join()
    assert seen == [b""]
    out = ctypes.c_void_p()
    library.tkb_rates_builtin(ctypes.byref(out))
    library.tkb_rates_free(out)
    assert library.tkb_last_error() == b""


# ---------------------------------------------------------------------------
# Money and pricing


def test_exact_prices():
    assert tokenbook.price("claude-sonnet-4", **SONNET_4_TOKENS) == 117_150
    assert tokenbook.price("claude-opus-4", **SONNET_4_TOKENS) == 585_750
    assert tokenbook.price("claude-sonnet-4", input_tokens=120_000, output_tokens=35_000) == 885_000
    assert tokenbook.price("gpt-5", input_tokens=1_000_000, service_tier="flex") == 625_000
    assert tokenbook.price("claude-sonnet-4", input_tokens=120_000, output_tokens=35_000, requests=1) == 885_000


def test_money_helpers_are_exact():
    assert tokenbook.dollars(117_150) == Decimal("0.117150")
    assert str(tokenbook.dollars(585_750)) == "0.585750"
    assert tokenbook.micros(Decimal("0.117150")) == 117_150
    assert tokenbook.micros("5.00") == 5_000_000
    assert tokenbook.micros(Decimal("1E+2")) == 100_000_000
    assert tokenbook.micros(Decimal("-0.000001")) == -1
    with pytest.raises(TypeError, match="never a float"):
        tokenbook.micros(0.1)
    with pytest.raises(tokenbook.InvalidArgument, match="finer than a micro-dollar"):
        tokenbook.micros(Decimal("0.0000001"))
    with pytest.raises(tokenbook.InvalidArgument):
        tokenbook.micros(Decimal("NaN"))
    with pytest.raises(tokenbook.OutOfRange):
        tokenbook.micros(Decimal("1e20"))
    with pytest.raises(tokenbook.InvalidArgument):
        tokenbook.micros("five dollars")


def test_explain():
    doc = tokenbook.explain("anthropic/claude-sonnet-4.5", **SONNET_4_TOKENS)
    assert doc["model"] == "claude-sonnet-4-5"
    assert doc["requested_model"] == "anthropic/claude-sonnet-4.5"
    assert doc["cost_micros"] == 117_150 and doc["cost_usd"] == "0.117150"
    assert sum(line["cost_micros"] for line in doc["breakdown"].values()) == doc["cost_micros"]
    assert doc["breakdown"]["input"] == {"tokens": 12_000, "rate_micros_per_mtok": 3_000_000,
                                         "cost_micros": 36_000, "cost_usd": "0.036000"}


def test_price_at_an_instant_and_a_service_tier():
    now = tokenbook.price("claude-sonnet-4-5", input_tokens=1_000_000)
    assert tokenbook.price("claude-sonnet-4-5", input_tokens=1_000_000, at=dt.datetime(2026, 1, 1, tzinfo=UTC)) == now
    assert tokenbook.price("claude-sonnet-4-5", input_tokens=1_000_000, service_tier="batch") == now // 2
    with pytest.raises(tokenbook.InvalidArgument, match="turbo"):
        tokenbook.price("gpt-5", input_tokens=1, service_tier="turbo")


def test_unknown_model_names_the_closest_ids():
    with pytest.raises(tokenbook.NotFound, match=r'unknown model "gpt-5.4-mini"; closest known: .*gpt-5-mini') as info:
        tokenbook.price("gpt-5.4-mini", input_tokens=10)
    assert info.value.code == 5 and info.value.status == "NOT_FOUND"
    with pytest.raises(tokenbook.NotFound, match="closest known"):
        tokenbook.explain("gpt-5.4-mini")


def test_bad_price_arguments():
    with pytest.raises(tokenbook.InvalidArgument, match="input"):
        tokenbook.price("gpt-5", input_tokens=-1)
    with pytest.raises(tokenbook.InvalidArgument, match="request"):
        tokenbook.price("gpt-5", requests=-1)
    with pytest.raises(tokenbook.OutOfRange):
        tokenbook.price("gpt-5", input_tokens=2**62)
    with pytest.raises(tokenbook.OutOfRange, match="64 bits"):
        tokenbook.price("gpt-5", input_tokens=2**63)
    with pytest.raises(TypeError, match="float"):
        tokenbook.price("gpt-5", input_tokens=1000.0)
    with pytest.raises(TypeError, match="bool"):
        tokenbook.price("gpt-5", input_tokens=True)
    with pytest.raises(TypeError, match="unexpected field 'tokens'"):
        tokenbook.price("gpt-5", tokens=5)
    with pytest.raises(TypeError, match="model must be a str"):
        tokenbook.price(None)
    with pytest.raises(tokenbook.InvalidArgument, match="NUL"):
        tokenbook.price("gpt-5\0mini")
    with pytest.raises(TypeError, match="datetime"):
        tokenbook.price("gpt-5", at="2026-01-01")


# ---------------------------------------------------------------------------
# Rate tables


def test_builtin_rates_count_and_resolve():
    rates = tokenbook.Rates.builtin()
    assert len(rates) >= 20
    assert rates.resolve("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0") == "claude-sonnet-4-5"
    with pytest.raises(tokenbook.NotFound, match="closest known"):
        rates.resolve("no-such-model-anywhere")
    assert "models" in repr(rates)
    with pytest.raises(TypeError):
        tokenbook.Rates()


def test_resolve_buffer_contract(library):
    rates = tokenbook.Rates.builtin()
    ptr = rates._handle.acquire()
    try:
        needed = ctypes.c_size_t()
        small = ctypes.create_string_buffer(4)
        library.tkb_rates_resolve(ptr, b"claude-sonnet-4-5", small, 4, ctypes.byref(needed))
        assert small.value == b"cla" and needed.value == len("claude-sonnet-4-5") + 1
        library.tkb_rates_resolve(ptr, b"claude-sonnet-4-5", None, 0, None)
        with pytest.raises(tokenbook.InvalidArgument, match="buf is NULL"):
            library.tkb_rates_resolve(ptr, b"claude-sonnet-4-5", None, 8, ctypes.byref(needed))
    finally:
        rates._handle.release()


def test_parse_and_layer_a_toml_table():
    mine = tokenbook.Rates.parse(MY_RATES, "toml", "mine.toml")
    assert len(mine) == 1
    assert mine.price("my-model", input_tokens=2_000_000) == 3_000_000
    with pytest.raises(tokenbook.NotFound):
        mine.price("gpt-5", input_tokens=1)
    layered = tokenbook.Rates.builtin().layer(mine)
    assert len(layered) == len(tokenbook.Rates.builtin()) + 1
    assert layered.price("my-model", output_tokens=1_000_000) == 2_000_000
    assert layered.price("gpt-5", input_tokens=1_000_000) == 1_250_000
    assert tokenbook.price("my-model", rates=layered, input_tokens=1_000_000) == 1_500_000
    assert tokenbook.explain("my-model", rates=mine, input_tokens=10)["provider"] == "acme"
    with pytest.raises(TypeError, match="tokenbook.Rates"):
        tokenbook.price("my-model", rates="mine.toml")
    with pytest.raises(TypeError):
        layered.layer("not a table")


def test_parse_bytes_and_litellm_json():
    table = tokenbook.Rates.parse(
        b'{"my-llm": {"input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002, '
        b'"litellm_provider": "acme", "mode": "chat"}}',
        format="litellm",
    )
    assert table.price("my-llm", input_tokens=1_000_000, output_tokens=500_000) == 2_000_000


def test_load_files(tmp_path):
    path = tmp_path / "team.toml"
    path.write_text(MY_RATES)
    assert tokenbook.Rates.load(path).price("my-model", input_tokens=1_000_000) == 1_500_000
    litellm = SOURCE_DIR / "tests" / "data" / "litellm_model_prices.json"
    assert len(tokenbook.Rates.load(str(litellm))) > 10


def test_malformed_toml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('schema = 1\nas_of = "2026-11-20"\n[[models]]\nid = "x"\ninput = = 3\n')
    with pytest.raises(tokenbook.InvalidArgument, match=f"{path}:5") as info:
        tokenbook.Rates.load(path)
    assert info.value.code == 3
    with pytest.raises(tokenbook.Error, match="bad.toml:5"):
        tokenbook.Rates.parse(path.read_text(), "toml", "bad.toml")
    with pytest.raises(tokenbook.Error, match="<memory>:5"):
        tokenbook.Rates.parse(path.read_text())


def test_rate_load_errors(tmp_path):
    with pytest.raises(tokenbook.Error, match="/nonexistent/rates.toml"):
        tokenbook.Rates.load("/nonexistent/rates.toml")
    with pytest.raises(tokenbook.InvalidArgument, match='format "yaml"'):
        tokenbook.Rates.parse("x", "yaml")


def test_closed_rates():
    rates = tokenbook.Rates.builtin()
    rates.close()
    rates.close()  # idempotent
    assert rates.closed and "closed" in repr(rates)
    for call in (lambda: len(rates), lambda: rates.resolve("gpt-5"), lambda: rates.price("gpt-5"),
                 lambda: rates.explain("gpt-5"), lambda: rates.layer(tokenbook.Rates.builtin())):
        with pytest.raises(tokenbook.FailedPrecondition, match="closed"):
            call()
    with tokenbook.Rates.builtin() as r:
        assert len(r) > 0
    assert r.closed


# ---------------------------------------------------------------------------
# Ledgers: logging


def test_log_prices_exactly(book):
    r = book.log(model="claude-sonnet-4", **SONNET_4_TOKENS, session="s1", agent="reviewer", tags={"team": "core"})
    assert isinstance(r, tokenbook.LogResult)
    assert r.cost_micros == 117_150 and r.cost == Decimal("0.117150")
    assert r.appended and r.priced and len(r.id) == 26
    assert book.log(model="claude-opus-4", **SONNET_4_TOKENS).cost_micros == 585_750
    assert book.log("claude-sonnet-4", input_tokens=120_000, output_tokens=35_000).cost_micros == 885_000
    assert book.report(period="all")["totals"]["cost_micros"] == 117_150 + 585_750 + 885_000


def test_log_every_field(book):
    when = dt.datetime(2026, 3, 8, 12, 0, 0, 250_000, tzinfo=UTC)
    r = book.log(
        model="claude-sonnet-4", input_tokens=1, output_tokens=2, cache_read_tokens=3, cache_write_5m_tokens=4,
        cache_write_1h_tokens=5, reasoning_tokens=1, requests=2, timestamp=when, session="s", agent="a",
        category="c", action_type="skill", action="review", feature="f", project="p", tool="t", task_type="tt",
        service_tier="batch", duration_ms=dt.timedelta(seconds=1.5), tags={"k": "v", "team": "core"}, notes="n",
        source_kind="test", source_key="every-field",
    )
    assert r.appended and r.priced
    report = book.report(period="2026-03-08", by=["project", "tool", "tag:team"])
    assert report["totals"]["entries"] == 1
    assert report["totals"]["requests"] == 2
    assert report["totals"]["first"] == "2026-03-08T12:00:00.250Z"
    assert report["groups"][0]["key"] == {"project": "p", "tool": "t", "tag:team": "core"}
    assert report["totals"]["cache_write_1h_tokens"] == 5


def test_cost_override(book):
    assert book.log("gpt-5", cost=Decimal("0.25")).cost_micros == 250_000
    assert book.log("gpt-5", cost_micros=125).cost == Decimal("0.000125")
    assert book.log("gpt-5", cost=None, cost_micros=None, input_tokens=1_000_000).cost_micros == 1_250_000
    with pytest.raises(TypeError, match="never a float"):
        book.log("gpt-5", cost=0.25)
    with pytest.raises(TypeError, match="never a float"):
        book.log("gpt-5", cost_micros=250000.0)
    with pytest.raises(TypeError, match="cost_micros"):
        book.log("gpt-5", cost=250_000)
    with pytest.raises(TypeError, match="cost="):
        book.log("gpt-5", cost_micros=Decimal("0.25"))
    with pytest.raises(TypeError, match="not both"):
        book.log("gpt-5", cost=Decimal("0.25"), cost_micros=250_000)
    with pytest.raises(tokenbook.InvalidArgument, match="finer than a micro-dollar"):
        book.log("gpt-5", cost=Decimal("0.0000001"))
    with pytest.raises(tokenbook.InvalidArgument, match="negative"):
        book.log("gpt-5", cost_micros=-1)
    assert book.report(period="all")["totals"]["entries"] == 3


def test_timestamps(book):
    aware = dt.datetime(2026, 5, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    book.log("gpt-5", input_tokens=1, timestamp=aware)
    assert book.report(period="2026-05-02")["totals"]["entries"] == 1  # 01:30 UTC the next day
    naive = dt.datetime(2026, 6, 15, 12, 0)
    book.log("gpt-5", input_tokens=1, timestamp=naive)  # local time, as datetime.timestamp() reads it
    expected = dt.datetime.fromtimestamp(naive.timestamp(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert book.report(period="2026-06")["totals"]["first"] == expected
    with pytest.raises(TypeError, match="datetime"):
        book.log("gpt-5", timestamp=1_700_000_000)
    with pytest.raises(tokenbook.InvalidArgument, match="epoch"):
        book.log("gpt-5", timestamp=dt.datetime(1970, 1, 1, tzinfo=UTC))


def test_unknown_model_is_recorded_unpriced(book):
    r = book.log("my-private-model", input_tokens=100)
    assert not r.priced and r.cost_micros == 0 and r.appended
    assert book.report(period="all")["totals"]["unpriced_entries"] == 1


def test_strict_models_refuses_unknown_models(ledger_dir):
    with tokenbook.Ledger(ledger_dir, strict_models=True) as book:
        with pytest.raises(tokenbook.NotFound, match="closest known: .*gpt-5-mini"):
            book.log("gpt-5.4-mini", input_tokens=5)
        assert book.log("gpt-5-mini", input_tokens=5).priced


def test_bad_log_arguments(book):
    bad = [
        (dict(model=None), TypeError, "model must be a str"),
        (dict(model=""), tokenbook.InvalidArgument, "model is NULL or empty"),
        (dict(model="gpt-5", input_tokens=-5), tokenbook.InvalidArgument, "negative"),
        (dict(model="gpt-5", requests=-1), tokenbook.InvalidArgument, "requests is negative"),
        (dict(model="gpt-5", action_type="sometimes"), tokenbook.InvalidArgument, "action_type"),
        (dict(model="gpt-5", tags={"a=b": "c"}), tokenbook.InvalidArgument, "bad tag"),
        (dict(model="gpt-5", tags="team=core"), TypeError, "mapping"),
        (dict(model="gpt-5", tags={"k": 1}), TypeError, "str to str"),
        (dict(model="gpt-5", agent=7), TypeError, "agent must be a str"),
        (dict(model="gpt-5", notes="a\0b"), tokenbook.InvalidArgument, "NUL"),
        (dict(model="gpt-5", session="\udc80"), tokenbook.InvalidArgument, "Unicode"),
        (dict(model="gpt-5", duration_ms=-1), tokenbook.InvalidArgument, "duration_ms"),
        (dict(model="gpt-5", output_tokens=2**64), tokenbook.OutOfRange, "64 bits"),
        (dict(model="gpt-5", colour="red"), TypeError, "unexpected field 'colour'"),
    ]
    for fields, exc, message in bad:
        with pytest.raises(exc, match=message):
            book.log(**fields)
    assert book.report(period="all")["totals"]["entries"] == 0


def test_source_key_dedup(book):
    first = book.log("gpt-5", input_tokens=1_000, source_kind="test", source_key="k-1")
    again = book.log("gpt-5", input_tokens=1_000, source_kind="test", source_key="k-1")
    assert first.appended and not again.appended
    assert again.id == first.id
    batch = book.log_batch([
        {"model": "gpt-5", "source_key": "k-1"},
        {"model": "gpt-5", "source_key": "k-2"},
        {"model": "gpt-5", "source_key": "k-2"},
    ])
    assert [r.appended for r in batch] == [False, True, False]
    assert book.report(period="all")["totals"]["entries"] == 2


def test_log_batch(book):
    entries = [dict(model="claude-sonnet-4", input_tokens=120_000, output_tokens=35_000, agent="writer")] * 3
    entries.append(dict(model="claude-sonnet-4", **SONNET_4_TOKENS, agent="reviewer", tags={"t": "1"},
                        timestamp=dt.datetime(2026, 11, 18, tzinfo=UTC), duration_ms=5, cost=None))
    results = book.log_batch(entries)
    assert [r.cost_micros for r in results] == [885_000] * 3 + [117_150]
    assert all(isinstance(r.cost, Decimal) for r in results)
    assert len({r.id for r in results}) == 4
    assert book.log_batch([]) == []
    assert book.log_batch(iter([{"model": "gpt-5", "cost_micros": 7}]))[0].cost_micros == 7
    assert book.report(period="all")["totals"]["cost_micros"] == 3 * 885_000 + 117_150 + 7


def test_log_batch_is_all_or_nothing(book):
    with pytest.raises(tokenbook.InvalidArgument):
        book.log_batch([{"model": "gpt-5"}, {"model": "gpt-5", "input_tokens": -3}])
    with pytest.raises(TypeError, match=r"entries\[1\]: .*no model"):
        book.log_batch([{"model": "gpt-5"}, {"input_tokens": 3}])
    with pytest.raises(TypeError, match=r"entries\[0\]: .*float"):
        book.log_batch([{"model": "gpt-5", "cost": 0.5}])
    with pytest.raises(TypeError, match=r"entries\[0\] must be a dict"):
        book.log_batch(["gpt-5"])
    with pytest.raises(TypeError, match=r"entries\[2\]: unexpected field 'colour'"):
        book.log_batch([{"model": "gpt-5"}, {"model": "gpt-5"}, {"model": "gpt-5", "colour": "red"}])
    with pytest.raises(tokenbook.InvalidArgument, match=r"entries\[0\]: .*NUL"):
        book.log_batch([{"model": "gpt-5", "agent": "a\0"}])
    with pytest.raises(tokenbook.OutOfRange, match=r"entries\[0\]"):
        book.log_batch([{"model": "gpt-5", "input_tokens": -(2**64)}])
    assert book.report(period="all")["totals"]["entries"] == 0


def test_log_batch_matches_log(tmp_path, monkeypatch):
    """The packed batch path, the per-field batch path and log() record the same entries."""
    fields = dict(model="claude-sonnet-4", **SONNET_4_TOKENS, requests=3, session="s", agent="a", category="c",
                  action_type="manual", action="x", feature="f", project="p", tool="t", task_type="tt",
                  service_tier="batch", duration_ms=12, tags={"a": "1", "b": "2"}, notes="ünïcode",
                  source_kind="k", timestamp=dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC), cost_micros=42)
    by = ["model", "session", "agent", "category", "action_type", "action", "feature", "project", "tool",
          "task_type", "service_tier", "tag:a", "tag:b"]
    assert tokenbook._batch.PACKED  # 64-bit Linux: the fast path is the one in use
    with tokenbook.Ledger(tmp_path / "one") as one, tokenbook.Ledger(tmp_path / "many") as many:
        one.log(**fields)
        packed = many.log_batch([fields, dict(fields, source_key="x")])
        a, b = one.report(period="all", by=by), many.report(period="all", by=by)
    monkeypatch.setattr(tokenbook._batch, "PACKED", False)
    with tokenbook.Ledger(tmp_path / "portable") as portable:
        plain = portable.log_batch([fields, dict(fields, source_key="x")])
        c = portable.report(period="all", by=by)
        with pytest.raises(TypeError, match=r"entries\[1\]: .*float"):
            portable.log_batch([fields, dict(fields, input_tokens=1.0)])
    assert a["groups"][0]["key"] == b["groups"][0]["key"] == c["groups"][0]["key"]
    assert a["totals"]["cost_micros"] == 42 and b["totals"] == c["totals"]
    assert b["totals"]["cost_micros"] == 84 and b["totals"]["requests"] == 6
    assert [(r.cost_micros, r.appended, r.priced) for r in packed] == [(r.cost_micros, r.appended, r.priced) for r in plain]


def test_open_options(tmp_path):
    with pytest.raises(tokenbook.NotFound, match="no ledger directory"):
        tokenbook.Ledger(tmp_path / "missing" / ".tokenbook", create=False)
    with pytest.raises(tokenbook.InvalidArgument, match="durability"):
        tokenbook.Ledger(tmp_path / "x", durability="sometimes")
    with tokenbook.Ledger(tmp_path / "fsync", durability="fsync") as book:
        assert book.log("gpt-5", input_tokens=1_000_000).cost_micros == 1_250_000
    with tokenbook.Ledger(str(tmp_path / "flush"), durability="flush") as book:
        assert book.path == str(tmp_path / "flush")
    (tmp_path / "file").write_text("")
    with pytest.raises(tokenbook.Error):
        tokenbook.Ledger(tmp_path / "file")
    with pytest.raises(TypeError):
        tokenbook.Ledger(tmp_path / "y", rates="builtin")


def test_ledger_found_like_git(tmp_path, monkeypatch):
    (tmp_path / ".tokenbook").mkdir()
    (tmp_path / "src" / "deep").mkdir(parents=True)
    monkeypatch.delenv("TOKENBOOK_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "src" / "deep")
    with tokenbook.Ledger() as book:
        book.log("gpt-5", input_tokens=1)
    assert any((tmp_path / ".tokenbook").iterdir())


def test_bad_config_names_file_line_and_key(ledger_dir):
    ledger_dir.mkdir()
    (ledger_dir / "config.toml").write_text("[budgets]\ndaily = 5\nbogus = 1\n")
    with pytest.raises(tokenbook.InvalidArgument, match=r"config.toml:3:1: .*bogus"):
        tokenbook.Ledger(ledger_dir)


def test_ledger_with_its_own_rates(ledger_dir):
    rates = tokenbook.Rates.builtin().layer(tokenbook.Rates.parse(MY_RATES))
    book = tokenbook.Ledger(ledger_dir, rates=rates)
    rates.close()  # the ledger holds the table until it is closed
    assert not rates._handle._ptr is None
    assert book.log("my-model", input_tokens=1_000_000).cost_micros == 1_500_000
    assert book.price("my-model", output_tokens=1_000_000) == 2_000_000
    book.close()
    assert rates._handle._ptr is None


def test_config_rate_files_reach_ledger_price(ledger_dir):
    ledger_dir.mkdir()
    (ledger_dir / "team.toml").write_text(MY_RATES)
    (ledger_dir / "config.toml").write_text('[rates]\nfiles = ["team.toml"]\n')
    with tokenbook.Ledger(ledger_dir) as book:
        assert book.price("my-model", input_tokens=1_000_000) == 1_500_000
        assert book.price("claude-sonnet-4", **SONNET_4_TOKENS) == 117_150
        with pytest.raises(tokenbook.NotFound, match="closest known"):
            book.price("gpt-5.4-mini", input_tokens=1)
        assert book.report(period="all")["totals"]["entries"] == 0  # pricing logs nothing


def test_closed_ledger(ledger_dir):
    book = tokenbook.Ledger(ledger_dir)
    assert "open" in repr(book)
    book.close()
    book.close()  # idempotent
    assert book.closed and "closed" in repr(book)
    for call in (
        lambda: book.log("gpt-5"),
        lambda: book.log_batch([{"model": "gpt-5"}]),
        lambda: book.price("gpt-5"),
        lambda: book.report(),
        lambda: book.report_json(),
        lambda: book.report_text(),
        lambda: book.budget(),
        lambda: book.admit("gpt-5"),
        lambda: book.commit(1, "gpt-5"),
        lambda: book.release(1),
    ):
        with pytest.raises(tokenbook.FailedPrecondition, match="ledger is closed") as info:
            call()
        assert info.value.code == 9


# ---------------------------------------------------------------------------
# Reports


def _seed(book):
    book.log_batch(
        [dict(model="claude-sonnet-4", **SONNET_4_TOKENS, agent="reviewer", session="s1")] * 2
        + [dict(model="claude-sonnet-4", input_tokens=120_000, output_tokens=35_000, agent="writer", session="s2")] * 3
        + [dict(model="claude-opus-4", **SONNET_4_TOKENS, agent="writer", session="s2")]
        + [dict(model="my-private-model", input_tokens=10, agent="reviewer")]
    )


def test_report_groups_sum_exactly_to_totals(book):
    _seed(book)
    for by in (["model"], ["agent"], ["model", "agent"], "agent,session"):
        report = book.report(period="all", by=by)
        totals = report["totals"]
        assert totals["cost_micros"] == 2 * 117_150 + 3 * 885_000 + 585_750
        assert totals["cost_usd"] == "3.475050"
        for key in ("cost_micros", "entries", "input_tokens", "output_tokens", "unpriced_entries"):
            assert sum(g[key] for g in report["groups"]) == totals[key]
        assert report["group_by"] == (by.split(",") if isinstance(by, str) else by)
    by_model = {g["key"]["model"]: g["cost_micros"] for g in book.report(period="all", by=["model"])["groups"]}
    assert by_model == {"claude-sonnet-4": 2 * 117_150 + 3 * 885_000, "claude-opus-4": 585_750, "my-private-model": 0}


def test_report_filters_top_and_zone(book):
    _seed(book)
    writer = book.report(period="all", filters={"agent": "writer"})
    assert writer["totals"]["entries"] == 4 and writer["totals"]["cost_micros"] == 3 * 885_000 + 585_750
    either = book.report(period="all", filters={"agent": ["writer", "reviewer"]})
    assert either["totals"]["entries"] == 7
    both = book.report(period="all", filters=[("agent", "writer"), ("model", "claude-opus-4")])
    assert both["totals"]["entries"] == 1
    top = book.report(period="all", by=["model"], top=1)
    assert top["groups"][0]["key"] == {"model": "claude-sonnet-4"}
    assert top["groups"][-1].get("other") is True
    assert sum(g["cost_micros"] for g in top["groups"]) == top["totals"]["cost_micros"]
    assert book.report(period="all", tz="Europe/Berlin")["period"]["tz"] == "Europe/Berlin"


def test_report_periods_and_bounds(book):
    book.log("gpt-5", input_tokens=1_000_000, timestamp=dt.datetime(2026, 1, 15, 12, tzinfo=UTC))
    book.log("gpt-5", input_tokens=1_000_000, timestamp=dt.datetime(2026, 2, 15, 12, tzinfo=UTC))
    assert book.report(period="2026-01")["totals"]["entries"] == 1
    assert book.report(period="2026")["totals"]["entries"] == 2
    assert book.report(period="all")["totals"]["entries"] == 2
    assert book.report(since=dt.date(2026, 2, 1))["totals"]["entries"] == 1
    assert book.report(since="2026-01-01", until=dt.date(2026, 1, 31))["totals"]["entries"] == 1
    assert book.report(since=dt.datetime(2026, 1, 15, 12, 0, 1, tzinfo=UTC))["totals"]["entries"] == 1
    empty = book.report(period="2025-12")
    assert empty["totals"]["entries"] == 0 and empty["groups"] == [] and empty["totals"]["first"] is None
    for period in ("today", "yesterday", "week", "month", "year", "last-7d", "2026-01-15"):
        assert "totals" in book.report(period=period)


def test_report_errors(book):
    with pytest.raises(tokenbook.InvalidArgument, match='unknown period "fortnight"'):
        book.report(period="fortnight")
    with pytest.raises(tokenbook.InvalidArgument, match="colour"):
        book.report(by=["colour"])
    with pytest.raises(tokenbook.InvalidArgument, match="colour"):
        book.report(filters={"colour": "red"})
    with pytest.raises(tokenbook.InvalidArgument, match="time zone"):
        book.report(tz="Mars/Olympus")
    with pytest.raises(tokenbook.InvalidArgument, match="top is negative"):
        book.report(top=-1)
    with pytest.raises(tokenbook.OutOfRange):
        book.report(top=2**31)
    with pytest.raises(tokenbook.InvalidArgument, match="newline"):
        book.report(filters={"agent": "a\nmodel=b"})
    with pytest.raises(TypeError):
        book.report(since=20260101)
    with pytest.raises(TypeError):
        book.report(filters={"agent": 3})


def test_report_json_and_text_agree(book, library):
    _seed(book)
    text = book.report_json(period="all", by=["model"])
    assert text == book.report_text(period="all", by=["model"])
    assert json.loads(text, parse_float=Decimal) == book.report(period="all", by=["model"])
    # The caller-buffer contract: the size needed, truncation, NUL termination.
    handle = book._handle.acquire()
    try:
        q = _native.tkb_report_query(period=b"all")
        needed = ctypes.c_size_t()
        library.tkb_ledger_report_json(handle, q, None, 0, ctypes.byref(needed))
        small = ctypes.create_string_buffer(8)
        library.tkb_ledger_report_json(handle, q, small, 8, ctypes.byref(needed))
        assert len(small.value) == 7 and needed.value > 100
        with pytest.raises(tokenbook.InvalidArgument, match="buf is NULL"):
            library.tkb_ledger_report_json(handle, q, None, 8, ctypes.byref(needed))
        library.tkb_ledger_report_json(handle, None, None, 0, ctypes.byref(needed))  # NULL query = defaults
    finally:
        book._handle.release()


def test_report_money_is_never_float(book):
    _seed(book)

    def walk(value):
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(book.report(period="all", by=["model", "agent"]))
    walk(book.budget())
    walk(tokenbook.explain("claude-sonnet-4", **SONNET_4_TOKENS))


# ---------------------------------------------------------------------------
# Budgets and admission


def test_budget_without_budgets_suggests_one(book):
    book.log("gpt-5", input_tokens=1_000_000)
    status = book.budget()
    assert status["budgets"] == []
    assert status["month_spent_micros"] == 1_250_000
    assert status["suggestion"]["monthly_limit_micros"] > 0


def test_budget_status(budget_book):
    budget_book.log("gpt-5", cost=Decimal("4.00"))
    (daily,) = budget_book.budget()["budgets"]
    assert daily["name"] == "daily" and daily["action"] == "block"
    assert daily["limit_micros"] == 5_000_000 and daily["limit_usd"] == "5.000000"
    assert daily["spent_micros"] == 4_000_000 and daily["remaining_micros"] == 1_000_000
    assert daily["percent_bp"] == 8000 and daily["level"] == "warning"


def test_admission_reserve_commit_release(budget_book):
    book = budget_book
    a = book.admit("gpt-5", cost_micros=4_000_000)
    assert isinstance(a, tokenbook.Admission)
    assert a.decision == "warn" and a.allowed and a.reservation != 0
    assert a.estimated_cost_micros == 4_000_000 and a.estimated_cost == Decimal("4.000000")
    assert "daily" in a.reason
    assert book.budget()["budgets"][0]["reserved_micros"] == 4_000_000
    denied = book.admit("gpt-5", cost_micros=1_500_000)  # 4.00 reserved + 1.50 > 5.00
    assert denied.decision == "deny" and not denied.allowed and denied.reservation == 0
    assert "daily" in denied.reason and "exceeded" in denied.reason
    book.release(a)
    book.release(a)  # already ended: a no-op
    assert book.budget()["budgets"][0]["reserved_micros"] == 0
    b = book.admit("gpt-5", cost_micros=1_500_000)
    assert b.decision == "allow" and b.reason == "" and b.reservation != 0
    r = book.commit(b, "gpt-5", cost_micros=1_400_000, agent="planner")
    assert r.cost_micros == 1_400_000 and r.appended
    status = book.budget()["budgets"][0]
    assert status["spent_micros"] == 1_400_000 and status["reserved_micros"] == 0
    # Up to the limit exactly is allowed; a micro-dollar more is not.
    assert book.admit("gpt-5", cost_micros=3_600_000, reserve=False).decision == "warn"
    assert book.admit("gpt-5", cost_micros=3_600_001, reserve=False).decision == "deny"
    # Priced from tokens: the estimate is the price.
    est = book.admit("claude-sonnet-4", **SONNET_4_TOKENS, reserve=False)
    assert est.estimated_cost_micros == 117_150 and est.reservation == 0


def test_admission_errors(budget_book):
    with pytest.raises(tokenbook.NotFound, match="closest known"):
        budget_book.admit("gpt-5.4-mini", input_tokens=10)
    with pytest.raises(tokenbook.InvalidArgument):
        budget_book.admit("gpt-5", input_tokens=-1)
    with pytest.raises(TypeError, match="never a float"):
        budget_book.admit("gpt-5", cost=1.5)
    with pytest.raises(TypeError, match="reservation"):
        budget_book.release(1.0)
    with pytest.raises(tokenbook.OutOfRange):
        budget_book.release(-1)
    budget_book.release(12345)  # unknown: a no-op
    # Committing an unknown reservation still logs: the money is spent.
    assert budget_book.commit(12345, "gpt-5", cost_micros=10).appended
    assert budget_book.commit(2**64 - 1, "gpt-5", cost_micros=10).appended
    with pytest.raises(tokenbook.InvalidArgument):
        budget_book.commit(1, "", cost_micros=10)


def test_threads_reserving_never_overshoot_a_blocking_budget(budget_book):
    """8 threads × 40 attempts of $0.10 against $5.00/day: exactly 50 land."""
    errors = []

    def worker():
        try:
            for i in range(40):
                a = budget_book.admit("claude-sonnet-4", cost_micros=100_000, project="p")
                if a.decision == "deny":
                    continue
                if i % 5 == 0:
                    budget_book.release(a)
                else:
                    budget_book.commit(a, "claude-sonnet-4", cost_micros=100_000, project="p")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    totals = budget_book.report(period="today")["totals"]
    assert totals["entries"] == 50 and totals["cost_micros"] == 5_000_000
    denied = budget_book.admit("gpt-5", input_tokens=1000, reserve=False)
    assert denied.decision == "deny" and "daily" in denied.reason


# ---------------------------------------------------------------------------
# Threads


def test_threads_logging_concurrently(book):
    threads_n, per_thread = 8, 50
    errors = []

    def worker(k):
        try:
            for i in range(per_thread):
                if i % 10 == 0:
                    book.log_batch([dict(model="claude-sonnet-4", **SONNET_4_TOKENS, agent=f"a{k}")] * 5)
                else:
                    book.log(model="claude-sonnet-4", input_tokens=120_000, output_tokens=35_000, agent=f"a{k}")
                book.report(period="all", by=["agent"])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = book.report(period="all", by=["agent"])
    batches, singles = per_thread // 10, per_thread - per_thread // 10
    per_agent = batches * 5 * 117_150 + singles * 885_000
    assert report["totals"]["entries"] == threads_n * (batches * 5 + singles)
    assert report["totals"]["cost_micros"] == threads_n * per_agent
    assert sorted(g["cost_micros"] for g in report["groups"]) == [per_agent] * threads_n


def test_close_while_other_threads_log(ledger_dir):
    book = tokenbook.Ledger(ledger_dir)
    started = threading.Barrier(5)
    outcomes = []

    def worker():
        started.wait()
        n = 0
        try:
            while True:
                book.log("gpt-5", input_tokens=10)
                n += 1
        except tokenbook.FailedPrecondition:
            outcomes.append(n)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    while sum(1 for _ in ledger_dir.iterdir()) == 0:
        pass
    book.close()
    for t in threads:
        t.join()
    assert len(outcomes) == 4
    with tokenbook.Ledger(ledger_dir) as again:
        assert again.report(period="all")["totals"]["entries"] == sum(outcomes)


# ---------------------------------------------------------------------------
# Ingestion: response bodies and agent logs

INGEST_DATA = SOURCE_DIR / "tests" / "data" / "ingest"


def test_log_response_openai_chat_and_responses_exactly(book, ledger_dir):
    chat = (INGEST_DATA / "openai-chat-response.json").read_text()
    r = book.log_response("openai", chat, agent="planner", tags={"team": "core"})
    # gpt-5: 1200 uncached x $1.25 + 800 cached x $0.125 + 500 out x $10 per MTok
    assert r.cost_micros == 1500 + 100 + 5000
    assert r.cost == Decimal("0.006600")
    assert r.appended and r.priced and len(r.id) == 26
    again = book.log_response("openai", json.loads(chat))  # a dict works too; same response id
    assert not again.appended
    assert again.id == r.id  # the entry that already has it
    responses = (INGEST_DATA / "openai-responses-response.json").read_bytes()
    assert book.log_response("openai", responses).cost_micros == 2500 + 125 + 7000
    lines = [json.loads(line) for line in (ledger_dir / "ledger.jsonl").read_text().splitlines()]
    assert [line["source"]["key"] for line in lines] == ["openai:chatcmpl-abc", "openai:resp_123"]
    assert lines[0]["tokens"] == {"input": 1200, "output": 500, "cache_read": 800, "reasoning": 200}
    assert lines[0]["agent"] == "planner"
    assert lines[0]["tags"] == {"team": "core"}
    assert lines[0]["ts"] == "2026-01-01T00:00:00.000Z"  # the response's "created"
    assert "SECRET" not in (ledger_dir / "ledger.jsonl").read_text()


def test_log_response_anthropic_and_claude_json(book):
    a = book.log_response("anthropic", (INGEST_DATA / "anthropic-response.json").read_text(), source_key="call-7")
    assert a.cost_micros == 3600 + 4500 + 3000 + 1875 + 9000  # 1-hour cache writes at $6, 5-minute at $3.75
    assert not book.log_response("anthropic", (INGEST_DATA / "anthropic-response.json").read_text(),
                                 source_key="call-7").appended
    cj = book.log_response("claude-json", (INGEST_DATA / "claude-json-result.json").read_text())
    assert cj.cost_micros == 1005 + 75  # one entry per model, the total here
    assert book.report(period="all")["totals"]["entries"] == 3


def test_log_response_errors(book):
    with pytest.raises(tokenbook.InvalidArgument, match='field "usage.completion_tokens": a negative count'):
        book.log_response("openai", '{"model": "gpt-5", "usage": {"prompt_tokens": 1, "completion_tokens": -1}}')
    with pytest.raises(tokenbook.InvalidArgument, match="kind must be one of"):
        book.log_response("gemini", "{}")
    with pytest.raises(TypeError, match="from the response body"):
        book.log_response("openai", "{}", input_tokens=5)
    with pytest.raises(tokenbook.InvalidArgument, match="invalid JSON"):
        book.log_response("anthropic", b"{\"usage\": ")


def test_ingest_claude_code_logs(book, tmp_path):
    first = book.ingest("claude-code", INGEST_DATA / "claude")
    assert first["entries"] == 8
    assert first["cost_micros"] == 25518
    assert first["unusable"] == 3
    assert [i["line"] for i in first["issues"]] == [11, 12, 13]
    again = book.ingest("claude-code", INGEST_DATA / "claude")
    assert (again["bytes_read"], again["entries"]) == (0, 0)
    assert book.report(period="all")["totals"]["cost_micros"] == 25518
    with pytest.raises(tokenbook.InvalidArgument, match="unknown log source"):
        book.ingest("openai-response")
    with pytest.raises(tokenbook.NotFound):
        book.ingest("codex", tmp_path / "nowhere")


# ---------------------------------------------------------------------------
# The model router


ROUTER_CONFIG = """[budgets]
monthly = 10

[[budgets.scoped]]
name = "search"
feature = "search"
period = "monthly"
limit = 1

[router]
[[router.rules]]
name = "quick"
keywords = ["summarize"]
tier = "cheap"

[[router.rules]]
name = "security"
task_types = ["security-review"]
model = "claude-opus-4-6"
downgrade = false
"""


def test_route_follows_rules_and_the_budgets_of_the_request(ledger_dir):
    ledger_dir.mkdir()
    (ledger_dir / "config.toml").write_text(ROUTER_CONFIG)
    with tokenbook.Ledger(ledger_dir) as b:
        d = b.route("refactor the parser")
        assert (d["model"], d["chosen_by"], d["downgraded"]) == ("claude-opus-4-6", "default", False)
        assert d["budget"] == {"name": "monthly", "percent_bp": 0}
        assert b.route("please summarize the thread")["model"] == "claude-haiku-4-5"
        b.log(model="claude-sonnet-4-5", cost=Decimal("0.50"), feature="search")
        # The search budget is half used: the mid tier, for search requests only.
        d = b.route("refactor the parser", feature="search")
        assert (d["model"], d["wanted_tier"], d["downgraded"]) == ("claude-sonnet-4-6", "mid", True)
        assert d["budget"] == {"name": "search", "percent_bp": 5000}
        d = b.route("refactor the parser")
        assert (d["model"], d["budget"]) == ("claude-opus-4-6", {"name": "monthly", "percent_bp": 500})
        b.log(model="claude-sonnet-4-5", cost=Decimal("0.30"), feature="search")
        assert b.route("refactor the parser", feature="search")["model"] == "claude-haiku-4-5"
        d = b.route("look", task_type="security-review", feature="search")
        assert (d["model"], d["downgraded"], d["wanted_tier"]) == ("claude-opus-4-6", False, "cheap")


def test_route_rejects_bad_arguments(book):
    with pytest.raises(TypeError):
        book.route(42)
    with pytest.raises(tokenbook.InvalidArgument):
        book.route("a\0b")
