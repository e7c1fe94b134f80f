"""Fixtures: Delta tables written with the `deltalake` package, and tables in
the real local Spark Connect server whose URL is in LAKEFED_TEST_SPARK_URL
(`scripts/test.sh` starts it and sets the variable; without it the Spark
tests fail, they never skip)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest
from deltalake import write_deltalake

import lakefed

SPARK_NS = "lakefed_py"

UTC = dt.timezone.utc

# Every value kind the round-trip tests check, with NULLs in every column.
TYPES = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "small": pa.array([-128, 127, None], pa.int8()),
        "price": pa.array([Decimal("1.50"), Decimal("-99999999.99"), None], pa.decimal128(10, 2)),
        "big_dec": pa.array(
            [Decimal("12345678901234567890.123456789012345678"), Decimal("-0.000000000000000001"), None],
            pa.decimal128(38, 18),
        ),
        "ratio": pa.array([0.5, float("inf"), None], pa.float64()),
        "name": pa.array(["it's", "héllo ✓", None], pa.string()),
        "raw": pa.array([b"\x00\xff", b"", None], pa.binary()),
        "flag": pa.array([True, False, None], pa.bool_()),
        "day": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None], pa.date32()),
        "ts": pa.array(
            [dt.datetime(2024, 3, 10, 12, 34, 56, 789012, tzinfo=UTC), dt.datetime(1970, 1, 1, tzinfo=UTC), None],
            pa.timestamp("us", tz="UTC"),
        ),
        "ntz": pa.array(
            [dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1, 1, 1), None], pa.timestamp("us")
        ),
        "tags": pa.array([[1, None, 3], [], None], pa.list_(pa.int32())),
        "point": pa.array(
            [{"x": 1.0, "label": "a"}, {"x": None, "label": None}, None],
            pa.struct([("x", pa.float64()), ("label", pa.string())]),
        ),
        "attrs": pa.array([[("a", 1), ("b", None)], [], None], pa.map_(pa.string(), pa.int64())),
    }
)


def spark_url() -> str:
    url = os.environ.get("LAKEFED_TEST_SPARK_URL")
    if not url:
        pytest.fail(
            "LAKEFED_TEST_SPARK_URL is not set: start a server with `scripts/spark-server.sh start` "
            "and export the URL it prints (scripts/test.sh does both)"
        )
    return url


@pytest.fixture(scope="session")
def delta_dir(tmp_path_factory) -> str:
    """A directory of Delta tables: `types` (TYPES), `orders` (two versions)."""
    root = tmp_path_factory.mktemp("delta")
    write_deltalake(str(root / "types"), TYPES)
    orders = root / "orders"
    write_deltalake(str(orders), pa.table({"order_id": [1, 2], "customer_id": [10, 20], "amount": [5.0, 7.5]}))
    write_deltalake(
        str(orders), pa.table({"order_id": [3], "customer_id": [10], "amount": [2.5]}), mode="append"
    )
    return str(root)


@pytest.fixture()
def ctx(delta_dir) -> lakefed.SessionContext:
    """A session with the Delta fixtures registered as tables."""
    session = lakefed.SessionContext(progress=False)
    session.register_delta("types", os.path.join(delta_dir, "types"))
    session.register_delta("orders", os.path.join(delta_dir, "orders"))
    return session


@pytest.fixture(scope="session")
def spark():
    """A pyspark session on the test server with the Spark fixtures created."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(spark_url()).getOrCreate()
    for statement in [
        f"DROP NAMESPACE IF EXISTS {SPARK_NS} CASCADE",
        f"CREATE NAMESPACE {SPARK_NS}",
        f"CREATE TABLE {SPARK_NS}.customers (customer_id BIGINT, name STRING, country STRING) USING parquet",
        f"INSERT INTO {SPARK_NS}.customers VALUES (10, 'Ada', 'GB'), (20, 'Grace', 'US'), (30, 'Edsger', 'NL')",
        f"""CREATE VIEW {SPARK_NS}.types AS SELECT * FROM VALUES
            (1, CAST(1.50 AS DECIMAL(10, 2)), TIMESTAMP'2024-03-10 12:34:56.789012',
             TIMESTAMP_NTZ'9999-12-31 23:59:59.999999', array(1, NULL, 3), named_struct('x', 1.0D, 'label', 'a'),
             map('a', 1L)),
            (2, NULL, NULL, NULL, NULL, NULL, NULL)
            AS t(id, price, ts, ntz, tags, point, attrs)""",
        f"CREATE VIEW {SPARK_NS}.endless AS SELECT id FROM range(100000000000)",
        f"CREATE VIEW {SPARK_NS}.numbers AS SELECT id FROM range(10000000)",
    ]:
        session.sql(statement).collect()
    yield session
    session.stop()


@pytest.fixture()
def spark_ctx(spark, delta_dir) -> lakefed.SessionContext:
    """The Delta fixtures plus the Spark server as catalog `spark`."""
    session = lakefed.SessionContext(progress=False)
    session.register_delta("orders", os.path.join(delta_dir, "orders"))
    session.register_spark_connect("spark", spark_url())
    return session


def private_session_url() -> str:
    """The server's URL with a fresh session id that a pyspark client can join."""
    return f"{spark_url()}/;session_id={uuid.uuid4()};user_id=lakefed-py-test"
