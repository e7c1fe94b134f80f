"""Unity Catalog tables stored on the emulator's storage (as Delta tables, or
as Parquet, CSV or JSON files), made by the admin API
(`/emulator/unity-catalog/tables`).

A table's rows are what its `sql` computes on Spark, taken as Arrow (every
field made nullable, as Spark's own tables are) and written twice:
- to storage, as the storage admin, on the table's `cloud` (table_storage.py):
  `s3` (default) at `s3://lakefed-uc/<catalog>/<schema>/<table>` (or the
  `storage_location` given; a location outside the bucket `lakefed-uc` is
  recorded, not written), `azure` at
  `abfss://uc-<table_id>@lakefeduc.dfs.core.windows.net/<catalog>/<schema>/<table>`,
  `gcs` at `gs://lakefed-uc/<catalog>/<schema>/<table>`: by default
  (`data_source_format` DELTA) as a Delta table with the `deltalake` package; as PARQUET, CSV or
  JSON, one file per create or append (`part-NNNNN-<uuid>.<ext>`, beside a
  `_SUCCESS` marker) in the layout and encoding Spark's writers use
  (Parquet timestamps as INT96; CSV without a header, its timestamps in
  pyarrow's spelling; JSON lines without NULL fields); file tables are not
  partitioned;
- as a Spark Parquet table with the Delta table's schema, so the warehouse
  answers the same rows under the same three-part name. A governed table
  (row filter or column masks) keeps its rows in a hidden Parquet table
  (`__lakefed_uc_base_<table>`, never listed) under a Spark VIEW of the public
  name that applies the filter (`WHERE condition`) and masks
  (`CAST(expression AS type)`).

The UC metadata (TableInfo) of these tables is an overlay that the catalog
answers instead of Spark's: `table_type` and `data_source_format` as given, the `storage_location`, a `table_id` (uuid4) of its own, columns
from the rows' schema, Databricks' `row_filter` and column `mask`."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import decimal
import io
import json
import math
import threading
import time
import uuid
from typing import Any

import deltalake
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import types as T

from .errors import ApiError
from .spark import first_line, new_session, quote_identifier
from .sqltypes import catalog_column, ddl_text
from .table_storage import CLOUDS, TableStore, TableStores
from .vending import split_s3_url

HIDDEN_PREFIX = "__lakefed_uc_base_"
_TABLE_TYPES = ("EXTERNAL", "MANAGED")
_FILE_EXTENSIONS = {"PARQUET": "parquet", "CSV": "csv", "JSON": "json"}
_FORMATS = ("DELTA", *_FILE_EXTENSIONS)
_CREATE_FIELDS = {
    "full_name",
    "sql",
    "table_type",
    "partition_columns",
    "row_filter",
    "column_masks",
    "vending_refused",
    "storage_location",
    "data_source_format",
    "cloud",
}


@dataclasses.dataclass(frozen=True)
class Governance:
    """A row filter {function_name, input_column_names, condition} and column
    masks {column: {function_name, using_column_names, expression}}."""

    row_filter: dict | None
    column_masks: dict[str, dict]

    def __bool__(self) -> bool:
        return self.row_filter is not None or bool(self.column_masks)


@dataclasses.dataclass(frozen=True)
class _CreateSpec:
    """The body of `POST /emulator/unity-catalog/tables`, checked."""

    catalog: str
    schema: str
    name: str
    sql: str
    table_type: str
    partition_columns: list[str]
    governance: Governance
    vending_refused: bool
    storage_location: str | None
    data_source_format: str
    cloud: str

    @property
    def full_name(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.name}"

    @classmethod
    def parse(cls, body: Any) -> "_CreateSpec":
        _check(isinstance(body, dict), "the body must be a JSON object")
        _check(not set(body) - _CREATE_FIELDS, f"unknown fields {sorted(set(body) - _CREATE_FIELDS)}")
        catalog, schema, name = _full_name(body.get("full_name"))
        table_type = body.get("table_type", "EXTERNAL")
        _check(table_type in _TABLE_TYPES, f"table_type must be one of {_TABLE_TYPES}")
        partitions = body.get("partition_columns") or []
        _check(_strings(partitions), "partition_columns must be a list of column names")
        vending_refused = body.get("vending_refused", False)
        _check(isinstance(vending_refused, bool), "vending_refused must be a boolean")
        cloud = body.get("cloud", "s3")
        _check(cloud in CLOUDS, f"cloud must be one of {CLOUDS}")
        location = body.get("storage_location")
        _check(
            location is None
            or (cloud == "s3" and isinstance(location, str) and location.startswith("s3://") and all(split_s3_url(location))),
            "storage_location must be an s3://bucket/path URL (and the cloud s3)",
        )
        data_source_format = body.get("data_source_format", "DELTA")
        _check(data_source_format in _FORMATS, f"data_source_format must be one of {_FORMATS}")
        _check(
            data_source_format == "DELTA" or not partitions,
            "only DELTA tables take partition_columns here",
        )
        governance = _governance(body.get("row_filter"), body.get("column_masks") or {})
        sql = _string(body, "sql")
        return cls(
            catalog,
            schema,
            name,
            sql,
            table_type,
            partitions,
            governance,
            vending_refused,
            location,
            data_source_format,
            cloud,
        )

    def check_columns(self, names: list[str]) -> None:
        """The columns the spec names are the table's."""
        used = [*self.partition_columns, *self.governance.column_masks]
        if self.governance.row_filter:
            used += self.governance.row_filter["input_column_names"]
        for mask in self.governance.column_masks.values():
            used += mask["using_column_names"]
        unknown = sorted(set(used) - set(names))
        _check(not unknown, f"unknown columns {unknown}; the table has {names}")


