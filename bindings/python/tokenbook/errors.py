"""Exceptions of the tokenbook binding: one class per C status code.

Every failed C call raises the class of its status (the values equal
absl::StatusCode, see tokenbook.h) carrying the code, its name and the
message of tkb_last_error(). Arguments the binding rejects before calling the
library raise the same classes with the code the library would have given.
"""

__all__ = [
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


class Error(Exception):
    """Base of every tokenbook error.

    ``code`` is the C status (an ``int``, ``None`` for a LibraryError),
    ``status`` its name ("NOT_FOUND") and ``message`` the library's message.
    """

    code = None
    status = None

    def __init__(self, message, code=None):
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(message)

    def __str__(self):
        if self.status is None:
            return self.message
        return f"{self.status}: {self.message}"


class LibraryError(Error):
    """The shared library cannot be found or loaded, or does not match this binding."""


class LibraryMismatch(LibraryError):
    """The library loaded but is not the one this binding was written for
    (another ABI version, or a symbol missing)."""


class Cancelled(Error):
    code, status = 1, "CANCELLED"


class Unknown(Error):
    code, status = 2, "UNKNOWN"


class InvalidArgument(Error, ValueError):
    code, status = 3, "INVALID_ARGUMENT"


class DeadlineExceeded(Error):
    code, status = 4, "DEADLINE_EXCEEDED"


class NotFound(Error, LookupError):
    code, status = 5, "NOT_FOUND"


class AlreadyExists(Error):
    code, status = 6, "ALREADY_EXISTS"


class PermissionDenied(Error):
    code, status = 7, "PERMISSION_DENIED"


class ResourceExhausted(Error):
    code, status = 8, "RESOURCE_EXHAUSTED"


class FailedPrecondition(Error):
    code, status = 9, "FAILED_PRECONDITION"


class Aborted(Error):
    code, status = 10, "ABORTED"


class OutOfRange(Error, ValueError):
    code, status = 11, "OUT_OF_RANGE"


class Unimplemented(Error):
    code, status = 12, "UNIMPLEMENTED"


class Internal(Error):
    code, status = 13, "INTERNAL"


class Unavailable(Error):
    code, status = 14, "UNAVAILABLE"


class DataLoss(Error):
    code, status = 15, "DATA_LOSS"


class Unauthenticated(Error):
    code, status = 16, "UNAUTHENTICATED"


_BY_CODE = {
    cls.code: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def error_for_status(code, message):
    """The exception for C status `code` (a nonzero tkb_status) with `message`.

    A code this binding does not know (a newer library) becomes ``Unknown``
    keeping the original code.
    """
    cls = _BY_CODE.get(code)
    if cls is None:
        err = Unknown(message, code)
        err.status = f"UNKNOWN_STATUS({code})"
        return err
    return cls(message)
