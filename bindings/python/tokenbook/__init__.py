"""tokenbook: bookkeeping for AI tokens, from Python.

A ctypes binding of libtokenbook's stable C ABI (tokenbook.h). It logs usage
entries to a ledger directory, prices them exactly in integer micro-dollars,
reports, checks budgets and answers admission checks::

    import tokenbook

    with tokenbook.Ledger(".tokenbook") as book:
        result = book.log(model="claude-sonnet-4-5", input_tokens=12_000, output_tokens=4_500)
        print(result.cost)                                   # Decimal('0.103500')
        print(book.report(period="month", by=["model"]))     # plain dicts

Money is ``int`` micro-dollars (1 USD = 1,000,000 µ$) or ``decimal.Decimal``
dollars, never ``float``: a float where money is expected is a TypeError.
Failed calls raise the subclass of ``tokenbook.Error`` named after the C status
(``tokenbook.NotFound``, ``tokenbook.InvalidArgument``, ...).

Thread safety follows the C ABI: a Ledger and a Rates may be shared by
threads; the library releases the GIL while it works.
"""

import ctypes
import json
import operator
import os
import threading
from ctypes import byref, c_int64, c_size_t, c_void_p
from dataclasses import dataclass
from decimal import Decimal

from . import _batch, _native
from ._convert import (
    ENTRY_FIELDS,
    MICROS_PER_DOLLAR,
    _entry,
    _fill,
    _loads,
    _opt_utf8,
    _path,
    _price_request,
    _report_query,
    _set_model,
    _take_json,
    _unix_ms,
    _utf8,
    _ENTRY_SETTERS,
    _PRICE_SETTERS,
    dollars,
    micros,
)
from ._native import ABI_VERSION, tkb_admission, tkb_entry, tkb_log_result, tkb_open_options
from .errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    Error,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LibraryError,
    LibraryMismatch,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    error_for_status,
)

__version__ = "0.1.0"

__all__ = [
    "ABI_VERSION",
    "ENTRY_FIELDS",
    "MICROS_PER_DOLLAR",
    "Admission",
    "Ledger",
    "LogResult",
    "Rates",
    "abi_version",
    "dollars",
    "explain",
    "library_path",
    "load_library",
    "micros",
    "price",
    "status_name",
    "version",
    "version_number",
    # errors
    "Error",
    "LibraryError",
    "LibraryMismatch",
    "Cancelled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
    "error_for_status",
]

_DECISIONS = {_native.ALLOW: "allow", _native.WARN: "warn", _native.DENY: "deny"}
_DURABILITY = {None: _native.DURABILITY_DEFAULT, "flush": _native.DURABILITY_FLUSH, "fsync": _native.DURABILITY_FSYNC}

# ---------------------------------------------------------------------------
# Library


def load_library(path=None):
    """Loads libtokenbook (from `path`, else TOKENBOOK_LIBRARY, next to the
    package, the system loader) and checks its ABI. Called on first use."""
    return _native.load(path).path


def library_path():
    """The path or name the library was loaded from."""
    return _native.lib().path


def version():
    """The library's version string, e.g. "0.1.0"."""
    return _native.lib().tkb_version_string().decode("ascii")


def version_number():
    """The library's version as MAJOR*10000 + MINOR*100 + PATCH."""
    return _native.lib().tkb_version_number()


def abi_version():
    """The library's ABI version (equal to ABI_VERSION once loaded)."""
    return _native.lib().tkb_abi_version()


def status_name(code):
    """The C name of a status code ("NOT_FOUND")."""
    return _native.lib().tkb_status_name(code).decode("ascii")

# ---------------------------------------------------------------------------
# Results


@dataclass
class LogResult:
    """What a log call did."""

    cost_micros: int  #: the entry's cost in µ$ (0 when unpriced)
    cost: Decimal  #: the same in dollars, exactly
    appended: bool  #: False: an entry with the same source_key already existed
    priced: bool  #: False: the model is unknown; the entry is recorded unpriced
    id: str  #: the entry's id (a ULID)


