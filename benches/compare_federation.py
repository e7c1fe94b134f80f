#!/usr/bin/env python3
"""Federation on and off: TPC-H Q1, Q6 and Q3 over SF1 tables stored in a
local Spark Connect server, run through lakefed with subplan federation
(`SET lakefed.federation = true`, the default) and with scan-level pushdown
only (`false`), and by Spark itself through the pyspark client for
reference; then Q3 across sources (customer in Spark; orders and lineitem in
Delta) beside the same query entirely on local Delta.

Each round runs every case once per mode, the order rotating between rounds,
after one uncounted warm-up round. Reported: median wall seconds, Arrow bytes
received from Spark, and each mode's time over the first mode of its case
(above 1: the first mode is faster). Every mode must return the same number
of rows.

With --link-mbit N every client reaches Spark through a proxy that paces
the server's replies to N megabits per second (the machine has no traffic
shaping): a client on another host than the cluster, where loopback is a
network with no cost at all.

    scripts/bench-federation.sh --rounds 5 [--link-mbit 1000]
"""

import argparse
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import threading
import time

NS = "lakefed_bench"
TABLES = ["customer", "orders", "lineitem"]
QUERIES = pathlib.Path(__file__).parent / "queries"


def query(name, tables):
    """benches/queries/<name>.sql with each TPC-H table renamed by `tables`."""
    sql = " ".join((QUERIES / f"{name}.sql").read_text().split())
    sql = sql.replace("FROM customer, orders, lineitem", "FROM " + ", ".join(tables[t] for t in TABLES))
    return sql.replace("FROM lineitem", f"FROM {tables['lineitem']}")


SPARK = {t: f"spark.{NS}.{t}" for t in TABLES}
SPARK_DIRECT = {t: f"{NS}.{t}" for t in TABLES}
DELTA = {t: f"lake.{t}" for t in TABLES}
CROSS = {"customer": f"spark.{NS}.customer", "orders": "lake.orders", "lineitem": "lake.lineitem"}


def pace(source, sink, bytes_per_second):
    """Copies source to sink, no faster than bytes_per_second."""
    due = time.perf_counter()
    try:
        while chunk := source.recv(65536):
            if bytes_per_second:
                due = max(due, time.perf_counter()) + len(chunk) / bytes_per_second
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def start_link(target_host, target_port, mbit):
    """A local TCP proxy to the target whose replies flow at `mbit` Mbit/s;
    returns its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept():
        while True:
            client, _ = listener.accept()
            server = socket.create_connection((target_host, target_port))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=pace, args=(client, server, 0), daemon=True).start()
            threading.Thread(target=pace, args=(server, client, mbit * 1e6 / 8), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


class Lakefed:
    """The spark_fetch example: one warm session, one statement per line.
    `remote` is a Spark Connect URL or `databricks:<warehouse id>` (then
    `env` holds the workspace's DATABRICKS_HOST and DATABRICKS_TOKEN)."""

    def __init__(self, binary, remote, delta_dir=None, env=None):
        command = [binary, remote] + ([delta_dir] if delta_dir else [])
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
        )
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"lakefed did not start: {line!r}")

    def run(self, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("lakefed exited")
        seconds, rows, nbytes = line.split()[:3]
        return float(seconds), int(rows), int(nbytes)


def run_rounds(cases, rounds):
    """Runs every mode of every case once per round, the order rotating,
    after one uncounted warm-up round; exits if modes of a case disagree on
    the row count. Returns {(case, mode): {times, rows, bytes}}."""
    results = {}
    for round_ in range(rounds + 1):  # round 0 warms up and is dropped
        for case, modes in cases.items():
            shift = round_ % len(modes)
            for mode, run in modes[shift:] + modes[:shift]:
                seconds, rows, nbytes = run()
                entry = results.setdefault((case, mode), {"times": [], "rows": rows, "bytes": nbytes})
                if entry["rows"] != rows:
                    sys.exit(f"{case} {mode}: {rows} rows, earlier {entry['rows']}")
                if round_:
                    entry["times"].append(seconds)
    for case, modes in cases.items():
        counts = {results[(case, mode)]["rows"] for mode, _ in modes}
        if len(counts) != 1:
            sys.exit(f"{case}: modes disagree on the row count: {counts}")
    return results


def print_ratios(cases, results, bytes_label):
    """A Markdown table: median seconds, bytes and ratio to each case's first mode."""
    print(f"| case | mode | rows | median s | {bytes_label} | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for case, modes in cases.items():
        base = statistics.median(results[(case, modes[0][0])]["times"])
        for mode, _ in modes:
            entry = results[(case, mode)]
            median = statistics.median(entry["times"])
            nbytes = "" if entry["bytes"] is None else f"{entry['bytes']:,}"
            print(f"| {case} | {mode} | {entry['rows']:,} | {median:.3f} | {nbytes} | {median / base:.2f} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the Spark Connect server")
    parser.add_argument("--tpch", required=True, help="directory of the TPC-H Delta tables")
    parser.add_argument("--lakefed", required=True, help="the spark_fetch example binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--link-mbit", type=float, help="pace Spark's replies to this many Mbit/s")
    args = parser.parse_args()
    url = args.url
    if args.link_mbit:
        host, port = url.removeprefix("sc://").split("/")[0].split(":")
        url = f"sc://127.0.0.1:{start_link(host, int(port), args.link_mbit)}"

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(url).getOrCreate()
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {NS}")
    for table in TABLES:
        spark.sql(f"DROP TABLE IF EXISTS {NS}.{table}")
        # Spark reads the Parquet files of the Delta table (it skips _delta_log).
        spark.sql(f"CREATE TABLE {NS}.{table} USING parquet LOCATION '{args.tpch}/{table}'")
    lakefed = Lakefed(args.lakefed, url, args.tpch)

    # case: [(mode, runner)], each runner returning (seconds, rows, bytes from Spark)
    def lakefed_run(sql, federation):
        def run():
            lakefed.run(f"SET lakefed.federation = {str(federation).lower()}")
            return lakefed.run(sql)

        return run

    def spark_run(sql):
        def run():
            start = time.perf_counter()
            table = spark.sql(sql).toArrow()
            return time.perf_counter() - start, table.num_rows, None

        return run

    cases = {}
    for name in ["q1", "q6", "q3"]:
        cases[name] = [
            ("federation on", lakefed_run(query(name, SPARK), True)),
            ("federation off", lakefed_run(query(name, SPARK), False)),
            ("Spark alone (pyspark)", spark_run(query(name, SPARK_DIRECT))),
        ]
    cases["q3 across sources"] = [
        ("customer in Spark, orders + lineitem in Delta", lakefed_run(query("q3", CROSS), True)),
        ("all in Delta", lakefed_run(query("q3", DELTA), True)),
    ]

    results = run_rounds(cases, args.rounds)
    link = f"{args.link_mbit:g} Mbit/s link" if args.link_mbit else "loopback"
    print(f"\n{link}, {args.rounds} rounds, medians in seconds; ratio = this mode / the first mode of the case\n")
    print_ratios(cases, results, "Arrow bytes from Spark")

if __name__ == "__main__":
    main()
