#!/usr/bin/env python3
"""A Databricks SQL warehouse (the workspace emulator over the local Spark):
a large result and federation on and off.

1. Large result: all of TPC-H SF1 lineitem (`SELECT *`) as Arrow, fetched by
   lakefed (`dbx.lakefed_bench.lineitem`: chunks downloaded in parallel) and
   by the official `databricks-sdk` the way its documentation shows
   (`execute_statement` with EXTERNAL_LINKS + ARROW_STREAM, polling, then
   each chunk's link fetched with `requests` and read with pyarrow, one
   after the other). Both on loopback and through a proxy that paces every
   connection to --link-mbit (cloud storage limits each connection, not the
   client): emulator API calls and chunk downloads alike.
2. TPC-H Q1, Q6 and Q3 through lakefed with subplan federation on and off,
   on loopback: time and Arrow bytes received from the warehouse.

Each round runs every case once per client or mode, the order rotating
between rounds, after one uncounted warm-up round. Reported: median wall
seconds, bytes received, and each mode's time over the first mode of its
case (above 1: the first mode is faster). Every mode must return the same
number of rows.

    scripts/bench-databricks.sh --rounds 5 [--link-mbit 200]
"""

import argparse
import time
import urllib.parse

import pyarrow as pa
import requests
from compare_federation import NS, TABLES, Lakefed, print_ratios, query, run_rounds, start_link
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import Disposition, Format, StatementState

LARGE = f"SELECT * FROM {NS}.lineitem"


def sdk_fetch(w, warehouse, sql):
    """The result of `sql` as one Arrow table, through databricks-sdk."""
    start = time.perf_counter()
    api = w.statement_execution
    response = api.execute_statement(
        statement=sql,
        warehouse_id=warehouse,
        disposition=Disposition.EXTERNAL_LINKS,
        format=Format.ARROW_STREAM,
        wait_timeout="50s",
    )
    while response.status.state in (StatementState.PENDING, StatementState.RUNNING):
        time.sleep(0.5)
        response = api.get_statement(response.statement_id)
    if response.status.state != StatementState.SUCCEEDED:
        raise RuntimeError(f"{sql}: {response.status}")
    tables, nbytes = [], 0
    result = response.result
    while result is not None and result.external_links:
        link = result.external_links[0]
        download = requests.get(link.external_link, headers=link.http_headers or {}, timeout=300)
        download.raise_for_status()
        nbytes += len(download.content)
        tables.append(pa.ipc.open_stream(download.content).read_all())
        if link.next_chunk_index is None:
            break
        result = api.get_statement_result_chunk_n(response.statement_id, link.next_chunk_index)
    rows = sum(t.num_rows for t in tables)
    return time.perf_counter() - start, rows, nbytes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the workspace emulator")
    parser.add_argument("--spark-url", required=True, help="the Spark Connect server behind it")
    parser.add_argument("--tpch", required=True, help="directory of the TPC-H SF1 Delta tables")
    parser.add_argument("--lakefed", required=True, help="the spark_fetch example binary")
    parser.add_argument("--token", default="dapi-lakefed-test-token")
    parser.add_argument("--warehouse", default="lakefed-wh")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--link-mbit", type=float, default=200, help="per-connection pace of the proxy")
    args = parser.parse_args()

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(args.spark_url).getOrCreate()
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {NS}")
    for table in TABLES:
        spark.sql(f"DROP TABLE IF EXISTS {NS}.{table}")
        # Spark reads the Parquet files of the Delta table (it skips _delta_log).
        spark.sql(f"CREATE TABLE {NS}.{table} USING parquet LOCATION '{args.tpch}/{table}'")

    emulator = urllib.parse.urlparse(args.url)
    paced = f"http://127.0.0.1:{start_link(emulator.hostname, emulator.port, args.link_mbit)}"
    links = {"loopback": args.url, f"{args.link_mbit:g} Mbit/s per connection": paced}
    lakefeds = {
        name: Lakefed(
            args.lakefed, f"databricks:{args.warehouse}", env={"DATABRICKS_HOST": url, "DATABRICKS_TOKEN": args.token}
        )
        for name, url in links.items()
    }
    sdks = {name: WorkspaceClient(host=url, token=args.token) for name, url in links.items()}

    def lakefed_run(link, sql, federation=True):
        def run():
            lakefeds[link].run(f"SET lakefed.federation = {str(federation).lower()}")
            return lakefeds[link].run(sql)

        return run

    def sdk_run(link, sql):
        return lambda: sdk_fetch(sdks[link], args.warehouse, sql)

    cases = {}
    for link in links:
        cases[f"lineitem SF1, {link}"] = [
            ("lakefed", lakefed_run(link, f"SELECT * FROM dbx.{NS}.lineitem")),
            ("databricks-sdk + pyarrow", sdk_run(link, LARGE)),
        ]
    dbx = {t: f"dbx.{NS}.{t}" for t in TABLES}
    for name in ["q1", "q6", "q3"]:
        cases[name] = [
            ("federation on", lakefed_run("loopback", query(name, dbx), True)),
            ("federation off", lakefed_run("loopback", query(name, dbx), False)),
        ]

    results = run_rounds(cases, args.rounds)
    print(f"\n{args.rounds} rounds, medians in seconds; ratio = this mode / the first mode of the case\n")
    print_ratios(cases, results, "Arrow bytes received")

if __name__ == "__main__":
    main()
