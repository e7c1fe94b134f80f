"""The workspace emulator as a Unity Catalog server whose tables are Delta
tables on its own authenticated S3 server (scripts/workspace_emulator/
uc_tables.py, vending.py, storage.py), checked with the clients that read
such a catalog: the UC OSS client (`unitycatalog-client`), `databricks-sdk`,
boto3 and `deltalake` with vended credentials, and DuckDB's `unity_catalog`
extension. Needs a running emulator whose URL is in
LAKEFED_TEST_WORKSPACE_URL (see test_sdk.py); without it every test fails.

The tables live in the Spark namespace `lakefed_uc_test`, made afresh at the
start of the session through the emulator's admin API and its warehouse."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import io
import os
import time

import boto3
import botocore
import deltalake
import duckdb
import duckdb_extensions
import pyarrow.parquet
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, NotFound, PermissionDenied
from databricks.sdk.service import catalog as sdk_catalog
from databricks.sdk.service.sql import StatementState
from unitycatalog.client import ApiClient, CatalogsApi, Configuration, SchemasApi, TablesApi, TemporaryCredentialsApi
from unitycatalog.client.models import GenerateTemporaryTableCredential, TableOperation, TableType

TOKEN = os.environ.get("LAKEFED_WORKSPACE_TOKEN", "dapi-lakefed-test-token")
WAREHOUSE = os.environ.get("LAKEFED_WORKSPACE_WAREHOUSE_ID", "lakefed-wh")
CATALOG = "spark_catalog"
NS = "lakefed_uc_test"
REGION = "us-east-1"
ORDERS_SQL = """SELECT CAST(id AS BIGINT) AS id, region, CAST(amount AS DECIMAL(10,2)) AS amount,
CAST(day AS DATE) AS day
FROM VALUES (1, 'EU', 10.5, '2024-01-01'), (2, 'US', 20.25, '2024-01-02'), (3, 'EU', 5, '2024-01-03')
AS t(id, region, amount, day)"""
ORDERS_ROWS = [
    {"id": 1, "region": "EU", "amount": decimal.Decimal("10.50"), "day": dt.date(2024, 1, 1)},
    {"id": 2, "region": "US", "amount": decimal.Decimal("20.25"), "day": dt.date(2024, 1, 2)},
    {"id": 3, "region": "EU", "amount": decimal.Decimal("5.00"), "day": dt.date(2024, 1, 3)},
]
CUSTOMERS_SQL = """SELECT CAST(id AS BIGINT) AS id, name, email, region FROM VALUES
(1, 'Ada', 'ada@example.com', 'EU'), (2, 'Bob', 'bob@example.com', 'US'), (3, 'Eve', 'eve@example.com', 'EU')
AS t(id, name, email, region)"""
# Tables made through the admin API, by name: the body of the POST (without full_name).
UC_TABLES = {
    "orders": {"sql": ORDERS_SQL, "partition_columns": ["region"]},
    "customers": {
        "sql": CUSTOMERS_SQL,
        "table_type": "MANAGED",
        "row_filter": {
            "function_name": f"{CATALOG}.{NS}.eu_only",
            "input_column_names": ["region"],
            "condition": "region = 'EU'",
        },
        "column_masks": {
            "email": {"function_name": f"{CATALOG}.{NS}.redact", "using_column_names": [], "expression": "'***'"}
        },
    },
    "refused": {"sql": "SELECT 1L AS id", "vending_refused": True},
    "managed": {"sql": "SELECT 1L AS id", "table_type": "MANAGED"},
    "missing": {"sql": "SELECT 1L AS id", "storage_location": "s3://lakefed-uc-missing/tables/missing"},
    "orders_azure": {"sql": ORDERS_SQL, "cloud": "azure"},
    "refused_azure": {"sql": "SELECT 1L AS id", "cloud": "azure"},
    "orders_gcs": {"sql": ORDERS_SQL, "cloud": "gcs"},
    "refused_gcs": {"sql": "SELECT 1L AS id", "cloud": "gcs"},
}


@pytest.fixture(scope="session")
def url() -> str:
    value = os.environ.get("LAKEFED_TEST_WORKSPACE_URL")
    if not value:
        pytest.fail(
            "LAKEFED_TEST_WORKSPACE_URL is not set: start Spark with `scripts/spark-server.sh start`, the emulator "
            "with `scripts/workspace-emulator.sh start`, and export the URL the latter prints"
        )
    return value


@pytest.fixture(scope="session")
def w(url: str) -> WorkspaceClient:
    return WorkspaceClient(host=url, token=TOKEN)


@pytest.fixture(scope="session")
def storage(url: str) -> dict:
    return requests.get(f"{url}/emulator/unity-catalog", timeout=10).json()


@pytest.fixture(scope="session")
def tables(url: str, w: WorkspaceClient) -> dict[str, dict]:
    """TableInfo of the admin-made tables by name; also a plain Spark table
    `plain` and a view `plain_v`, made through the warehouse."""
    for name in [*UC_TABLES, "events"]:
        requests.delete(f"{url}/emulator/unity-catalog/tables/{CATALOG}.{NS}.{name}", timeout=60)
    for statement in [
        f"DROP NAMESPACE IF EXISTS {NS} CASCADE",
        f"CREATE NAMESPACE {NS}",
        f"CREATE TABLE {NS}.plain USING parquet AS SELECT 1L AS id",
        f"CREATE VIEW {NS}.plain_v AS SELECT id FROM {NS}.plain",
    ]:
        assert run(w, statement).status.state == StatementState.SUCCEEDED, statement
    made = {}
    for name, body in UC_TABLES.items():
        response = requests.post(
            f"{url}/emulator/unity-catalog/tables", json={"full_name": f"{CATALOG}.{NS}.{name}", **body}, timeout=120
        )
        assert response.status_code == 200, response.text
        made[name] = response.json()
    return made


@pytest.fixture(autouse=True)
def default_settings(url: str):
    yield
    requests.post(f"{url}/emulator/reset", timeout=10).raise_for_status()


def run(w: WorkspaceClient, statement: str):
    return w.statement_execution.execute_statement(statement=statement, warehouse_id=WAREHOUSE, wait_timeout="30s")


def settings(url: str, **changes) -> None:
    requests.post(f"{url}/emulator/settings", json=changes, timeout=10).raise_for_status()


def stats(url: str) -> dict:
    return requests.get(f"{url}/emulator/stats", timeout=10).json()


def storage_log(url: str, prefix: str) -> list[dict]:
    return requests.get(f"{url}/emulator/storage-log", params={"prefix": prefix}, timeout=10).json()["requests"]


def vend(url: str, table_id: str, operation: str = "READ", version: str = "2.1") -> requests.Response:
    return requests.post(
        f"{url}/api/{version}/unity-catalog/temporary-table-credentials",
        json={"table_id": table_id, "operation": operation},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )


def s3_client(storage: dict, credentials: dict):
    return boto3.client(
        "s3",
        endpoint_url=storage["storage_endpoint"],
        region_name=REGION,
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        aws_session_token=credentials["session_token"],
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


def storage_options(storage: dict, credentials: dict) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": storage["storage_endpoint"],
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": credentials["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials["secret_access_key"],
        "AWS_SESSION_TOKEN": credentials["session_token"],
        "AWS_ALLOW_HTTP": "true",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false",
    }


def key_of(table: dict, name: str) -> str:
    """The object key of `name` under the table's storage location."""
    return table["storage_location"].removeprefix("s3://lakefed-uc/") + "/" + name


