#!/usr/bin/env python3
"""TPC-H Q1, Q3 and Q6 on the same Delta tables with lakefed and its peers.

Engines: lakefed (a warm session in `cargo run --release --example tpch -- serve`),
DuckDB with its delta extension, Polars `scan_delta`, and datafusion-python over
the `deltalake` package. Each round runs every query once on every engine, the
engine order rotating between rounds; the report gives the median per query and
engine, and each peer's median divided by lakefed's (above 1: lakefed is faster).

    scripts/bench-peers.sh --sf 1 --rounds 7
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
QUERY_NAMES = ["q1", "q3", "q6"]
QUERIES = {q: (ROOT / "benches" / "queries" / f"{q}.sql").read_text() for q in QUERY_NAMES}
TABLES = ["customer", "orders", "lineitem"]


class Lakefed:
    name = "lakefed"

    def __init__(self, data, binary):
        self.proc = subprocess.Popen(
            [binary, "serve", "--dir", str(data)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"lakefed did not start: {line!r}")

    def run(self, query):
        self.proc.stdin.write(query + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("lakefed exited")
        seconds, rows = line.split()
        return float(seconds), int(rows)


class DuckDB:
    name = "duckdb-delta"

    def __init__(self, data):
        import duckdb
        import duckdb_extensions

        self.con = duckdb.connect()
        duckdb_extensions.import_extension("delta", con=self.con)
        self.con.execute("LOAD delta")
        for t in TABLES:
            self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM delta_scan('{data / t}')")

    def run(self, query):
        start = time.perf_counter()
        table = self.con.execute(QUERIES[query]).fetch_arrow_table()
        return time.perf_counter() - start, table.num_rows


class Polars:
    name = "polars"

    def __init__(self, data):
        import polars as pl

        self.pl = pl
        self.data = data

    def run(self, query):
        start = time.perf_counter()
        frames = {t: self.pl.scan_delta(str(self.data / t)) for t in TABLES}
        result = self.pl.SQLContext(frames).execute(QUERIES[query]).collect()
        return time.perf_counter() - start, result.height


class DataFusionPython:
    name = "datafusion-python"

    def __init__(self, data):
        import datafusion
        import deltalake

        self.datafusion = datafusion
        self.deltalake = deltalake
        self.data = data

    def run(self, query):
        start = time.perf_counter()
        ctx = self.datafusion.SessionContext()
        for t in TABLES:
            ctx.register_table(t, self.deltalake.DeltaTable(str(self.data / t)))
        table = ctx.sql(QUERIES[query]).to_arrow_table()
        return time.perf_counter() - start, table.num_rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=pathlib.Path)
    parser.add_argument("--lakefed", required=True, help="path of the built tpch example")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    engines = [Lakefed(args.data, args.lakefed)]
    for peer in (DuckDB, Polars, DataFusionPython):
        try:
            engines.append(peer(args.data))
        except Exception as err:  # a missing peer is reported, not fatal
            print(f"skipping {peer.name}: {err}", file=sys.stderr)

    times = {(e.name, q): [] for e in engines for q in QUERY_NAMES}
    rows = {}
    failures = {}
    for round_no in range(args.rounds + 1):  # round 0 warms caches and is not counted
        order = engines[round_no % len(engines):] + engines[: round_no % len(engines)]
        for engine in order:
            for q in QUERY_NAMES:
                if (engine.name, q) in failures:
                    continue
                try:
                    seconds, n = engine.run(q)
                except Exception as err:
                    failures[(engine.name, q)] = str(err).splitlines()[0][:120]
                    continue
                rows.setdefault(q, {})[engine.name] = n
                if round_no > 0:
                    times[(engine.name, q)].append(seconds)

    names = [e.name for e in engines]
    print(f"data: {args.data}, rounds: {args.rounds}, cores: {os.cpu_count()}")
    print()
    print("| query | " + " | ".join(f"{n} median s" for n in names) + " | " + " | ".join(f"{n} / lakefed" for n in names[1:]) + " |")
    print("|---" * (2 * len(names)) + "|")
    for q in QUERY_NAMES:
        medians = {}
        for n in names:
            samples = times[(n, q)]
            medians[n] = statistics.median(samples) if samples else None
        cells = [f"{medians[n]:.3f}" if medians[n] is not None else "error" for n in names]
        base = medians["lakefed"]
        ratios = [
            f"{medians[n] / base:.2f}" if medians[n] is not None and base else "-" for n in names[1:]
        ]
        print(f"| {q} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    counts = {q: sorted(set(r.values())) for q, r in rows.items()}
    mismatched = {q: c for q, c in counts.items() if len(c) > 1}
    if mismatched:
        print(f"\nrow counts differ between engines: {mismatched}")
    for (engine, q), err in failures.items():
        print(f"\n{engine} failed {q}: {err}")


if __name__ == "__main__":
    main()
