#!/usr/bin/env python3
"""Writes the extra Delta cases of `tests/data/delta-extra` (see MANIFEST.md).

Each case covers a layout the golden corpus lacks. The Parquet files are written
by pyarrow or by pyspark (local, no Delta jars), the logs by this script from
the protocol (PROTOCOL.md of delta-io/delta) or by the `deltalake` package, and
the expected rows straight from the values written, never by reading the table.

    .venv/bin/pip install pyroaring   # deletion vector bitmaps
    .venv/bin/python tests/data/delta-extra/generate.py
"""

import datetime as dt
import decimal
import json
import pathlib
import shutil
import struct
import uuid
import zlib
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent
COMMIT_MS = 1_700_000_000_000
Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85(data: bytes) -> str:
    """ZeroMQ's Z85, which Delta uses for deletion vector ids and inline bitmaps."""
    assert len(data) % 4 == 0
    out = []
    for i in range(0, len(data), 4):
        value = int.from_bytes(data[i : i + 4], "big")
        chunk = []
        for _ in range(5):
            value, digit = divmod(value, 85)
            chunk.append(Z85[digit])
        out.extend(reversed(chunk))
    return "".join(out)


def bitmap(rows) -> bytes:
    """A Delta deletion vector: the magic number, then the rows as a portable
    64-bit Roaring bitmap (one 32-bit bitmap under key 0)."""
    from pyroaring import BitMap

    return struct.pack("<I", 1681511377) + struct.pack("<q", 1) + struct.pack("<I", 0) + BitMap(rows).serialize()


def fresh(case: str) -> pathlib.Path:
    path = ROOT / case
    shutil.rmtree(path, ignore_errors=True)
    (path / "delta" / "_delta_log").mkdir(parents=True)
    (path / "expected" / "latest").mkdir(parents=True)
    return path


def commit(table: pathlib.Path, version: int, actions) -> None:
    actions = [{"commitInfo": {"timestamp": COMMIT_MS + version * 1000, "operation": "WRITE"}}] + actions
    text = "".join(json.dumps(a, separators=(",", ":")) + "\n" for a in actions)
    (table / "_delta_log" / f"{version:020}.json").write_text(text)


def add(table: pathlib.Path, name: str, partition_values=None, **extra) -> dict:
    size = (table / name).stat().st_size
    action = {"path": name, "partitionValues": partition_values or {}, "size": size,
              "modificationTime": COMMIT_MS, "dataChange": True}
    action.update(extra)
    return {"add": action}


def metadata(schema: dict, partition_columns=(), configuration=None) -> dict:
    return {"metaData": {"id": str(uuid.UUID(int=1)), "format": {"provider": "parquet", "options": {}},
                         "schemaString": json.dumps(schema), "partitionColumns": list(partition_columns),
                         "configuration": configuration or {}, "createdTime": COMMIT_MS}}


def case_json(path: pathlib.Path, features, note: str) -> None:
    spec = {"name": path.name, "origin": "tests/data/delta-extra/generate.py", "features": features,
            "note": note, "expected": {"kind": "parquet"}}
    (path / "case.json").write_text(json.dumps(spec, indent=2) + "\n")


def expect(path: pathlib.Path, table: pa.Table) -> None:
    pq.write_table(table, path / "expected" / "latest" / "table_content.parquet")


def mapped(name, delta_type, column_id, physical, nullable=True):
    return {"name": name, "type": delta_type, "nullable": nullable,
            "metadata": {"delta.columnMapping.id": column_id, "delta.columnMapping.physicalName": physical}}


