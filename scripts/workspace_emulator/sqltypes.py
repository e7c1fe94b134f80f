"""Spark data types described the way the two APIs describe columns.

Statement Execution manifests (`sql.ColumnInfo`): `type_text` is the SQL
type as Spark's `DataType.sql` spells it (`BIGINT`, `DECIMAL(10,2)`,
`ARRAY<INT>`, `STRUCT<a: INT, b: STRING>`), `type_name` a value of the
`ColumnInfoTypeName` enum. Unity Catalog (`catalog.ColumnInfo`): `type_text`
is the DDL spelling (`bigint`, `decimal(10,2)`, `struct<a:int,b:string>`),
`type_name` a value of `ColumnTypeName` (which, unlike the statement enum,
has TIMESTAMP_NTZ and VARIANT), `type_json` the StructField JSON."""

from __future__ import annotations

import json
import re

from pyspark.sql import types as T

_PRIMITIVE_NAMES = {
    "BooleanType": "BOOLEAN",
    "ByteType": "BYTE",
    "ShortType": "SHORT",
    "IntegerType": "INT",
    "LongType": "LONG",
    "FloatType": "FLOAT",
    "DoubleType": "DOUBLE",
    "DecimalType": "DECIMAL",
    "StringType": "STRING",
    "VarcharType": "STRING",
    "CharType": "CHAR",
    "BinaryType": "BINARY",
    "DateType": "DATE",
    "TimestampType": "TIMESTAMP",
    "TimestampNTZType": "TIMESTAMP",
    "DayTimeIntervalType": "INTERVAL",
    "YearMonthIntervalType": "INTERVAL",
    "CalendarIntervalType": "INTERVAL",
    "ArrayType": "ARRAY",
    "MapType": "MAP",
    "StructType": "STRUCT",
    "NullType": "NULL",
}
_CATALOG_ONLY_NAMES = {"TimestampNTZType": "TIMESTAMP_NTZ", "VariantType": "VARIANT"}
_CHAR_VARCHAR_KEY = "__CHAR_VARCHAR_TYPE_STRING"


def statement_type_name(dtype: T.DataType) -> str:
    return _PRIMITIVE_NAMES.get(type(dtype).__name__, "USER_DEFINED_TYPE")


def catalog_type_name(dtype: T.DataType) -> str:
    name = type(dtype).__name__
    return _CATALOG_ONLY_NAMES.get(name) or _PRIMITIVE_NAMES.get(name, "USER_DEFINED_TYPE")


def sql_text(dtype: T.DataType) -> str:
    """Spark's `DataType.sql`."""
    if isinstance(dtype, T.ArrayType):
        return f"ARRAY<{sql_text(dtype.elementType)}>"
    if isinstance(dtype, T.MapType):
        return f"MAP<{sql_text(dtype.keyType)}, {sql_text(dtype.valueType)}>"
    if isinstance(dtype, T.StructType):
        return "STRUCT<" + ", ".join(f"{_quote_if_needed(f.name)}: {sql_text(f.dataType)}" for f in dtype.fields) + ">"
    if isinstance(dtype, T.StringType) and not isinstance(dtype, (T.CharType, T.VarcharType)):
        collation = getattr(dtype, "collation", "UTF8_BINARY")
        return "STRING" if collation == "UTF8_BINARY" else f"STRING COLLATE {collation}"
    return dtype.simpleString().upper()


def ddl_text(dtype: T.DataType) -> str:
    """Spark's `DataType.catalogString` (the DDL spelling)."""
    if isinstance(dtype, T.ArrayType):
        return f"array<{ddl_text(dtype.elementType)}>"
    if isinstance(dtype, T.MapType):
        return f"map<{ddl_text(dtype.keyType)},{ddl_text(dtype.valueType)}>"
    if isinstance(dtype, T.StructType):
        return "struct<" + ",".join(f"{_quote_if_needed(f.name)}:{ddl_text(f.dataType)}" for f in dtype.fields) + ">"
    return dtype.simpleString()


def interval_type(dtype: T.DataType) -> str | None:
    """`DAY TO SECOND`, `YEAR TO MONTH`, `HOUR`, ... for ANSI intervals."""
    if isinstance(dtype, (T.DayTimeIntervalType, T.YearMonthIntervalType)):
        return dtype.simpleString().removeprefix("interval ").upper()
    return None


def manifest_column(field: T.StructField, position: int) -> dict:
    """A `sql.ColumnInfo` of a statement's result schema."""
    dtype = field.dataType
    column = {
        "name": field.name,
        "position": position,
        "type_name": statement_type_name(dtype),
        "type_text": sql_text(dtype),
    }
    if isinstance(dtype, T.DecimalType):
        column["type_precision"] = dtype.precision
        column["type_scale"] = dtype.scale
    if interval := interval_type(dtype):
        column["type_interval_type"] = interval
    return column


def catalog_column(field: T.StructField, position: int, partition_index: int | None) -> dict:
    """A `catalog.ColumnInfo` of a table; CHAR/VARCHAR columns, which Spark
    reads as STRING, keep their declared type from the field metadata."""
    dtype = field.dataType
    declared = field.metadata.get(_CHAR_VARCHAR_KEY)
    is_char = bool(declared and declared.lower().startswith("char"))
    column = {
        "name": field.name,
        "type_text": declared or ddl_text(dtype),
        "type_json": json.dumps(field.jsonValue(), separators=(",", ":")),
        "type_name": "CHAR" if is_char else catalog_type_name(dtype),
        "type_precision": dtype.precision if isinstance(dtype, T.DecimalType) else 0,
        "type_scale": dtype.scale if isinstance(dtype, T.DecimalType) else 0,
        "position": position,
        "nullable": field.nullable,
    }
    if interval := interval_type(dtype):
        column["type_interval_type"] = interval
    if comment := field.metadata.get("comment"):
        column["comment"] = comment
    if partition_index is not None:
        column["partition_index"] = partition_index
    return column


def _quote_if_needed(name: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_]+", name) and not name.isdigit():
        return name
    return "`" + name.replace("`", "``") + "`"
