"""StatementResponse and ResultData bodies of a statement's current state."""

from __future__ import annotations

from .errors import ApiError
from .links import Links, iso_time
from .results import Result, inline_attachment, inline_rows
from .settings import Tunables
from .statements import Statement


def statement_response(statement: Statement, links: Links, tunables: Tunables, base_url: str) -> dict:
    with statement.lock:
        state, error, result = statement.state, statement.error, statement.result
    status: dict = {"state": state}
    if error is not None:
        status["error"] = {"error_code": error.error_code, "message": error.message}
        if error.sql_state:
            status["sql_state"] = error.sql_state
    body = {"statement_id": statement.id, "status": status}
    if state == "SUCCEEDED":
        body["manifest"] = result.manifest()
        if result.chunks:
            body["result"] = _chunk_data(statement, result, 0, links, tunables, base_url)
    return body


def chunk_response(statement: Statement, index: int, links: Links, tunables: Tunables, base_url: str) -> dict:
    """`GET .../result/chunks/{index}` (ResultData)."""
    with statement.lock:
        state, result = statement.state, statement.result
    if state != "SUCCEEDED":
        raise ApiError(400, "BAD_REQUEST", f"Statement {statement.id} is in state {state}: no result to fetch.")
    if not 0 <= index < len(result.chunks):
        raise ApiError(
            400, "BAD_REQUEST", f"chunk_index {index} is out of range: the result has {len(result.chunks)} chunks."
        )
    return _chunk_data(statement, result, index, links, tunables, base_url)


def _chunk_data(
    statement: Statement, result: Result, index: int, links: Links, tunables: Tunables, base_url: str
) -> dict:
    chunk = result.chunks[index]
    data = {"chunk_index": chunk.index, "row_offset": chunk.row_offset, "row_count": chunk.row_count}
    if index + 1 < len(result.chunks):
        data["next_chunk_index"] = index + 1
        data["next_chunk_internal_link"] = f"/api/2.0/sql/statements/{statement.id}/result/chunks/{index + 1}"
    if result.disposition == "EXTERNAL_LINKS":
        token, link = links.mint(statement.id, index, tunables.link_ttl_seconds, tunables.link_http_headers)
        external = {
            **data,
            "byte_count": chunk.byte_count,
            "external_link": f"{base_url}/files/{token}",
            "expiration": iso_time(link.expires_at),
        }
        if link.required_headers:
            external["http_headers"] = dict(link.required_headers)
        return {"external_links": [external]}
    try:
        if result.format == "ARROW_STREAM":
            return {**data, "byte_count": chunk.byte_count, "attachment": inline_attachment(chunk)}
        return {**data, "data_array": inline_rows(chunk)}
    except FileNotFoundError:  # the result expired meanwhile
        raise ApiError(400, "BAD_REQUEST", f"The result of statement {statement.id} is no longer available.") from None
