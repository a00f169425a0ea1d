"""Python values to C ABI values: money, integers, strings, timestamps, tags,
and the tkb_entry / tkb_price_request / tkb_report_query builders.

Money is int micro-dollars or decimal.Decimal dollars, never float; every
integer is checked to fit its C type (ctypes would silently wrap it).
"""

import ctypes
import datetime as _dt
import json
import operator
import os
from collections.abc import Mapping
from ctypes import byref, c_void_p
from decimal import Decimal

from ._native import tkb_entry, tkb_price_request, tkb_report_query
from .errors import InvalidArgument, OutOfRange

MICROS_PER_DOLLAR = 1_000_000
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT32_MAX = (1 << 31) - 1
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MILLISECOND = _dt.timedelta(milliseconds=1)

# ---------------------------------------------------------------------------
# Money


def dollars(micros_):
    """Integer micro-dollars as exact Decimal dollars (117150 -> Decimal('0.117150'))."""
    return Decimal(_int(micros_, "micros")).scaleb(-6)


def micros(amount):
    """Decimal dollars (or a decimal string) as integer micro-dollars, exactly.

    A float is a TypeError; an amount finer than a micro-dollar is an
    InvalidArgument (nothing is rounded).
    """
    if isinstance(amount, str):
        try:
            amount = Decimal(amount)
        except ArithmeticError:
            raise InvalidArgument(f"not a decimal amount: {amount!r}") from None
    return _decimal_micros(amount, "amount")


def _no_float(name):
    return TypeError(
        f"{name}: money is never a float in tokenbook; pass decimal.Decimal dollars "
        f"or int micro-dollars (cost_micros=)"
    )


def _decimal_micros(value, name):
    if isinstance(value, float):
        raise _no_float(name)
    if not isinstance(value, Decimal):
        raise TypeError(
            f"{name} takes decimal.Decimal dollars, not {type(value).__name__}; "
            f"pass integer micro-dollars as cost_micros="
        )
    if not value.is_finite():
        raise InvalidArgument(f"{name} is not a finite amount: {value}")
    # Exact whatever the decimal context's precision: work on the digits.
    sign, digits, exponent = value.as_tuple()
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + 6
    if coefficient == 0:
        return 0
    if shift > 19:  # at least 10**19 µ$: too large, whatever the digits
        raise OutOfRange(f"{name} {value} does not fit in 64-bit micro-dollars")
    if -shift > len(digits):  # every digit is below a micro-dollar
        raise InvalidArgument(f"{name} {value} is finer than a micro-dollar (at most 6 decimals)")
    if shift >= 0:
        result = coefficient * 10**shift
    else:
        result, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise InvalidArgument(f"{name} {value} is finer than a micro-dollar (at most 6 decimals)")
    result = -result if sign else result
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise OutOfRange(f"{name} {value} does not fit in 64-bit micro-dollars")
    return result


# ---------------------------------------------------------------------------
# Argument conversion


def _int(value, name):
    if type(value) is not int:
        if isinstance(value, bool):
            raise TypeError(f"{name} must be an int, not bool")
        if isinstance(value, float):
            raise TypeError(f"{name} must be an int, not float")
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise OutOfRange(f"{name} {value} does not fit in 64 bits")
    return value


def _utf8(value, name):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgument(f"{name} is not valid Unicode: {e.reason}") from None
    if b"\0" in data:
        raise InvalidArgument(f"{name} contains a NUL character")
    return data


def _opt_utf8(value, name):
    return None if value is None else _utf8(value, name)


def _path(value, name):
    if value is None:
        return None
    data = os.fsencode(value)
    if b"\0" in data:
        raise InvalidArgument(f"{name} contains a NUL character")
    return data


def _unix_ms(value, name):
    """A datetime as Unix milliseconds, exactly (naive means local time, as in Python)."""
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"{name} must be a datetime.datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.astimezone()
    ms = (value - _EPOCH) // _MILLISECOND
    if ms == 0:
        # 0 means "now" in the C ABI; the epoch's own millisecond cannot be told apart.
        raise InvalidArgument(f"{name} is the Unix epoch, which the C ABI reads as 'now'")
    return ms


def _tags(value):
    text = _tags_text(value)
    return None if text is None else _utf8(text, "tags")


def _tags_text(value):
    """A mapping (or pairs) of tags as the C ABI's "key=value" lines, or None."""
    if type(value) is dict or isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (str, bytes)):
        raise TypeError(f"tags must be a mapping of str to str, not {type(value).__name__}")
    else:
        try:
            items = list(value)
        except TypeError:
            raise TypeError(f"tags must be a mapping of str to str, not {type(value).__name__}") from None
    lines = []
    for key, val in items:
        if type(key) is not str or type(val) is not str:
            raise TypeError(f"tags must map str to str, got {key!r}: {val!r}")
        if not key or "=" in key or "\n" in key or "\n" in val:
            raise InvalidArgument(f"bad tag {key!r}={val!r}: keys are non-empty without '=' or newlines; "
                                  f"values have no newlines")
        lines.append(f"{key}={val}")
    return "\n".join(lines) if lines else None


_TOKEN_FIELDS = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_read_tokens": "cache_read",
    "cache_write_5m_tokens": "cache_write_5m",
    "cache_write_1h_tokens": "cache_write_1h",
    "reasoning_tokens": "reasoning",
}
_STRING_FIELDS = (
    "session",
    "agent",
    "category",
    "action_type",
    "action",
    "feature",
    "project",
    "tool",
    "task_type",
    "service_tier",
    "notes",
    "source_kind",
    "source_key",
)


