"""The string representation of values in JSON_ARRAY and CSV results.

The reference says only that every non-null value is "the string
representation" of the value. The forms used here:
- integers, decimals (all scale digits: `12.50`), booleans `true`/`false`,
  strings as they are;
- FLOAT/DOUBLE as Java prints them (`1.5`, `1.0E10`, `NaN`, `Infinity`),
  since the engine behind a warehouse is Spark on the JVM;
- DATE `2024-02-29`; TIMESTAMP in UTC as ISO 8601 with `Z`, TIMESTAMP_NTZ
  without: `2024-02-29T12:34:56.789Z` / `2024-02-29T12:34:56.789` (three
  fraction digits, six when the value has microseconds);
- BINARY as upper-case hex (what Databricks' own SQL connector decodes);
- intervals in the Hive form: `1-6` (YEAR TO MONTH), `1 02:03:04.500000000`
  (DAY TO SECOND);
- ARRAY, MAP and STRUCT as compact JSON text (`[1,2]`, `{"k":1}`,
  `{"a":1,"b":"x"}`), nested values as JSON numbers, strings (dates,
  timestamps and intervals in the forms above, binary in base64, as Spark's
  `to_json` writes it), `true`/`false` or `null`."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from typing import Any, Callable

import numpy as np
import pyarrow as pa
from pyspark.sql import types as T

Formatter = Callable[[Any], "str | None"]
_UTC = dt.timezone.utc


def rows(schema: T.StructType, batch: pa.RecordBatch) -> list[list[str | None]]:
    """The rows of `batch` as lists of strings (or None for NULL)."""
    batch = _months_as_int32(batch)
    columns = []
    for field, column in zip(schema.fields, batch.columns):
        fmt = formatter(field.dataType)
        columns.append([None if v is None else fmt(v) for v in column.to_pylist()])
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in range(batch.num_rows)]


_COMPLEX = (T.ArrayType, T.MapType, T.StructType, T.DayTimeIntervalType, T.YearMonthIntervalType)


def complex_as_strings(schema: T.StructType, batch: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` with its ARRAY, MAP, STRUCT and interval columns replaced by
    their JSON_ARRAY text (the `arrow_complex_as_strings` setting)."""
    if not any(isinstance(f.dataType, _COMPLEX) for f in schema.fields):
        return batch
    text = rows(schema, batch)
    # Every column holding months is replaced; the others pass unchanged.
    batch = _months_as_int32(batch)
    columns, fields = [], []
    for index, (field, column) in enumerate(zip(schema.fields, batch.columns)):
        if isinstance(field.dataType, _COMPLEX):
            column = pa.array([row[index] for row in text], type=pa.string())
        columns.append(column)
        fields.append(pa.field(batch.schema.field(index).name, column.type))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def formatter(dtype: T.DataType) -> Formatter:
    """The top-level string form of a non-null value of `dtype`."""
    if isinstance(dtype, (T.ArrayType, T.MapType, T.StructType)):
        return _json_formatter(dtype)
    if isinstance(dtype, T.BooleanType):
        return lambda v: "true" if v else "false"
    if isinstance(dtype, T.FloatType):
        return lambda v: _java_float(str(np.float32(v)))
    if isinstance(dtype, T.DoubleType):
        return lambda v: _java_float(repr(float(v)))
    if isinstance(dtype, T.DecimalType):
        return lambda v: format(v, "f")
    if isinstance(dtype, T.BinaryType):
        return lambda v: bytes(v).hex().upper()
    if isinstance(dtype, T.DateType):
        return lambda v: v.isoformat()
    if isinstance(dtype, T.TimestampType):
        return lambda v: _timestamp(v.astimezone(_UTC).replace(tzinfo=None)) + "Z"
    if isinstance(dtype, T.TimestampNTZType):
        return _timestamp
    if isinstance(dtype, T.DayTimeIntervalType):
        return _day_time_interval
    if isinstance(dtype, T.YearMonthIntervalType):
        return _year_month_interval
    return str