def column_mapping_by_id():
    """Column mapping in `id` mode with deletion vectors and TIMESTAMP_NTZ,
    laid out as Delta on Spark writes it: physical names and field ids in
    the Parquet files, logical names (one with a space) only in the log."""
    path = fresh("column-mapping-id-dv-timestamp-ntz")
    table = path / "delta"
    city = mapped("city", "string", 5, "col-c1ty")
    schema = {"type": "struct", "fields": [
        mapped("id", "long", 1, "col-1d", nullable=False),
        mapped("Customer Name", "string", 2, "col-n4me"),
        mapped("seen_at", "timestamp_ntz", 3, "col-s33n"),
        mapped("address", {"type": "struct", "fields": [city]}, 4, "col-4ddr"),
    ]}

    def physical(names, ids, ids_rows, people, seen, cities):
        def field(name, typ, fid):
            return pa.field(name, typ, metadata={b"PARQUET:field_id": str(fid).encode()})
        address = pa.struct([field(names[4], pa.string(), 5)])
        arrow = pa.schema([field(names[0], pa.int64(), ids[0]), field(names[1], pa.string(), ids[1]),
                           field(names[2], pa.timestamp("us"), ids[2]), field(names[3], address, ids[3])])
        return pa.table([pa.array(ids_rows, pa.int64()), pa.array(people), pa.array(seen, pa.timestamp("us")),
                         pa.array([{names[4]: c} for c in cities], address)], schema=arrow)

    t = dt.datetime
    rows1 = ([1, 2, 3, 4, 5], ["ann", "bob", None, "dee", "eve"],
             [t(2024, 1, 1, 0, 0), t(2024, 3, 10, 2, 30), None, t(1969, 12, 31, 23, 59, 59, 999999), t(9999, 12, 31)],
             ["Oslo", None, "Lima", "Pune", "Kyiv"])
    rows2 = ([6, 7, 8], ["fay", "gus", "hal"], [t(2000, 2, 29, 12), t(2024, 11, 3, 1, 30), None],
             ["Rome", "Riga", None])
    physical_names = ["col-1d", "col-n4me", "col-s33n", "col-4ddr", "col-c1ty"]
    pq.write_table(physical(physical_names, [1, 2, 3, 4], *rows1), table / "part-00000.parquet")
    pq.write_table(physical(physical_names, [1, 2, 3, 4], *rows2), table / "part-00001.parquet")

    dv_id = uuid.UUID(int=0x5EED)
    deleted_in_file1 = [1, 3]  # bob and dee
    dv = bitmap(deleted_in_file1)
    with open(table / f"deletion_vector_{dv_id}.bin", "wb") as out:
        out.write(b"\x01" + struct.pack(">i", len(dv)) + dv + struct.pack(">I", zlib.crc32(dv)))
    inline = bitmap([2])  # hal
    inline += b"\x00" * (-len(inline) % 4)
    features = ["columnMapping", "deletionVectors", "timestampNtz"]
    commit(table, 0, [
        {"protocol": {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": features,
                      "writerFeatures": features}},
        metadata(schema, configuration={"delta.columnMapping.mode": "id", "delta.columnMapping.maxColumnId": "5",
                                        "delta.enableDeletionVectors": "true"}),
        add(table, "part-00000.parquet", deletionVector={
            "storageType": "u", "pathOrInlineDv": z85(dv_id.bytes), "offset": 1, "sizeInBytes": len(dv),
            "cardinality": len(deleted_in_file1)}),
        add(table, "part-00001.parquet", deletionVector={
            "storageType": "i", "pathOrInlineDv": z85(inline), "sizeInBytes": len(bitmap([2])),
            "cardinality": 1}),
    ])
    kept = [(0, i) for i in range(5) if i not in deleted_in_file1] + [(1, i) for i in range(2)]
    files = [rows1, rows2]
    columns = list(zip(*[[files[f][c][i] for c in range(4)] for f, i in kept]))
    expect(path, pa.table({
        "id": pa.array(columns[0], pa.int64()), "Customer Name": pa.array(columns[1], pa.string()),
        "seen_at": pa.array(columns[2], pa.timestamp("us")),
        "address": pa.array([{"city": c} for c in columns[3]], pa.struct([("city", pa.string())])),
    }))
    case_json(path, ["columnMapping:id", "reader:columnMapping", "reader:deletionVectors", "reader:timestampNtz"],
              "one deletion vector in a file, one inline")


