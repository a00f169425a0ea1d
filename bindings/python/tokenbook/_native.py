"""The C ABI as ctypes sees it: struct mirrors, the function table, loading.

Everything here follows capi/include/tokenbook/tokenbook.h field for field;
the public, Pythonic surface lives in tokenbook/__init__.py. The library is
loaded on first use (or by load()), from, in order:

1. the file named by the TOKENBOOK_LIBRARY environment variable (no fallback
   when it is set: a wrong path is an error, not a reason to look elsewhere);
2. a copy next to this package (libtokenbook.so.1 beside __init__.py);
3. the system loader: "libtokenbook.so.1" (the SONAME, which pins the ABI),
   then whatever ctypes.util.find_library("tokenbook") finds.
"""

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import POINTER, Structure, c_char, c_char_p, c_int, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p

from .errors import LibraryError, LibraryMismatch, error_for_status

#: The ABI version (TKB_ABI_VERSION) this binding was written for.
ABI_VERSION = 1

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

if sys.platform == "darwin":
    _LOCAL_NAMES = ("libtokenbook.1.dylib", "libtokenbook.dylib")
    _SYSTEM_NAMES = ("libtokenbook.1.dylib",)
elif sys.platform == "win32":
    _LOCAL_NAMES = ("tokenbook.dll", "libtokenbook.dll")
    _SYSTEM_NAMES = ("tokenbook.dll",)
else:
    _LOCAL_NAMES = (f"libtokenbook.so.{ABI_VERSION}", "libtokenbook.so")
    _SYSTEM_NAMES = (f"libtokenbook.so.{ABI_VERSION}",)

# ---------------------------------------------------------------------------
# Structs, mirrored exactly (tests check sizes and offsets against the
# static_asserts of capi/src/capi_layout.cpp).


class tkb_tokens(Structure):
    _fields_ = [
        ("input", c_int64),
        ("output", c_int64),
        ("cache_read", c_int64),
        ("cache_write_5m", c_int64),
        ("cache_write_1h", c_int64),
        ("reasoning", c_int64),
    ]


class _Versioned(Structure):
    """A struct whose first field is struct_size, set like its _INIT macro."""

    _defaults_ = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "struct_size" not in kwargs and not args:
            self.struct_size = ctypes.sizeof(type(self))
        for name, value in self._defaults_.items():
            if name not in kwargs:
                setattr(self, name, value)


class tkb_price_request(_Versioned):
    _anonymous_ = ("tokens",)  # req.input is req.tokens.input: one attribute step, not two
    _fields_ = [
        ("struct_size", c_uint32),
        ("model", c_char_p),
        ("tokens", tkb_tokens),
        ("requests", c_int64),
        ("service_tier", c_char_p),
        ("at_unix_ms", c_int64),
    ]


DURABILITY_DEFAULT = -1
DURABILITY_FLUSH = 0
DURABILITY_FSYNC = 1


class tkb_open_options(_Versioned):
    _fields_ = [
        ("struct_size", c_uint32),
        ("create", c_int32),
        ("durability", c_int32),
        ("rates", c_void_p),
        ("strict_models", c_int32),
    ]
    _defaults_ = {"create": 1, "durability": DURABILITY_DEFAULT}


class tkb_entry(_Versioned):
    _anonymous_ = ("tokens",)
    _fields_ = [
        ("struct_size", c_uint32),
        ("model", c_char_p),
        ("tokens", tkb_tokens),
        ("requests", c_int64),
        ("timestamp_unix_ms", c_int64),
        ("cost_override_micros", c_int64),
        ("has_cost_override", c_int32),
        ("session", c_char_p),
        ("agent", c_char_p),
        ("category", c_char_p),
        ("action_type", c_char_p),
        ("action", c_char_p),
        ("feature", c_char_p),
        ("project", c_char_p),
        ("tool", c_char_p),
        ("task_type", c_char_p),
        ("service_tier", c_char_p),
        ("duration_ms", c_int64),
        ("tags", c_char_p),
        ("notes", c_char_p),
        ("source_kind", c_char_p),
        ("source_key", c_char_p),
    ]
    _defaults_ = {"duration_ms": -1}


class tkb_log_result(_Versioned):
    _fields_ = [
        ("struct_size", c_uint32),
        ("cost_micros", c_int64),
        ("appended", c_int32),
        ("priced", c_int32),
        ("id", c_char * 32),
    ]


