#!/usr/bin/env python3
"""TPC-H as Delta tables from the reference generator, for the peer comparison.

DuckDB's tpch extension runs TPC-H's own `dbgen`, whose data the official
answers (`tpch_answers()`) were computed on; the Rust generator the criterion
bench uses (`tpchgen`) draws different text for addresses and comments, so
Q2, Q10, Q13, Q15 and Q20 would not match them. Each table is written by
delta-rs (the `deltalake` package) in commits of at most 1M rows, as
`examples/tpch.rs gen` writes; a table already present is left alone.

    python benches/tpch_dbgen.py --sf 1 --dir .tmp/tpch-dbgen-sf1
"""

import argparse
import pathlib
import tempfile

TABLES = ["nation", "region", "part", "supplier", "partsupp", "customer", "orders", "lineitem"]
COMMIT_ROWS = 1_000_000


def commits(reader):
    """The reader's rows in tables of exactly COMMIT_ROWS rows (the last one
    fewer): DuckDB's batches vary in size."""
    import pyarrow as pa

    pending, rows = [], 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        while rows >= COMMIT_ROWS:
            table = pa.Table.from_batches(pending, reader.schema)
            yield table.slice(0, COMMIT_ROWS)
            rest = table.slice(COMMIT_ROWS)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending, reader.schema)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", required=True, type=float)
    parser.add_argument("--dir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    missing = [t for t in TABLES if not (args.dir / t / "_delta_log").exists()]
    if not missing:
        return

    import duckdb
    import duckdb_extensions
    from deltalake import write_deltalake

    with tempfile.TemporaryDirectory() as scratch:
        # On disk, so SF10 does not have to fit in memory.
        con = duckdb.connect(str(pathlib.Path(scratch) / "tpch.duckdb"))
        duckdb_extensions.import_extension("tpch", con=con)
        con.execute("LOAD tpch")
        con.execute("CALL dbgen(sf = ?)", [args.sf])
        for table in missing:
            reader = con.execute(f"SELECT * FROM {table}").to_arrow_reader(COMMIT_ROWS)
            for commit in commits(reader):
                write_deltalake(str(args.dir / table), commit, mode="append")
            print(f"{table}: written", flush=True)


if __name__ == "__main__":
    main()
