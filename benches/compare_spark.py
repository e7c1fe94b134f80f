#!/usr/bin/env python3
"""Fetching results from one local Spark Connect server: lakefed beside the
pyspark client (`toArrow()`) and adbc-driver-spark (a Go driver), in one run.

Results fetched: TPC-H lineitem SF1 (a Spark table over the Parquet files of
the Delta table `examples/tpch.rs gen` writes), a 20-million-row range, a warm
`SELECT 1`-sized round trip, and a selective `WHERE ... LIMIT 10` with and
without lakefed's pushdown. Each round runs every case once per client, the
client order rotating between rounds; the report gives medians, rows/s, MB/s
(Arrow IPC bytes the server sent lakefed) and each peer's median over
lakefed's (above 1: lakefed is faster). For lakefed it also splits the time
into waiting on the server and decoding Arrow. With --sail-url, lakefed and
ADBC also fetch from Sail (a Spark Connect server in Rust, fast enough that
the client is the limit).

    scripts/bench-spark.sh --rounds 5
"""

import argparse
import statistics
import subprocess
import sys
import time
import uuid

NS = "lakefed_bench"

# name: (Spark SQL for the peers, DataFusion SQL for lakefed)
CASES = {
    "lineitem": (f"SELECT * FROM {NS}.lineitem", f"SELECT * FROM spark.{NS}.lineitem"),
    "range_20m": (f"SELECT * FROM {NS}.range_20m", f"SELECT * FROM spark.{NS}.range_20m"),
    "one_row": (f"SELECT * FROM {NS}.one_row", f"SELECT * FROM spark.{NS}.one_row"),
    "selective_limit": (
        f"SELECT * FROM {NS}.lineitem WHERE l_orderkey = 5999975 LIMIT 10",
        f"SELECT * FROM spark.{NS}.lineitem WHERE l_orderkey = 5999975 LIMIT 10",
    ),
}
# lakefed only: the same query with the filter kept local (`+ 0` is not
# pushed), so the whole table crosses the wire.
NO_PUSHDOWN = (
    "selective_limit_no_pushdown",
    f"SELECT * FROM spark.{NS}.lineitem WHERE l_orderkey + 0 = 5999975 LIMIT 10",
)


SETUP = [
    f"CREATE NAMESPACE IF NOT EXISTS {NS}",
    f"DROP TABLE IF EXISTS {NS}.lineitem",
    f"CREATE TABLE {NS}.lineitem USING parquet LOCATION '{{lineitem}}'",
    f"DROP VIEW IF EXISTS {NS}.range_20m",
    f"CREATE VIEW {NS}.range_20m AS SELECT id FROM range(20000000)",
    f"DROP VIEW IF EXISTS {NS}.one_row",
    f"CREATE VIEW {NS}.one_row AS SELECT 1 AS one",
]


class Lakefed:
    name = "lakefed"

    def __init__(self, binary, url):
        self.proc = subprocess.Popen([binary, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"lakefed did not start: {line!r}")
        self.split = {}

    def run(self, case, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("lakefed exited")
        seconds, rows, nbytes, wait, decode = line.split()[:5]
        self.split.setdefault(case, []).append((float(wait), float(decode), int(nbytes)))
        return float(seconds), int(rows)


class PySpark:
    name = "pyspark"

    def __init__(self, spark):
        self.spark = spark

    def run(self, case, sql):
        start = time.perf_counter()
        table = self.spark.sql(sql).toArrow()
        return time.perf_counter() - start, table.num_rows


class Adbc:
    name = "adbc-driver-spark"

    def __init__(self, url):
        import adbc_driver_spark.dbapi

        self.conn = adbc_driver_spark.dbapi.connect(url)

    def run(self, case, sql):
        start = time.perf_counter()
        with self.conn.cursor() as cursor:
            cursor.execute(sql)
            table = cursor.fetch_arrow_table()
        return time.perf_counter() - start, table.num_rows


def compare(server, clients, cases, rounds):
    """Runs every case on every client, rotating the order; prints medians."""
    lakefed = clients[0]
    times, rows = {}, {}
    for round_ in range(rounds + 1):  # round 0 warms up and is dropped
        order = clients[round_ % len(clients):] + clients[:round_ % len(clients)]
        for case, (spark_sql, lakefed_sql) in cases.items():
            for client in order:
                if client is not lakefed and spark_sql is None:
                    continue
                seconds, n = client.run(case, lakefed_sql if client is lakefed else spark_sql)
                rows.setdefault(case, set()).add(n)
                if round_:
                    times.setdefault((case, client.name), []).append(seconds)
    for case, counts in rows.items():
        if len(counts) != 1:
            sys.exit(f"{server} {case}: clients disagree on the row count: {counts}")

    print(f"\n### {server}: {rounds} rounds, medians; ratio = peer / lakefed (above 1: lakefed faster)\n")
    print("| case | rows | client | median s | rows/s | MB/s | ratio |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for case in cases:
        n = next(iter(rows[case]))
        split = lakefed.split.get(case)
        mb = statistics.median(s[2] for s in split) / 1e6 if split else 0
        base = statistics.median(times[(case, "lakefed")])
        for client in clients:
            if (case, client.name) not in times:
                continue
            median = statistics.median(times[(case, client.name)])
            ratio = "" if client is lakefed else f"{median / base:.2f}"
            print(f"| {case} | {n:,} | {client.name} | {median:.4f} | {n / median:,.0f} | {mb / median:,.1f} | {ratio} |")
    print(f"\nlakefed on {server}: where the time went (medians)\n")
    print("| case | Arrow MB received | waiting on the server s | decoding s |")
    print("|---|---:|---:|---:|")
    for case, samples in lakefed.split.items():
        wait = statistics.median(s[0] for s in samples)
        decode = statistics.median(s[1] for s in samples)
        nbytes = statistics.median(s[2] for s in samples)
        print(f"| {case} | {nbytes / 1e6:,.1f} | {wait:.4f} | {decode:.4f} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the Spark Connect server (Spark)")
    parser.add_argument("--sail-url", help="a Sail server, for lakefed vs ADBC where the client is the limit")
    parser.add_argument("--lineitem", required=True, help="directory of lineitem's Parquet files")
    parser.add_argument("--lakefed", required=True, help="the spark_fetch example binary")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(args.url).getOrCreate()
    for statement in SETUP:
        spark.sql(statement.format(lineitem=args.lineitem))
    cases = dict(CASES)
    cases[NO_PUSHDOWN[0]] = (None, NO_PUSHDOWN[1])
    compare("Spark 4.3", [Lakefed(args.lakefed, args.url), PySpark(spark), Adbc(args.url)], cases, args.rounds)

    if args.sail_url:
        # Sail keeps tables per session: both clients join one session.
        url = f"{args.sail_url}/;session_id={uuid.uuid4()}"
        adbc = Adbc(url)
        with adbc.conn.cursor() as cursor:
            for statement in SETUP:
                cursor.execute(statement.format(lineitem=args.lineitem))
        sail_cases = {k: v for k, v in CASES.items() if k != "selective_limit"}
        compare("Sail", [Lakefed(args.lakefed, url), adbc], sail_cases, args.rounds)


if __name__ == "__main__":
    main()
