#!/usr/bin/env python3
"""Fetching a large result into pyarrow from Python: lakefed's Python package
beside datafusion-python (55.0.0) and the pyspark Spark Connect client (4.3),
on the same data, in one process and one run.

Data: TPC-H SF1 lineitem, the Delta table `examples/tpch.rs gen` writes
(append-only commits of plain Parquet files), and a Spark table
`lakefed_bench.lineitem` over the same Parquet files.

- **Delta → pyarrow**: lakefed `register_delta` + `ctx.sql(q).to_arrow()`
  against datafusion-python `register_parquet` on the same directory +
  `ctx.sql(q).to_arrow_table()`. Before timing, the Delta log is checked to
  be append-only (no removes, no deletion vectors, no partition columns or
  column mapping) and to list exactly the Parquet files in the directory, so
  both read the same rows.
- **Spark Connect → pyarrow**: lakefed `register_spark_connect` +
  `ctx.sql("SELECT ... FROM spark.lakefed_bench.lineitem").to_arrow()`
  against pyspark `spark.table(...).toArrow()` (`spark.sql(q).toArrow()` for
  the filtered case).

Cases: all of lineitem (6M rows, 16 columns) and a mid-size result,
`SELECT l_orderkey, l_extendedprice, l_shipdate ... WHERE l_shipdate >=
DATE '1998-01-01'` (~690k rows). lakefed also runs each case as
`pa.table(df)` (the `__arrow_c_stream__` capsule) and as a `to_batches()`
loop that drops each batch, to show what streaming costs.

Timing: imports, sessions and table registration happen once, outside the
timed section (printed once, as "setup"); a timed fetch is what a user pays
per query in a warm session: `sql()` (planning; for lakefed also the Delta
log refresh, or the AnalyzePlan round trip to Spark), execution and the
conversion into pyarrow. Each round runs every case once per client, the
client order rotating between rounds; warm-up rounds are dropped. The report
gives medians, rows/s, MB/s (the Arrow bytes of the result each client
returned, `Table.nbytes`) and ratio = median / lakefed `to_arrow()` median
(for peers, above 1: lakefed is faster; for lakefed's streaming rows, above
1: that path costs more than `to_arrow()`). Every client must return the same
row and column count (and column names) per case, or the run exits non-zero.

    scripts/bench-python.sh --rounds 5
"""

import argparse
import gc
import json
import os
import pathlib
import statistics
import sys
import time

import pyarrow as pa

NS = "lakefed_bench"
FULL = "SELECT * FROM {t}"
MID = "SELECT l_orderkey, l_extendedprice, l_shipdate FROM {t} WHERE l_shipdate >= DATE '1998-01-01'"
CASES = {"lineitem": FULL, "shipdate_1998": MID}
CASE_LABELS = {
    "lineitem": "lineitem (all columns)",
    "shipdate_1998": "3 columns, `l_shipdate >= 1998-01-01`",
}


def check_delta_is_plain_parquet(path):
    """Exits unless the Delta table at `path` is exactly its directory's
    Parquet files: no removes, deletion vectors, partitions or column mapping."""
    root = pathlib.Path(path)
    log = root / "_delta_log"
    live, problems = set(), []
    commits = sorted(log.glob("*.json"))
    if list(log.glob("*.checkpoint*.parquet")):
        problems.append("the log has checkpoints (not handled here)")
    for commit in commits:
        for line in commit.read_text().splitlines():
            if not line.strip():
                continue
            action = json.loads(line)
            if "add" in action:
                add = action["add"]
                if add.get("deletionVector"):
                    problems.append(f"{commit.name}: deletion vector on {add['path']}")
                if add.get("partitionValues"):
                    problems.append(f"{commit.name}: partition values on {add['path']}")
                live.add(add["path"])
            elif "remove" in action:
                problems.append(f"{commit.name}: removes {action['remove']['path']}")
            elif "metaData" in action:
                meta = action["metaData"]
                if meta.get("partitionColumns"):
                    problems.append(f"partition columns {meta['partitionColumns']}")
                mode = (meta.get("configuration") or {}).get("delta.columnMapping.mode", "none")
                if mode != "none":
                    problems.append(f"column mapping mode {mode}")
    files = {p.name for p in root.glob("*.parquet")}
    if live != files:
        problems.append(f"log lists {len(live)} files, directory has {len(files)} Parquet files")
    if problems:
        sys.exit(f"{path}: a plain Parquet read would differ from the Delta table: " + "; ".join(problems))
    return len(commits), len(files)


