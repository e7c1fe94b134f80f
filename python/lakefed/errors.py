"""The exceptions lakefed raises: every one is a :class:`lakefed.Error`.

``Ctrl-C`` while a query runs raises Python's own ``KeyboardInterrupt`` after
cancelling the query; wrong argument types raise ``TypeError``.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every lakefed error. ``str(err)`` is the engine's message."""


class ConfigError(Error):
    """``lakefed.toml`` could not be read or is invalid (the message names the source and field)."""


class InvalidArgumentError(Error, ValueError):
    """A value given by the caller (a URL, an option, a location) is invalid."""


class NotATableError(Error):
    """The location holds no Delta table."""


class DeltaError(Error):
    """The Delta log of a table could not be read or replayed."""


class StorageError(Error):
    """The storage that holds a table could not be reached or refused access."""


class RemoteError(Error):
    """A remote engine (a Spark Connect server) refused a request or failed while answering it."""

    endpoint: str | None = None
    """The server, with any credentials removed."""
    error_class: str | None = None
    """Spark's error class (``TABLE_OR_VIEW_NOT_FOUND``, ...), when it sent one."""
    sql_state: str | None = None
    """The SQLSTATE of the error, when the server sent one."""


class UnreachableError(Error, ConnectionError):
    """A remote engine could not be reached, did not answer in time, or the connection broke."""

    endpoint: str | None = None
    """The server, with any credentials removed."""


class PlanError(Error):
    """The query cannot be planned: a syntax error, an unknown table or column, a type mismatch."""


class ExecutionError(Error):
    """The query failed while running (or was cancelled and read again)."""


__all__ = [
    "ConfigError",
    "DeltaError",
    "Error",
    "ExecutionError",
    "InvalidArgumentError",
    "NotATableError",
    "PlanError",
    "RemoteError",
    "StorageError",
    "UnreachableError",
]
