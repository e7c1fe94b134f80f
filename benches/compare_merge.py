#!/usr/bin/env python3
"""MERGE INTO a Delta table: lakefed beside delta-rs's Python `merge`.

The target is TPC-H lineitem; the source, a Delta table of 1% of it: the
lines of every 200th order with a new quantity and comment (updates) and
those of the next order under a new order key (inserts). Every round gives
each engine a fresh copy of the target (not timed) and times one upsert:

    WHEN MATCHED THEN UPDATE every column, WHEN NOT MATCHED THEN INSERT

- **lakefed**: `lakefed sql` with the target and the source registered from
  a config file; the time is the whole process (start-up included).
- **delta-rs**: the `deltalake` package in this process: the source read
  into Arrow, then `DeltaTable.merge(...).when_matched_update_all()
  .when_not_matched_insert_all().execute()`.

After each merge DuckDB (delta extension) checks the result: the row count,
the rows updated and the sum of quantities must be what the source implies.
The engine order alternates between rounds; one uncounted warm-up round.

    scripts/bench-merge.sh --rounds 5
"""

import argparse
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

import deltalake
import duckdb
import duckdb_extensions
import pyarrow as pa
import pyarrow.compute as pc

KEY = ["l_orderkey", "l_linenumber"]
COMMENT = "merged by the benchmark"
INSERT_SHIFT = 100_000_000


def make_source(lineitem: pathlib.Path, source: pathlib.Path) -> None:
    """Writes the source table (once): updates and inserts, 1% of the target."""
    if (source / "_delta_log").exists():
        return
    table = deltalake.DeltaTable(lineitem).to_pyarrow_table()
    remainder = pc.subtract(table["l_orderkey"], pc.multiply(pc.divide(table["l_orderkey"], 200), 200))
    updates = table.filter(pc.equal(remainder, 0))
    updates = updates.set_column(updates.schema.get_field_index("l_quantity"), "l_quantity",
                                 pc.add(updates["l_quantity"], pa.scalar(1, updates["l_quantity"].type)))
    updates = updates.set_column(updates.schema.get_field_index("l_comment"), "l_comment",
                                 pa.array([COMMENT] * updates.num_rows, updates["l_comment"].type))
    inserts = table.filter(pc.equal(remainder, 1))
    inserts = inserts.set_column(0, "l_orderkey", pc.add(inserts["l_orderkey"],
                                                        pa.scalar(INSERT_SHIFT, inserts["l_orderkey"].type)))
    deltalake.write_deltalake(source, pa.concat_tables([updates.cast(table.schema), inserts.cast(table.schema)]))


def expected_facts(lineitem: pathlib.Path, source: pathlib.Path) -> tuple:
    """Rows, updated rows and sum of quantities the merged table must have."""
    con = duckdb_connection()
    target_rows, target_quantity = con.execute(
        f"SELECT count(*), sum(l_quantity) FROM delta_scan('{lineitem}')").fetchone()
    updated, inserted, delta_quantity = con.execute(f"""
        SELECT count(*) FILTER (WHERE l_orderkey < {INSERT_SHIFT}),
               count(*) FILTER (WHERE l_orderkey >= {INSERT_SHIFT}),
               sum(CASE WHEN l_orderkey < {INSERT_SHIFT} THEN 1 ELSE l_quantity END)
        FROM delta_scan('{source}')""").fetchone()
    return target_rows + inserted, updated, target_quantity + delta_quantity


def duckdb_connection():
    con = duckdb.connect()
    duckdb_extensions.import_extension("delta", con=con)
    con.execute("LOAD delta")
    return con


def merged_facts(table: pathlib.Path) -> tuple:
    return duckdb_connection().execute(
        f"SELECT count(*), count(*) FILTER (WHERE l_comment = '{COMMENT}'), sum(l_quantity) "
        f"FROM delta_scan('{table}')").fetchone()


class Lakefed:
    name = "lakefed"

    def __init__(self, binary: str, source: pathlib.Path, columns: list):
        self.binary = binary
        self.source = source
        assignments = ", ".join(f"{c} = source.{c}" for c in columns if c not in KEY)
        values = ", ".join(f"source.{c}" for c in columns)
        on = " AND ".join(f"target.{c} = source.{c}" for c in KEY)
        self.sql = (f"MERGE INTO target USING source ON {on} "
                    f"WHEN MATCHED THEN UPDATE SET {assignments} "
                    f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({values})")

    def merge(self, target: pathlib.Path) -> None:
        config = target.parent / f"{target.name}.toml"
        config.write_text(f'[sources.target]\nkind = "delta"\nurl = "{target}"\n\n'
                          f'[sources.source]\nkind = "delta"\nurl = "{self.source}"\n')
        subprocess.run([self.binary, "--config", str(config), "sql", self.sql], check=True,
                       stdout=subprocess.DEVNULL)


class DeltaRs:
    name = "delta-rs"

    def __init__(self, source: pathlib.Path):
        self.source = source

    def merge(self, target: pathlib.Path) -> None:
        source = deltalake.DeltaTable(self.source).to_pyarrow_table()
        predicate = " AND ".join(f"target.{c} = source.{c}" for c in KEY)
        (deltalake.DeltaTable(target)
         .merge(source, predicate, source_alias="source", target_alias="target")
         .when_matched_update_all()
         .when_not_matched_insert_all()
         .execute())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=pathlib.Path, required=True, help="TPC-H directory (lineitem)")
    parser.add_argument("--lakefed", required=True, help="the lakefed binary")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    lineitem = args.data.resolve() / "lineitem"
    work = args.data.resolve().parent / "merge-bench"
    source = work / "source"
    work.mkdir(exist_ok=True)
    make_source(lineitem, source)
    expected = expected_facts(lineitem, source)
    columns = deltalake.DeltaTable(lineitem).schema().to_arrow().names
    engines = [Lakefed(args.lakefed, source, columns), DeltaRs(source)]
    times = {e.name: [] for e in engines}
    print(f"expected after each merge: {expected[0]} rows, {expected[1]} updated", file=sys.stderr)

    for round_ in range(args.rounds + 1):
        order = engines if round_ % 2 == 0 else list(reversed(engines))
        for engine in order:
            target = work / f"target-{engine.name}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(lineitem, target)
            start = time.perf_counter()
            engine.merge(target)
            seconds = time.perf_counter() - start
            facts = merged_facts(target)
            if tuple(float(x) for x in facts) != tuple(float(x) for x in expected):
                print(f"{engine.name}: wrong result {facts}, expected {expected}", file=sys.stderr)
                return 1
            if round_ > 0:
                times[engine.name].append(seconds)
            print(f"round {round_} {engine.name} {seconds:.3f}s", file=sys.stderr)

    lakefed = statistics.median(times["lakefed"])
    print("| engine | median (s) | min (s) | max (s) | engine / lakefed |")
    print("|---|---|---|---|---|")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"| {name} | {median:.3f} | {min(runs):.3f} | {max(runs):.3f} | {median / lakefed:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