def column_mapping_by_id_other_names():
    """Column mapping in `id` mode where the second file's columns carry the
    right field ids under other names (as in a table converted from Iceberg,
    or a file written before its writer renamed the columns): only a reader
    that resolves by field id finds its values."""
    path = fresh("column-mapping-id-file-names-differ")
    table = path / "delta"
    schema = {"type": "struct", "fields": [
        mapped("id", "long", 1, "col-1d", nullable=False), mapped("label", "string", 2, "col-l4b3l"),
        mapped("amount", "decimal(10,2)", 3, "col-4m0unt")]}

    def write(names, ids, labels, amounts, name):
        fields = [pa.field(n, t, metadata={b"PARQUET:field_id": str(i + 1).encode()})
                  for i, (n, t) in enumerate(zip(names, [pa.int64(), pa.string(), pa.decimal128(10, 2)]))]
        pq.write_table(pa.table([pa.array(ids, pa.int64()), pa.array(labels), pa.array(amounts, pa.decimal128(10, 2))],
                                schema=pa.schema(fields)), table / name)

    D = decimal.Decimal
    write(["col-1d", "col-l4b3l", "col-4m0unt"], [1, 2], ["a", None], [D("1.50"), D("-2.00")], "part-00000.parquet")
    # Other names, the same ids.
    write(["id", "name", "value"], [3, 4], ["c", "d"], [None, D("99999999.99")], "part-00001.parquet")
    commit(table, 0, [
        {"protocol": {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["columnMapping"],
                      "writerFeatures": ["columnMapping"]}},
        metadata(schema, configuration={"delta.columnMapping.mode": "id", "delta.columnMapping.maxColumnId": "3"}),
        add(table, "part-00000.parquet"), add(table, "part-00001.parquet"),
    ])
    expect(path, pa.table({"id": pa.array([1, 2, 3, 4], pa.int64()), "label": pa.array(["a", None, "c", "d"]),
                           "amount": pa.array([D("1.50"), D("-2.00"), None, D("99999999.99")], pa.decimal128(10, 2))}))
    case_json(path, ["columnMapping:id", "reader:columnMapping"],
              "part-00001 names its columns id/name/value; their field ids are 1-3")


def spark_session(zone="UTC", **conf):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[1]").appName("delta-extra")
    for key, value in {"spark.sql.session.timeZone": zone, "spark.ui.enabled": "false", **conf}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_parquet(df, table: pathlib.Path, name: str) -> None:
    """Writes `df` as one Parquet file `name` inside `table`."""
    scratch = table.parent / "scratch"
    df.coalesce(1).write.mode("overwrite").parquet(str(scratch))
    (part,) = scratch.glob("part-*.parquet")
    part.rename(table / name)
    shutil.rmtree(scratch)


