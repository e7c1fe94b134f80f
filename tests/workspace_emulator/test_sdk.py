"""The workspace emulator (scripts/workspace_emulator) checked with the
official `databricks-sdk` client, against a running emulator whose URL is in
LAKEFED_TEST_WORKSPACE_URL; without it every test fails (none is skipped):

    scripts/spark-server.sh start
    export LAKEFED_TEST_WORKSPACE_URL="$(scripts/workspace-emulator.sh start)"
    .venv/bin/pytest tests/workspace_emulator -q

The tables the tests read live in the Spark namespace `lakefed_ws_test`,
created afresh at the start of the session."""

from __future__ import annotations

import base64
import io
import os
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, NotFound, Unauthenticated
from databricks.sdk.errors import NotImplemented as NotImplementedByWarehouse
from databricks.sdk.service.sql import (
    Disposition,
    ExecuteStatementRequestOnWaitTimeout,
    Format,
    StatementParameterListItem,
    StatementResponse,
    StatementState,
)

TOKEN = os.environ.get("LAKEFED_WORKSPACE_TOKEN", "dapi-lakefed-test-token")
CLIENT_ID = os.environ.get("LAKEFED_WORKSPACE_CLIENT_ID", "lakefed-sp")
CLIENT_SECRET = os.environ.get("LAKEFED_WORKSPACE_CLIENT_SECRET", "lakefed-sp-secret")
WAREHOUSE = os.environ.get("LAKEFED_WORKSPACE_WAREHOUSE_ID", "lakefed-wh")
CATALOG = "spark_catalog"
NS = "lakefed_ws_test"
TERMINAL = (StatementState.SUCCEEDED, StatementState.FAILED, StatementState.CANCELED, StatementState.CLOSED)
# Runs for minutes unless interrupted.
ENDLESS = "SELECT count(*) FROM range(1000000000000) a"


def sleep_sql(millis: int) -> str:
    return f"SELECT reflect('java.lang.Thread', 'sleep', CAST({millis} AS BIGINT)) AS slept"


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


@pytest.fixture(scope="session", autouse=True)
def tables(w: WorkspaceClient) -> None:
    """The fixture tables, created through the emulator itself."""
    for statement in [
        f"DROP NAMESPACE IF EXISTS {NS} CASCADE",
        f"CREATE NAMESPACE {NS} COMMENT 'workspace emulator tests'",
        f"""CREATE TABLE {NS}.types (
            id BIGINT COMMENT 'row id', flag BOOLEAN, small TINYINT, price DECIMAL(10,2),
            big_dec DECIMAL(38,18), ratio DOUBLE, f FLOAT, name STRING, code CHAR(3), raw BINARY,
            day DATE, ts TIMESTAMP, ntz TIMESTAMP_NTZ, span INTERVAL DAY TO SECOND,
            months INTERVAL YEAR TO MONTH, tags ARRAY<INT>, point STRUCT<x: DOUBLE, label: STRING>,
            attrs MAP<STRING, BIGINT>) USING parquet COMMENT 'every value kind'""",
        f"""INSERT INTO {NS}.types VALUES
            (1, true, -128, 1.50, 12345678901234567890.123456789012345678, 0.5, 0.1, 'it''s', 'abc',
             X'00FF', DATE'2024-02-29', TIMESTAMP'2024-03-10 12:34:56.789012', TIMESTAMP_NTZ'2024-03-10 12:34:56',
             INTERVAL '1 02:03:04.5' DAY TO SECOND, INTERVAL '1-6' YEAR TO MONTH, array(1, NULL, 3),
             named_struct('x', 1.0D, 'label', 'a'), map('a', 1L, 'b', NULL)),
            (2, NULL, NULL, NULL, NULL, 1e10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             NULL, NULL)""",
        *[f"CREATE TABLE {NS}.t{i} (id INT) USING parquet" for i in range(5)],
        f"CREATE VIEW {NS}.v AS SELECT id FROM {NS}.t0",
    ]:
        response = run(w, statement)
        assert response.status.state == StatementState.SUCCEEDED, (statement, response.status)


