"""`POST /api/2.1/unity-catalog/temporary-table-credentials` (UC OSS) and
`POST /api/2.0/unity-catalog/temporary-table-credentials` (Databricks):
`{table_id, operation}` -> `{<credentials of the table's cloud>,
expiration_time, url}` for the tables of uc_tables.py (`aws_temp_credentials
{access_key_id, secret_access_key, session_token}`, `azure_user_delegation_sas
{sas_token}` or `gcp_oauth_token {oauth_token}`), or the refusal a
workspace answers:
- 400 INVALID_PARAMETER_VALUE: no `table_id`, an `operation` other than READ
  or READ_WRITE; READ_WRITE on a MANAGED table (Databricks: such tables
  "cannot be written from outside of Databricks Compute Environment"); a
  view, or a Spark table whose storage is not the metastore's (the plain
  Spark tables: no credentials can reach them);
- 403 PERMISSION_DENIED: a table with a row filter or column masks (only a
  warehouse may read it), or one made with `vending_refused`;
- 404 TABLE_DOES_NOT_EXIST: a table_id no table has."""

from __future__ import annotations

from typing import Any

from .catalog import Catalog
from .errors import ApiError
from .settings import Settings
from .stats import Stats
from .table_storage import TableStores
from .uc_tables import UcTables

OPERATIONS = ("READ", "READ_WRITE")
OSS_PATH = "/api/2.1/unity-catalog/temporary-table-credentials"
DATABRICKS_PATH = "/api/2.0/unity-catalog/temporary-table-credentials"
# Which paths answer, by the setting uc_credential_paths.
PATHS = {"both": (OSS_PATH, DATABRICKS_PATH), "oss": (OSS_PATH,), "databricks": (DATABRICKS_PATH,)}


class TableCredentials:
    def __init__(self, uc_tables: UcTables, stores: TableStores, catalog: Catalog, settings: Settings, stats: Stats):
        self._uc_tables = uc_tables
        self._stores = stores
        self._catalog = catalog
        self._settings = settings
        self._stats = stats

    def generate(self, path: str, body: Any) -> dict:
        settings = self._settings.current()
        if path not in PATHS[settings.uc_credential_paths]:
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for 'POST {path}'")
        if not isinstance(body, dict):
            raise _invalid("The request body must be a JSON object.")
        table_id, operation = body.get("table_id"), body.get("operation")
        if not isinstance(table_id, str) or not table_id:
            raise _invalid("table_id is required.")
        if operation not in OPERATIONS:
            raise _invalid(f"operation must be one of {', '.join(OPERATIONS)}, got {operation!r}.")
        table = self._uc_tables.by_id(table_id)
        if table is None:
            raise self._not_vendable(table_id)
        full_name = table.info["full_name"]
        if table.governance:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"Table '{full_name}' has a row filter or column masks: its data cannot be read from storage "
                "outside Databricks. Query it through a SQL warehouse.",
            )
        if table.vending_refused:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"Access to table '{full_name}' from external engines is not allowed: the caller lacks "
                "EXTERNAL USE SCHEMA on its schema.",
            )
        if operation == "READ_WRITE" and table.info["table_type"] == "MANAGED":
            raise _invalid(
                f"Table with id {table_id} cannot be written from outside of Databricks Compute Environment due to "
                "its kind being TABLE_DELTA. Only external tables can be written externally."
            )
        store = self._stores.vending_for(table.location)
        credentials, expiration_time = store.vend(table.location, operation, settings.uc_credential_ttl_seconds)
        self._stats.add("credentials_vended")
        return {**credentials, "expiration_time": expiration_time, "url": table.location}

    def _not_vendable(self, table_id: str) -> ApiError:
        answered = self._catalog.answered_table(table_id)
        if answered is None:
            return ApiError(404, "TABLE_DOES_NOT_EXIST", f"Table with id {table_id} does not exist.")
        full_name, table_type = answered
        if table_type == "VIEW":
            return _invalid(f"'{full_name}' is a view: temporary credentials are only vended for tables.")
        return _invalid(
            f"Table '{full_name}' is not stored on cloud storage governed by this metastore: "
            "no temporary credentials can be vended for it."
        )


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)