@dataclasses.dataclass
class UcTable:
    info: dict  # the TableInfo answered, with columns
    schema: T.StructType  # the Delta table's (and the Spark copy's) schema
    arrow_schema: pa.Schema  # the schema its rows are written with
    rows_table: str  # quoted name of the Spark table holding the rows
    view: str | None  # quoted public name of the governing view, if governed
    governance: Governance
    vending_refused: bool
    store: TableStore | None  # where its objects are written; None: nowhere

    @property
    def table_id(self) -> str:
        return self.info["table_id"]

    @property
    def location(self) -> str:
        return self.info["storage_location"]

    @property
    def format(self) -> str:
        return self.info["data_source_format"]


class UcTables:
    def __init__(self, spark_url: str, stores: TableStores):
        self._spark_url = spark_url
        self._stores = stores
        self._session = None
        self._lock = threading.Lock()  # guards _tables
        self._admin_lock = threading.Lock()  # one create/append/delete at a time
        self._tables: dict[str, UcTable] = {}  # by lower-case full name

    @staticmethod
    def is_hidden(table_name: str) -> bool:
        return table_name.lower().startswith(HIDDEN_PREFIX)

    def get(self, full_name: str) -> UcTable | None:
        with self._lock:
            return self._tables.get(full_name.lower())

    def by_id(self, table_id: str) -> UcTable | None:
        with self._lock:
            return next((t for t in self._tables.values() if t.table_id == table_id), None)

    def table_info(self, full_name: str, omit_columns: bool) -> dict | None:
        table = self.get(full_name)
        if table is None:
            return None
        info = copy.deepcopy(table.info)
        if omit_columns:
            del info["columns"]
        return info

    def full_names(self) -> list[str]:
        with self._lock:
            return sorted(t.info["full_name"] for t in self._tables.values())

    def create(self, body: Any) -> dict:
        """`POST /emulator/unity-catalog/tables`: the TableInfo of the new table."""
        spec = _CreateSpec.parse(body)
        public = quote_identifier(spec.catalog, spec.schema, spec.name)
        with self._admin_lock:
            rows_table = quote_identifier(spec.catalog, spec.schema, HIDDEN_PREFIX + spec.name)
            if self.get(spec.full_name) is not None or any(
                self._spark().catalog.tableExists(name) for name in (public, rows_table)
            ):
                raise ApiError(409, "TABLE_ALREADY_EXISTS", f"Table '{spec.full_name}' already exists.")
            rows = _nullable(self._query(spec.sql))
            spark_schema = T.StructType.fromJson(json.loads(_delta_schema(rows.schema).to_json()))
            spec.check_columns(rows.schema.names)
            table_id = str(uuid.uuid4())
            location = spec.storage_location or self._stores.new_location(
                spec.cloud, table_id, f"{spec.catalog}/{spec.schema}/{spec.name}"
            )
            table = UcTable(
                info=_table_info(spec, spark_schema, table_id, location),
                schema=spark_schema,
                arrow_schema=rows.schema,
                rows_table=rows_table if spec.governance else public,
                view=public if spec.governance else None,
                governance=spec.governance,
                vending_refused=spec.vending_refused,
                store=self._stores.of(location),
            )
            self._run(f"CREATE NAMESPACE IF NOT EXISTS {quote_identifier(spec.catalog, spec.schema)}")
            try:
                self._save(rows, table, create=True)
                if table.view:
                    self._run(f"CREATE VIEW {table.view} AS {_governed_select(table)}")
                if table.store:
                    table.store.delete_all(table.location)
                    table.store.prepare(table.location)
                    self._write(table, rows, "error", spec.partition_columns)
            except Exception:
                self._drop_spark_objects(table)
                raise
            with self._lock:
                self._tables[spec.full_name] = table
            return self.table_info(spec.full_name, omit_columns=False)

    def append(self, full_name: str, body: Any) -> dict:
        """`POST /emulator/unity-catalog/tables/{full_name}/append {"sql"}`:
        the rows become a new Delta commit and are inserted into the Spark copy."""
        sql = _string(body if isinstance(body, dict) else {}, "sql")
        with self._admin_lock:
            table = self._existing(full_name)
            try:
                rows = _nullable(self._query(sql)).cast(table.arrow_schema)
            except (pa.ArrowException, ValueError) as exc:
                raise _invalid(f"the rows do not fit the table's schema {table.schema.simpleString()}: {exc}") from None
            if table.store:
                self._write(table, rows, "append", [])
            self._save(rows, table, create=False)
            with self._lock:
                table.info["updated_at"] = _now_millis()
            return self.table_info(full_name, omit_columns=False)

    def delta_rows(self, full_name: str) -> dict:
        """`GET /emulator/unity-catalog/tables/{full_name}/delta`: the Delta
        table as the deltalake package reads it from storage, as the admin
        (its version and rows), to check what another engine wrote there."""
        table = self._existing(full_name)
        if not table.store or table.format != "DELTA":
            raise _invalid(f"Table '{full_name}' is not a Delta table on the storage server.")
        delta = deltalake.DeltaTable(table.location, storage_options=table.store.admin_storage_options())
        return {"version": delta.version(), "rows": delta.to_pyarrow_table().to_pylist()}

    def delete(self, full_name: str) -> None:
        """`DELETE /emulator/unity-catalog/tables/{full_name}`: the Spark
        objects, the Delta table's objects and the metadata."""
        with self._admin_lock:
            table = self._existing(full_name)
            self._drop_spark_objects(table)
            if table.store:
                table.store.delete_all(table.location)
            with self._lock:
                del self._tables[table.info["full_name"]]

    def _existing(self, full_name: str) -> UcTable:
        table = self.get(full_name)
        if table is None:
            raise ApiError(404, "TABLE_DOES_NOT_EXIST", f"Table '{full_name}' does not exist.")
        return table

    def _write(self, table: UcTable, rows: pa.Table, mode: str, partitions: list[str]) -> None:
        if table.format == "DELTA":
            self._write_delta(table, rows, mode, partitions)
            return
        extension = _FILE_EXTENSIONS[table.format]
        count = sum(1 for name in table.store.names(table.location) if name.endswith("." + extension))
        name = f"part-{count:05d}-{uuid.uuid4()}.{extension}"
        table.store.put(table.location, name, _encoded(rows, table.format))
        table.store.put(table.location, "_SUCCESS", b"")

    def _write_delta(self, table: UcTable, rows: pa.Table, mode: str, partitions: list[str]) -> None:
        try:
            table.store.write_delta(table.location, rows, mode, partitions)
        except Exception as exc:  # deltalake raises plain Exceptions for schema and partition errors
            raise _invalid(f"writing the Delta table failed: {str(exc).splitlines()[0]}") from None

    def _save(self, rows: pa.Table, table: UcTable, create: bool) -> None:
        """Writes `rows` to the Spark table holding the table's rows."""
        try:
            writer = self._spark().createDataFrame(rows, schema=table.schema).write
            if create:
                writer.format("parquet").saveAsTable(table.rows_table)
            else:
                writer.insertInto(table.rows_table)
        except PySparkException as exc:
            raise _spark_error(exc) from None

    def _drop_spark_objects(self, table: UcTable) -> None:
        if table.view:
            self._run(f"DROP VIEW IF EXISTS {table.view}")
        self._run(f"DROP TABLE IF EXISTS {table.rows_table}")

    def _query(self, sql: str) -> pa.Table:
        try:
            return self._spark().sql(sql).toArrow()
        except PySparkException as exc:
            raise _spark_error(exc) from None

    def _run(self, sql: str) -> None:
        try:
            self._spark().sql(sql).collect()
        except PySparkException as exc:
            raise _spark_error(exc) from None

    def _spark(self):
        if self._session is None:
            self._session = new_session(self._spark_url)
        return self._session


