"""Against the real local Spark Connect server: Spark tables as Arrow, pandas
and Polars, a join with a Delta table, the SQL sent to Spark, Spark's own
errors, and Ctrl-C cancelling the remote operation."""

from __future__ import annotations

import _thread
import datetime as dt
import threading
import time
import zoneinfo
from decimal import Decimal

import pytest

import lakefed
from conftest import SPARK_NS, private_session_url


def test_spark_types_round_trip_into_arrow_pandas_and_polars(spark, spark_ctx):
    zone = zoneinfo.ZoneInfo(spark.conf.get("spark.sql.session.timeZone"))
    query = f"SELECT * FROM spark.{SPARK_NS}.types ORDER BY id"
    rows = spark_ctx.sql(query).to_arrow().to_pylist()
    first, second = rows
    assert first["price"] == Decimal("1.50")
    assert first["ts"] == dt.datetime(2024, 3, 10, 12, 34, 56, 789012, tzinfo=zone)
    assert first["ntz"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
    assert first["tags"] == [1, None, 3]
    assert first["point"] == {"x": 1.0, "label": "a"}
    assert first["attrs"] == [("a", 1)]
    assert all(second[name] is None for name in second if name != "id")

    frame = spark_ctx.sql(query).to_pandas()
    assert frame["price"][0] == Decimal("1.50")
    assert frame["ts"][0].tzinfo is not None and frame["ntz"][0].tzinfo is None
    polars = spark_ctx.sql(query).to_polars()
    assert polars["tags"].to_list() == [[1, None, 3], None]

    # The same values as pyspark's own client reads.
    assert spark.sql(f"SELECT price, ntz FROM {SPARK_NS}.types ORDER BY id").toArrow().to_pylist() == [
        {"price": row["price"], "ntz": row["ntz"]} for row in rows
    ]


def test_join_of_a_spark_table_and_a_delta_table(spark_ctx):
    df = spark_ctx.sql(
        f"""SELECT c.name, sum(o.amount) AS total
            FROM orders o JOIN spark.{SPARK_NS}.customers c ON o.customer_id = c.customer_id
            WHERE c.country <> $1
            GROUP BY c.name ORDER BY c.name""",
        params=["NL"],
    )
    assert df.to_arrow().to_pylist() == [{"name": "Ada", "total": 7.5}, {"name": "Grace", "total": 7.5}]
    sent = df.remote_queries()
    assert len(sent) == 1
    source, sql = sent[0]
    assert source == "spark"
    assert "'NL'" in sql and "customers" in sql
    html = df._repr_html_()
    assert "SQL sent to <code>spark</code>" in html and "customers" in html
    assert "2 rows" in html


def test_whole_spark_subplans_are_sent_as_one_statement(spark_ctx):
    df = spark_ctx.sql(f"SELECT country, count(*) AS n FROM spark.{SPARK_NS}.customers GROUP BY country")
    [(_, sql)] = df.remote_queries()
    assert "GROUP BY" in sql.upper()
    assert "spark" in df.explain()
    spark_ctx.sql("SET lakefed.federation = false")
    [(_, sql)] = spark_ctx.sql(f"SELECT country, count(*) AS n FROM spark.{SPARK_NS}.customers GROUP BY country").remote_queries()
    assert "GROUP BY" not in sql.upper()


def test_unknown_spark_tables_are_plan_errors(spark_ctx):
    with pytest.raises(lakefed.PlanError, match="missing_table"):
        spark_ctx.sql(f"SELECT * FROM spark.{SPARK_NS}.missing_table")


def test_spark_errors_keep_their_class_and_state(spark_ctx):
    # Federated, the product is computed by Spark, whose ANSI mode raises on overflow.
    df = spark_ctx.sql(f"SELECT sum(customer_id * 9223372036854775807) AS s FROM spark.{SPARK_NS}.customers")
    assert df.remote_queries()[0][1].count("*") >= 1
    with pytest.raises(lakefed.RemoteError) as err:
        df.to_arrow()
    err = err.value
    assert err.error_class is not None and "OVERFLOW" in err.error_class
    assert err.sql_state == "22003"
    assert err.endpoint and "127.0.0.1" in err.endpoint
    assert "overflow" in str(err).lower()


def interrupt_after(seconds: float) -> threading.Timer:
    """Raises KeyboardInterrupt in the main thread after `seconds`, as Ctrl-C does."""
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


@pytest.mark.parametrize("how", ["to_arrow", "to_batches", "arrow_c_stream"])
def test_ctrl_c_cancels_the_query_and_its_spark_operation(spark, how):
    url = private_session_url()
    ctx = lakefed.SessionContext(progress=False)
    ctx.register_spark_connect("spark", url)
    ctx.sql("SET datafusion.execution.target_partitions = 1")
    df = ctx.sql(f"SELECT count(*) FROM spark.{SPARK_NS}.endless")
    import pyarrow as pa

    run = {
        "to_arrow": df.to_arrow,
        "to_batches": lambda: list(df.to_batches()),
        "arrow_c_stream": lambda: pa.table(df),
    }[how]
    started = time.monotonic()
    timer = interrupt_after(3)
    try:
        # A consumer of the C stream (here pyarrow) reports the interrupt as its own error.
        expected = pa.ArrowException if how == "arrow_c_stream" else KeyboardInterrupt
        with pytest.raises(expected, match="KeyboardInterrupt" if how == "arrow_c_stream" else ""):
            run()
    finally:
        timer.cancel()
    assert time.monotonic() - started < 30, "the interrupt took too long"
    lakefed.finish_background_requests(10)
    # The session still works.
    assert ctx.sql(f"SELECT count(*) AS n FROM spark.{SPARK_NS}.customers").to_arrow().column("n").to_pylist() == [3]
    # Had the operation not been interrupted, this would interrupt it now and
    # return its id. (Stopping the observer closes the shared Spark session.)
    from pyspark.sql import SparkSession

    observer = SparkSession.builder.remote(url).create()
    try:
        assert observer.interruptAll() == []
    finally:
        observer.stop()


def test_reading_a_stream_after_ctrl_c_says_it_was_cancelled(spark_ctx):
    stream = spark_ctx.sql(f"SELECT count(*) FROM spark.{SPARK_NS}.endless").to_batches()
    timer = interrupt_after(2)
    try:
        with pytest.raises(KeyboardInterrupt):
            next(stream)
    finally:
        timer.cancel()
    with pytest.raises(lakefed.ExecutionError, match="cancelled"):
        next(stream)


def test_queries_release_the_gil(spark_ctx):
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    thread = threading.Thread(target=count)
    thread.start()
    started = time.monotonic()
    try:
        # `%` is never sent to Spark: all 10M ids cross the wire and are decoded here.
        spark_ctx.sql(f"SELECT count(*) FROM spark.{SPARK_NS}.numbers WHERE id % 3 = 0").to_arrow()
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        thread.join()
    # Holding the GIL, lakefed would let the thread run only between its
    # 100 ms waits: about 10 ticks a second instead of hundreds.
    assert ticks > 100 * elapsed, (ticks, elapsed)