def s3_status(call) -> int:
    try:
        call()
    except botocore.exceptions.ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return 200


def uc_client(url: str) -> ApiClient:
    configuration = Configuration(host=f"{url}/api/2.1/unity-catalog")
    return ApiClient(configuration, header_name="Authorization", header_value=f"Bearer {TOKEN}")


def test_admin_api_reports_the_storage_server(storage: dict, tables: dict):
    assert storage["storage_endpoint"] == f"http://127.0.0.1:{os.environ.get('LAKEFED_WORKSPACE_S3_PORT', '9755')}"
    assert storage["storage_bucket"] == "lakefed-uc"
    assert tables["orders"]["storage_location"] == f"s3://lakefed-uc/{CATALOG}/{NS}/orders"


def test_uc_oss_client_lists_and_gets_tables_with_paging(url: str, tables: dict):
    async def scenario():
        async with uc_client(url) as client:
            catalogs = await CatalogsApi(client).list_catalogs()
            schemas = await SchemasApi(client).list_schemas(catalog_name=CATALOG, max_results=1)
            names, token = [], None
            while True:
                page = await TablesApi(client).list_tables(
                    catalog_name=CATALOG, schema_name=NS, max_results=2, page_token=token
                )
                names += [t.name for t in page.tables]
                token = page.next_page_token
                if not token:
                    break
            orders = await TablesApi(client).get_table(f"{CATALOG}.{NS}.orders")
            view = await TablesApi(client).get_table(f"{CATALOG}.{NS}.plain_v")
            return catalogs, schemas, names, orders, view

    catalogs, schemas, names, orders, view = asyncio.run(scenario())
    assert CATALOG in [c.name for c in catalogs.catalogs]
    assert len(schemas.schemas) == 1 and schemas.next_page_token
    assert names == sorted([*UC_TABLES, "plain", "plain_v"])  # the hidden base of `customers` is not listed
    assert orders.table_type == TableType.EXTERNAL and orders.data_source_format.value == "DELTA"
    assert orders.table_id == tables["orders"]["table_id"]
    assert orders.storage_location == tables["orders"]["storage_location"]
    columns = [(c.name, c.type_name.value, c.type_text, c.position, c.partition_index) for c in orders.columns]
    assert columns == [
        ("id", "LONG", "bigint", 0, None),
        ("region", "STRING", "string", 1, 0),
        ("amount", "DECIMAL", "decimal(10,2)", 2, None),
        ("day", "DATE", "date", 3, None),
    ]
    assert (orders.columns[2].type_precision, orders.columns[2].type_scale) == (10, 2)
    assert orders.columns[2].type_json == '{"name":"amount","type":"decimal(10,2)","nullable":true,"metadata":{}}'
    assert view.table_type == TableType.VIEW and "plain" in view.view_definition


