"""Against the workspace emulator (a Databricks SQL warehouse running on the
test Spark server; `scripts/test.sh` starts it and sets
LAKEFED_TEST_WORKSPACE_URL and its credentials): a Databricks table joined
with a Delta table, the SQL sent to the warehouse, and its errors; and its
Unity Catalog (Delta tables on the emulator's S3 server, whose endpoint is
in LAKEFED_TEST_UC_S3_ENDPOINT, and a governed table)."""

from __future__ import annotations

import os

import pytest

import lakefed
from conftest import SPARK_NS


def workspace(name: str) -> str:
    value = os.environ.get(f"LAKEFED_TEST_WORKSPACE_{name}")
    if not value:
        pytest.fail(
            f"LAKEFED_TEST_WORKSPACE_{name} is not set: start the emulator with "
            "`scripts/workspace-emulator.sh start` (scripts/test.sh does it and sets the variables)"
        )
    return value


@pytest.fixture()
def dbx_ctx(spark, delta_dir) -> lakefed.SessionContext:
    """The Delta fixtures plus the warehouse's `spark_catalog` as catalog `dbx`."""
    session = lakefed.SessionContext(progress=False)
    session.register_delta("orders", os.path.join(delta_dir, "orders"))
    session.register_databricks_sql(
        "dbx",
        host=workspace("URL"),
        token=workspace("TOKEN"),
        warehouse_id=workspace("WAREHOUSE"),
        catalog="spark_catalog",
    )
    return session


def test_join_of_a_databricks_table_and_a_delta_table(dbx_ctx):
    df = dbx_ctx.sql(
        f"""SELECT c.name, sum(o.amount) AS total
            FROM orders o JOIN dbx.{SPARK_NS}.customers c ON o.customer_id = c.customer_id
            WHERE c.country <> $1
            GROUP BY c.name ORDER BY c.name""",
        params=["NL"],
    )
    assert df.to_arrow().to_pylist() == [{"name": "Ada", "total": 7.5}, {"name": "Grace", "total": 7.5}]
    [(source, sql)] = df.remote_queries()
    assert source == "dbx"
    assert f"`spark_catalog`.`{SPARK_NS}`.`customers`" in sql and "'NL'" in sql


def test_databricks_types_round_trip_into_arrow(dbx_ctx):
    rows = dbx_ctx.sql(f"SELECT id, price, tags, point, attrs FROM dbx.{SPARK_NS}.types ORDER BY id").to_arrow()
    assert rows.to_pylist()[0]["tags"] == [1, None, 3]
    assert rows.to_pylist()[0]["point"] == {"x": 1.0, "label": "a"}
    assert str(rows.to_pylist()[0]["price"]) == "1.50"
    assert rows.to_pylist()[1]["tags"] is None


def test_warehouse_errors_keep_their_sqlstate(dbx_ctx):
    with pytest.raises(lakefed.PlanError, match="missing_table"):
        dbx_ctx.sql(f"SELECT * FROM dbx.{SPARK_NS}.missing_table")
    # Federated, the product is computed by the warehouse, whose ANSI mode raises on overflow.
    df = dbx_ctx.sql(f"SELECT sum(customer_id * 9223372036854775807) AS s FROM dbx.{SPARK_NS}.customers")
    with pytest.raises(lakefed.RemoteError) as raised:
        df.to_arrow()
    assert raised.value.sql_state == "22003"
    assert "127.0.0.1" in (raised.value.endpoint or "")


def test_a_bad_token_is_an_error_that_never_shows_it(spark):
    session = lakefed.SessionContext(progress=False)
    with pytest.raises(lakefed.RemoteError) as raised:
        session.register_databricks_sql(
            "dbx", host=workspace("URL"), token="dapi-wrong-secret", warehouse_id=workspace("WAREHOUSE")
        )
    assert "wrong-secret" not in str(raised.value)
    assert "personal access token" in str(raised.value)


def uc_table(full_name: str, body: dict) -> None:
    """(Re)creates `full_name` in the emulator's Unity Catalog (Delta on its
    S3 server, the same rows on its warehouse) through its admin API."""
    import json
    import urllib.error
    import urllib.request

    base = f"{workspace('URL')}/emulator/unity-catalog/tables"
    try:
        urllib.request.urlopen(urllib.request.Request(f"{base}/{full_name}", method="DELETE"))
    except urllib.error.HTTPError as err:
        assert err.code == 404, err
    request = urllib.request.Request(
        base,
        data=json.dumps({"full_name": full_name, **body}).encode(),
        headers={"content-type": "application/json"},
    )
    urllib.request.urlopen(request)


@pytest.fixture()
def uc_ctx(dbx_ctx) -> lakefed.SessionContext:
    """`dbx_ctx` plus the emulator's Unity Catalog as `uc`, answering governed tables on `dbx`."""
    prices = "SELECT * FROM VALUES (1L, CAST(2.50 AS DECIMAL(10, 2))), (2L, NULL) AS t(customer_id, price)"
    uc_table("spark_catalog.lakefed_py_uc.prices", {"sql": prices})
    secrets = "SELECT * FROM VALUES (1L, 'EU', 'x1'), (2L, 'US', 'x2') AS t(customer_id, region, secret)"
    eu_only = {"function_name": "spark_catalog.lakefed_py_uc.eu", "input_column_names": ["region"]}
    hidden = {"function_name": "spark_catalog.lakefed_py_uc.m", "using_column_names": [], "expression": "'***'"}
    uc_table(
        "spark_catalog.lakefed_py_uc.secrets",
        {"sql": secrets, "row_filter": {**eu_only, "condition": "region = 'EU'"}, "column_masks": {"secret": hidden}},
    )
    endpoint = os.environ.get("LAKEFED_TEST_UC_S3_ENDPOINT")
    if not endpoint:
        pytest.fail("LAKEFED_TEST_UC_S3_ENDPOINT is not set (scripts/test.sh sets it)")
    dbx_ctx.register_unity_catalog(
        "uc",
        url=workspace("URL"),
        token=workspace("TOKEN"),
        catalog="spark_catalog",
        compute="dbx",
        storage_options={"endpoint": endpoint, "allow_http": True, "force_path_style": True},
        cache_ttl=5,
    )
    return dbx_ctx


def test_unity_catalog_tables_read_from_storage_and_through_the_warehouse(uc_ctx):
    df = uc_ctx.sql(
        """SELECT p.customer_id, p.price, s.secret
           FROM uc.lakefed_py_uc.prices p LEFT JOIN uc.lakefed_py_uc.secrets s USING (customer_id)
           ORDER BY p.customer_id"""
    )
    rows = df.to_arrow().to_pylist()
    assert [(r["customer_id"], str(r["price"]), r["secret"]) for r in rows] == [(1, "2.50", "***"), (2, "None", None)]
    # Only the governed table goes to the warehouse; the other is read from storage.
    [(source, sql)] = df.remote_queries()
    assert source == "uc via dbx"
    assert "`lakefed_py_uc`.`secrets`" in sql


def test_unity_catalog_bad_route_is_a_value_error(dbx_ctx):
    with pytest.raises(ValueError, match="route must be"):
        dbx_ctx.register_unity_catalog("uc", url=workspace("URL"), route="sometimes")
