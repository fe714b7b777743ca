"""The exceptions of lcstore.

Every failure of the engine arrives as a subclass of :class:`Error` carrying
the C++ error's fields: ``subject`` (the path, key or column it failed on)
and ``reason``; ``str(error)`` is ``"subject: reason"``. Where a built-in
exception fits, the class derives from it too, so ``except KeyError`` catches
an unknown object key and ``except OSError`` an unreadable file.
"""

from __future__ import annotations


class Error(Exception):
    """An lcstore failure: what it failed on (``subject``) and why (``reason``)."""

    kind = "error"

    def __new__(cls, subject: str, reason: str):
        # One message argument, so that OSError bases do not read the subject
        # as an errno.
        return super().__new__(cls, _render(subject, reason))

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(_render(subject, reason))
        self.subject = subject
        self.reason = reason

    def __str__(self) -> str:
        return _render(self.subject, self.reason)

    def __reduce__(self):
        return type(self), (self.subject, self.reason)


def _render(subject: str, reason: str) -> str:
    return f"{subject}: {reason}" if subject else reason


class NotFoundError(Error, KeyError):
    """A store, node, object, epoch or measurement that must exist does not."""

    kind = "not found"


class BadInputError(Error, ValueError):
    """A catalog or epoch list is malformed: a missing column, a cell that is not a number."""

    kind = "bad input"


class InvalidArgumentError(Error, ValueError):
    """The call asked for something impossible: a wrong type, an unknown strategy."""

    kind = "invalid argument"


class CorruptDataError(Error, OSError):
    """Stored bytes do not decode: a truncated chunk, a bad checksum."""

    kind = "corrupt data"


class InvalidMetadataError(CorruptDataError):
    """A zarr.json is not valid JSON or not valid Zarr v3."""

    kind = "invalid metadata"


class UnsupportedError(Error, NotImplementedError):
    """Valid Zarr that lcstore does not implement, such as an unknown codec."""

    kind = "unsupported"


class StorageIOError(Error, OSError):
    """The operating system refused a file operation."""

    kind = "i/o error"


class ReadOnlyError(Error, PermissionError):
    """A write to a store opened with ``mode="r"``."""

    kind = "read only"


class ClosedStoreError(Error, ValueError):
    """A use of a store after ``close()``."""

    kind = "closed"


_BY_KIND = {
    cls.kind: cls
    for cls in (
        NotFoundError,
        BadInputError,
        InvalidArgumentError,
        CorruptDataError,
        InvalidMetadataError,
        UnsupportedError,
        StorageIOError,
    )
}


def from_native(kind: str, subject: str, reason: str) -> Error:
    """The exception for an lcstore::Error of ``kind`` (its ``to_string`` name)."""
    return _BY_KIND.get(kind, Error)(subject, reason)