def test_uc_oss_client_vends_credentials_scoped_to_the_table(url: str, storage: dict, tables: dict):
    async def generate(table_id: str):
        async with uc_client(url) as client:
            request = GenerateTemporaryTableCredential(table_id=table_id, operation=TableOperation.READ)
            return await TemporaryCredentialsApi(client).generate_temporary_table_credentials(request)

    before = time.time()
    vended = asyncio.run(generate(tables["orders"]["table_id"]))
    assert vended.url == tables["orders"]["storage_location"]
    assert before + 3500 < vended.expiration_time / 1000 < time.time() + 3700
    s3 = s3_client(storage, vended.aws_temp_credentials.to_dict())
    bucket, orders, refused = "lakefed-uc", tables["orders"], tables["refused"]
    log = s3.get_object(Bucket=bucket, Key=key_of(orders, "_delta_log/00000000000000000000.json"))
    assert b'"metaData"' in log["Body"].read()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key_of(orders, "_delta_log/"))
    assert [o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]] == ["00000000000000000000.json"]
    # Nothing outside the table's prefix: another table's objects, listings, the whole bucket.
    other = key_of(refused, "_delta_log/00000000000000000000.json")
    assert s3_status(lambda: s3.get_object(Bucket=bucket, Key=other)) == 403
    assert s3_status(lambda: s3.list_objects_v2(Bucket=bucket, Prefix=key_of(refused, ""))) == 403
    assert s3_status(lambda: s3.list_objects_v2(Bucket=bucket)) == 403
    # READ credentials do not write.
    assert s3_status(lambda: s3.put_object(Bucket=bucket, Key=key_of(orders, "x"), Body=b"x")) == 403


def container_of(table: dict) -> tuple[str, str]:
    """(container, path in it) of an abfss:// table location."""
    location = table["storage_location"].removeprefix("abfss://")
    container, _, rest = location.partition("@")
    return container, rest.partition("/")[2]


def azure_status(call) -> int:
    try:
        call()
    except HttpResponseError as exc:
        return exc.status_code
    return 200


def test_clients_parse_azure_and_gcp_credentials(url: str, w: WorkspaceClient, tables: dict):
    async def generate(table_id: str):
        async with uc_client(url) as client:
            request = GenerateTemporaryTableCredential(table_id=table_id, operation=TableOperation.READ)
            return await TemporaryCredentialsApi(client).generate_temporary_table_credentials(request)

    azure, gcs = tables["orders_azure"], tables["orders_gcs"]
    assert azure["storage_location"].startswith("abfss://uc-") and gcs["storage_location"].startswith("gs://")
    vended = asyncio.run(generate(azure["table_id"]))
    assert vended.url == azure["storage_location"] and "sig=" in vended.azure_user_delegation_sas.sas_token
    assert vended.aws_temp_credentials is None and vended.gcp_oauth_token is None
    vended = asyncio.run(generate(gcs["table_id"]))
    assert vended.url == gcs["storage_location"] and vended.gcp_oauth_token.oauth_token
    api, read = w.temporary_table_credentials, sdk_catalog.TableOperation.READ
    sdk = api.generate_temporary_table_credentials(table_id=azure["table_id"], operation=read)
    assert "sig=" in sdk.azure_user_delegation_sas.sas_token and sdk.expiration_time > time.time() * 1000
    sdk = api.generate_temporary_table_credentials(table_id=gcs["table_id"], operation=read)
    assert sdk.gcp_oauth_token.oauth_token


