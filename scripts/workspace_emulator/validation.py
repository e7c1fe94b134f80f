"""Parsing and checking of `POST /api/2.0/sql/statements` bodies
(ExecuteStatementRequest): what the reference refuses is refused with 400
BAD_REQUEST before anything runs."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .errors import ApiError
from .settings import Config, Tunables

MAX_STATEMENT_BYTES = 16 * 1024 * 1024
DISPOSITIONS = ("INLINE", "EXTERNAL_LINKS")
FORMATS = ("JSON_ARRAY", "ARROW_STREAM", "CSV")
ON_WAIT_TIMEOUT = ("CONTINUE", "CANCEL")
COMPLEX_TYPES = ("ARRAY", "MAP", "STRUCT")


@dataclasses.dataclass(frozen=True)
class ExecuteRequest:
    statement: str
    catalog: str | None
    schema: str | None
    parameters: list[dict]
    disposition: str
    format: str
    wait_timeout_seconds: int
    on_wait_timeout: str
    row_limit: int | None
    byte_limit: int | None


def parse_execute_request(body: Any, config: Config, tunables: Tunables) -> ExecuteRequest:
    if not isinstance(body, dict):
        raise ApiError(400, "MALFORMED_REQUEST", "The request body must be a JSON object.")
    statement = _string(body, "statement")
    if not statement:
        raise _bad("statement is required.")
    if len(statement.encode()) > MAX_STATEMENT_BYTES:
        raise _bad(f"statement is larger than the maximum query text size of {MAX_STATEMENT_BYTES} bytes.")
    warehouse_id = _string(body, "warehouse_id")
    if not warehouse_id:
        raise _bad("warehouse_id is required.")
    if warehouse_id != config.warehouse_id:
        raise ApiError(404, "NOT_FOUND", f"Warehouse {warehouse_id} does not exist.")
    disposition = _choice(body, "disposition", DISPOSITIONS, "INLINE")
    fmt = _choice(body, "format", FORMATS, "JSON_ARRAY")
    _check_combination(disposition, fmt, tunables)
    return ExecuteRequest(
        statement=statement,
        catalog=_string(body, "catalog"),
        schema=_string(body, "schema"),
        parameters=_parameters(body.get("parameters")),
        disposition=disposition,
        format=fmt,
        wait_timeout_seconds=_wait_timeout(body.get("wait_timeout", "10s")),
        on_wait_timeout=_choice(body, "on_wait_timeout", ON_WAIT_TIMEOUT, "CONTINUE"),
        row_limit=_count(body, "row_limit"),
        byte_limit=_count(body, "byte_limit"),
    )


def _check_combination(disposition: str, fmt: str, tunables: Tunables) -> None:
    if disposition == "EXTERNAL_LINKS":
        if tunables.external_links_refused:
            raise ApiError(501, "NOT_IMPLEMENTED", "EXTERNAL_LINKS disposition is not supported by this warehouse.")
        return
    if tunables.inline_arrow_required:
        if fmt != "ARROW_STREAM":
            raise _bad("format must be ARROW_STREAM when disposition is INLINE on this warehouse.")
    elif fmt != "JSON_ARRAY":
        raise _bad("format must be JSON_ARRAY when disposition is INLINE.")


def _wait_timeout(value: Any) -> int:
    match = re.fullmatch(r"(\d+)s", value) if isinstance(value, str) else None
    seconds = int(match.group(1)) if match else -1
    if seconds != 0 and not 5 <= seconds <= 50:
        raise _bad(f"wait_timeout must be 0s or between 5s and 50s, got {value!r}.")
    return seconds


def _parameters(value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad("parameters must be a list.")
    parameters, names = [], set()
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise _bad("each parameter needs a non-empty name.")
        name, kind, text = item["name"], item.get("type"), item.get("value")
        if name in names:
            raise _bad(f"parameter {name!r} is given more than once.")
        if kind is not None and not isinstance(kind, str):
            raise _bad(f"type of parameter {name!r} must be a string.")
        if text is not None and not isinstance(text, str):
            raise _bad(f"value of parameter {name!r} must be a string or null.")
        if kind and kind.strip().upper().startswith(COMPLEX_TYPES):
            raise _bad(f"parameter {name!r}: complex types (ARRAY, MAP, STRUCT) are not supported.")
        names.add(name)
        parameters.append({"name": name, "value": text, "type": kind})
    return parameters


def _string(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad(f"{key} must be a string.")
    return value


def _choice(body: dict, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(key, default)
    if value not in allowed:
        raise _bad(f"{key} must be one of {', '.join(allowed)}, got {value!r}.")
    return value


def _count(body: dict, key: str) -> int | None:
    value = body.get(key)
    if isinstance(value, str) and value.isdigit():  # int64 fields may arrive as JSON strings
        value = int(value)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise _bad(f"{key} must be a non-negative integer.")
    return value


def _bad(message: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", message)
