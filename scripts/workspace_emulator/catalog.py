"""Unity Catalog listing backed by Spark's catalog: UC catalogs are Spark
catalogs (`spark_catalog` first), schemas are Spark namespaces, tables are
Spark tables and views, so a three-part name means the same table in the
REST API and in SQL. Names reach Spark only as IDENTIFIER(:parameter)
arguments; nothing is spliced into SQL text. The tables made through the
admin API (uc_tables.py) answer with their own TableInfo, and their hidden
Spark tables are never listed."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import threading
import uuid

from pyspark.errors import AnalysisException, PySparkException

from .errors import ApiError
from .settings import Settings
from .spark import first_line, new_session, quote_identifier
from .sqltypes import catalog_column
from .uc_tables import UcTables

_FORMATS = {"PARQUET", "CSV", "JSON", "ORC", "AVRO", "TEXT", "DELTA", "HIVE"}
_NAMESPACE = uuid.UUID("6f1c7a52-5c1d-4b8e-9a4e-1a2b3c4d5e6f")


class Catalog:
    def __init__(self, spark_url: str, settings: Settings, uc_tables: UcTables):
        self._spark_url = spark_url
        self._settings = settings
        self._uc_tables = uc_tables
        self._lock = threading.Lock()
        self._session = None
        # The Spark tables and views answered so far: table_id -> (full name, table_type).
        self._answered: dict[str, tuple[str, str]] = {}

    def list_catalogs(self, max_results: int | None, page_token: str | None) -> dict:
        names, token = self._page(self._catalogs(), max_results, page_token)
        return _with_token({"catalogs": [self._catalog_info(n) for n in names]}, token)

    def get_catalog(self, name: str) -> dict:
        return self._catalog_info(self._existing_catalog(name))

    def list_schemas(self, catalog_name: str, max_results: int | None, page_token: str | None) -> dict:
        catalog = self._existing_catalog(catalog_name)
        rows = self._sql("SHOW NAMESPACES IN IDENTIFIER(:c)", c=quote_identifier(catalog))
        names, token = self._page(sorted(r[0] for r in rows), max_results, page_token)
        return _with_token({"schemas": [self._schema_info(catalog, n) for n in names]}, token)

    def get_schema(self, full_name: str) -> dict:
        catalog, schema = _split(full_name, 2)
        return self._schema_info(self._existing_catalog(catalog), schema)

    def list_tables(
        self, catalog_name: str, schema_name: str, max_results: int | None, page_token: str | None, omit_columns: bool
    ) -> dict:
        catalog = self._existing_catalog(catalog_name)
        rows = self._sql("SHOW TABLES IN IDENTIFIER(:s)", s=quote_identifier(catalog, schema_name))
        listed = sorted(r.tableName for r in rows if not r.isTemporary and not UcTables.is_hidden(r.tableName))
        names, token = self._page(listed, max_results, page_token)
        tables = [self._table_info(catalog, schema_name, n, omit_columns) for n in names]
        return _with_token({"tables": tables}, token)

    def get_table(self, full_name: str) -> dict:
        catalog, schema, table = _split(full_name, 3)
        if UcTables.is_hidden(table):
            raise ApiError(404, "TABLE_DOES_NOT_EXIST", f"Table '{full_name}' does not exist.")
        return self._table_info(self._existing_catalog(catalog), schema, table, omit_columns=False)

    def answered_table(self, table_id: str) -> tuple[str, str] | None:
        """(full name, table_type) of a Spark table or view this catalog has
        answered with `table_id`."""
        with self._lock:
            return self._answered.get(table_id)

    def _catalogs(self) -> list[str]:
        return sorted(r[0] for r in self._sql("SHOW CATALOGS"))

    def _existing_catalog(self, name: str) -> str:
        for catalog in self._catalogs():
            if catalog.lower() == name.lower():
                return catalog
        raise ApiError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")

    def _catalog_info(self, name: str) -> dict:
        return {"name": name, "full_name": name, "catalog_type": "MANAGED_CATALOG", "securable_type": "CATALOG"}

    def _schema_info(self, catalog: str, schema: str) -> dict:
        rows = self._sql("DESCRIBE NAMESPACE EXTENDED IDENTIFIER(:n)", n=quote_identifier(catalog, schema))
        described = {r[0]: r[1] for r in rows}
        name = described.get("Namespace Name", schema)
        info = {"name": name, "catalog_name": catalog, "full_name": f"{catalog}.{name}", "securable_type": "SCHEMA"}
        for key, field in (("Comment", "comment"), ("Owner", "owner"), ("Location", "storage_location")):
            if described.get(key):
                info[field] = described[key]
        return info

    def _table_info(self, catalog: str, schema: str, table: str, omit_columns: bool) -> dict:
        if (info := self._uc_tables.table_info(f"{catalog}.{schema}.{table}", omit_columns)) is not None:
            return info
        identifier = quote_identifier(catalog, schema, table)
        described = json.loads(self._sql("DESCRIBE TABLE EXTENDED IDENTIFIER(:t) AS JSON", t=identifier)[0][0])
        name, schema_name = described["table_name"], described.get("schema_name", schema)
        full_name = f"{catalog}.{schema_name}.{name}"
        info = {
            "name": name,
            "catalog_name": catalog,
            "schema_name": schema_name,
            "full_name": full_name,
            "table_type": described.get("type", "MANAGED"),
            "table_id": str(uuid.uuid5(_NAMESPACE, full_name)),
            "securable_type": "TABLE",
        }
        if (provider := (described.get("provider") or "").upper()) in _FORMATS:
            info["data_source_format"] = provider
        optional = {
            "storage_location": described.get("location"),
            "comment": described.get("comment"),
            "owner": described.get("owner"),
            "created_by": described.get("created_by"),
            "view_definition": described.get("view_text"),
            "properties": described.get("table_properties"),
            "created_at": _epoch_millis(described.get("created_time")),
        }
        info.update({k: v for k, v in optional.items() if v is not None})
        with self._lock:
            self._answered[info["table_id"]] = (full_name, info["table_type"])
        if not omit_columns:
            partitions = described.get("partition_columns", [])
            fields = self._spark().table(identifier).schema.fields
            info["columns"] = [
                catalog_column(f, i, partitions.index(f.name) if f.name in partitions else None)
                for i, f in enumerate(fields)
            ]
        return info

    def _page(self, names: list[str], max_results: int | None, page_token: str | None) -> tuple[list[str], str | None]:
        """One page of `names` (sorted) per the UC rules: no max_results means
        everything, 0 the server's page size, more than that is capped."""
        if max_results is not None and max_results < 0:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "max_results must be greater than or equal to 0.")
        if page_token:
            after = _decode_token(page_token)
            names = [n for n in names if n > after]
        if max_results is None:
            return names, None
        size = self._settings.current().uc_page_size
        size = size if max_results == 0 else min(max_results, size)
        page = names[:size]
        return page, _encode_token(page[-1]) if len(names) > size else None

    def _sql(self, text: str, **args: str) -> list:
        try:
            return self._spark().sql(text, args=args or None).collect()
        except PySparkException as exc:
            condition = exc.getCondition()
            if condition in ("SCHEMA_NOT_FOUND", "NO_SUCH_NAMESPACE"):
                raise ApiError(404, "SCHEMA_DOES_NOT_EXIST", first_line(exc)) from None
            if condition in ("TABLE_OR_VIEW_NOT_FOUND", "NO_SUCH_TABLE"):
                raise ApiError(404, "TABLE_DOES_NOT_EXIST", first_line(exc)) from None
            if isinstance(exc, AnalysisException):  # e.g. a name Spark cannot parse
                raise ApiError(400, "INVALID_PARAMETER_VALUE", first_line(exc)) from None
            raise

    def _spark(self):
        with self._lock:
            if self._session is None:
                self._session = new_session(self._spark_url)
            return self._session


def _with_token(body: dict, token: str | None) -> dict:
    if token:
        body["next_page_token"] = token
    return body


def _encode_token(last_name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_name}).encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "Invalid page_token.") from None


def _split(full_name: str, parts: int) -> list[str]:
    names = full_name.split(".")
    if len(names) != parts or not all(names):
        what = "catalog.schema" if parts == 2 else "catalog.schema.table"
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"'{full_name}' is not a full name of the form {what}.")
    return names


def _epoch_millis(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
