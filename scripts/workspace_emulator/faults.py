"""Injected failures: the next requests whose path starts with a prefix are
answered with a given status instead of being served."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

from .errors import ApiError, code_for_status
from .links import storage_error

# What cloud storage answers in place of a chunk, by status.
_STORAGE_CODES = {403: "AccessDenied", 404: "NoSuchKey", 429: "SlowDown", 500: "InternalError", 503: "SlowDown"}


@dataclasses.dataclass
class Fault:
    path_prefix: str
    status: int
    count: int = 1
    retry_after: int | None = None
    method: str | None = None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, faults: list[Fault]) -> None:
        with self._lock:
            self._pending.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[dict]:
        with self._lock:
            return [dataclasses.asdict(f) for f in self._pending]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request triggers, if any (consuming one of its count)."""
        with self._lock:
            for fault in self._pending:
                if path.startswith(fault.path_prefix) and fault.method in (None, method):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._pending.remove(fault)
                    return fault
        return None


def parse(specs: Any) -> list[Fault]:
    """The faults of a `fail_next` setting: [{path_prefix, status, count,
    retry_after, method}]."""
    if not isinstance(specs, list):
        raise ApiError(400, "BAD_REQUEST", "fail_next must be a list")
    return [_parse(spec) for spec in specs]


def _parse(spec: Any) -> Fault:
    if not isinstance(spec, dict):
        raise ApiError(400, "BAD_REQUEST", "each fail_next entry must be an object")
    try:
        fault = Fault(**spec)
    except TypeError as e:
        raise ApiError(400, "BAD_REQUEST", f"bad fail_next entry {spec!r}: {e}") from None
    if not (
        isinstance(fault.path_prefix, str)
        and isinstance(fault.status, int)
        and 400 <= fault.status <= 599
        and isinstance(fault.count, int)
        and fault.count > 0
        and (fault.retry_after is None or isinstance(fault.retry_after, int))
    ):
        raise ApiError(400, "BAD_REQUEST", f"bad fail_next entry {spec!r}")
    if fault.method is not None:
        fault.method = fault.method.upper()
    return fault


def fault_response(fault: Fault, path: str) -> tuple[int, dict[str, str], str, bytes]:
    """(status, headers, media type, body) answering a request hit by `fault`:
    an XML error for external links (as cloud storage gives), a Databricks
    JSON error elsewhere. 429 and 503 always carry Retry-After."""
    headers = {}
    retry_after = fault.retry_after
    if retry_after is None and fault.status in (429, 503):
        retry_after = 1
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    message = f"Injected failure ({fault.status}) for {path}"
    if path.startswith("/files/"):
        code = _STORAGE_CODES.get(fault.status, "InternalError")
        return fault.status, headers, "application/xml", storage_error(code, message)
    body = ApiError(fault.status, code_for_status(fault.status), message).body()
    return fault.status, headers, "application/json", json.dumps(body).encode()
