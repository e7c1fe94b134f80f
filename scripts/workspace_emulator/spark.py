"""The Spark Connect side: sessions, typed statement parameters, streaming a
result as Arrow, and Spark errors as Statement Execution errors."""

from __future__ import annotations

import dataclasses
from typing import Iterator

import pyarrow as pa
from pyspark.errors import PySparkException
from pyspark.errors.exceptions.connect import SparkConnectGrpcException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T
from pyspark.sql.connect import functions as F
from pyspark.sql.connect.column import Column
from pyspark.sql.connect.expressions import LiteralExpression


def new_session(url: str) -> SparkSession:
    """A Spark Connect session of its own: what one statement sets (current
    catalog and schema, SET, temporary views) stays in it. Executions are not
    reattachable (not needed on loopback): reattachable ones release their
    server state from a thread pool that all sessions of the process share
    and that closing any one session may shut down."""
    session = SparkSession.builder.remote(url).create()
    session.client.disable_reattachable_execute()
    return session


class ParameterError(Exception):
    """A parameter this emulator cannot bind (its type has no literal form)."""


def bind_parameters(spark: SparkSession, parameters: list[dict]) -> dict[str, Column]:
    """Named arguments for `spark.sql`: each parameter becomes a literal of its
    declared type, holding its value as `CAST(value AS type)` computes it (the
    conversion the reference prescribes). Spark performs the casts, on
    literals, so the statement text is never touched."""
    typed = [p for p in parameters if (p.get("type") or "STRING").strip().upper() != "STRING"]
    args = {p["name"]: Column(LiteralExpression(p.get("value"), T.StringType())) for p in parameters if p not in typed}
    if typed:
        casts = [F.lit(p.get("value")).cast(p["type"]).alias(f"p{i}") for i, p in enumerate(typed)]
        frame = spark.range(1).select(*casts)
        row = frame.collect()[0]
        for value, p, field in zip(row, typed, frame.schema.fields):
            try:
                args[p["name"]] = Column(LiteralExpression(value, field.dataType))
            except AssertionError:
                raise ParameterError(f"parameter {p['name']!r}: type {p['type']} cannot be bound") from None
    return args


def quote_identifier(*parts: str) -> str:
    """A multi-part identifier, each part back-quoted (for IDENTIFIER() or SQL text)."""
    return ".".join("`" + p.replace("`", "``") + "`" for p in parts)


def first_line(exc: PySparkException) -> str:
    """The first line of a Spark error's message (`[CONDITION] ... `)."""
    return (exc.getMessage() or str(exc)).strip().splitlines()[0]


def arrow_stream(df: DataFrame) -> Iterator[T.StructType | pa.Table]:
    """The result of `df` as it arrives: its Spark schema, then Arrow tables.
    (pyspark's public `toArrow()` would collect the whole result first.)"""
    client = df.sparkSession.client
    return client.to_table_as_iterator(df._plan.to_proto(client), df._plan.observations)


@dataclasses.dataclass(frozen=True)
class StatementError:
    error_code: str
    message: str
    sql_state: str | None


def is_cancellation(exc: BaseException) -> bool:
    return isinstance(exc, PySparkException) and exc.getCondition() == "OPERATION_CANCELED"


def statement_error(exc: BaseException) -> StatementError:
    """`status.error` and `status.sql_state` of a statement Spark failed."""
    if isinstance(exc, ParameterError):
        return StatementError("BAD_REQUEST", str(exc), None)
    if isinstance(exc, PySparkException):
        sql_state = exc.getSqlState()
        message = _without_plan((exc.getMessage() or str(exc)).split("\n\nJVM stacktrace:")[0].strip())
        if isinstance(exc, SparkConnectGrpcException) and sql_state is None and "UNAVAILABLE" in str(exc):
            return StatementError("TEMPORARILY_UNAVAILABLE", message, None)
        return StatementError(_error_code(sql_state), message, sql_state)
    return StatementError("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", None)


def _without_plan(message: str) -> str:
    """Spark's message up to its `SQLSTATE: ...` line and the query context
    (`== SQL ... ==` and the statement excerpt) that may follow; an analysis
    error also appends the logical plan, which is Spark's internals."""
    lines = message.splitlines()
    for i, line in enumerate(lines):
        if "SQLSTATE: " in line:
            rest = lines[i + 1 :]
            context = rest if next((r for r in rest if r.strip()), "").startswith("==") else []
            return "\n".join([*lines[:i], line.rstrip(";"), *context]).strip()
    return message


def _error_code(sql_state: str | None) -> str:
    """A ServiceErrorCode by SQLSTATE class: errors in the statement or its
    data are the caller's (BAD_REQUEST), the rest the warehouse's."""
    if sql_state is None or sql_state.startswith("XX"):
        return "INTERNAL_ERROR"
    if sql_state.startswith("53"):
        return "RESOURCE_EXHAUSTED"
    return "BAD_REQUEST"