class tkb_report_query(_Versioned):
    _fields_ = [
        ("struct_size", c_uint32),
        ("period", c_char_p),
        ("since", c_char_p),
        ("until", c_char_p),
        ("group_by", c_char_p),
        ("filters", c_char_p),
        ("top", c_int32),
        ("time_zone", c_char_p),
    ]


class tkb_route_request(_Versioned):
    _fields_ = [
        ("struct_size", c_uint32),
        ("task", c_char_p),
        ("task_type", c_char_p),
        ("session", c_char_p),
        ("project", c_char_p),
        ("feature", c_char_p),
        ("agent", c_char_p),
    ]


ALLOW, WARN, DENY = 0, 1, 2


class tkb_admission(_Versioned):
    _fields_ = [
        ("struct_size", c_uint32),
        ("decision", c_int32),
        ("estimated_cost_micros", c_int64),
        ("reservation", c_uint64),
        ("reason", c_char * 256),
    ]


# ---------------------------------------------------------------------------
# The function table: (name, argtypes, restype, errcheck). CHECK marks the
# functions returning a tkb_status, turned into exceptions by _check.

CHECK = object()
_out = POINTER(c_void_p)  # tkb_x **out and char **json_out (freed with tkb_free)

FUNCTIONS = [
    ("tkb_version_number", [], c_int, None),
    ("tkb_version_string", [], c_char_p, None),
    ("tkb_abi_version", [], c_int, None),
    ("tkb_last_error", [], c_char_p, None),
    ("tkb_status_name", [c_int32], c_char_p, None),
    ("tkb_free", [c_void_p], None, None),
    ("tkb_rates_builtin", [_out], c_int32, CHECK),
    ("tkb_rates_load", [_out, c_char_p], c_int32, CHECK),
    ("tkb_rates_parse", [_out, c_char_p, c_size_t, c_char_p, c_char_p], c_int32, CHECK),
    ("tkb_rates_layer", [_out, c_void_p, c_void_p], c_int32, CHECK),
    ("tkb_rates_count", [c_void_p, POINTER(c_size_t)], c_int32, CHECK),
    ("tkb_rates_resolve", [c_void_p, c_char_p, c_char_p, c_size_t, POINTER(c_size_t)], c_int32, CHECK),
    ("tkb_rates_free", [c_void_p], None, None),
    ("tkb_price", [c_void_p, POINTER(tkb_price_request), POINTER(c_int64)], c_int32, CHECK),
    ("tkb_price_explain", [c_void_p, POINTER(tkb_price_request), _out], c_int32, CHECK),
    ("tkb_ledger_open", [_out, c_char_p, POINTER(tkb_open_options)], c_int32, CHECK),
    ("tkb_ledger_free", [c_void_p], None, None),
    ("tkb_ledger_log", [c_void_p, POINTER(tkb_entry), POINTER(tkb_log_result)], c_int32, CHECK),
    ("tkb_ledger_log_batch", [c_void_p, POINTER(tkb_entry), c_size_t, POINTER(tkb_log_result)], c_int32, CHECK),
    ("tkb_ledger_price", [c_void_p, POINTER(tkb_price_request), POINTER(c_int64)], c_int32, CHECK),
    ("tkb_ledger_report_json", [c_void_p, POINTER(tkb_report_query), c_char_p, c_size_t, POINTER(c_size_t)],
     c_int32, CHECK),
    ("tkb_ledger_report", [c_void_p, POINTER(tkb_report_query), _out], c_int32, CHECK),
    ("tkb_ledger_budget", [c_void_p, _out], c_int32, CHECK),
    ("tkb_ledger_admit", [c_void_p, POINTER(tkb_entry), c_int32, POINTER(tkb_admission)], c_int32, CHECK),
    ("tkb_ledger_commit", [c_void_p, c_uint64, POINTER(tkb_entry), POINTER(tkb_log_result)], c_int32, CHECK),
    ("tkb_ledger_release", [c_void_p, c_uint64], c_int32, CHECK),
    ("tkb_ledger_log_response", [c_void_p, c_int32, c_char_p, c_size_t, POINTER(tkb_entry), POINTER(tkb_log_result)],
     c_int32, CHECK),
    ("tkb_ingest", [c_char_p, c_char_p, c_char_p, c_int32, _out], c_int32, CHECK),
    ("tkb_ledger_route", [c_void_p, POINTER(tkb_route_request), c_char_p, c_size_t, POINTER(c_size_t), _out],
     c_int32, CHECK),
]

