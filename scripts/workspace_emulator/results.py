"""Result sets cut into chunks and spooled to disk as they stream in from
Spark, so a large result never sits in memory whole.

A chunk closes once it holds `chunk_rows` rows (when set) or about
`chunk_bytes` bytes of Arrow data; it is written in the requested format:
an Arrow IPC stream (ARROW_STREAM), a compact JSON array of row arrays
(JSON_ARRAY) or RFC 4180 CSV with the header row in the first chunk only and
NULL as `null` (CSV). `row_limit` and `byte_limit` cut the result short and
mark it `truncated`; an INLINE result larger than the inline limit fails."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import pathlib

import pyarrow as pa
from pyspark.sql import types as T

from . import render
from .sqltypes import manifest_column

_EXTENSIONS = {"ARROW_STREAM": "arrows", "JSON_ARRAY": "json", "CSV": "csv"}
MEDIA_TYPES = {
    "ARROW_STREAM": "application/vnd.apache.arrow.stream",
    "JSON_ARRAY": "application/json",
    "CSV": "text/csv",
}


class InlineLimitExceeded(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Limits:
    row_limit: int | None
    byte_limit: int | None
    chunk_rows: int  # 0: no row cap
    chunk_bytes: int
    inline_byte_limit: int | None  # None unless the disposition is INLINE
    complex_as_strings: bool = False  # ARROW_STREAM: nested and interval columns as text


@dataclasses.dataclass(frozen=True)
class Chunk:
    index: int
    row_offset: int
    row_count: int
    byte_count: int
    path: pathlib.Path


@dataclasses.dataclass(frozen=True)
class Result:
    format: str
    disposition: str
    schema: T.StructType
    chunks: list[Chunk]
    total_row_count: int
    truncated: bool

    def manifest(self) -> dict:
        external = self.disposition == "EXTERNAL_LINKS"
        chunks = []
        for chunk in self.chunks:
            info = {"chunk_index": chunk.index, "row_offset": chunk.row_offset, "row_count": chunk.row_count}
            if external:
                info["byte_count"] = chunk.byte_count
            chunks.append(info)
        manifest = {
            "format": self.format,
            "schema": {
                "column_count": len(self.schema.fields),
                "columns": [manifest_column(f, i) for i, f in enumerate(self.schema.fields)],
            },
            "total_chunk_count": len(self.chunks),
            "chunks": chunks,
            "total_row_count": self.total_row_count,
            "truncated": self.truncated,
        }
        if external:
            manifest["total_byte_count"] = sum(c.byte_count for c in self.chunks)
        return manifest


def inline_rows(chunk: Chunk) -> list:
    return json.loads(chunk.path.read_bytes())


def inline_attachment(chunk: Chunk) -> str:
    return base64.b64encode(chunk.path.read_bytes()).decode()


class ResultWriter:
    def __init__(self, directory: pathlib.Path, fmt: str, disposition: str, limits: Limits):
        self._dir = directory
        self._format = fmt
        self._disposition = disposition
        self._limits = limits
        self._schema: T.StructType | None = None
        self._chunks: list[Chunk] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0.0
        self._rows = 0
        self._bytes = 0.0
        self._inline_bytes = 0
        self._full = False  # a limit was reached: any further row truncates
        self._truncated = False

    @property
    def has_schema(self) -> bool:
        return self._schema is not None

    def set_schema(self, schema: T.StructType) -> None:
        self._schema = schema

    def add(self, table: pa.Table) -> bool:
        """Takes the rows of `table`; False once no more rows are wanted."""
        for batch in table.to_batches():
            if batch.num_rows == 0:
                continue
            if self._full:
                self._truncated = True
                return False
            self._split(self._within_limits(batch))
            if self._truncated:
                return False
        return True

    def finish(self) -> Result:
        self._flush()
        return Result(self._format, self._disposition, self._schema, self._chunks, self._rows, self._truncated)

    def _within_limits(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        rows = batch.num_rows
        per_row = batch.nbytes / rows
        if self._limits.row_limit is not None:
            rows = min(rows, self._limits.row_limit - self._rows)
        if self._limits.byte_limit is not None:
            rows = min(rows, int((self._limits.byte_limit - self._bytes) // per_row) if per_row else rows)
        rows = max(rows, 0)
        self._rows += rows
        self._bytes += rows * per_row
        if rows < batch.num_rows:
            self._truncated = True
        elif self._rows == self._limits.row_limit:
            self._full = True
        return batch.slice(0, rows)

    def _split(self, batch: pa.RecordBatch) -> None:
        while batch.num_rows:
            per_row = batch.nbytes / batch.num_rows
            take = batch.num_rows
            if self._limits.chunk_rows:
                take = min(take, self._limits.chunk_rows - self._pending_rows)
            if per_row:
                take = min(take, max(1, int((self._limits.chunk_bytes - self._pending_bytes) // per_row)))
            self._pending.append(batch.slice(0, take))
            self._pending_rows += take
            self._pending_bytes += take * per_row
            batch = batch.slice(take)
            if (self._limits.chunk_rows and self._pending_rows >= self._limits.chunk_rows) or (
                self._pending_bytes >= self._limits.chunk_bytes
            ):
                self._flush()

    def _flush(self) -> None:
        if not self._pending_rows:
            return
        index = len(self._chunks)
        path = self._dir / f"{index}.{_EXTENSIONS[self._format]}"
        data = self._encode(index)
        if self._limits.inline_byte_limit is not None:
            self._inline_bytes += len(data)
            if self._inline_bytes > self._limits.inline_byte_limit:
                raise InlineLimitExceeded(
                    f"Inline byte limit exceeded: statements executed with disposition=INLINE can have a result "
                    f"size of at most {self._limits.inline_byte_limit} bytes. Use disposition=EXTERNAL_LINKS "
                    f"for large result sets."
                )
        path.write_bytes(data)
        offset = self._chunks[-1].row_offset + self._chunks[-1].row_count if self._chunks else 0
        self._chunks.append(Chunk(index, offset, self._pending_rows, len(data), path))
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0.0

    def _encode(self, index: int) -> bytes:
        if self._format == "ARROW_STREAM":
            batches = self._pending
            if self._limits.complex_as_strings:
                batches = [render.complex_as_strings(self._schema, batch) for batch in batches]
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batches[0].schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            return sink.getvalue().to_pybytes()
        rows = [row for batch in self._pending for row in render.rows(self._schema, batch)]
        if self._format == "JSON_ARRAY":
            return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()
        text = io.StringIO()
        writer = csv.writer(text)
        if index == 0:
            writer.writerow(self._schema.names)
        writer.writerows([["null" if v is None else v for v in row] for row in rows])
        return text.getvalue().encode()
