"""Sessions and sources: constructors, every registration method with its
options, and clear exceptions for bad arguments and bad input."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from deltalake import DeltaTable

import lakefed


def test_register_delta_reads_latest_or_a_pinned_version(delta_dir):
    path = os.path.join(delta_dir, "orders")
    ctx = lakefed.SessionContext()
    ctx.register_delta("latest", path)
    ctx.register_delta("v0", path, version=0)
    assert ctx.sql("SELECT count(*) AS n FROM latest").to_arrow().column("n").to_pylist() == [3]
    assert ctx.sql("SELECT count(*) AS n FROM v0").to_arrow().column("n").to_pylist() == [2]


def test_register_delta_at_a_timestamp(delta_dir):
    path = os.path.join(delta_dir, "orders")
    history = {entry["version"]: entry["timestamp"] for entry in DeltaTable(path).history()}
    first_commit = dt.datetime.fromtimestamp(history[0] / 1000, tz=dt.timezone.utc)
    ctx = lakefed.SessionContext()
    ctx.register_delta("then", path, timestamp=first_commit)
    assert ctx.sql("SELECT count(*) AS n FROM then").to_arrow().column("n").to_pylist() == [2]
    with pytest.raises(lakefed.InvalidArgumentError, match="timezone-aware"):
        ctx.register_delta("bad", path, timestamp=dt.datetime(2024, 1, 1))
    with pytest.raises(lakefed.InvalidArgumentError, match="not both"):
        ctx.register_delta("bad", path, version=0, timestamp=first_commit)
    with pytest.raises(lakefed.InvalidArgumentError, match="version must be 0 or more"):
        ctx.register_delta("bad", path, version=-1)


def test_register_delta_schema_finds_tables_under_a_prefix(delta_dir):
    ctx = lakefed.SessionContext()
    ctx.register_delta_schema("lake", delta_dir, storage_options={})
    assert ctx.sql("SELECT count(*) AS n FROM lake.orders").to_arrow().column("n").to_pylist() == [3]
    assert ctx.sql("SELECT count(*) AS n FROM lake.types").to_arrow().column("n").to_pylist() == [3]


def test_create_table_as_writes_a_delta_table(tmp_path):
    ctx = lakefed.SessionContext()
    ctx.register_delta_schema("lake", str(tmp_path))
    ctx.sql("CREATE TABLE lake.squares AS SELECT v, v * v AS sq FROM generate_series(1, 5) AS t(v)")
    assert DeltaTable(str(tmp_path / "squares")).to_pyarrow_table().num_rows == 5
    assert ctx.sql("SELECT sum(sq) AS s FROM lake.squares").to_arrow().column("s").to_pylist() == [55]


def test_from_config_attaches_every_source(delta_dir, tmp_path):
    config = tmp_path / "lakefed.toml"
    config.write_text(
        f"""
[sources.orders]
kind = "delta"
url = "{os.path.join(delta_dir, 'orders')}"

