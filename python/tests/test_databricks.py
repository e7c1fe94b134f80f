"""Against the workspace emulator (a Databricks SQL warehouse running on the
test Spark server; `scripts/test.sh` starts it and sets
LAKEFED_TEST_WORKSPACE_URL and its credentials): a Databricks table joined
with a Delta table, the SQL sent to the warehouse, and its errors."""

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
