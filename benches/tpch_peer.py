#!/usr/bin/env python3
"""One peer engine of the TPC-H comparison, in its own process, speaking the
protocol of `cargo run --release --example tpch -- serve`: it prints `ready`,
then for every query name read from stdin prints `<seconds> <rows>` and the
rows as JSON lines (the values of each row, in column order).

    python benches/tpch_peer.py duckdb-delta .tmp/tpch-sf1

Engines:
- duckdb-delta: DuckDB with its delta extension, views over `delta_scan`.
- polars: `pl.scan_delta` per query, run through `pl.SQLContext`.
- datafusion-python: a new `SessionContext` per query with the `deltalake`
  package's `DeltaTable` registered as table provider.
"""

import datetime
import decimal
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TABLES = ["nation", "region", "part", "supplier", "partsupp", "customer", "orders", "lineitem"]


def query_text(name):
    return (ROOT / "benches" / "queries" / f"{name}.sql").read_text()


class DuckDB:
    def __init__(self, data):
        import duckdb
        import duckdb_extensions

        self.con = duckdb.connect()
        duckdb_extensions.import_extension("delta", con=self.con)
        self.con.execute("LOAD delta")
        for t in TABLES:
            self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM delta_scan('{data / t}')")

    def run(self, sql):
        return self.con.execute(sql).to_arrow_table()


class Polars:
    def __init__(self, data):
        import polars as pl

        self.pl = pl
        self.data = data

    def run(self, sql):
        frames = {t: self.pl.scan_delta(str(self.data / t)) for t in TABLES}
        return self.pl.SQLContext(frames).execute(sql).collect().to_arrow()


class DataFusionPython:
    def __init__(self, data):
        import datafusion
        import deltalake

        self.datafusion = datafusion
        self.deltalake = deltalake
        self.data = data

    def run(self, sql):
        ctx = self.datafusion.SessionContext()
        for t in TABLES:
            ctx.register_table(t, self.deltalake.DeltaTable(str(self.data / t)))
        return ctx.sql(sql).to_arrow_table()


ENGINES = {"duckdb-delta": DuckDB, "polars": Polars, "datafusion-python": DataFusionPython}


def plain(value):
    """A JSON value for one cell: numbers as numbers, exact decimals and dates as text."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def main():
    name, data = sys.argv[1], pathlib.Path(sys.argv[2])
    engine = ENGINES[name](data)
    print("ready", flush=True)
    for line in sys.stdin:
        sql = query_text(line.strip())
        start = time.perf_counter()
        try:
            table = engine.run(sql)
        except Exception as err:  # reported to the driver, which records the failure
            print(f"error {str(err).splitlines()[0][:200] if str(err) else type(err).__name__}", flush=True)
            continue
        seconds = time.perf_counter() - start
        out = [f"{seconds:.6f} {table.num_rows}"]
        for row in table.to_pylist():
            out.append(json.dumps([plain(v) for v in row.values()]))
        print("\n".join(out), flush=True)


if __name__ == "__main__":
    main()
