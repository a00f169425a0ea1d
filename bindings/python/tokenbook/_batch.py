"""Building a tkb_entry array for tkb_ledger_log_batch quickly.

Setting ctypes fields one attribute at a time costs about a microsecond per
field, which alone would hold a batch under 100,000 entries a second. Here
each entry becomes one list of 27 C values packed into the array with a
single struct.pack_into call, and every distinct string is encoded once into
an arena of NUL-terminated bytes whose addresses go into the pointer fields.
The checks are those of the per-field setters in _convert.py; anything
unusual (a subclass of int, a timedelta) goes through those setters' own
converters, so both paths accept and reject the same values.
"""

import ctypes
import datetime as _dt
import struct

from ._convert import (
    _INT64_MAX,
    _INT64_MIN,
    _MILLISECOND,
    _cost_micros,
    _decimal_micros,
    _int,
    _tags_text,
    _unix_ms,
    _ENTRY_SETTERS,
)
from ._native import tkb_entry, tkb_log_result
from .errors import Error, InvalidArgument

# tkb_entry with native alignment: "P" is a pointer, padding falls where the
# C compiler puts it. Checked against ctypes' layout below; when it differs
# (an unusual platform) log_batch uses the per-field setters instead.
_ENTRY = struct.Struct("@I" "P" "6q" "q" "q" "q" "i" "10P" "q" "P" "P" "P" "P")
_RESULT = struct.Struct("@I" "q" "i" "i" "32s")

PACKED = (
    _ENTRY.size == ctypes.sizeof(tkb_entry)
    and _RESULT.size == ctypes.sizeof(tkb_log_result)
    and ctypes.sizeof(ctypes.c_void_p) == struct.calcsize("P")
    and tkb_entry.session.offset == struct.calcsize("@IP6qqqqiP") - struct.calcsize("P")
    and tkb_entry.source_key.offset == _ENTRY.size - struct.calcsize("P")
)

# Slots of the value list, in field order.
_MODEL = 1
_REQUESTS, _TIMESTAMP, _COST, _HAS_COST = 8, 9, 10, 11
_DURATION, _TAGS = 22, 23
_DEFAULTS = [ctypes.sizeof(tkb_entry), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + [0] * 10 + [-1, 0, 0, 0, 0]
assert len(_DEFAULTS) == 27

_STR, _INT, _TS, _COSTD, _COSTM, _DUR, _TAG = range(7)
_KEYS = {
    "model": (_MODEL, _STR),
    "input_tokens": (2, _INT),
    "output_tokens": (3, _INT),
    "cache_read_tokens": (4, _INT),
    "cache_write_5m_tokens": (5, _INT),
    "cache_write_1h_tokens": (6, _INT),
    "reasoning_tokens": (7, _INT),
    "requests": (_REQUESTS, _INT),
    "timestamp": (_TIMESTAMP, _TS),
    "cost": (_COST, _COSTD),
    "cost_micros": (_COST, _COSTM),
    "session": (12, _STR),
    "agent": (13, _STR),
    "category": (14, _STR),
    "action_type": (15, _STR),
    "action": (16, _STR),
    "feature": (17, _STR),
    "project": (18, _STR),
    "tool": (19, _STR),
    "task_type": (20, _STR),
    "service_tier": (21, _STR),
    "duration_ms": (_DURATION, _DUR),
    "tags": (_TAGS, _TAG),
    "notes": (24, _STR),
    "source_kind": (25, _STR),
    "source_key": (26, _STR),
}
assert set(_KEYS) == set(_ENTRY_SETTERS)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Arena:
    """NUL-terminated UTF-8 copies of strings at fixed addresses, each
    distinct string stored once. Keep it alive until the C call returns."""

    CHUNK = 1 << 16

    def __init__(self):
        self._chunks = []
        self._addresses = {}
        self._buf = None
        self._base = 0
        self._used = 0
        self._cap = 0

    def _grow(self, need):
        size = max(self.CHUNK, need)
        buf = (ctypes.c_char * size)()
        self._chunks.append(buf)
        self._buf = memoryview(buf).cast("B")
        self._base = ctypes.addressof(buf)
        self._used = 0
        self._cap = size

    def address(self, text, name):
        address = self._addresses.get(text)
        if address is not None:
            return address
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str, not {type(text).__name__}")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidArgument(f"{name} is not valid Unicode: {e.reason}") from None
        if b"\0" in data:
            raise InvalidArgument(f"{name} contains a NUL character")
        n = len(data)
        if self._used + n + 1 > self._cap:
            self._grow(n + 1)
        start = self._used
        self._buf[start:start + n] = data  # the byte after it is already 0
        self._used = start + n + 1
        address = self._base + start
        self._addresses[text] = address
        return address


def pack(entries):
    """The entries (dicts with log()'s fields) as a tkb_entry array, and the
    arena its strings live in. Errors name the entry's index."""
    n = len(entries)
    array = (tkb_entry * n)()
    arena = Arena()
    address = arena.address
    pack_into = _ENTRY.pack_into
    size = _ENTRY.size
    keys = _KEYS
    defaults = _DEFAULTS
    epoch, millisecond = _EPOCH, _MILLISECOND
    lo, hi = _INT64_MIN, _INT64_MAX
    datetime = _dt.datetime
    utc = _dt.timezone.utc
    for i, fields in enumerate(entries):
        values = defaults.copy()
        try:
            for key, value in fields.items():
                slot_kind = keys.get(key)
                if slot_kind is None:
                    raise TypeError(f"unexpected field {key!r}; known fields: {', '.join(keys)}")
                slot, kind = slot_kind
                if kind == _STR:
                    if value is not None:
                        values[slot] = address(value, key)
                elif kind == _INT:
                    if type(value) is not int or not lo <= value <= hi:
                        value = _int(value, key)
                    values[slot] = value
                elif kind == _TS:
                    if value is not None:
                        if type(value) is datetime and value.tzinfo is utc:
                            ms = (value - epoch) // millisecond
                            values[slot] = ms if ms != 0 else _unix_ms(value, key)
                        else:
                            values[slot] = _unix_ms(value, key)
                elif kind == _TAG:
                    if value is not None:
                        text = _tags_text(value)
                        if text is not None:
                            values[slot] = address(text, key)
                elif kind == _DUR:
                    if value is not None:
                        if isinstance(value, _dt.timedelta):
                            value = value // millisecond
                        value = _int(value, key)
                        if value < 0:
                            raise InvalidArgument(f"duration_ms is negative: {value}")
                        values[slot] = value
                elif value is not None:  # cost or cost_micros
                    if values[_HAS_COST]:
                        raise TypeError("give cost (Decimal dollars) or cost_micros (int), not both")
                    values[slot] = _decimal_micros(value, key) if kind == _COSTD else _cost_micros(value)
                    values[_HAS_COST] = 1
            if not values[_MODEL]:
                raise TypeError("entry has no model")
        except AttributeError:
            if not hasattr(fields, "items"):
                raise TypeError(f"entries[{i}] must be a dict, not {type(fields).__name__}") from None
            raise
        except Error as err:
            raise type(err)(f"entries[{i}]: {err.message}") from None
        except TypeError as err:
            raise TypeError(f"entries[{i}]: {err}") from None
        pack_into(array, i * size, *values)
    return array, arena


def unpack_results(results):
    """(cost_micros, appended, priced, id bytes) for each tkb_log_result."""
    return [
        (cost, appended, priced, rid.split(b"\0", 1)[0])
        for _, cost, appended, priced, rid in _RESULT.iter_unpack(memoryview(results).cast("B"))
    ]