def legacy_parquet_layouts():
    """INT96 timestamps, Spark's legacy list and map groups (`bag`/`array`,
    `MAP_KEY_VALUE`) and decimals as fixed-length byte arrays: the layout
    Spark writes with `spark.sql.parquet.writeLegacyFormat` (Hive and Impala
    compatible), as older tables hold."""
    from pyspark.sql import types as T

    path = fresh("parquet-legacy-layouts-int96")
    table = path / "delta"
    spark = spark_session("UTC", **{"spark.sql.parquet.writeLegacyFormat": "true",
                                    "spark.sql.parquet.outputTimestampType": "INT96"})
    schema = T.StructType([
        T.StructField("id", T.IntegerType(), False),
        T.StructField("ts", T.TimestampType()),
        T.StructField("price", T.DecimalType(9, 2)),
        T.StructField("total", T.DecimalType(28, 6)),
        T.StructField("tags", T.ArrayType(T.StringType(), True)),
        T.StructField("points", T.ArrayType(T.StructType([T.StructField("x", T.IntegerType()),
                                                          T.StructField("y", T.DoubleType())]))),
        T.StructField("counts", T.MapType(T.StringType(), T.LongType(), True)),
        T.StructField("nested", T.MapType(T.IntegerType(), T.ArrayType(T.IntegerType()))),
    ])
    utc = dt.timezone.utc
    D = decimal.Decimal
    rows = [
        (1, dt.datetime(2024, 3, 10, 10, 30, 0, 123456, utc), D("1234567.89"), D("-1234567890123456789012.345678"),
         ["a", None, "c"], [{"x": 1, "y": 0.5}, None], {"k": 1}, {1: [1, 2], 2: None}),
        (2, dt.datetime(1900, 1, 1, 0, 0, 0, 0, utc), D("-0.01"), D("0.000001"), [], [], {}, {}),
        (3, None, None, None, None, None, None, None),
        (4, dt.datetime(2262, 4, 11, 23, 47, 16, 854775, utc), D("9999999.99"), D("9999999999999999999999.999999"),
         [None], [{"x": None, "y": None}], {"z": None}, {-1: []}),
    ]
    spark_parquet(spark.createDataFrame(rows, schema), table, "part-00000.snappy.parquet")
    spark.stop()
    commit(table, 0, [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
                      metadata(json.loads(schema.json())), add(table, "part-00000.snappy.parquet")])

    def as_map(value):
        return None if value is None else list(value.items())

    expect(path, pa.table({
        "id": pa.array([r[0] for r in rows], pa.int32()),
        "ts": pa.array([r[1] for r in rows], pa.timestamp("us", "UTC")),
        "price": pa.array([r[2] for r in rows], pa.decimal128(9, 2)),
        "total": pa.array([r[3] for r in rows], pa.decimal128(28, 6)),
        "tags": pa.array([r[4] for r in rows], pa.list_(pa.string())),
        "points": pa.array([r[5] for r in rows], pa.list_(pa.struct([("x", pa.int32()), ("y", pa.float64())]))),
        "counts": pa.array([as_map(r[6]) for r in rows], pa.map_(pa.string(), pa.int64())),
        "nested": pa.array([as_map(r[7]) for r in rows], pa.map_(pa.int32(), pa.list_(pa.int32()))),
    }))
    case_json(path, [], "written by Spark 4.3 with writeLegacyFormat=true and outputTimestampType=INT96")


def session_zones():
    """The same wall-clock text written as TIMESTAMP under three session
    zones (three files, each an instant), DATEs beside them, and a timestamp
    partition column in both forms the protocol allows (plain, read as UTC,
    and ISO-8601 with an offset)."""
    from pyspark.sql import types as T

    path = fresh("timestamps-written-under-session-zones")
    table = path / "delta"
    text = ["2024-03-10 02:30:00", "2024-11-03 01:30:00", "1969-12-31 23:59:59.5"]
    dates = ["2024-03-10", "1582-10-15", "0001-01-01"]
    zones = ["America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]
    partitions = [("2024-01-01 00:00:00", dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)),
                  ("2024-06-30T12:00:00.000000Z", dt.datetime(2024, 6, 30, 12, tzinfo=dt.timezone.utc)),
                  ("2024-12-31T23:00:00.000000-05:00", dt.datetime(2025, 1, 1, 4, tzinfo=dt.timezone.utc))]
    schema = T.StructType([T.StructField("zone", T.StringType()), T.StructField("ts", T.TimestampType()),
                           T.StructField("day", T.DateType())])
    expected = {"zone": [], "ts": [], "day": [], "batch": []}
    actions = []
    for index, zone in enumerate(zones):
        spark = spark_session(zone, **{"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"})
        df = spark.sql(
            "SELECT col1 AS zone, to_timestamp(col2) AS ts, to_date(col3) AS day FROM VALUES "
            + ", ".join(f"('{zone}', '{t}', '{d}')" for t, d in zip(text, dates)))
        name = f"batch={index}/part-00000.snappy.parquet"
        (table / f"batch={index}").mkdir()
        spark_parquet(df, table, name)
        spark.stop()
        partition_text, partition_instant = partitions[index]
        actions.append(add(table, name, {"batch": partition_text}))
        for t, d in zip(text, dates):
            wall = dt.datetime.fromisoformat(t)
            expected["zone"].append(zone)
            expected["ts"].append(wall.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc))
            expected["day"].append(dt.date.fromisoformat(d))
            expected["batch"].append(partition_instant)
    delta_schema = json.loads(schema.json())
    delta_schema["fields"].append({"name": "batch", "type": "timestamp", "nullable": True, "metadata": {}})
    commit(table, 0, [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
                      metadata(delta_schema, partition_columns=["batch"])] + actions)
    expect(path, pa.table({"zone": pa.array(expected["zone"]),
                           "ts": pa.array(expected["ts"], pa.timestamp("us", "UTC")),
                           "day": pa.array(expected["day"], pa.date32()),
                           "batch": pa.array(expected["batch"], pa.timestamp("us", "UTC"))}))
    case_json(path, ["partitioned"], "TIMESTAMP values are instants whatever zone wrote them")