def test_azure_sas_reaches_its_table_alone(url: str, storage: dict, tables: dict):
    orders, other = tables["orders_azure"], tables["refused_azure"]
    container, path = container_of(orders)
    sas = vend(url, orders["table_id"]).json()["azure_user_delegation_sas"]["sas_token"]
    client = ContainerClient(storage["azure_endpoint"], container, credential=sas)
    names = [b.name for b in client.list_blobs(name_starts_with=f"{path}/_delta_log/")]
    assert names == [f"{path}/_delta_log/00000000000000000000.json"]
    options = {"azure_storage_sas_key": sas, "azure_storage_endpoint": storage["azure_endpoint"], "allow_http": "true"}
    assert deltalake.DeltaTable(orders["storage_location"], storage_options=options).to_pyarrow_table().to_pylist() == (
        ORDERS_ROWS
    )
    # Another table's container, and writes with a READ token, are refused.
    elsewhere = ContainerClient(storage["azure_endpoint"], container_of(other)[0], credential=sas)
    assert azure_status(lambda: list(elsewhere.list_blobs())) == 403
    assert azure_status(lambda: client.upload_blob(f"{path}/x", b"x")) == 403
    # READ_WRITE writes; anonymous requests and expired tokens are refused.
    writer_sas = vend(url, orders["table_id"], operation="READ_WRITE").json()["azure_user_delegation_sas"]["sas_token"]
    writer = ContainerClient(storage["azure_endpoint"], container, credential=writer_sas)
    writer.upload_blob(f"{path}/scratch/probe", b"probe")
    writer.delete_blob(f"{path}/scratch/probe")
    anonymous = ContainerClient(storage["azure_endpoint"], container)
    assert azure_status(lambda: list(anonymous.list_blobs())) in (403, 404)
    settings(url, uc_credential_ttl_seconds=1)
    short = vend(url, orders["table_id"]).json()["azure_user_delegation_sas"]["sas_token"]
    time.sleep(2.1)
    expired = ContainerClient(storage["azure_endpoint"], container, credential=short)
    assert azure_status(lambda: list(expired.list_blobs())) == 403


def test_gcs_gate_admits_vended_tokens_for_their_table_only(url: str, storage: dict, tables: dict):
    orders, other = tables["orders_gcs"], tables["refused_gcs"]
    prefix = orders["storage_location"].removeprefix("gs://lakefed-uc/")
    token = vend(url, orders["table_id"]).json()["gcp_oauth_token"]["oauth_token"]
    gate = storage["gcs_endpoint"]

    def get(path: str, bearer: str | None = token, **params) -> requests.Response:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return requests.get(f"{gate}{path}", params=params, headers=headers, timeout=10)

    listed = get("/storage/v1/b/lakefed-uc/o", prefix=f"{prefix}/_delta_log/")
    assert [i["name"] for i in listed.json()["items"]] == [f"{prefix}/_delta_log/00000000000000000000.json"]
    log = get(f"/lakefed-uc/{prefix}/_delta_log/00000000000000000000.json")
    assert log.status_code == 200 and b'"metaData"' in log.content
    other_prefix = other["storage_location"].removeprefix("gs://lakefed-uc/")
    assert get(f"/lakefed-uc/{other_prefix}/_delta_log/00000000000000000000.json").status_code == 403
    assert get("/storage/v1/b/lakefed-uc/o", prefix=f"{other_prefix}/").status_code == 403
    assert get("/storage/v1/b/lakefed-uc/o").status_code == 403
    assert get(f"/lakefed-uc/{prefix}/_delta_log/00000000000000000000.json", bearer=None).status_code == 401
    assert get(f"/lakefed-uc/{prefix}/_delta_log/00000000000000000000.json", bearer="ya29.forged").status_code == 401
    upload = requests.post(
        f"{gate}/upload/storage/v1/b/lakefed-uc/o",
        params={"uploadType": "media", "name": f"{prefix}/x"},
        headers={"Authorization": f"Bearer {token}"},
        data=b"x",
        timeout=10,
    )
    assert upload.status_code == 403
    settings(url, uc_credential_ttl_seconds=1)
    short = vend(url, orders["table_id"]).json()["gcp_oauth_token"]["oauth_token"]
    time.sleep(1.1)
    assert get(f"/lakefed-uc/{prefix}/_delta_log/00000000000000000000.json", bearer=short).status_code == 401