@dataclass
class Admission:
    """The answer of an admission check."""

    decision: str  #: "allow", "warn" or "deny"
    estimated_cost_micros: int
    estimated_cost: Decimal
    reservation: int  #: nonzero when a reservation was taken; pass to commit() or release()
    reason: str  #: the budget that decided ("" when allowed)

    @property
    def allowed(self):
        """True unless the decision is "deny"."""
        return self.decision != "deny"


# ---------------------------------------------------------------------------
# Handles


class _Handle:
    """An owned C handle that close() frees once no call is using it.

    Calls bracket their use with acquire()/release(), so that closing from one
    thread while another is inside a call never frees memory in use.
    """

    __slots__ = ("_ptr", "_free", "_what", "_lock", "_busy", "_closed", "_on_free")

    def __init__(self, ptr, free, what, on_free=None):
        self._ptr = ptr
        self._free = free
        self._what = what
        self._lock = threading.Lock()
        self._busy = 0
        self._closed = False
        self._on_free = on_free

    def acquire(self):
        with self._lock:
            if self._closed:
                raise FailedPrecondition(f"the {self._what} is closed")
            self._busy += 1
            return self._ptr

    def release(self):
        with self._lock:
            self._busy -= 1
            ptr = self._take_if_done()
        self._dispose(ptr)

    def close(self):
        with self._lock:
            self._closed = True
            ptr = self._take_if_done()
        self._dispose(ptr)

    @property
    def closed(self):
        return self._closed

    def _take_if_done(self):
        if self._closed and self._busy == 0 and self._ptr is not None:
            ptr, self._ptr = self._ptr, None
            return ptr
        return None

    def _dispose(self, ptr):
        if ptr is not None:
            try:
                self._free(ptr)
            finally:
                if self._on_free is not None:
                    self._on_free()


# ---------------------------------------------------------------------------
# Rate tables


class Rates:
    """An immutable rate table (tkb_rates). Build one with builtin(), load(),
    parse() or layer(); it may be shared by threads and passed to Ledger()."""

    def __init__(self, _ptr=None):
        if _ptr is None:
            raise TypeError("use Rates.builtin(), Rates.load(path), Rates.parse(text, format) or rates.layer(top)")
        lib = _native.lib()
        self._lib = lib
        self._handle = _Handle(_ptr, lib.tkb_rates_free, "rate table")

    @classmethod
    def builtin(cls):
        """The built-in table (list prices embedded at build time)."""
        lib = _native.lib()
        out = c_void_p()
        lib.tkb_rates_builtin(byref(out))
        return cls(out.value)

    @classmethod
    def load(cls, path):
        """Loads a file: `.json` as LiteLLM's price database, else a TOML rate
        table. Errors name the file, line and column."""
        lib = _native.lib()
        out = c_void_p()
        lib.tkb_rates_load(byref(out), _path(path, "path"))
        return cls(out.value)

    @classmethod
    def parse(cls, text, format="toml", source_name=None):
        """Parses a TOML rate table (format "toml") or LiteLLM JSON ("litellm")
        from a str or bytes; `source_name` names it in messages."""
        lib = _native.lib()
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        out = c_void_p()
        lib.tkb_rates_parse(byref(out), data, len(data), _utf8(format, "format"), _opt_utf8(source_name, "source_name"))
        return cls(out.value)

    def layer(self, top):
        """A new table: this one with `top` layered over it (top's models win by id)."""
        if not isinstance(top, Rates):
            raise TypeError(f"top must be a Rates, not {type(top).__name__}")
        base_ptr = self._handle.acquire()
        try:
            top_ptr = top._handle.acquire()
            try:
                out = c_void_p()
                self._lib.tkb_rates_layer(byref(out), base_ptr, top_ptr)
                return Rates(out.value)
            finally:
                top._handle.release()
        finally:
            self._handle.release()

    def __len__(self):
        ptr = self._handle.acquire()
        try:
            n = c_size_t()
            self._lib.tkb_rates_count(ptr, byref(n))
            return n.value
        finally:
            self._handle.release()

    def resolve(self, model):
        """The id of any spelling of a model name; NotFound names the closest ids."""
        name = _utf8(model, "model")
        ptr = self._handle.acquire()
        try:
            needed = c_size_t()
            buf = ctypes.create_string_buffer(64)
            self._lib.tkb_rates_resolve(ptr, name, buf, len(buf), byref(needed))
            if needed.value > len(buf):
                buf = ctypes.create_string_buffer(needed.value)
                self._lib.tkb_rates_resolve(ptr, name, buf, len(buf), byref(needed))
            return buf.value.decode("utf-8")
        finally:
            self._handle.release()

    def price(self, model, **fields):
        """The exact cost of one request in int µ$. Fields: input_tokens,
        output_tokens, cache_read_tokens, cache_write_5m_tokens,
        cache_write_1h_tokens, reasoning_tokens, requests, service_tier, at
        (a datetime: the prices in force then)."""
        req = _price_request(model, fields)
        ptr = self._handle.acquire()
        try:
            cost = c_int64()
            self._lib.tkb_price(ptr, req, byref(cost))
            return cost.value
        finally:
            self._handle.release()

    def explain(self, model, **fields):
        """The cost with its breakdown, as a dict (the shape of `tokenbook price --json`)."""
        req = _price_request(model, fields)
        ptr = self._handle.acquire()
        try:
            return _loads(_take_json(self._lib, self._lib.tkb_price_explain, ptr, req))
        finally:
            self._handle.release()

    def close(self):
        """Frees the table once no ledger opened with it is still open. Idempotent."""
        self._handle.close()

    @property
    def closed(self):
        return self._handle.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None:
            try:
                handle.close()
            except Exception:
                pass

    def __repr__(self):
        if self.closed:
            return "<tokenbook.Rates closed>"
        return f"<tokenbook.Rates {len(self)} models>"


