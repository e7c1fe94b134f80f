#!/usr/bin/env python3
"""Unity Catalog (the workspace emulator): metadata and data.

1. Metadata: one query over one table of a schema holding 1,000 tables,
   from a cold start (attach the catalog, resolve the table, run
   `SELECT count(*)`), by lakefed (`lakefed sql`, a new process each time)
   and by DuckDB's `unity_catalog` extension (a new connection each time).
   Reported: median seconds and the REST requests each made (from the
   emulator's request counters).
2. Data: a 4M-row Delta table read directly from storage with vended
   credentials (`route = "auto"`) vs through the SQL warehouse (`route =
   "compute"`, whole subplans federated), for an aggregate and a selective
   scan, on loopback and, with --link-mbit, with every connection to the
   storage server and to the workspace paced to that rate.

Each round runs every mode of a case once, the order rotating, after one
uncounted warm-up round; every mode of a case must return the same rows.

    scripts/bench-unity-catalog.sh --rounds 5 [--link-mbit 200]
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
import urllib.parse

import duckdb
import duckdb_extensions
import requests
from compare_federation import print_ratios, run_rounds, start_link

TOKEN = os.environ.get("LAKEFED_WORKSPACE_TOKEN", "dapi-lakefed-test-token")
WAREHOUSE = os.environ.get("LAKEFED_WORKSPACE_WAREHOUSE_ID", "lakefed-wh")
NS = "lakefed_bench_uc"
TABLES = 1000
FACTS = f"spark_catalog.{NS}.facts"
FACT_ROWS = 4_000_000
DATA_QUERIES = {
    "aggregate": f"SELECT k, count(*) AS n, sum(x) AS total FROM uc.{NS}.facts GROUP BY k",
    "selective scan": f"SELECT * FROM uc.{NS}.facts WHERE id % 1000 = 7",
}


def requests_made(url):
    """Requests the emulator answered so far, all routes together."""
    stats = requests.get(f"{url}/emulator/stats", timeout=30).json()
    return sum(stats.get("requests", {}).values())


def create_tables(url, spark_url):
    """The schema's 1,000 tables (Spark views, as the emulator lists Spark's
    catalog) and the UC Delta table `facts` (written once)."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(spark_url).getOrCreate()
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {NS}")
    existing = {row.tableName for row in spark.sql(f"SHOW TABLES IN {NS}").collect()}
    for i in range(TABLES - 1):
        if f"t{i:04d}" not in existing:
            spark.sql(f"CREATE VIEW {NS}.t{i:04d} AS SELECT {i} AS i")
    known = requests.get(f"{url}/emulator/unity-catalog", timeout=30).json()["tables"]
    if FACTS not in known:
        body = {
            "full_name": FACTS,
            "sql": f"SELECT id, id % 100 AS k, CAST(id AS DOUBLE) * 0.5 AS x, uuid() AS tag FROM range({FACT_ROWS})",
        }
        requests.post(f"{url}/emulator/unity-catalog/tables", json=body, timeout=600).raise_for_status()


def lakefed_config(directory, url, storage, route):
    path = os.path.join(directory, f"lakefed-{route}.toml")
    with open(path, "w") as f:
        f.write(
            f"""[sources.dbx]
kind = "databricks_sql"
host = "{url}"
warehouse_id = "{WAREHOUSE}"
catalog = "spark_catalog"
token_env = "LAKEFED_BENCH_TOKEN"

[sources.uc]
kind = "unity_catalog"
url = "{url}"
catalog = "spark_catalog"
compute = "dbx"
route = "{route}"
token_env = "LAKEFED_BENCH_TOKEN"

[sources.uc.storage]
endpoint = "{storage}"
allow_http = true
force_path_style = true
region = "us-east-1"
"""
        )
    return path


def lakefed_run(binary, config, sql, url):
    """`lakefed sql` in a new process: seconds, rows, requests made."""
    before = requests_made(url)
    start = time.perf_counter()
    out = subprocess.run(
        [binary, "--config", config, "sql", "--format", "csv", sql],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LAKEFED_BENCH_TOKEN": TOKEN},
    ).stdout
    seconds = time.perf_counter() - start
    return seconds, max(len(out.splitlines()) - 1, 0), requests_made(url) - before