def _table_info(spec: _CreateSpec, spark_schema: T.StructType, table_id: str, location: str) -> dict:
    partitions = spec.partition_columns
    columns = []
    for position, field in enumerate(spark_schema.fields):
        column = catalog_column(field, position, partitions.index(field.name) if field.name in partitions else None)
        if mask := spec.governance.column_masks.get(field.name):
            column["mask"] = {"function_name": mask["function_name"], "using_column_names": mask["using_column_names"]}
        columns.append(column)
    now = _now_millis()
    info = {
        "name": spec.name,
        "catalog_name": spec.catalog,
        "schema_name": spec.schema,
        "full_name": spec.full_name,
        "table_type": spec.table_type,
        "data_source_format": spec.data_source_format,
        "storage_location": location,
        "table_id": table_id,
        "securable_type": "TABLE",
        "columns": columns,
        "created_at": now,
        "updated_at": now,
    }
    if row_filter := spec.governance.row_filter:
        info["row_filter"] = {
            "function_name": row_filter["function_name"],
            "input_column_names": row_filter["input_column_names"],
        }
    return info


def _governed_select(table: UcTable) -> str:
    """The SELECT of a governed table's view: masked columns keep their type."""
    columns = []
    for field in table.schema.fields:
        column = quote_identifier(field.name)
        if mask := table.governance.column_masks.get(field.name):
            column = f"CAST(({mask['expression']}) AS {ddl_text(field.dataType)}) AS {column}"
        columns.append(column)
    where = f" WHERE ({table.governance.row_filter['condition']})" if table.governance.row_filter else ""
    return f"SELECT {', '.join(columns)} FROM {table.rows_table}{where}"