@pytest.fixture(autouse=True)
def default_settings(url: str):
    yield
    requests.post(f"{url}/emulator/reset", timeout=10).raise_for_status()


def run(w: WorkspaceClient, statement: str, **kwargs) -> StatementResponse:
    kwargs.setdefault("wait_timeout", "30s")
    return w.statement_execution.execute_statement(statement=statement, warehouse_id=WAREHOUSE, **kwargs)


def poll(w: WorkspaceClient, statement_id: str, timeout: float = 60) -> StatementResponse:
    deadline = time.monotonic() + timeout
    while True:
        response = w.statement_execution.get_statement(statement_id)
        if response.status.state in TERMINAL or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def settings(url: str, **changes) -> dict:
    response = requests.post(f"{url}/emulator/settings", json=changes, timeout=10)
    response.raise_for_status()
    return response.json()


def stats(url: str) -> dict:
    return requests.get(f"{url}/emulator/stats", timeout=10).json()


def download_arrow(link) -> pa.Table:
    assert link.external_link.startswith("http")
    response = requests.get(link.external_link, headers=link.http_headers or {}, timeout=60)
    response.raise_for_status()
    return pa.ipc.open_stream(io.BytesIO(response.content)).read_all()


def test_inline_json_array_with_typed_parameters(w: WorkspaceClient):
    text = 'it\'s "quoted" ${env:HOME} :i'
    response = run(
        w,
        "SELECT :s AS s, :i AS i, :d AS d, :day AS day, :ts AS ts, :missing AS missing, "
        "typeof(:i) AS ti, typeof(:day) AS tday, typeof(:ts) AS tts",
        parameters=[
            StatementParameterListItem(name="s", value=text),
            StatementParameterListItem(name="i", value="42", type="INT"),
            StatementParameterListItem(name="d", value="12.345", type="DECIMAL(10,2)"),
            StatementParameterListItem(name="day", value="2024-02-29", type="DATE"),
            StatementParameterListItem(name="ts", value="2024-02-29T12:34:56.789", type="TIMESTAMP"),
            StatementParameterListItem(name="missing", type="BIGINT"),
        ],
    )
    assert response.status.state == StatementState.SUCCEEDED, response.status
    assert response.result.data_array == [
        [text, "42", "12.35", "2024-02-29", "2024-02-29T12:34:56.789Z", None, "int", "date", "timestamp"]
    ]
    columns = {c.name: c for c in response.manifest.schema.columns}
    assert columns["i"].type_name.value == "INT" and columns["i"].type_text == "INT"
    # Scale as declared; the precision is the value's own (Spark substitutes parameter literals).
    assert columns["d"].type_name.value == "DECIMAL" and columns["d"].type_scale == 2
    assert columns["ts"].type_text == "TIMESTAMP" and columns["missing"].type_text == "BIGINT"
    assert response.manifest.format == Format.JSON_ARRAY
    assert response.manifest.total_row_count == 1 and response.manifest.truncated is False