_builtin_lock = threading.Lock()
_builtin = None


def _builtin_rates():
    global _builtin
    with _builtin_lock:
        if _builtin is None:
            _builtin = Rates.builtin()
        return _builtin


def _rates_or_builtin(rates):
    if rates is None:
        return _builtin_rates()
    if not isinstance(rates, Rates):
        raise TypeError(f"rates must be a tokenbook.Rates, not {type(rates).__name__}")
    return rates


def price(model, *, rates=None, **fields):
    """The exact cost of one request in int µ$, from `rates` (default: the
    built-in table). See Rates.price for the fields."""
    return _rates_or_builtin(rates).price(model, **fields)


def explain(model, *, rates=None, **fields):
    """The cost with its breakdown, as a dict, from `rates` (default: built-in)."""
    return _rates_or_builtin(rates).explain(model, **fields)


# ---------------------------------------------------------------------------
# Ledgers

# tkb_log_result as laid out in memory, for reading a whole batch at once.

class Ledger:
    """A ledger directory (tkb_ledger), opened for logging, reports, budgets
    and admission checks. A context manager; may be shared by threads.

    ``path`` is the `.tokenbook` directory, or a database URL such as
    "sqlite:///abs/path/ledger.db" (docs/backends.md); None finds it like git finds .git
    ($TOKENBOOK_DIR, the nearest .tokenbook/ upward, the per-user default).
    ``durability`` is None (config.toml's, else "flush"), "flush" or "fsync".
    ``rates`` replaces the built-in table plus config.toml's rate files.
    ``strict_models`` makes logging an unknown model fail (NotFound) instead
    of recording it unpriced.
    """

    def __init__(self, path=None, *, create=True, durability=None, rates=None, strict_models=False):
        lib = _native.lib()
        self._lib = lib
        self._handle = None
        self.path = None if path is None else os.fspath(path)
        opts = tkb_open_options()
        opts.create = 1 if create else 0
        if durability not in _DURABILITY:
            raise InvalidArgument(f"durability must be None, 'flush' or 'fsync', not {durability!r}")
        opts.durability = _DURABILITY[durability]
        opts.strict_models = 1 if strict_models else 0
        on_free = None
        if rates is not None:
            if not isinstance(rates, Rates):
                raise TypeError(f"rates must be a tokenbook.Rates, not {type(rates).__name__}")
            # The ledger borrows the table: hold it open until the ledger is freed.
            opts.rates = rates._handle.acquire()
            on_free = rates._handle.release
        self._rates = rates
        out = c_void_p()
        try:
            lib.tkb_ledger_open(byref(out), _path(path, "path"), opts)
        except BaseException:
            if on_free is not None:
                on_free()
            raise
        self._handle = _Handle(out.value, lib.tkb_ledger_free, "ledger", on_free)

    # -- lifetime

    def close(self):
        """Closes the ledger: later calls raise FailedPrecondition; the handle is
        freed once every call in flight has returned. Idempotent."""
        if self._handle is not None:
            self._handle.close()

    @property
    def closed(self):
        return self._handle is None or self._handle.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self.closed else "open"
        return f"<tokenbook.Ledger {self.path or '(found)'!s} {state}>"

    def _acquire(self):
        if self._handle is None:
            raise FailedPrecondition("the ledger is closed")
        return self._handle.acquire()

    # -- logging

    def log(self, model, **fields):
        """Prices and appends one entry; returns a LogResult.

        Fields (all optional but model): input_tokens, output_tokens,
        cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
        reasoning_tokens, requests (int); timestamp (datetime, default now);
        cost (Decimal dollars) or cost_micros (int) to override the price;
        session, agent, category, action_type ("skill", "agent", "manual",
        "scheduled"), action, feature, project, tool, task_type, service_tier,
        notes, source_kind, source_key (str; a source_key already in the
        ledger makes this a no-op with appended=False); duration_ms (int or
        timedelta); tags (a dict of str to str).
        """
        e = _entry(model, fields, "log")
        r = tkb_log_result.from_buffer_copy(_RESULT_TEMPLATE)
        ptr = self._acquire()
        try:
            self._lib.tkb_ledger_log(ptr, e, r)
        finally:
            self._handle.release()
        return _log_result(r)

    def log_batch(self, entries):
        """Appends many entries with one write under one lock, all or nothing.

        `entries` is a sequence of dicts with the fields of log() (``model``
        included). Returns one LogResult per entry, in order. A bad entry
        raises before anything is written; the message names its index.
        """
        entries = entries if isinstance(entries, (list, tuple)) else list(entries)
        n = len(entries)
        if n == 0:
            return []
        if _batch.PACKED:
            array, arena = _batch.pack(entries)
        else:
            array, arena = _entry_array(entries), None
        results = (tkb_log_result * n).from_buffer_copy(_RESULT_TEMPLATE * n)
        ptr = self._acquire()
        try:
            self._lib.tkb_ledger_log_batch(ptr, array, n, results)
        finally:
            self._handle.release()
        del arena  # the strings the entries pointed to
        if not _batch.PACKED:
            return [_log_result(r) for r in results]
        out = []
        costs = {}  # one Decimal per distinct cost
        for cost_micros, appended, priced, rid in _batch.unpack_results(results):
            cost = costs.get(cost_micros)
            if cost is None:
                cost = costs[cost_micros] = Decimal(cost_micros).scaleb(-6)
            out.append(LogResult(cost_micros, cost, appended != 0, priced != 0, rid.decode("ascii")))
        return out

    # -- pricing, with this ledger's table

    def price(self, model, **fields):
        """The cost in int µ$ this ledger would record for a request, from its
        own rate table (rates= or the built-in table plus config.toml's rate
        files). Fields as Rates.price. NotFound for an unknown model."""
        req = _price_request(model, fields)
        ptr = self._acquire()
        try:
            cost = c_int64()
            self._lib.tkb_ledger_price(ptr, req, byref(cost))
            return cost.value
        finally:
            self._handle.release()

    # -- ingestion

    def log_response(self, kind, body, **fields):
        """Logs the usage one raw API response body reports; returns a LogResult.

        kind: "anthropic" (a Messages API response), "openai" (Chat
        Completions or Responses API) or "claude-json" (the result object of
        `claude -p --output-format json`, one entry per model it names; the
        LogResult then carries their total cost and the first entry's id).
        body: the response body as str or bytes, or the dict json.loads made
        of it. The model and tokens come from the body (OpenAI's cached
        prompt tokens at the cache-read rate, reasoning within output); the
        source key from its id, so logging the same response twice adds
        nothing. Nothing of the content is stored.

        fields: the dimensions of log() (session, agent, category,
        action_type, action, feature, project, tool, task_type, service_tier,
        notes, tags, duration_ms), source_key to replace the derived key,
        timestamp (datetime) to replace the response's own time.
        """
        if kind not in _native.RESPONSE_KINDS:
            raise InvalidArgument(f"kind must be one of {sorted(_native.RESPONSE_KINDS)}, not {kind!r}")
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, (bytes, bytearray)):
            raise TypeError(f"body must be str, bytes or dict, not {type(body).__name__}")
        for name in fields:
            if name in ("model", "cost", "cost_micros", "requests") or name.endswith("_tokens"):
                raise TypeError(f"log_response() takes {name} from the response body, not as an argument")
        dims = _entry("response", dict(fields), "log_response")  # the model is ignored
        r = tkb_log_result.from_buffer_copy(_RESULT_TEMPLATE)
        ptr = self._acquire()
        try:
            self._lib.tkb_ledger_log_response(ptr, _native.RESPONSE_KINDS[kind], bytes(body), len(body), dims, r)
        finally:
            self._handle.release()
        return _log_result(r)

    def ingest(self, source, path=None, *, dry_run=False):
        """Reads an agent's own logs into this ledger and returns the summary
        as a dict (the document of `tokenbook ingest --json`: files, bytes_read,
        entries, duplicates, unusable, cost_micros, tokens, issues...).

        source: "claude-code" or "codex"; path: a log file or directory (None:
        the source's usual place). Incremental (a re-run reads only what was
        appended) and idempotent (entries carry source keys).
        """
        if self._handle is None or self._handle.closed:
            raise FailedPrecondition("the ledger is closed")
        return _loads(_take_json(self._lib, self._lib.tkb_ingest, _path(self.path, "path"), _utf8(source, "source"),
                                 _path(path, "path"), 1 if dry_run else 0))

    # -- the model router

    def route(self, task="", *, task_type=None, session=None, project=None, feature=None, agent=None):
        """Which model should this task use, asked before the call: a dict
        (the document of `tokenbook route --json`: model, tier, chosen_model,
        chosen_by, rule, matched, budget {name, percent_bp}, wanted_tier,
        downgraded).

        config.toml's [router] rules choose a model from the task text or
        task_type; the most used budget that applies to the request (its
        session, project, feature, agent) may then move it down to the mid or
        cheap tier. The router is built once per Ledger.
        """
        q = _native.tkb_route_request()
        q.task = _utf8(task, "task")
        q.task_type = _opt_utf8(task_type, "task_type")
        q.session = _opt_utf8(session, "session")
        q.project = _opt_utf8(project, "project")
        q.feature = _opt_utf8(feature, "feature")
        q.agent = _opt_utf8(agent, "agent")
        ptr = self._acquire()
        try:
            return _loads(_take_json(self._lib, self._lib.tkb_ledger_route, ptr, q, None, 0, None))
        finally:
            self._handle.release()

    # -- reports and budgets

    def report(self, period="month", by=None, filters=None, since=None, until=None, top=0, tz=None):
        """A report as a plain dict (totals, groups, period, issues).

        period: "today", "yesterday", "week", "month", "year", "last-7d",
        "YYYY", "YYYY-MM", "YYYY-MM-DD" or "all". by: a list of dimensions
        ("model", "provider", "agent", ..., "tag:KEY", "day", "week", "month")
        or a comma-separated str. filters: a dict of dimension to a value or a
        list of values (OR). since/until: str, date or datetime, overriding
        period. top: keep the top N groups (0: all). tz: an IANA time zone.
        Money is int "*_micros" and exact "*_usd" strings, never float.
        """
        return _loads(self.report_json(period, by, filters, since, until, top, tz))

    def report_json(self, period="month", by=None, filters=None, since=None, until=None, top=0, tz=None):
        """The report as JSON text (the C ABI's document), same arguments as report()."""
        q = _report_query(period, by, filters, since, until, top, tz)
        ptr = self._acquire()
        try:
            needed = c_size_t()
            self._lib.tkb_ledger_report_json(ptr, q, None, 0, byref(needed))
            while True:
                buf = ctypes.create_string_buffer(needed.value)
                self._lib.tkb_ledger_report_json(ptr, q, buf, len(buf), byref(needed))
                if needed.value <= len(buf):  # else it grew between the calls
                    return buf.value.decode("utf-8")
        finally:
            self._handle.release()

    def report_text(self, period="month", by=None, filters=None, since=None, until=None, top=0, tz=None):
        """The report as JSON text, allocated by the library (tkb_ledger_report)."""
        q = _report_query(period, by, filters, since, until, top, tz)
        ptr = self._acquire()
        try:
            return _take_json(self._lib, self._lib.tkb_ledger_report, ptr, q)
        finally:
            self._handle.release()

    def budget(self):
        """Every budget's status (spent, limit, percent, level, projection,
        recommendation) and a suggestion when none is set, as a dict."""
        ptr = self._acquire()
        try:
            return _loads(_take_json(self._lib, self._lib.tkb_ledger_budget, ptr))
        finally:
            self._handle.release()

    # -- admission

    def admit(self, model, *, reserve=True, **fields):
        """May this request go ahead? Returns an Admission.

        Describe the request as it would be logged (model and expected tokens,
        or cost=/cost_micros=, and the session, project, feature, agent scoped
        budgets look at). With reserve=True and a decision other than "deny",
        the estimate is reserved until commit() or release().
        """
        return self._admit(_entry(model, fields, "admit"), reserve)

    def _admit(self, estimate, reserve):
        a = tkb_admission()
        ptr = self._acquire()
        try:
            self._lib.tkb_ledger_admit(ptr, estimate, 1 if reserve else 0, a)
        finally:
            self._handle.release()
        return Admission(
            _DECISIONS.get(a.decision, str(a.decision)),
            a.estimated_cost_micros,
            Decimal(a.estimated_cost_micros).scaleb(-6),
            a.reservation,
            a.reason.decode("utf-8", "replace"),
        )

    def commit(self, reservation, model, **fields):
        """Logs the real usage (fields as log()) and ends the reservation (an
        Admission or its id). An unknown or expired reservation still logs."""
        e = _entry(model, fields, "commit")
        r = tkb_log_result()
        rid = _reservation_id(reservation)
        ptr = self._acquire()
        try:
            self._lib.tkb_ledger_commit(ptr, rid, e, r)
        finally:
            self._handle.release()
        return _log_result(r)

    def release(self, reservation):
        """Drops a reservation (an Admission or its id) without logging.
        Unknown or expired ids are a no-op."""
        rid = _reservation_id(reservation)
        ptr = self._acquire()
        try:
            self._lib.tkb_ledger_release(ptr, rid)
        finally:
            self._handle.release()