def test_storage_refuses_unsigned_and_unknown_keys_and_hides_moto_api(storage: dict, tables: dict):
    key = key_of(tables["orders"], "_delta_log/00000000000000000000.json")
    anonymous = boto3.client(
        "s3",
        endpoint_url=storage["storage_endpoint"],
        region_name=REGION,
        config=botocore.config.Config(signature_version=botocore.UNSIGNED),
    )
    assert s3_status(lambda: anonymous.get_object(Bucket="lakefed-uc", Key=key)) == 403
    unknown_key = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x", "session_token": None}
    stranger = s3_client(storage, unknown_key)
    assert s3_status(lambda: stranger.get_object(Bucket="lakefed-uc", Key=key)) == 403
    moto_api = requests.post(f"{storage['storage_endpoint']}/moto-api/reset-auth", data=b"inf", timeout=10)
    assert moto_api.status_code == 403
    assert s3_status(lambda: anonymous.get_object(Bucket="lakefed-uc", Key=key)) == 403


def test_expired_credentials_are_refused_then_revoked(url: str, storage: dict, tables: dict):
    settings(url, uc_credential_ttl_seconds=2)
    revoked_before = stats(url).get("credentials_revoked", 0)
    vended = vend(url, tables["orders"]["table_id"]).json()
    assert vended["expiration_time"] / 1000 - time.time() < 2.5
    s3 = s3_client(storage, vended["aws_temp_credentials"])
    key = key_of(tables["orders"], "_delta_log/00000000000000000000.json")
    assert s3_status(lambda: s3.get_object(Bucket="lakefed-uc", Key=key)) == 200
    time.sleep(max(0.0, vended["expiration_time"] / 1000 - time.time()) + 0.3)
    assert s3_status(lambda: s3.get_object(Bucket="lakefed-uc", Key=key)) == 403
    deadline = time.monotonic() + 15  # the sweeper deletes the role policy within its period (5 s)
    while stats(url).get("credentials_revoked", 0) == revoked_before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stats(url).get("credentials_revoked", 0) > revoked_before
    assert s3_status(lambda: s3.get_object(Bucket="lakefed-uc", Key=key)) == 403


def test_sdk_tables_show_row_filter_and_masks(w: WorkspaceClient, tables: dict):
    customers = w.tables.get(f"{CATALOG}.{NS}.customers")
    assert customers.table_type == sdk_catalog.TableType.MANAGED
    assert customers.data_source_format == sdk_catalog.DataSourceFormat.DELTA
    assert customers.row_filter.function_name == f"{CATALOG}.{NS}.eu_only"
    assert customers.row_filter.input_column_names == ["region"]
    masks = {c.name: c.mask for c in customers.columns}
    assert masks["email"].function_name == f"{CATALOG}.{NS}.redact" and masks["email"].using_column_names == []
    assert masks["id"] is None and masks["name"] is None
    listed = {t.name: t for t in w.tables.list(catalog_name=CATALOG, schema_name=NS)}
    assert sorted(listed) == sorted([*UC_TABLES, "plain", "plain_v"])
    assert listed["orders"].storage_location == tables["orders"]["storage_location"]
    assert listed["customers"].row_filter.function_name == f"{CATALOG}.{NS}.eu_only"
    assert listed["plain"].data_source_format == sdk_catalog.DataSourceFormat.PARQUET
    assert listed["plain_v"].table_type == sdk_catalog.TableType.VIEW
    with pytest.raises(NotFound):
        w.tables.get(f"{CATALOG}.{NS}.__lakefed_uc_base_customers")


def test_sdk_vends_credentials_and_refuses_what_databricks_refuses(url: str, w: WorkspaceClient, tables: dict):
    before = stats(url).get("credentials_vended", 0)
    api = w.temporary_table_credentials
    vended = api.generate_temporary_table_credentials(
        table_id=tables["orders"]["table_id"], operation=sdk_catalog.TableOperation.READ
    )
    assert vended.url == tables["orders"]["storage_location"] and vended.aws_temp_credentials.session_token
    assert vended.expiration_time > time.time() * 1000
    assert stats(url)["credentials_vended"] == before + 1
    read = sdk_catalog.TableOperation.READ
    with pytest.raises(PermissionDenied, match="row filter or column masks"):
        api.generate_temporary_table_credentials(table_id=tables["customers"]["table_id"], operation=read)
    with pytest.raises(PermissionDenied, match="EXTERNAL USE SCHEMA"):
        api.generate_temporary_table_credentials(table_id=tables["refused"]["table_id"], operation=read)
    with pytest.raises(NotFound):
        api.generate_temporary_table_credentials(table_id="00000000-0000-4000-8000-000000000000", operation=read)
    for name in ("plain", "plain_v"):
        table_id = w.tables.get(f"{CATALOG}.{NS}.{name}").table_id
        with pytest.raises(BadRequest):
            api.generate_temporary_table_credentials(table_id=table_id, operation=read)
    with pytest.raises(BadRequest, match="cannot be written from outside"):
        api.generate_temporary_table_credentials(
            table_id=tables["managed"]["table_id"], operation=sdk_catalog.TableOperation.READ_WRITE
        )
    bad = vend(url, tables["orders"]["table_id"], operation="WRITE")
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert stats(url)["credentials_vended"] == before + 1