def _governance(row_filter: Any, column_masks: Any) -> Governance:
    if row_filter is not None:
        _check(
            isinstance(row_filter, dict)
            and set(row_filter) == {"function_name", "input_column_names", "condition"}
            and isinstance(row_filter["function_name"], str)
            and _strings(row_filter["input_column_names"])
            and isinstance(row_filter["condition"], str),
            "row_filter must be {function_name, input_column_names, condition}",
        )
    _check(
        isinstance(column_masks, dict)
        and all(
            isinstance(m, dict)
            and set(m) == {"function_name", "using_column_names", "expression"}
            and isinstance(m["function_name"], str)
            and _strings(m["using_column_names"])
            and isinstance(m["expression"], str)
            for m in column_masks.values()
        ),
        "column_masks must map column names to {function_name, using_column_names, expression}",
    )
    return Governance(row_filter, dict(column_masks))


def _encoded(rows: pa.Table, data_source_format: str) -> bytes:
    """The bytes of one file of `rows`, encoded as Spark's writer for the
    format encodes them (by default)."""
    if data_source_format == "PARQUET":
        buffer = io.BytesIO()
        pa.parquet.write_table(rows, buffer, use_deprecated_int96_timestamps=True)
        return buffer.getvalue()
    if data_source_format == "CSV":
        buffer = io.BytesIO()
        pa.csv.write_csv(rows, buffer, pa.csv.WriteOptions(include_header=False))
        return buffer.getvalue()
    lines = []
    for row in rows.to_pylist():
        fields = [f"{json.dumps(k)}:{_json_value(v)}" for k, v in row.items() if v is not None]
        lines.append("{" + ",".join(fields) + "}\n")
    return "".join(lines).encode()