def duckdb_run(url, storage, sql):
    """DuckDB's unity_catalog extension on a new connection: seconds, rows,
    requests made. Its own S3 secret names no endpoint (it would reach AWS),
    so reads go through a secret of vended credentials for the loopback
    storage server, scoped to the table (DuckDB takes the longest scope)."""
    info = requests.get(
        f"{url}/api/2.1/unity-catalog/tables/{FACTS}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ).json()
    vended = requests.post(
        f"{url}/api/2.1/unity-catalog/temporary-table-credentials",
        json={"table_id": info["table_id"], "operation": "READ"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    ).json()["aws_temp_credentials"]
    before = requests_made(url)
    start = time.perf_counter()
    con = duckdb.connect()
    for extension in ("httpfs", "delta", "unity_catalog"):
        duckdb_extensions.import_extension(extension, con=con)
        con.execute(f"LOAD {extension}")
    con.execute(f"CREATE SECRET uc (TYPE unity_catalog, TOKEN '{TOKEN}', ENDPOINT '{url}', AWS_REGION 'us-east-1')")
    con.execute(
        f"CREATE SECRET loopback (TYPE s3, KEY_ID '{vended['access_key_id']}', SECRET '{vended['secret_access_key']}', "
        f"SESSION_TOKEN '{vended['session_token']}', REGION 'us-east-1', "
        f"ENDPOINT '{urllib.parse.urlparse(storage).netloc}', URL_STYLE 'path', USE_SSL false, "
        f"SCOPE '{info['storage_location']}/')"
    )
    con.execute(f"ATTACH 'spark_catalog' AS uc (TYPE unity_catalog, SECRET uc, DEFAULT_SCHEMA '{NS}')")
    rows = con.execute(sql).fetchall()
    seconds = time.perf_counter() - start
    con.close()
    return seconds, len(rows), requests_made(url) - before


def paced(address, mbit):
    """`address` (http://host:port) behind a proxy pacing replies to `mbit`."""
    target = urllib.parse.urlparse(address)
    return f"http://127.0.0.1:{start_link(target.hostname, target.port, mbit)}"


class PeerFailed(Exception):
    """A peer engine could not answer (lakefed failing is not one)."""


def as_peer_failure(run, *args):
    """`run(*args)`, its failure raised as a PeerFailed."""
    try:
        return run(*args)
    except Exception as err:
        raise PeerFailed(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from err


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the workspace emulator")
    parser.add_argument("--spark-url", required=True, help="the Spark Connect server under it")
    parser.add_argument("--lakefed", required=True, help="the lakefed CLI binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--link-mbit", type=float, help="pace storage and workspace replies to this many Mbit/s")
    args = parser.parse_args()
    url = args.url
    storage = requests.get(f"{url}/emulator/unity-catalog", timeout=30).json()["storage_endpoint"]
    create_tables(url, args.spark_url)

    directory = tempfile.mkdtemp(prefix="lakefed-bench-uc-")
    auto = lakefed_config(directory, url, storage, "auto")
    count = f"SELECT count(*) FROM uc.{NS}.facts"
    case = "plan + count(*), cold"
    lakefed = ("lakefed", lambda: lakefed_run(args.lakefed, auto, count, url))
    duckdb_uc = ("duckdb unity_catalog", lambda: as_peer_failure(duckdb_run, url, storage, count))
    print(f"Metadata: one table of a schema with {TABLES} tables (requests: REST requests to the workspace)\n")
    try:
        metadata = {case: [lakefed, duckdb_uc]}
        results = run_rounds(metadata, args.rounds)
    except PeerFailed as err:  # a peer that cannot answer is a result, reported as such
        print(f"{duckdb_uc[0]} failed: {err}\n")
        metadata = {case: [lakefed]}
        results = run_rounds(metadata, args.rounds)
    print_ratios(metadata, results, "requests")

    for label, mbit in [("loopback", None)] + ([(f"{args.link_mbit:g} Mbit/s", args.link_mbit)] if args.link_mbit else []):
        data_url, data_storage = (paced(url, mbit), paced(storage, mbit)) if mbit else (url, storage)
        direct = lakefed_config(directory, data_url, data_storage, "auto")
        compute = lakefed_config(directory, data_url, data_storage, "compute")
        cases = {
            name: [
                ("direct (vended credentials)", lambda sql=sql, c=direct: lakefed_run(args.lakefed, c, sql, url)),
                ("compute (warehouse, federated)", lambda sql=sql, c=compute: lakefed_run(args.lakefed, c, sql, url)),
            ]
            for name, sql in DATA_QUERIES.items()
        }
        results = run_rounds(cases, args.rounds)
        print(f"\nData: {FACT_ROWS:,}-row Delta table, {label} (requests: REST requests to the workspace)\n")
        print_ratios(cases, results, "requests")
    print(json.dumps({"rounds": args.rounds, "link_mbit": args.link_mbit}))


if __name__ == "__main__":
    main()
