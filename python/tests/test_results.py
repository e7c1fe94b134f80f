"""Results out of lakefed: Arrow, pandas, Polars, streamed batches, the Arrow
PyCapsule stream, the schema, EXPLAIN and the notebook preview; values of
every kind must survive each path unchanged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import lakefed
from conftest import TYPES


def test_to_arrow_returns_every_value_of_every_type(ctx):
    table = ctx.sql("SELECT * FROM types ORDER BY id").to_arrow()
    assert isinstance(table, pa.Table)
    assert table.column_names == TYPES.column_names
    assert table.to_pylist() == TYPES.to_pylist()
    # Types keep their meaning (strings may come as a string view).
    for field, expected in zip(table.schema, TYPES.schema):
        if pa.types.is_string(expected.type):
            assert pa.types.is_string(field.type) or pa.types.is_string_view(field.type), field
        elif pa.types.is_binary(expected.type):
            assert pa.types.is_binary(field.type) or pa.types.is_binary_view(field.type), field
        elif pa.types.is_timestamp(expected.type):
            assert field.type.tz in (expected.type.tz, "+00:00" if expected.type.tz else None), field
            assert field.type.unit == expected.type.unit, field
        elif not pa.types.is_nested(expected.type):
            assert field.type == expected.type, field


def test_schema_is_known_without_running_and_matches_the_result(ctx):
    df = ctx.sql("SELECT id, price, ts, ntz FROM types")
    schema = df.schema
    assert isinstance(schema, pa.Schema)
    assert schema.names == ["id", "price", "ts", "ntz"]
    assert schema.field("price").type == pa.decimal128(10, 2)
    assert schema.field("ts").type.tz is not None
    assert schema.field("ntz").type.tz is None
    assert df.to_arrow().schema.names == schema.names


def test_to_pandas_keeps_decimals_zones_nested_values_and_nulls(ctx):
    frame = ctx.sql("SELECT * FROM types ORDER BY id").to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["id"]) == [1, 2, 3]
    assert frame["price"].tolist() == [Decimal("1.50"), Decimal("-99999999.99"), None]
    assert frame["big_dec"][0] == Decimal("12345678901234567890.123456789012345678")
    assert str(frame["ts"].dtype).startswith("datetime64[us, ")
    assert frame["ts"][0] == pd.Timestamp("2024-03-10 12:34:56.789012", tz="UTC")
    assert pd.isna(frame["ts"][2])
    assert str(frame["ntz"].dtype) == "datetime64[us]"
    assert frame["ntz"][0] == pd.Timestamp("9999-12-31 23:59:59.999999")
    tags = frame["tags"][0]  # pandas makes a list of ints with a null a float array
    assert tags[0] == 1 and pd.isna(tags[1]) and tags[2] == 3
    assert frame["tags"][2] is None
    assert frame["point"][0] == {"x": 1.0, "label": "a"}
    assert frame["attrs"][0] == [("a", 1), ("b", None)]
    assert frame["name"][1] == "héllo ✓" and pd.isna(frame["name"][2])
    assert frame["raw"][0] == b"\x00\xff"
    assert frame["day"][0] == dt.date(1, 1, 1)


def test_to_polars_keeps_decimals_zones_nested_values_and_nulls(ctx):
    frame = ctx.sql("SELECT * FROM types ORDER BY id").to_polars()
    assert isinstance(frame, pl.DataFrame)
    assert frame.schema["price"] == pl.Decimal(10, 2)
    assert frame.schema["ts"] == pl.Datetime("us", "UTC")
    assert frame.schema["ntz"] == pl.Datetime("us")
    assert frame["price"].to_list() == [Decimal("1.50"), Decimal("-99999999.99"), None]
    assert frame["tags"].to_list() == [[1, None, 3], [], None]
    assert frame["point"].to_list()[0] == {"x": 1.0, "label": "a"}
    assert frame["ts"][0] == dt.datetime(2024, 3, 10, 12, 34, 56, 789012, tzinfo=dt.timezone.utc)
    assert frame["name"].null_count() == 1


def test_to_batches_streams_batches_with_the_schema(ctx):
    ctx.sql("SET datafusion.execution.batch_size = 1")
    stream = ctx.sql("SELECT id FROM types ORDER BY id").to_batches()
    assert isinstance(stream, lakefed.RecordBatchStream)
    assert stream.schema.names == ["id"]
    batches = list(stream)
    assert all(isinstance(batch, pa.RecordBatch) for batch in batches)
    assert len(batches) == 3
    assert [batch.column(0)[0].as_py() for batch in batches] == [1, 2, 3]
    assert list(stream) == []  # exhausted


def test_closing_a_stream_ends_it(ctx):
    with ctx.sql("SELECT * FROM types").to_batches() as stream:
        pass
    assert list(stream) == []
    stream = ctx.sql("SELECT * FROM types").to_batches()
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)


def test_arrow_c_stream_feeds_pyarrow_polars_and_duckdb(ctx):
    df = ctx.sql("SELECT id, price, name FROM types ORDER BY id")
    expected = df.to_arrow()
    assert pa.table(df).to_pylist() == expected.to_pylist()
    assert pa.RecordBatchReader.from_stream(df).read_all().to_pylist() == expected.to_pylist()
    assert pl.DataFrame(df).to_dicts() == expected.to_pylist()
    rows = duckdb.sql("SELECT id, price, name FROM df ORDER BY id").fetchall()
    assert rows == [tuple(row.values()) for row in expected.to_pylist()]


def test_params_bind_python_values_positionally_and_by_name(ctx):
    row = ctx.sql(
        "SELECT $1 AS i, $2 AS s, $3 AS d, $4 AS ts, $5 AS ntz, $6 AS day, $7 AS b, $8 AS f, $9 AS n, $10 AS raw",
        params=[
            42,
            "it's -- not a comment",
            Decimal("-1.50"),
            dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
            dt.datetime(2024, 1, 2, 3, 4, 5),
            dt.date(2024, 2, 29),
            True,
            1.25,
            None,
            b"\x00",
        ],
    ).to_arrow().to_pylist()[0]
    assert row["i"] == 42 and row["s"] == "it's -- not a comment"
    assert row["d"] == Decimal("-1.50")
    assert row["ts"] == dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    assert row["ntz"] == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert row["day"] == dt.date(2024, 2, 29)
    assert row["b"] is True and row["f"] == 1.25 and row["n"] is None and row["raw"] == b"\x00"

    ids = ctx.sql("SELECT id FROM types WHERE id >= $lo AND name = $name", params={"lo": 1, "$name": "it's"})
    assert ids.to_arrow().column("id").to_pylist() == [1]
    typed = ctx.sql("SELECT $1 AS x", params=(pa.scalar(7, pa.int8()),)).to_arrow()
    assert typed.schema.field("x").type == pa.int8()


def test_params_filter_like_literals(ctx):
    lookup = ctx.sql("SELECT order_id FROM orders WHERE customer_id = $1 ORDER BY order_id", params=[10])
    assert lookup.to_arrow().column("order_id").to_pylist() == [1, 3]


def test_explain_shows_the_plan_and_analyze_runs_it(ctx):
    plan = ctx.sql("SELECT count(*) FROM orders WHERE amount > 3").explain()
    assert isinstance(plan, str)
    assert "logical_plan" in plan and "physical_plan" in plan
    assert "DeltaScan" in plan or "delta" in plan.lower()
    analyzed = ctx.sql("SELECT count(*) FROM orders WHERE amount > 3").explain(analyze=True)
    assert "output_rows" in analyzed
    assert repr(plan) == str(plan)
    assert plan._repr_html_().startswith("<pre>")


def test_count_limit_and_table(ctx):
    assert ctx.sql("SELECT * FROM orders").count() == 3
    assert ctx.table("orders").count() == 3
    first = ctx.sql("SELECT order_id FROM orders ORDER BY order_id").limit(2, offset=1).to_arrow()
    assert first.column("order_id").to_pylist() == [2, 3]


def test_repr_html_shows_rows_schema_and_count(ctx):
    html = ctx.sql("SELECT id, name FROM types ORDER BY id")._repr_html_()
    assert "it&#x27;s" in html  # escaped
    assert "<i>NULL</i>" in html
    assert "int64" in html
    assert "3 rows" in html
    many = ctx.sql("SELECT * FROM generate_series(1, 100000) AS t(v)")._repr_html_()
    assert "more follow" in many or "100,000 rows" in many
    assert many.count("<tr>") == 11  # header + 10 rows


def test_repr_shows_columns(ctx):
    assert repr(ctx.sql("SELECT 1 AS one")) == "lakefed.DataFrame[one: Int64]"
    assert "datafusion" in repr(ctx)


def test_each_call_runs_the_query_again_and_sees_new_commits(delta_dir, tmp_path):
    import shutil

    from deltalake import write_deltalake

    path = tmp_path / "orders"
    shutil.copytree(f"{delta_dir}/orders", path)
    session = lakefed.SessionContext(progress=False)
    session.register_delta("orders", str(path))
    df = session.sql("SELECT count(*) AS n FROM orders")
    assert df.to_arrow().column("n").to_pylist() == [3]
    write_deltalake(str(path), pa.table({"order_id": [4], "customer_id": [30], "amount": [1.0]}), mode="append")
    assert df.to_arrow().column("n").to_pylist() == [4]