def test_read_write_credentials_write_an_external_table(url: str, storage: dict, tables: dict):
    vended = vend(url, tables["orders"]["table_id"], operation="READ_WRITE").json()
    s3 = s3_client(storage, vended["aws_temp_credentials"])
    key = key_of(tables["orders"], "scratch/probe")
    s3.put_object(Bucket="lakefed-uc", Key=key, Body=b"probe")
    assert s3.get_object(Bucket="lakefed-uc", Key=key)["Body"].read() == b"probe"
    s3.delete_object(Bucket="lakefed-uc", Key=key)
    assert s3_status(lambda: s3.put_object(Bucket="lakefed-uc", Key=key_of(tables["refused"], "x"), Body=b"x")) == 403


def test_credential_paths_setting(url: str, tables: dict):
    table_id = tables["orders"]["table_id"]
    assert vend(url, table_id, version="2.1").status_code == 200
    assert vend(url, table_id, version="2.0").status_code == 200
    settings(url, uc_credential_paths="oss")
    databricks = vend(url, table_id, version="2.0")
    assert databricks.status_code == 404 and databricks.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert vend(url, table_id, version="2.1").status_code == 200
    settings(url, uc_credential_paths="databricks")
    assert vend(url, table_id, version="2.1").json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert vend(url, table_id, version="2.0").status_code == 200
    refused = requests.post(f"{url}/emulator/settings", json={"uc_credential_paths": "neither"}, timeout=10)
    assert refused.status_code == 400


def test_deltalake_reads_through_vended_credentials_and_the_log_shows_it(url: str, storage: dict, tables: dict):
    requests.post(f"{url}/emulator/storage-log/clear", timeout=10).raise_for_status()
    credentials = vend(url, tables["orders"]["table_id"]).json()["aws_temp_credentials"]
    options = storage_options(storage, credentials)
    table = deltalake.DeltaTable(tables["orders"]["storage_location"], storage_options=options)
    assert table.version() == 0 and table.metadata().partition_columns == ["region"]
    assert sorted(table.to_pyarrow_table().to_pylist(), key=lambda r: r["id"]) == ORDERS_ROWS
    prefix = f"{CATALOG}/{NS}/orders/"
    reads = [e for e in storage_log(url, prefix) if e["method"] == "GET" and e["status"] in (200, 206)]
    assert {e["access_key_id"] for e in reads} == {credentials["access_key_id"]}
    assert any(e["key"] == prefix + "_delta_log/00000000000000000000.json" for e in reads)
    assert any(e["key"] and e["key"].endswith(".parquet") for e in reads)
    assert storage_log(url, f"{CATALOG}/{NS}/customers/") == []


def test_warehouse_answers_governed_table_with_filter_and_masks(url: str, w: WorkspaceClient, tables: dict):
    requests.post(f"{url}/emulator/storage-log/clear", timeout=10).raise_for_status()
    response = run(w, f"SELECT id, name, email, region FROM {CATALOG}.{NS}.customers ORDER BY id")
    assert response.status.state == StatementState.SUCCEEDED, response.status
    assert response.result.data_array == [["1", "Ada", "***", "EU"], ["3", "Eve", "***", "EU"]]
    orders = run(w, f"SELECT * FROM {CATALOG}.{NS}.orders ORDER BY id")
    assert orders.result.data_array == [
        ["1", "EU", "10.50", "2024-01-01"], ["2", "US", "20.25", "2024-01-02"], ["3", "EU", "5.00", "2024-01-03"],
    ]  # fmt: skip
    # The warehouse's column types are the Delta table's.
    manifest = [(c.name, c.type_text.lower()) for c in orders.manifest.schema.columns]
    assert manifest == [(c["name"], c["type_text"]) for c in tables["orders"]["columns"]]
    # No object of the governed table was read.
    assert storage_log(url, f"{CATALOG}/{NS}/customers/") == []