def _json_formatter(dtype: T.DataType) -> Formatter:
    """JSON text of a nested value; the top level of ARRAY/MAP/STRUCT values."""
    if isinstance(dtype, T.ArrayType):
        element = _json_formatter(dtype.elementType)
        return lambda v: "[" + ",".join("null" if x is None else element(x) for x in v) + "]"
    if isinstance(dtype, T.MapType):
        key = formatter(dtype.keyType)
        value = _json_formatter(dtype.valueType)
        return lambda v: (
            "{"
            + ",".join(f"{json.dumps(key(k), ensure_ascii=False)}:{'null' if x is None else value(x)}" for k, x in v)
            + "}"
        )
    if isinstance(dtype, T.StructType):
        fields = [(json.dumps(f.name, ensure_ascii=False), f.name, _json_formatter(f.dataType)) for f in dtype.fields]

        def struct(v: dict) -> str:
            parts = (f"{quoted}:{'null' if v[name] is None else fmt(v[name])}" for quoted, name, fmt in fields)
            return "{" + ",".join(parts) + "}"

        return struct
    if isinstance(dtype, T.BinaryType):
        return lambda v: json.dumps(base64.b64encode(bytes(v)).decode())
    if isinstance(dtype, (T.FloatType, T.DoubleType)):
        top = formatter(dtype)
        return lambda v: top(v) if math.isfinite(v) else json.dumps(top(v))
    if isinstance(dtype, (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.DecimalType, T.BooleanType)):
        return formatter(dtype)
    top = formatter(dtype)
    return lambda v: json.dumps(top(v), ensure_ascii=False)


def _java_float(shortest: str) -> str:
    """Java's Double.toString/Float.toString from the shortest round-trip
    decimal form of the value."""
    if shortest in ("nan", "inf", "-inf"):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[shortest]
    value = decimal.Decimal(shortest)
    if value == 0:
        return "-0.0" if shortest.startswith("-") else "0.0"
    if decimal.Decimal("0.001") <= abs(value) < decimal.Decimal(10_000_000):
        plain = format(value, "f")
        return plain if "." in plain else plain + ".0"
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    scientific_exponent = len(digits) - 1 + exponent
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{scientific_exponent}"


def _timestamp(value: dt.datetime) -> str:
    fraction = f"{value.microsecond:06d}" if value.microsecond % 1000 else f"{value.microsecond // 1000:03d}"
    return value.strftime("%Y-%m-%dT%H:%M:%S") + "." + fraction


def _day_time_interval(value: dt.timedelta) -> str:
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, micro = divmod(abs(micros), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return f"{sign}{days} {hour:02d}:{minute:02d}:{second:02d}.{micro * 1000:09d}"


def _year_month_interval(months: int) -> str:
    sign = "-" if months < 0 else ""
    years, month = divmod(abs(months), 12)
    return f"{sign}{years}-{month}"


_MONTH_INTERVAL = 21  # Arrow's interval[months] type id, which pyarrow cannot wrap.


def _months_as_int32(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Spark sends YEAR TO MONTH intervals as Arrow interval[months], which
    pyarrow can read but not convert to Python: reinterpret them as the
    int32 month counts they are stored as (same memory layout)."""
    if not any(_has_months(f.type) for f in batch.schema):
        return batch
    schema = pa.schema([f.with_type(_retyped(f.type)) for f in batch.schema])
    _, array = batch.__arrow_c_array__()
    return pa.RecordBatch._import_from_c_capsule(schema.__arrow_c_schema__(), array)


def _has_months(dtype: pa.DataType) -> bool:
    if isinstance(dtype, pa.MapType):
        return _has_months(dtype.key_type) or _has_months(dtype.item_type)
    if isinstance(dtype, pa.ListType):
        return _has_months(dtype.value_type)
    if isinstance(dtype, pa.StructType):
        return any(_has_months(field.type) for field in dtype)
    return dtype.id == _MONTH_INTERVAL


def _retyped(dtype: pa.DataType) -> pa.DataType:
    if dtype.id == _MONTH_INTERVAL:
        return pa.int32()
    if isinstance(dtype, pa.MapType):
        return pa.map_(
            dtype.key_field.with_type(_retyped(dtype.key_type)), dtype.item_field.with_type(_retyped(dtype.item_type))
        )
    if isinstance(dtype, pa.ListType):
        return pa.list_(dtype.value_field.with_type(_retyped(dtype.value_type)))
    if isinstance(dtype, pa.StructType):
        return pa.struct([field.with_type(_retyped(field.type)) for field in dtype])
    return dtype