def _json_value(value: Any) -> str:
    """A value as Spark's JSON writer writes it: decimals as exact numbers,
    dates and timestamps as ISO strings, NaN and infinities as strings."""
    if isinstance(value, bool) or isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, float):
        if math.isnan(value):
            return '"NaN"'
        if math.isinf(value):
            return '"Infinity"' if value > 0 else '"-Infinity"'
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return json.dumps(value.isoformat())
    raise _invalid(f"the emulator writes no {type(value).__name__} values to JSON files")


def _delta_schema(schema: pa.Schema) -> deltalake.Schema:
    try:
        return deltalake.Schema.from_arrow(schema)
    except Exception as exc:  # e.g. intervals, which Delta has no type for
        raise _invalid(f"the rows have no Delta schema: {str(exc).splitlines()[0]}") from None


def _nullable(rows: pa.Table) -> pa.Table:
    return rows.cast(pa.schema([_nullable_field(f) for f in rows.schema]))


def _nullable_field(field: pa.Field) -> pa.Field:
    return pa.field(field.name, _nullable_type(field.type), nullable=True, metadata=field.metadata)


def _nullable_type(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(dtype):
        return pa.struct([_nullable_field(dtype.field(i)) for i in range(dtype.num_fields)])
    if pa.types.is_map(dtype):
        return pa.map_(dtype.key_field, _nullable_field(dtype.item_field))
    if pa.types.is_list(dtype):
        return pa.list_(_nullable_field(dtype.value_field))
    if pa.types.is_large_list(dtype):
        return pa.large_list(_nullable_field(dtype.value_field))
    return dtype


def _full_name(value: Any) -> tuple[str, str, str]:
    parts = value.split(".") if isinstance(value, str) else []
    _check(len(parts) == 3 and all(parts), f"full_name must be catalog.schema.table, got {value!r}")
    _check(not UcTables.is_hidden(parts[2]), f"table names starting with {HIDDEN_PREFIX} are reserved")
    return parts[0].lower(), parts[1].lower(), parts[2].lower()


def _string(body: dict, field: str) -> str:
    value = body.get(field)
    _check(isinstance(value, str) and value.strip() != "", f"{field} must be a non-empty string")
    return value


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise _invalid(message)


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def _spark_error(exc: PySparkException) -> ApiError | PySparkException:
    condition = exc.getCondition()
    if condition == "TABLE_OR_VIEW_ALREADY_EXISTS":
        return ApiError(409, "TABLE_ALREADY_EXISTS", first_line(exc))
    if condition == "CATALOG_NOT_FOUND":
        return ApiError(404, "CATALOG_DOES_NOT_EXIST", first_line(exc))
    if isinstance(exc, AnalysisException):  # the statement's own error (parse, resolution, types)
        return _invalid(first_line(exc))
    return exc


def _now_millis() -> int:
    return int(time.time() * 1000)