def _token_setter(key, field):
    def set_tokens(target, value):
        setattr(target, field, _int(value, key))

    return set_tokens


def _string_setter(key):
    def set_string(target, value):
        if value is not None:
            setattr(target, key, _utf8(value, key))

    return set_string


def _set_requests(target, value):
    target.requests = _int(value, "requests")


def _set_timestamp(target, value):
    if value is not None:
        target.timestamp_unix_ms = _unix_ms(value, "timestamp")


def _set_cost(target, value):
    if value is None:
        return
    if target.has_cost_override:
        raise TypeError("give cost (Decimal dollars) or cost_micros (int), not both")
    target.cost_override_micros = _decimal_micros(value, "cost")
    target.has_cost_override = 1


def _set_cost_micros(target, value):
    if value is None:
        return
    if target.has_cost_override:
        raise TypeError("give cost (Decimal dollars) or cost_micros (int), not both")
    target.cost_override_micros = _cost_micros(value)
    target.has_cost_override = 1


def _cost_micros(value):
    if isinstance(value, float):
        raise _no_float("cost_micros")
    if isinstance(value, Decimal):
        raise TypeError("cost_micros takes int micro-dollars; pass Decimal dollars as cost=")
    return _int(value, "cost_micros")


def _set_duration(target, value):
    if value is None:
        return
    if isinstance(value, _dt.timedelta):
        value = value // _MILLISECOND
    value = _int(value, "duration_ms")
    if value < 0:
        raise InvalidArgument(f"duration_ms is negative: {value}")
    target.duration_ms = value


def _set_tags(target, value):
    if value is not None:
        target.tags = _tags(value)


def _set_model(target, value):
    target.model = _utf8(value, "model")


_ENTRY_SETTERS = {"model": _set_model}
_ENTRY_SETTERS.update({k: _token_setter(k, f) for k, f in _TOKEN_FIELDS.items()})
_ENTRY_SETTERS.update({k: _string_setter(k) for k in _STRING_FIELDS})
_ENTRY_SETTERS.update(
    requests=_set_requests,
    timestamp=_set_timestamp,
    cost=_set_cost,
    cost_micros=_set_cost_micros,
    duration_ms=_set_duration,
    tags=_set_tags,
)

_PRICE_SETTERS = {"model": _set_model}
_PRICE_SETTERS.update({k: _token_setter(k, f) for k, f in _TOKEN_FIELDS.items()})
_PRICE_SETTERS.update(requests=_set_requests, service_tier=_string_setter("service_tier"))

#: Every field an entry takes (log, log_batch, admit, commit).
ENTRY_FIELDS = tuple(_ENTRY_SETTERS)


def _unexpected(key, setters, what):
    return TypeError(f"{what}: unexpected field {key!r}; known fields: {', '.join(setters)}")


def _fill(target, fields, setters, what):
    for key, value in fields.items():
        setter = setters.get(key)
        if setter is None:
            raise _unexpected(key, setters, what)
        setter(target, value)


# TKB_ENTRY_INIT as bytes: copying it is cheaper than running __init__.
_ENTRY_INIT = bytes(tkb_entry())


def _entry(model, fields, what="entry"):
    e = tkb_entry.from_buffer_copy(_ENTRY_INIT)
    _set_model(e, model)
    _fill(e, fields, _ENTRY_SETTERS, what)
    return e


def _price_request(model, fields):
    req = tkb_price_request()
    _set_model(req, model)
    at = fields.pop("at", None)
    if at is not None:
        req.at_unix_ms = _unix_ms(at, "at")
    _fill(req, fields, _PRICE_SETTERS, "price")
    return req


def _bound(value, name):
    if value is None or isinstance(value, str):
        return _opt_utf8(value, name)
    if isinstance(value, _dt.datetime):
        # Aware: an RFC 3339 instant. Naive: wall time in the report's zone.
        return _utf8(value.isoformat(), name)
    if isinstance(value, _dt.date):
        return _utf8(value.isoformat(), name)
    raise TypeError(f"{name} must be a str, datetime.date or datetime.datetime, not {type(value).__name__}")


def _report_query(period, by, filters, since, until, top, tz):
    q = tkb_report_query()
    q.period = _opt_utf8(period, "period")
    q.since = _bound(since, "since")
    q.until = _bound(until, "until")
    if by is not None:
        names = [by] if isinstance(by, str) else list(by)
        for name in names:
            _utf8(name, "by")
        q.group_by = _utf8(",".join(names), "by")
    if filters is not None:
        pairs = filters.items() if isinstance(filters, Mapping) else filters
        lines = []
        for key, values in pairs:
            for value in [values] if isinstance(values, str) else values:
                if type(key) is not str or type(value) is not str:
                    raise TypeError(f"filters map str to str (or to a list of str), got {key!r}: {value!r}")
                if "\n" in key or "\n" in value:
                    raise InvalidArgument(f"filter {key!r}={value!r} contains a newline")
                lines.append(f"{key}={value}")
        q.filters = _utf8("\n".join(lines), "filters")
    top = _int(top or 0, "top")
    if top > _INT32_MAX:
        raise OutOfRange(f"top {top} does not fit in 32 bits")
    q.top = top
    q.time_zone = _opt_utf8(tz, "tz")
    return q


def _loads(text):
    # Money in these documents is integers and decimal strings; a stray
    # fraction still never becomes a float.
    return json.loads(text, parse_float=Decimal)


def _take_json(lib, func, *args):
    """Calls `func(*args, &out)` and returns the allocated JSON text, freed."""
    out = c_void_p()
    try:
        func(*args, byref(out))
        return ctypes.string_at(out.value).decode("utf-8")
    finally:
        lib.tkb_free(out)