def test_append_delete_and_reset(url: str, storage: dict, w: WorkspaceClient, tables: dict):
    full_name = f"{CATALOG}.{NS}.events"
    created = requests.post(
        f"{url}/emulator/unity-catalog/tables", json={"full_name": full_name, "sql": "SELECT 1L AS id"}, timeout=120
    ).json()
    appended = requests.post(
        f"{url}/emulator/unity-catalog/tables/{full_name}/append", json={"sql": "SELECT 2 AS id"}, timeout=120
    )
    assert appended.status_code == 200 and appended.json()["table_id"] == created["table_id"]
    requests.post(f"{url}/emulator/reset", timeout=10).raise_for_status()  # keeps the tables
    credentials = vend(url, created["table_id"]).json()["aws_temp_credentials"]
    table = deltalake.DeltaTable(created["storage_location"], storage_options=storage_options(storage, credentials))
    assert table.version() == 1 and sorted(r["id"] for r in table.to_pyarrow_table().to_pylist()) == [1, 2]
    assert run(w, f"SELECT sum(id) FROM {full_name}").result.data_array == [["3"]]
    delta = requests.get(f"{url}/emulator/unity-catalog/tables/{full_name}/delta", timeout=60).json()
    assert delta["version"] == 1 and sorted(r["id"] for r in delta["rows"]) == [1, 2]
    assert requests.delete(f"{url}/emulator/unity-catalog/tables/{full_name}", timeout=60).status_code == 200
    with pytest.raises(NotFound):
        w.tables.get(full_name)
    assert run(w, f"SELECT 1 FROM {full_name}").status.state == StatementState.FAILED
    s3 = s3_client(storage, credentials)
    assert s3.list_objects_v2(Bucket="lakefed-uc", Prefix=key_of(created, "")).get("KeyCount") == 0
    assert requests.delete(f"{url}/emulator/unity-catalog/tables/{full_name}", timeout=60).status_code == 404


def test_file_tables_are_written_as_spark_writes_them(url: str, storage: dict, w: WorkspaceClient, tables: dict):
    sql = "SELECT * FROM VALUES (1L, 'EU', TIMESTAMP'2024-01-01 10:00:00'), (2L, NULL, NULL) AS t(id, region, at)"
    made = {}
    for data_source_format in ("PARQUET", "CSV", "JSON"):
        full_name = f"{CATALOG}.{NS}.files_{data_source_format.lower()}"
        body = {"full_name": full_name, "sql": sql, "data_source_format": data_source_format}
        requests.delete(f"{url}/emulator/unity-catalog/tables/{full_name}", timeout=60)
        created = requests.post(f"{url}/emulator/unity-catalog/tables", json=body, timeout=120)
        assert created.status_code == 200, created.text
        made[data_source_format] = created.json()
        assert w.tables.get(full_name).data_source_format.value == data_source_format
    for data_source_format, info in made.items():
        credentials = vend(url, info["table_id"]).json()["aws_temp_credentials"]
        s3 = s3_client(storage, credentials)
        listed = s3.list_objects_v2(Bucket="lakefed-uc", Prefix=key_of(info, ""))["Contents"]
        names = sorted(o["Key"].rsplit("/", 1)[1] for o in listed)
        assert names[0] == "_SUCCESS" and len(names) == 2, names
        assert names[1].startswith("part-00000-") and names[1].endswith("." + data_source_format.lower())
        body = s3.get_object(Bucket="lakefed-uc", Key=key_of(info, names[1]))["Body"].read()
        if data_source_format == "PARQUET":
            parquet = pyarrow.parquet.ParquetFile(io.BytesIO(body))
            assert parquet.schema.column(2).physical_type == "INT96"  # Spark's default
            assert parquet.read().column("id").to_pylist() == [1, 2]
        elif data_source_format == "CSV":
            assert body.decode().splitlines() == ['1,"EU",2024-01-01 10:00:00.000000Z', "2,,"]
        else:
            assert body.decode().splitlines() == ['{"id":1,"region":"EU","at":"2024-01-01T10:00:00+00:00"}', '{"id":2}']
    appended = requests.post(
        f"{url}/emulator/unity-catalog/tables/{CATALOG}.{NS}.files_json/append", json={"sql": "SELECT 3L AS id, 'US' AS region, CAST(NULL AS TIMESTAMP) AS at"}, timeout=120
    )
    assert appended.status_code == 200, appended.text
    assert run(w, f"SELECT count(*) FROM {CATALOG}.{NS}.files_json").result.data_array == [["3"]]
    delta = requests.get(f"{url}/emulator/unity-catalog/tables/{CATALOG}.{NS}.files_json/delta", timeout=60)
    assert delta.status_code == 400
    partitioned = {"full_name": f"{CATALOG}.{NS}.files_bad", "sql": sql, "data_source_format": "CSV", "partition_columns": ["region"]}
    refused = requests.post(f"{url}/emulator/unity-catalog/tables", json=partitioned, timeout=60)
    assert refused.status_code == 400 and "partition_columns" in refused.text
    for info in made.values():
        requests.delete(f"{url}/emulator/unity-catalog/tables/{info['full_name']}", timeout=60).raise_for_status()