def test_json_array_values_of_every_type(w: WorkspaceClient):
    response = run(w, f"SELECT * FROM {NS}.types ORDER BY id")
    assert response.status.state == StatementState.SUCCEEDED, response.status
    first, second = response.result.data_array
    assert first == [
        "1", "true", "-128", "1.50", "12345678901234567890.123456789012345678", "0.5", "0.1", "it's", "abc",
        "00FF", "2024-02-29", "2024-03-10T12:34:56.789012Z", "2024-03-10T12:34:56.000", "1 02:03:04.500000000",
        "1-6", "[1,null,3]", '{"x":1.0,"label":"a"}', '{"a":1,"b":null}',
    ]  # fmt: skip
    assert second == ["2", None, None, None, None, "1.0E10"] + [None] * 12
    texts = [(c.type_name.value, c.type_text) for c in response.manifest.schema.columns]
    assert texts[3] == ("DECIMAL", "DECIMAL(10,2)")
    assert texts[12] == ("TIMESTAMP", "TIMESTAMP_NTZ")
    assert texts[13] == ("INTERVAL", "INTERVAL DAY TO SECOND")
    assert texts[15:] == [("ARRAY", "ARRAY<INT>"), ("STRUCT", "STRUCT<x: DOUBLE, label: STRING>"),
                          ("MAP", "MAP<STRING, BIGINT>")]  # fmt: skip
    assert response.manifest.schema.columns[13].type_interval_type == "DAY TO SECOND"


def test_statement_catalog_and_schema_do_not_leak(w: WorkspaceClient):
    scoped = run(w, "SELECT current_catalog(), current_schema(), count(*) FROM t0", catalog=CATALOG, schema=NS)
    assert scoped.result.data_array == [[CATALOG, NS, "0"]]
    unscoped = run(w, "SELECT current_schema()")
    assert unscoped.result.data_array == [["default"]]


def test_inline_chunks_and_row_limit(url: str, w: WorkspaceClient):
    settings(url, chunk_rows=3)
    response = run(w, "SELECT id FROM range(10)")
    manifest = response.manifest
    assert manifest.total_chunk_count == 4 and [c.row_count for c in manifest.chunks] == [3, 3, 3, 1]
    rows, chunk = [], response.result
    while True:
        rows += chunk.data_array
        if chunk.next_chunk_index is None:
            break
        assert chunk.next_chunk_internal_link.endswith(f"/result/chunks/{chunk.next_chunk_index}")
        chunk = w.statement_execution.get_statement_result_chunk_n(response.statement_id, chunk.next_chunk_index)
    assert rows == [[str(i)] for i in range(10)]
    limited = run(w, "SELECT id FROM range(100)", row_limit=7)
    assert limited.manifest.total_row_count == 7 and limited.manifest.truncated is True
    exact = run(w, "SELECT id FROM range(7)", row_limit=7)
    assert exact.manifest.total_row_count == 7 and exact.manifest.truncated is False


def test_external_links_arrow_stream_chunks_match_spark(url: str, w: WorkspaceClient):
    before = stats(url)
    response = run(
        w,
        "SELECT id, id * 2 AS twice FROM range(1000000)",
        disposition=Disposition.EXTERNAL_LINKS,
        format=Format.ARROW_STREAM,
    )
    assert response.status.state == StatementState.SUCCEEDED, response.status
    manifest = response.manifest
    assert manifest.total_row_count == 1_000_000 and manifest.total_chunk_count > 1
    assert sum(c.row_count for c in manifest.chunks) == 1_000_000
    assert manifest.total_byte_count == sum(c.byte_count for c in manifest.chunks)
    tables = []
    for info in manifest.chunks:
        chunk = w.statement_execution.get_statement_result_chunk_n(response.statement_id, info.chunk_index)
        (link,) = chunk.external_links
        assert (link.chunk_index, link.row_offset, link.row_count) == (
            info.chunk_index,
            info.row_offset,
            info.row_count,
        )
        table = download_arrow(link)
        assert table.num_rows == info.row_count and table.column("id")[0].as_py() == info.row_offset
        tables.append(table)
    result = pa.concat_tables(tables)
    expected = run(w, "SELECT sum(id), sum(id * 2), count(*) FROM range(1000000)").result.data_array
    sums = [str(pc.sum(result[name]).as_py()) for name in ("id", "twice")]
    assert [[*sums, str(result.num_rows)]] == expected
    after = stats(url)
    assert after["chunk_downloads"] - before.get("chunk_downloads", 0) == manifest.total_chunk_count
    assert after["bytes_served"] - before.get("bytes_served", 0) == manifest.total_byte_count