def deltalake_history(case: str, loops: int, checkpoint_version: int):
    """A table written by the `deltalake` package: each loop appends three
    rows and, from the third on, deletes the rows appended two loops before
    (versions: 0-2 appends, then a delete and an append in turn), with a
    checkpoint at `checkpoint_version`. The expected rows are the live ones."""
    import deltalake

    path = fresh(case)
    table = path / "delta"
    shutil.rmtree(table)
    live = {}

    def checkpoint_if_due():
        written = deltalake.DeltaTable(table)
        if written.version() == checkpoint_version:
            written.create_checkpoint()

    for loop in range(loops):
        batch = pa.table({"v": pa.array([loop] * 3, pa.int64()), "x": pa.array([f"{loop}-{i}" for i in range(3)])})
        deltalake.write_deltalake(table, batch, mode="append")
        live[loop] = batch
        checkpoint_if_due()
        if loop >= 2:
            deltalake.DeltaTable(table).delete(f"v = {loop - 2}")
            del live[loop - 2]
            checkpoint_if_due()
    expect(path, pa.concat_tables(live.values()))
    return path, table


def history_after_vacuum():
    """Log clean-up and VACUUM ran: the log starts at checkpoint 5, and the
    files the commits before it removed are gone."""
    path, table = deltalake_history("history-starts-at-checkpoint", loops=5, checkpoint_version=5)
    import deltalake

    live = {pathlib.Path(f).name for f in deltalake.DeltaTable(table).file_uris()}
    for version in range(5):
        (table / "_delta_log" / f"{version:020}.json").unlink()
    for file in table.glob("*.parquet"):
        if file.name not in live:
            file.unlink()
    case_json(path, ["checkpoint"], "commits 0-4 and the data files no longer live were cleaned up")


def gap_covered_by_checkpoint():
    """Commits 2-4 are missing, but checkpoint 5 covers them."""
    path, table = deltalake_history("log-gap-covered-by-checkpoint", loops=5, checkpoint_version=5)
    log = table / "_delta_log"
    (log / "_last_checkpoint").unlink()
    for version in (2, 3, 4):
        (log / f"{version:020}.json").unlink()
    case_json(path, ["checkpoint"], "no _last_checkpoint; commits 2-4 missing, covered by checkpoint 5")


def checkpoint_only():
    """A log holding a checkpoint and nothing else."""
    path, table = deltalake_history("checkpoint-only", loops=5, checkpoint_version=7)
    for file in (table / "_delta_log").glob("*.json"):
        file.unlink()
    case_json(path, ["checkpoint"], "the log is _last_checkpoint and checkpoint 7, no commit files")


def gap_not_covered():
    """Commit 3 of 0-5 is missing and no checkpoint covers it: must be refused."""
    path, table = deltalake_history("log-gap-not-covered", loops=4, checkpoint_version=-1)
    (table / "_delta_log" / f"{3:020}.json").unlink()
    shutil.rmtree(path / "expected" / "latest")
    spec = {"name": path.name, "origin": "tests/data/delta-extra/generate.py", "features": [],
            "note": "commit 3 of 0-5 is missing and no checkpoint covers it", "expected": {"kind": "error"}}
    (path / "case.json").write_text(json.dumps(spec, indent=2) + "\n")


if __name__ == "__main__":
    column_mapping_by_id()
    column_mapping_by_id_other_names()
    legacy_parquet_layouts()
    session_zones()
    history_after_vacuum()
    gap_covered_by_checkpoint()
    checkpoint_only()
    gap_not_covered()