def test_admin_api_refuses_bad_tables(url: str, tables: dict):
    def create(body: dict) -> requests.Response:
        return requests.post(f"{url}/emulator/unity-catalog/tables", json=body, timeout=120)

    existing = create({"full_name": f"{CATALOG}.{NS}.orders", "sql": "SELECT 1 AS id"})
    assert existing.status_code == 409 and existing.json()["error_code"] == "TABLE_ALREADY_EXISTS"
    assert create({"full_name": f"{CATALOG}.{NS}.plain", "sql": "SELECT 1 AS id"}).status_code == 409
    for body in [
        {"full_name": f"{NS}.two_parts", "sql": "SELECT 1 AS id"},
        {"full_name": f"{CATALOG}.{NS}.bad", "sql": "SELECT 1 AS id", "colour": "red"},
        {"full_name": f"{CATALOG}.{NS}.bad", "sql": "SELECT 1 AS id", "table_type": "VIEW"},
        {"full_name": f"{CATALOG}.{NS}.bad", "sql": "SELECT 1 AS id", "partition_columns": ["nope"]},
        {"full_name": f"{CATALOG}.{NS}.bad", "sql": "SELECT INTERVAL '1' DAY AS span"},  # Delta has no intervals
        {"full_name": f"{CATALOG}.{NS}.bad", "sql": "SELECT * FROM no_such_table"},
    ]:
        response = create(body)
        assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE", body
    assert "bad" not in [t["name"] for t in requests.get(
        f"{url}/api/2.1/unity-catalog/tables", params={"catalog_name": CATALOG, "schema_name": NS},
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
    ).json()["tables"]]  # fmt: skip


def test_missing_bucket_vends_credentials_that_find_nothing(url: str, storage: dict, tables: dict):
    vended = vend(url, tables["missing"]["table_id"]).json()
    assert vended["url"] == "s3://lakefed-uc-missing/tables/missing"
    s3 = s3_client(storage, vended["aws_temp_credentials"])
    key = "tables/missing/_delta_log/00000000000000000000.json"
    assert s3_status(lambda: s3.get_object(Bucket="lakefed-uc-missing", Key=key)) == 404


def test_duckdb_unity_catalog_extension_reads_the_delta_table(url: str, storage: dict, tables: dict):
    """DuckDB's extension lists the schema and vends credentials itself, but
    its S3 secret has no endpoint (it would go to AWS): a secret of ours with
    vended credentials, the loopback endpoint and a longer scope (DuckDB takes
    the longest matching scope) points its reads at the storage server."""
    credentials = vend(url, tables["orders"]["table_id"]).json()["aws_temp_credentials"]
    requests.post(f"{url}/emulator/storage-log/clear", timeout=10).raise_for_status()
    con = duckdb.connect()
    for extension in ("httpfs", "delta", "unity_catalog"):
        duckdb_extensions.import_extension(extension, con=con)
        con.execute(f"LOAD {extension}")
    con.execute(
        "CREATE SECRET uc (TYPE unity_catalog, TOKEN ?, ENDPOINT ?, AWS_REGION ?)".replace("?", "'{}'").format(
            TOKEN, url, REGION
        )
    )
    endpoint = storage["storage_endpoint"].removeprefix("http://")
    con.execute(
        "CREATE SECRET loopback (TYPE s3, KEY_ID '{}', SECRET '{}', SESSION_TOKEN '{}', REGION '{}', ENDPOINT '{}', "
        "URL_STYLE 'path', USE_SSL false, SCOPE '{}/')".format(
            credentials["access_key_id"], credentials["secret_access_key"], credentials["session_token"],
            REGION, endpoint, tables["orders"]["storage_location"],
        )
    )  # fmt: skip
    con.execute(f"ATTACH '{CATALOG}' AS uc (TYPE unity_catalog, SECRET uc, DEFAULT_SCHEMA '{NS}')")
    rows = con.execute(f"SELECT id, region, amount, day FROM uc.{NS}.orders ORDER BY id").fetchall()
    assert rows == [tuple(r.values()) for r in ORDERS_ROWS]
    log = storage_log(url, f"{CATALOG}/{NS}/orders/")
    reads = [e for e in log if e["method"] == "GET" and e["status"] in (200, 206)]
    assert reads and {e["access_key_id"] for e in reads} == {credentials["access_key_id"]}