def test_arrow_complex_as_strings_sends_nested_and_interval_columns_as_text(url: str, w: WorkspaceClient):
    settings(url, arrow_complex_as_strings=True)
    sql = "SELECT 1 AS i, array(1, NULL) AS a, named_struct('x', 'y') AS s, INTERVAL '1-2' YEAR TO MONTH AS ym"
    response = run(w, sql, disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    assert response.status.state == StatementState.SUCCEEDED, response.status
    types = [c.type_name.value for c in response.manifest.schema.columns]
    assert types == ["INT", "ARRAY", "STRUCT", "INTERVAL"]
    table = download_arrow(response.result.external_links[0])
    assert [str(t) for t in table.schema.types] == ["int32", "string", "string", "string"]
    assert table.to_pylist() == [{"i": 1, "a": "[1,null]", "s": '{"x":"y"}', "ym": "1-2"}]


def test_external_links_json_array_and_csv(w: WorkspaceClient):
    statement = "SELECT id, IF(id = 1, NULL, concat('id-', id)) AS label FROM range(3)"
    json_result = run(w, statement, disposition=Disposition.EXTERNAL_LINKS, format=Format.JSON_ARRAY)
    (link,) = json_result.result.external_links
    assert requests.get(link.external_link, timeout=30).json() == [["0", "id-0"], ["1", None], ["2", "id-2"]]
    csv_result = run(w, statement, disposition=Disposition.EXTERNAL_LINKS, format=Format.CSV)
    (link,) = csv_result.result.external_links
    assert requests.get(link.external_link, timeout=30).text.splitlines() == ["id,label", "0,id-0", "1,null", "2,id-2"]


def test_external_link_refuses_authorization_header(url: str, w: WorkspaceClient):
    response = run(w, "SELECT 1 AS one", disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    (link,) = response.result.external_links
    before = stats(url).get("link_refused_authorization", 0)
    refused = requests.get(link.external_link, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert refused.status_code == 400 and "<Code>InvalidArgument</Code>" in refused.text
    assert stats(url)["link_refused_authorization"] == before + 1
    assert download_arrow(link).to_pylist() == [{"one": 1}]


def test_expired_link_is_refused_and_a_new_one_works(url: str, w: WorkspaceClient):
    settings(url, link_ttl_seconds=1)
    response = run(w, "SELECT 7 AS seven", disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    (link,) = response.result.external_links
    time.sleep(1.2)
    expired = requests.get(link.external_link, timeout=30)
    assert expired.status_code == 403 and "Request has expired" in expired.text
    settings(url, link_ttl_seconds=900)
    (fresh,) = w.statement_execution.get_statement_result_chunk_n(response.statement_id, 0).external_links
    assert fresh.external_link != link.external_link
    assert download_arrow(fresh).to_pylist() == [{"seven": 7}]


def test_link_http_headers_are_required(url: str, w: WorkspaceClient):
    settings(url, link_http_headers={"x-amz-server-side-encryption-customer-key": "secret-key"})
    response = run(w, "SELECT 1 AS one", disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    (link,) = response.result.external_links
    assert link.http_headers == {"x-amz-server-side-encryption-customer-key": "secret-key"}
    assert requests.get(link.external_link, timeout=30).status_code == 400
    assert download_arrow(link).num_rows == 1


def test_statement_slower_than_wait_timeout_is_polled(w: WorkspaceClient):
    started = time.monotonic()
    response = run(w, sleep_sql(6500), wait_timeout="5s")
    assert 4.5 <= time.monotonic() - started < 6.4
    assert response.status.state in (StatementState.PENDING, StatementState.RUNNING)
    assert response.manifest is None and response.result is None
    finished = poll(w, response.statement_id)
    assert finished.status.state == StatementState.SUCCEEDED
    assert finished.result.data_array == [["null"]]
    asynchronous = run(w, "SELECT 1", wait_timeout="0s")
    assert asynchronous.status.state in (StatementState.PENDING, StatementState.RUNNING)
    assert poll(w, asynchronous.statement_id).result.data_array == [["1"]]


def test_cancel_interrupts_the_spark_job(url: str, w: WorkspaceClient):
    before = stats(url)
    response = run(w, ENDLESS, wait_timeout="0s")
    deadline = time.monotonic() + 30
    while w.statement_execution.get_statement(response.statement_id).status.state != StatementState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.5)  # the Spark job is under way
    canceled_at = time.monotonic()
    w.statement_execution.cancel_execution(response.statement_id)
    final = poll(w, response.statement_id, timeout=30)
    assert final.status.state == StatementState.CANCELED
    assert time.monotonic() - canceled_at < 10
    after = stats(url)
    assert after["cancels_received"] == before.get("cancels_received", 0) + 1
    assert after["spark_operations_interrupted"] > before.get("spark_operations_interrupted", 0)
    assert after["running_statements"] == 0
    # Spark is free again: a statement that needs the cluster finishes promptly.
    started = time.monotonic()
    assert run(w, "SELECT count(*) FROM range(1000000)").result.data_array == [["1000000"]]
    assert time.monotonic() - started < 10


def test_wait_timeout_with_cancel(w: WorkspaceClient):
    started = time.monotonic()
    response = run(w, ENDLESS, wait_timeout="5s", on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CANCEL)
    assert response.status.state == StatementState.CANCELED
    assert time.monotonic() - started < 15


def test_failed_statement_reports_spark_error(w: WorkspaceClient):
    response = run(w, f"SELECT * FROM {NS}.no_such_table")
    assert response.status.state == StatementState.FAILED
    assert response.status.error.error_code.value == "BAD_REQUEST"
    assert response.status.error.message.startswith("[TABLE_OR_VIEW_NOT_FOUND]")
    assert response.status.sql_state == "42P01"
    assert response.manifest is None
    cast = run(w, "SELECT :n AS n", parameters=[StatementParameterListItem(name="n", value="abc", type="INT")])
    assert cast.status.state == StatementState.FAILED and cast.status.sql_state == "22018"


def test_inline_result_over_the_limit_fails(url: str, w: WorkspaceClient):
    settings(url, inline_byte_limit=1000)
    response = run(w, "SELECT id FROM range(1000)")
    assert response.status.state == StatementState.FAILED
    assert "EXTERNAL_LINKS" in response.status.error.message
    links = run(w, "SELECT id FROM range(1000)", disposition=Disposition.EXTERNAL_LINKS, format=Format.JSON_ARRAY)
    assert links.status.state == StatementState.SUCCEEDED


def test_requests_the_reference_refuses(w: WorkspaceClient):
    with pytest.raises(BadRequest):
        run(w, "SELECT 1", wait_timeout="3s")
    with pytest.raises(BadRequest, match="JSON_ARRAY"):
        run(w, "SELECT 1", disposition=Disposition.INLINE, format=Format.ARROW_STREAM)
    with pytest.raises(BadRequest):
        run(w, "SELECT :a", parameters=[StatementParameterListItem(name="a", value="[1]", type="ARRAY<INT>")])
    with pytest.raises(NotFound):
        w.statement_execution.execute_statement(statement="SELECT 1", warehouse_id="no-such-warehouse")
    with pytest.raises(NotFound):
        w.statement_execution.get_statement("00000000-0000-0000-0000-000000000000")


def test_warehouse_variants(url: str, w: WorkspaceClient):
    settings(url, external_links_refused=True)
    with pytest.raises(NotImplementedByWarehouse):
        run(w, "SELECT 1", disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    settings(url, external_links_refused=False, inline_arrow_required=True)
    with pytest.raises(BadRequest, match="ARROW_STREAM"):
        run(w, "SELECT 1")
    # The SDK's ResultData has no `attachment`: read the inline Arrow bytes raw.
    body = requests.post(
        f"{url}/api/2.0/sql/statements",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"statement": "SELECT 5 AS five", "warehouse_id": WAREHOUSE, "format": "ARROW_STREAM"},
        timeout=30,
    ).json()
    attachment = base64.b64decode(body["result"]["attachment"])
    assert pa.ipc.open_stream(attachment).read_all().to_pylist() == [{"five": 5}]


def test_results_close_after_their_ttl(url: str, w: WorkspaceClient):
    settings(url, result_ttl_seconds=1)
    response = run(w, "SELECT 1", disposition=Disposition.EXTERNAL_LINKS, format=Format.ARROW_STREAM)
    (link,) = response.result.external_links
    time.sleep(1.2)
    assert w.statement_execution.get_statement(response.statement_id).status.state == StatementState.CLOSED
    with pytest.raises(BadRequest):
        w.statement_execution.get_statement_result_chunk_n(response.statement_id, 0)
    assert requests.get(link.external_link, timeout=30).status_code == 404


def test_retry_after_503_is_honoured_by_the_sdk(url: str, w: WorkspaceClient):
    before = stats(url).get("faults_injected", 0)
    settings(url, fail_next=[{"path_prefix": "/api/2.0/sql/statements", "status": 503, "retry_after": 1, "count": 2}])
    started = time.monotonic()
    response = run(w, "SELECT 3")
    assert response.result.data_array == [["3"]]
    assert time.monotonic() - started >= 2
    assert stats(url)["faults_injected"] == before + 2
    settings(url, fail_next=[{"path_prefix": "/api/", "status": 429, "count": 1}])
    raw = requests.get(
        f"{url}/api/2.1/unity-catalog/catalogs", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "1"
    assert raw.json()["error_code"] == "RESOURCE_EXHAUSTED"


def test_unity_catalog_listing(url: str, w: WorkspaceClient):
    assert CATALOG in [c.name for c in w.catalogs.list()]
    schemas = {s.name: s for s in w.schemas.list(catalog_name=CATALOG)}
    assert schemas[NS].full_name == f"{CATALOG}.{NS}" and schemas[NS].comment == "workspace emulator tests"
    before = stats(url)["requests"].get("GET /api/2.1/unity-catalog/tables", 0)
    tables = list(w.tables.list(catalog_name=CATALOG, schema_name=NS, max_results=3))
    assert [t.name for t in tables] == ["t0", "t1", "t2", "t3", "t4", "types", "v"]
    assert stats(url)["requests"]["GET /api/2.1/unity-catalog/tables"] - before == 3  # pages of 3, 3 and 1
    by_name = {t.name: t for t in tables}
    assert by_name["v"].table_type.value == "VIEW" and by_name["t0"].table_type.value == "MANAGED"
    assert by_name["t0"].data_source_format.value == "PARQUET"
    with pytest.raises(NotFound):
        list(w.tables.list(catalog_name=CATALOG, schema_name="no_such_schema"))
    with pytest.raises(NotFound):
        w.tables.get(f"{CATALOG}.{NS}.no_such_table")


def test_unity_catalog_table_columns(w: WorkspaceClient):
    table = w.tables.get(f"{CATALOG}.{NS}.types")
    assert (table.catalog_name, table.schema_name, table.name, table.full_name) == (
        CATALOG, NS, "types", f"{CATALOG}.{NS}.types",
    )  # fmt: skip
    assert table.comment == "every value kind" and table.table_type.value == "MANAGED"
    columns = {c.name: c for c in table.columns}
    assert [c.position for c in table.columns] == list(range(18))
    described = {name: (c.type_text, c.type_name.value) for name, c in columns.items()}
    assert described == {
        "id": ("bigint", "LONG"), "flag": ("boolean", "BOOLEAN"), "small": ("tinyint", "BYTE"),
        "price": ("decimal(10,2)", "DECIMAL"), "big_dec": ("decimal(38,18)", "DECIMAL"), "ratio": ("double", "DOUBLE"),
        "f": ("float", "FLOAT"), "name": ("string", "STRING"), "code": ("char(3)", "CHAR"), "raw": ("binary", "BINARY"),
        "day": ("date", "DATE"), "ts": ("timestamp", "TIMESTAMP"), "ntz": ("timestamp_ntz", "TIMESTAMP_NTZ"),
        "span": ("interval day to second", "INTERVAL"), "months": ("interval year to month", "INTERVAL"),
        "tags": ("array<int>", "ARRAY"), "point": ("struct<x:double,label:string>", "STRUCT"),
        "attrs": ("map<string,bigint>", "MAP"),
    }  # fmt: skip
    assert columns["id"].comment == "row id"
    assert columns["id"].type_json == '{"name":"id","type":"long","nullable":true,"metadata":{"comment":"row id"}}'
    assert (columns["big_dec"].type_precision, columns["big_dec"].type_scale) == (38, 18)
    assert columns["tags"].type_json == (
        '{"name":"tags","type":{"type":"array","elementType":"integer","containsNull":true},'
        '"nullable":true,"metadata":{}}'
    )
    assert columns["span"].type_interval_type == "DAY TO SECOND"
    assert all(c.nullable for c in table.columns)
    # The same three-part name in SQL reads the same table.
    assert run(w, f"SELECT count(*) FROM {table.full_name}").result.data_array == [["2"]]


def test_oauth_m2m_with_the_sdk(url: str):
    oauth = WorkspaceClient(host=url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert oauth.config.auth_type == "oauth-m2m"
    assert run(oauth, "SELECT 'oauth'").result.data_array == [["oauth"]]
    assert NS in [s.name for s in oauth.schemas.list(catalog_name=CATALOG)]


def test_oauth_token_endpoint_and_expiry(url: str):
    settings(url, token_ttl_seconds=1)
    metadata = requests.get(f"{url}/oidc/.well-known/oauth-authorization-server", timeout=10).json()
    token_endpoint = metadata["token_endpoint"]
    form = {"grant_type": "client_credentials", "scope": "all-apis"}
    basic = requests.post(token_endpoint, data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10).json()
    assert basic["token_type"] == "Bearer" and basic["expires_in"] == 1 and basic["scope"] == "all-apis"
    posted = requests.post(
        token_endpoint, data={**form, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, timeout=10
    )
    assert posted.status_code == 200
    wrong = requests.post(token_endpoint, data=form, auth=(CLIENT_ID, "wrong"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    catalogs = f"{url}/api/2.1/unity-catalog/catalogs"
    headers = {"Authorization": f"Bearer {basic['access_token']}"}
    assert requests.get(catalogs, headers=headers, timeout=30).status_code == 200
    time.sleep(1.2)
    expired = requests.get(catalogs, headers=headers, timeout=30)
    assert expired.status_code == 401 and expired.json()["error_code"] == "UNAUTHENTICATED"


def test_bad_or_missing_token_is_refused(url: str):
    bad = WorkspaceClient(host=url, token="dapi-wrong")
    with pytest.raises(Unauthenticated):
        run(bad, "SELECT 1")
    with pytest.raises(Unauthenticated):
        list(bad.schemas.list(catalog_name=CATALOG))
    anonymous = requests.get(f"{url}/api/2.1/unity-catalog/catalogs", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error_code"] == "UNAUTHENTICATED"


def test_host_metadata_the_sdk_probes(url: str, w: WorkspaceClient):
    metadata = requests.get(f"{url}/.well-known/databricks-config", timeout=10).json()
    assert metadata["oidc_endpoint"] == f"{url}/oidc"
    assert w.config.workspace_id == metadata["workspace_id"]