[sources.lake]
kind = "delta"
url = "{delta_dir}"
layout = "schema"
"""
    )
    ctx = lakefed.SessionContext.from_config(str(config))
    assert ctx.sql("SELECT count(*) AS n FROM orders").to_arrow().column("n").to_pylist() == [3]
    assert ctx.sql("SELECT count(*) AS n FROM lake.types").to_arrow().column("n").to_pylist() == [3]
    other = lakefed.SessionContext()
    other.register_config(config)  # a pathlib.Path works too
    assert other.table("orders").count() == 3


def test_a_bad_config_names_the_file_and_field(tmp_path):
    config = tmp_path / "lakefed.toml"
    config.write_text('[sources.x]\nkind = "delta"\nurl = "/data"\nbogus = 1\n')
    with pytest.raises(lakefed.ConfigError, match="bogus") as err:
        lakefed.SessionContext.from_config(str(config))
    assert "lakefed.toml" in str(err.value)
    with pytest.raises(lakefed.ConfigError):
        lakefed.SessionContext.from_config(str(tmp_path / "missing.toml"))


def test_not_a_table_and_bad_locations(tmp_path):
    ctx = lakefed.SessionContext()
    with pytest.raises(lakefed.NotATableError, match="not a Delta table"):
        ctx.register_delta("t", str(tmp_path))
    with pytest.raises(lakefed.InvalidArgumentError):
        ctx.register_delta("t", "ftp://example.com/table")
    with pytest.raises(lakefed.InvalidArgumentError, match="unknown storage option 'endpiont'"):
        ctx.register_delta_schema("lake", str(tmp_path), storage_options={"endpiont": "http://x"})


def test_sql_errors_are_plan_errors_with_the_engine_message(ctx):
    with pytest.raises(lakefed.PlanError, match="SELEC"):
        ctx.sql("SELEC 1")
    with pytest.raises(lakefed.PlanError, match="nope"):
        ctx.sql("SELECT * FROM nope")
    with pytest.raises(lakefed.PlanError):
        ctx.sql("SELECT missing_column FROM orders")
    assert issubclass(lakefed.PlanError, lakefed.Error)


def test_execution_errors_are_execution_errors(ctx):
    df = ctx.sql("SELECT CAST(name AS INT) FROM types")
    with pytest.raises(lakefed.ExecutionError):
        df.to_arrow()
    # The session stays usable.
    assert ctx.sql("SELECT 1 AS one").to_arrow().column("one").to_pylist() == [1]


def test_bad_argument_types_raise_type_errors(ctx):
    with pytest.raises(TypeError):
        ctx.sql(42)
    with pytest.raises(TypeError, match="params must be a list, a tuple or a dict"):
        ctx.sql("SELECT $1", params="x")
    with pytest.raises(TypeError, match=r"cannot bind parameter \$1"):
        ctx.sql("SELECT $1", params=[object()])
    with pytest.raises(TypeError, match="parameter names must be str"):
        ctx.sql("SELECT $1", params={1: 2})
    with pytest.raises(TypeError):
        ctx.register_delta("t", None)
    with pytest.raises(TypeError):
        ctx.register_delta("t", "/x", 1)  # version is keyword-only
    with pytest.raises(lakefed.PlanError):
        ctx.sql("SELECT $1 + $2", params=[1]).to_arrow()


def test_register_spark_connect_validates_url_and_options():
    ctx = lakefed.SessionContext()
    with pytest.raises(lakefed.InvalidArgumentError, match="sc://"):
        ctx.register_spark_connect("s", "http://127.0.0.1:15002")
    with pytest.raises(lakefed.InvalidArgumentError, match="connect_timeout"):
        ctx.register_spark_connect("s", "sc://127.0.0.1:1", connect_timeout=-1)
    with pytest.raises(lakefed.InvalidArgumentError, match="request_timeout"):
        ctx.register_spark_connect("s", "sc://127.0.0.1:1", request_timeout="soon")
    # Registering sends nothing: a server that is down fails at the first query.
    ctx.register_spark_connect(
        "down",
        "sc://127.0.0.1:1",
        catalog="spark_catalog",
        connect_timeout=dt.timedelta(seconds=1),
        request_timeout=2,
        max_retries=0,
        initial_backoff=0.01,
        max_backoff=0.1,
    )
    started = time.monotonic()
    with pytest.raises(lakefed.UnreachableError) as err:
        ctx.sql("SELECT * FROM down.ns.t")
    assert time.monotonic() - started < 30
    assert isinstance(err.value, ConnectionError)
    assert "127.0.0.1:1" in err.value.endpoint


def test_progress_reports_rows_and_bytes(monkeypatch, delta_dir):
    from lakefed import _progress

    calls = []

    class Recorder:
        def update(self, rows, nbytes, seconds):
            calls.append(("update", rows, nbytes, seconds))

        def close(self):
            calls.append(("close",))

    monkeypatch.setattr(_progress, "reporter", lambda: Recorder())
    ctx = lakefed.SessionContext(progress=True)
    # Slow enough for several ticks of 100 ms, whatever the machine.
    df = ctx.sql("SELECT count(*) FROM generate_series(1, 100000000) AS t(v) WHERE v % 7 = 3")
    assert df.to_arrow().num_rows == 1
    assert calls[-1] == ("close",)
    updates = [call for call in calls if call[0] == "update"]
    assert updates, "no progress reported"
    assert [call[3] for call in updates] == sorted(call[3] for call in updates)

    calls.clear()
    quiet = lakefed.SessionContext(progress=False)
    quiet.sql("SELECT 1").to_arrow()
    assert calls == []


def test_terminal_progress_line_is_written_then_cleared():
    import io

    from lakefed._progress import TerminalProgress, describe

    out = io.StringIO()
    progress = TerminalProgress(out)
    progress.update(10, 100, 0.5)  # too early: nothing
    assert out.getvalue() == ""
    progress.update(12345, 3_200_000, 4.1)
    assert "12,345 rows, 3.2 MB, 4.1 s" in out.getvalue()
    progress.close()
    assert out.getvalue().endswith("\r")
    assert describe(1, 999, 0) == "1 row, 999 B, 0.0 s"


def test_type_of_errors_hierarchy():
    assert issubclass(lakefed.InvalidArgumentError, ValueError)
    assert issubclass(lakefed.UnreachableError, ConnectionError)
    for name in lakefed.errors.__all__:
        assert issubclass(getattr(lakefed, name), lakefed.Error)
    assert isinstance(lakefed.__version__, str)


def test_notebook_progress_updates_one_output_then_empties_it(monkeypatch):
    import IPython.display

    from lakefed._progress import NotebookProgress

    shown = []

    class Handle:
        def update(self, content):
            shown.append(("update", content.data))

    def display(content, display_id):
        assert display_id is True
        shown.append(("display", content.data))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    progress = NotebookProgress()
    progress.update(5, 10, 0.2)  # too early: nothing
    progress.update(1000, 2_000_000, 1.5)
    progress.update(2000, 4_000_000, 1.6)  # within the refresh interval: skipped
    progress.update(3000, 6_000_000, 2.0)
    progress.close()
    assert shown == [
        ("display", "<small>lakefed: 1,000 rows, 2.0 MB, 1.5 s</small>"),
        ("update", "<small>lakefed: 3,000 rows, 6.0 MB, 2.0 s</small>"),
        ("update", ""),
    ]


def test_delete_update_and_merge_return_the_rows_they_changed(tmp_path):
    ctx = lakefed.SessionContext(progress=False)
    ctx.register_delta_schema("lake", str(tmp_path))
    ctx.sql("CREATE TABLE lake.t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS v(id, label)")
    assert ctx.sql("DELETE FROM lake.t WHERE id = 2").to_arrow().column("count").to_pylist() == [1]
    updated = ctx.sql("UPDATE lake.t SET label = 'z' WHERE id >= 1").to_arrow()
    assert updated.column("count").to_pylist() == [2]
    rows = DeltaTable(str(tmp_path / "t")).to_pyarrow_table().sort_by("id")
    assert rows.column("label").to_pylist() == ["z", "z"]
    merged = ctx.sql(
        "MERGE INTO lake.t AS t USING (VALUES (1, 'one'), (4, 'four')) AS s(id, label) ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET label = s.label WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.label)"
    ).to_arrow()
    assert merged.column("count").to_pylist() == [2]
    rows = DeltaTable(str(tmp_path / "t")).to_pyarrow_table().sort_by("id")
    assert rows.to_pydict() == {"id": [1, 3, 4], "label": ["one", "z", "four"]}


def test_table_changes_of_a_table_written_by_delta_rs(tmp_path):
    import pyarrow as pa
    from deltalake import write_deltalake

    path = str(tmp_path / "t")
    cdf = {"delta.enableChangeDataFeed": "true"}
    write_deltalake(path, pa.table({"id": [1, 2]}), configuration=cdf)
    DeltaTable(path).delete("id = 1")
    ctx = lakefed.SessionContext(progress=False)
    changes = ctx.sql(
        f"SELECT id, _change_type, _commit_version FROM table_changes('{path}', 0) "
        "ORDER BY _commit_version, id"
    ).to_arrow()
    assert changes.to_pylist() == [
        {"id": 1, "_change_type": "insert", "_commit_version": 0},
        {"id": 2, "_change_type": "insert", "_commit_version": 0},
        {"id": 1, "_change_type": "delete", "_commit_version": 1},
    ]