def _reservation_id(reservation):
    if isinstance(reservation, Admission):
        return reservation.reservation
    if isinstance(reservation, (bool, float)):
        raise TypeError(f"reservation must be an Admission or an int, not {type(reservation).__name__}")
    try:
        value = operator.index(reservation)
    except TypeError:
        raise TypeError(f"reservation must be an Admission or an int, not {type(reservation).__name__}") from None
    if not 0 <= value < (1 << 64):
        raise OutOfRange(f"reservation {value} is not a reservation id")
    return value


def _entry_array(entries):
    """The entries as a tkb_entry array through the per-field setters (the
    portable path; _batch.pack is the fast one)."""
    array = (tkb_entry * len(entries))()
    for i, fields in enumerate(entries):
        e = array[i]
        e.struct_size = ctypes.sizeof(tkb_entry)
        e.duration_ms = -1
        try:
            if "model" not in fields:
                raise TypeError("entry has no model")
            _fill(e, fields, _ENTRY_SETTERS, "log_batch")
        except AttributeError:
            raise TypeError(f"entries[{i}] must be a dict, not {type(fields).__name__}") from None
        except Error as err:
            raise type(err)(f"entries[{i}]: {err.message}") from None
        except TypeError as err:
            raise TypeError(f"entries[{i}]: {err}") from None
    return array


def _log_result(r):
    return LogResult(r.cost_micros, Decimal(r.cost_micros).scaleb(-6), r.appended != 0, r.priced != 0,
                     r.id.decode("ascii"))


# TKB_LOG_RESULT_INIT as bytes, copied n times to set up a batch's results.
_RESULT_TEMPLATE = bytes(tkb_log_result())
