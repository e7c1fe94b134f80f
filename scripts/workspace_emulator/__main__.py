"""`python -m workspace_emulator --host 127.0.0.1 --port 18080` (run from
scripts/, as scripts/workspace-emulator.sh does)."""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Databricks workspace emulator on Spark Connect")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    options = parser.parse_args()
    # Timestamps pass between Python and Spark (parameters) as naive local
    # times: make local time UTC, Spark's session time zone here.
    os.environ["TZ"] = "UTC"
    time.tzset()
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pyspark logs every failed query with its JVM stack trace; the emulator
    # logs one line per statement that does not succeed instead.
    for name in ("pyspark.sql.connect.logging", "DataFrameQueryContextLogger", "SQLQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    from .app import create_app
    from .settings import Config

    uvicorn.run(create_app(Config.from_env()), host=options.host, port=options.port, log_level="info")


main()