# tkb_ledger_log_response's kinds (TKB_RESPONSE_*).
RESPONSE_KINDS = {"anthropic": 1, "openai": 2, "claude-json": 3}


class Library:
    """A loaded libtokenbook with every function of FUNCTIONS as an attribute."""

    def __init__(self, cdll, path):
        self.cdll = cdll
        self.path = path
        abi = self._function("tkb_abi_version", [], c_int)()
        if abi != ABI_VERSION:
            raise LibraryMismatch(
                f"library and binding do not match: {path} has ABI version {abi}, "
                f"this binding was written for ABI version {ABI_VERSION}; "
                f"install the tokenbook Python package that comes with that library "
                f"or point TOKENBOOK_LIBRARY at a libtokenbook.so.{ABI_VERSION}"
            )
        last_error = self._function("tkb_last_error", [], c_char_p)

        def check(status, func, args):
            # Runs in the calling thread right after the call, so the
            # thread-local message belongs to this call.
            if status != 0:
                message = (last_error() or b"").decode("utf-8", "replace")
                raise error_for_status(status, message)
            return status

        for name, argtypes, restype, errcheck in FUNCTIONS:
            func = self._function(name, argtypes, restype)
            if errcheck is CHECK:
                func.errcheck = check
            elif errcheck is not None:
                func.errcheck = errcheck
            setattr(self, name, func)

    def _function(self, name, argtypes, restype):
        try:
            func = getattr(self.cdll, name)
        except AttributeError:
            raise LibraryMismatch(
                f"library and binding do not match: {self.path} does not export {name} "
                f"(this binding was written for tokenbook ABI version {ABI_VERSION}); "
                f"is it an older or a different libtokenbook?"
            ) from None
        func.argtypes = argtypes
        func.restype = restype
        return func


_lock = threading.Lock()
_library = None


def candidates():
    """The (path or name, where it came from) pairs tried, in order."""
    env = os.environ.get("TOKENBOOK_LIBRARY")
    if env:
        return [(env, "TOKENBOOK_LIBRARY")]
    found = []
    for name in _LOCAL_NAMES:
        path = os.path.join(_PACKAGE_DIR, name)
        if os.path.exists(path):
            found.append((path, "next to the package"))
    for name in _SYSTEM_NAMES:
        found.append((name, "system loader"))
    return found


def open_library(path, where="given path"):
    """Loads and checks the library at `path` (not cached; see load())."""
    try:
        cdll = ctypes.CDLL(path)
    except OSError as e:
        raise LibraryError(f"cannot load the tokenbook library {path} ({where}): {e}") from None
    return Library(cdll, path)


def load(path=None):
    """The library, loaded once: from `path` if given, else as candidates() says."""
    global _library
    with _lock:
        if path is not None:
            _library = open_library(path)
            return _library
        if _library is not None:
            return _library
        tried = []
        for name, where in candidates():
            try:
                _library = open_library(name, where)
                return _library
            except LibraryMismatch:
                raise  # a library that loads but does not match is an answer, not a miss
            except LibraryError:
                if where == "TOKENBOOK_LIBRARY":
                    raise
                tried.append(f"{name} ({where})")
        found = ctypes.util.find_library("tokenbook")
        if found:
            try:
                _library = open_library(found, "ctypes.util.find_library")
                return _library
            except LibraryMismatch:
                raise
            except LibraryError:
                tried.append(f"{found} (ctypes.util.find_library)")
        raise LibraryError(
            "cannot find the tokenbook library (libtokenbook.so.1); tried "
            + (", ".join(tried) or "nothing")
            + ". Set TOKENBOOK_LIBRARY to its path, copy it next to the tokenbook package, "
            "or install it where the system loader finds it."
        )


def lib():
    """The loaded library (loading it on first use)."""
    return _library if _library is not None else load()


def take_string(lib_, ptr):
    """Decodes and frees a char * the library allocated (NULL gives None)."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib_.tkb_free(ptr)