def with_limit(sql, limit):
    return sql if limit is None else f"{sql} LIMIT {limit}"


def table_stats(table):
    return table.num_rows, table.schema, table.nbytes


class Client:
    """One way of fetching: `fetch(case)` returns (rows, Arrow schema, bytes)."""

    def __init__(self, name, method, fetch, baseline=False):
        self.name, self.method, self.fetch, self.baseline = name, method, fetch, baseline

    @property
    def label(self):
        return f"{self.name} `{self.method}`"


def lakefed_clients(ctx, table, limit):
    def sql(case):
        return with_limit(CASES[case].format(t=table), limit)

    def to_arrow(case):
        return table_stats(ctx.sql(sql(case)).to_arrow())

    def capsule(case):
        return table_stats(pa.table(ctx.sql(sql(case))))

    def to_batches(case):
        rows = nbytes = 0
        stream = ctx.sql(sql(case)).to_batches()
        for batch in stream:
            rows += batch.num_rows
            nbytes += batch.nbytes
        return rows, stream.schema, nbytes

    return [
        Client("lakefed", "to_arrow()", to_arrow, baseline=True),
        Client("lakefed", "pa.table(df)", capsule),
        Client("lakefed", "to_batches()", to_batches),
    ]


def datafusion_client(ctx, limit):
    def fetch(case):
        return table_stats(ctx.sql(with_limit(CASES[case].format(t="lineitem"), limit)).to_arrow_table())

    return Client("datafusion-python", "to_arrow_table()", fetch)


def pyspark_client(spark, limit):
    def fetch(case):
        if case == "lineitem":
            df = spark.table(f"{NS}.lineitem")
            if limit is not None:
                df = df.limit(limit)
        else:
            df = spark.sql(with_limit(CASES[case].format(t=f"{NS}.lineitem"), limit))
        return table_stats(df.toArrow())

    return Client("pyspark", "toArrow()", fetch)


def setup_spark_table(spark, lineitem):
    """Creates `lakefed_bench.lineitem` over the Parquet files unless it
    already points there (the server is shared: no needless DROP)."""
    location = pathlib.Path(lineitem).resolve().as_uri().rstrip("/")
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {NS}")
    if spark.catalog.tableExists(f"{NS}.lineitem"):
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED {NS}.lineitem").collect()
        current = next((r.data_type for r in rows if r.col_name == "Location"), "")
        if current.replace("file:///", "file:/").rstrip("/") == location.replace("file:///", "file:/"):
            return
        spark.sql(f"DROP TABLE {NS}.lineitem")
    spark.sql(f"CREATE TABLE {NS}.lineitem USING parquet LOCATION '{lineitem}'")


def run(groups, rounds, warmup):
    """Runs every case on every client of each group, rotating the order."""
    times, results = {}, {}
    for round_ in range(warmup + rounds):
        for group, clients in groups.items():
            shift = round_ % len(clients)
            order = clients[shift:] + clients[:shift]
            for case in CASES:
                for client in order:
                    gc.collect()
                    start = time.perf_counter()
                    rows, schema, nbytes = client.fetch(case)
                    seconds = time.perf_counter() - start
                    results.setdefault(case, {})[(group, client.label)] = (rows, schema)
                    if round_ >= warmup:
                        times.setdefault((group, case, client.label), []).append((seconds, nbytes))
        print(f"round {round_ + 1}/{warmup + rounds} done{' (warm-up)' if round_ < warmup else ''}",
              file=sys.stderr, flush=True)
    failed = False
    for case, by_client in results.items():
        shapes = {(rows, tuple(n.lower() for n in schema.names)) for rows, schema in by_client.values()}
        if len(shapes) != 1:
            failed = True
            print(f"{case}: clients disagree on rows/columns:", file=sys.stderr)
            for (group, label), (rows, schema) in by_client.items():
                print(f"  {group} {label}: {rows} rows, {len(schema)} columns {schema.names}", file=sys.stderr)
    if failed:
        sys.exit(1)
    return times, results


def report(groups, times, results, rounds, setup, limit):
    note = f", LIMIT {limit} (validation run)" if limit is not None else ""
    print(f"\n### {rounds} rounds, medians{note}; ratio = median / lakefed `to_arrow()` median "
          "(peers: above 1, lakefed faster)\n")
    print("| source | case | rows | client | median s | rows/s | MB/s | ratio |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for group, clients in groups.items():
        for case in CASES:
            rows, _ = next(iter(results[case].values()))
            base = next(c for c in clients if c.baseline)
            base_median = statistics.median(s for s, _ in times[(group, case, base.label)])
            for client in clients:
                samples = times[(group, case, client.label)]
                median = statistics.median(s for s, _ in samples)
                mb = statistics.median(b for _, b in samples) / 1e6
                ratio = "" if client is base else f"{median / base_median:.2f}"
                print(f"| {group} | {CASE_LABELS[case]} | {rows:,} | {client.label} | {median:.3f} "
                      f"| {rows / median:,.0f} | {mb / median:,.1f} | {ratio} |")
    notes = []

    def note(case, what, ref, schema):
        differ = sorted({f"{x.type} vs {y.type}" for x, y in zip(ref, schema) if x.type != y.type})
        if differ:
            notes.append(f"- {CASE_LABELS[case]}, {what}: {', '.join(differ)}")

    for case, by_client in results.items():
        bases = []
        for group, clients in groups.items():
            base = next(c for c in clients if c.baseline)
            ref = by_client[(group, base.label)][1]
            bases.append((f"{group} {base.label}", ref))
            for client in clients:
                if client is not base:
                    note(case, f"{group}: {base.label} vs {client.label}", ref, by_client[(group, client.label)][1])
        for name, schema in bases[1:]:
            note(case, f"{bases[0][0]} vs {name}", bases[0][1], schema)
    if notes:
        print("\nSame rows and columns, different Arrow types (MB/s counts each client's own bytes):\n")
        print("\n".join(notes))
    print("\nOne-off setup, not in the medians (seconds, measured once)\n")
    print("| step | s |")
    print("|---|---:|")
    for step, seconds in setup.items():
        print(f"| {step} | {seconds:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the Spark Connect server, sc://host:port")
    parser.add_argument("--lineitem", required=True, help="the Delta table lineitem (TPC-H SF1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="uncounted warm-up rounds (default 1)")
    parser.add_argument("--limit-rows", type=int, help="add LIMIT N to every query (quick validation only)")
    args = parser.parse_args()
    lineitem = os.path.abspath(args.lineitem)

    import datafusion
    import lakefed
    import pyspark
    from pyspark.sql import SparkSession

    commits, files = check_delta_is_plain_parquet(lineitem)
    print(f"lakefed {lakefed.__version__}, datafusion-python {datafusion.__version__}, "
          f"pyspark {pyspark.__version__}, pyarrow {pa.__version__}; {lineitem}: "
          f"{commits} append-only commits, {files} Parquet files", file=sys.stderr)

    setup = {}
    start = time.perf_counter()
    spark = SparkSession.builder.remote(args.url).getOrCreate()
    setup["pyspark `SparkSession.builder.remote(url).getOrCreate()`"] = time.perf_counter() - start
    setup_spark_table(spark, lineitem)

    start = time.perf_counter()
    lf_delta = lakefed.SessionContext(progress=False)
    lf_delta.register_delta("lineitem", lineitem)
    setup["lakefed `SessionContext()` + `register_delta`"] = time.perf_counter() - start

    start = time.perf_counter()
    df_ctx = datafusion.SessionContext()
    df_ctx.register_parquet("lineitem", lineitem)
    setup["datafusion-python `SessionContext()` + `register_parquet`"] = time.perf_counter() - start

    start = time.perf_counter()
    lf_spark = lakefed.SessionContext(progress=False)
    lf_spark.register_spark_connect("spark", args.url)
    setup["lakefed `SessionContext()` + `register_spark_connect`"] = time.perf_counter() - start

    groups = {
        "Delta → pyarrow": lakefed_clients(lf_delta, "lineitem", args.limit_rows)
        + [datafusion_client(df_ctx, args.limit_rows)],
        "Spark Connect → pyarrow": lakefed_clients(lf_spark, f"spark.{NS}.lineitem", args.limit_rows)
        + [pyspark_client(spark, args.limit_rows)],
    }
    started = time.perf_counter()
    times, results = run(groups, args.rounds, args.warmup)
    print(f"{args.warmup + args.rounds} rounds in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    report(groups, times, results, args.rounds, setup, args.limit_rows)


if __name__ == "__main__":
    main()
