#!/usr/bin/env python3
"""The 22 TPC-H queries on the same Delta tables with lakefed and its peers.

Every engine runs in its own process, warm (tables registered once where the
engine allows it): lakefed as `cargo run --release --example tpch -- serve`,
the peers as `benches/tpch_peer.py` (DuckDB with its delta extension, Polars
`scan_delta`, datafusion-python over the `deltalake` package). Each round
runs every query once on every engine, the engine order rotating between
rounds; round 0 warms caches and is not counted.

Every result is checked: against the official answers at SF 0.01, 0.1 and 1
(DuckDB's tpch extension ships them), otherwise against DuckDB's result. A
wrong answer from lakefed fails the run; a peer's wrong answer or error is
reported in its cell. The report gives the median per query and engine, each
peer's median divided by lakefed's (above 1: lakefed is faster), lakefed's
divided by the fastest peer's (the goal: at most 1.25 on every query, below
1 on the geometric mean), the geometric mean over the queries every engine
answered, and each engine process's peak memory (VmHWM).

    scripts/bench-peers.sh --sf 1 --rounds 5
"""

import argparse
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
QUERY_NAMES = [f"q{n}" for n in range(1, 23)]
PEERS = ["duckdb-delta", "polars", "datafusion-python"]


class Engine:
    """An engine process speaking the `tpch serve` protocol."""

    def __init__(self, name, command):
        self.name = name
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{name} did not start: {line!r}")

    def run(self, query):
        """(seconds, rows) of `query`; raises with the engine's message on failure."""
        self.proc.stdin.write(query + "\n")
        self.proc.stdin.flush()
        head = self.proc.stdout.readline()
        if not head:
            raise RuntimeError(f"{self.name} exited")
        if head.startswith("error "):
            raise RuntimeError(head[len("error "):].strip())
        seconds, count = head.split()
        rows = [cells(json.loads(self.proc.stdout.readline())) for _ in range(int(count))]
        return float(seconds), rows

    def peak_memory_mib(self):
        for line in pathlib.Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def cells(row):
    """A row's values in column order, from a JSON object or array."""
    return list(row.values()) if isinstance(row, dict) else row


def official_answers(sf):
    """{query: rows} from DuckDB's tpch extension, or None at another scale."""
    import duckdb
    import duckdb_extensions

    con = duckdb.connect()
    duckdb_extensions.import_extension("tpch", con=con)
    con.execute("LOAD tpch")
    found = con.execute("SELECT query_nr, answer FROM tpch_answers() WHERE scale_factor = ?", [sf]).fetchall()
    if not found:
        return None
    return {f"q{n}": answer_rows(text) for n, text in found}


def answer_rows(text):
    """The rows of one answer: `|`-separated lines after the header, one per
    line break (a one-column NULL row is an empty line)."""
    lines = text.split("\n")[1:]
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return [line.split("|") for line in lines]


def same_value(actual, expected):
    """TPC-H's rule: numbers equal to the nearest 1/100; text equal."""
    if actual is None or expected is None:
        return (actual is None or actual == "") and (expected is None or expected in ("", "NULL"))
    try:
        a, e = float(actual), float(expected)
    except (TypeError, ValueError):
        return str(actual).strip() == str(expected).strip()
    return abs(a - e) <= 0.01 + 1e-9 * abs(e)


def wrong_answer(rows, expected):
    """Why `rows` is not `expected` (in order), or None."""
    if len(rows) != len(expected):
        return f"{len(rows)} rows, expected {len(expected)}"
    for i, (row, want) in enumerate(zip(rows, expected)):
        if len(row) != len(want) or not all(same_value(a, e) for a, e in zip(row, want)):
            return f"row {i}: {row}, expected {want}"
    return None


def check_answers(engines, queries, answers, first_rows, failures):
    """Records every wrong answer of round 0 in `failures`: against the
    official answers, or (at a scale they do not cover) DuckDB's."""
    for q in queries:
        expected = answers[q] if answers else first_rows.get(("duckdb-delta", q))
        if expected is None:
            failures.setdefault(("lakefed", q), "no answer to check against")
            continue
        for engine in engines:
            rows = first_rows.get((engine.name, q))
            why = wrong_answer(rows, expected) if rows is not None else None
            if why:
                failures[(engine.name, q)] = f"wrong answer: {why}"[:160]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=pathlib.Path)
    parser.add_argument("--sf", required=True, type=float, help="scale factor of the data")
    parser.add_argument("--lakefed", required=True, help="path of the built tpch example")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", default=",".join(QUERY_NAMES), help="comma-separated, e.g. q1,q6")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a DataFusion option for lakefed")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers to run beside lakefed")
    args = parser.parse_args()
    queries = args.queries.split(",")
    data = args.data.resolve()

    settings = [arg for setting in args.set for arg in ("--set", setting)]
    engines = [Engine("lakefed", [args.lakefed, "serve", "--dir", str(data), *settings])]
    for peer in filter(None, args.peers.split(",")):
        try:
            engines.append(Engine(peer, [sys.executable, str(ROOT / "benches" / "tpch_peer.py"), peer, str(data)]))
        except Exception as err:  # a peer that cannot start is reported, not fatal
            print(f"skipping {peer}: {err}", file=sys.stderr)

    answers = official_answers(args.sf)
    times = {(e.name, q): [] for e in engines for q in queries}
    failures = {}
    first_rows = {}
    for round_no in range(args.rounds + 1):
        order = engines[round_no % len(engines):] + engines[: round_no % len(engines)]
        for engine in order:
            for q in queries:
                if (engine.name, q) in failures:
                    continue
                try:
                    seconds, rows = engine.run(q)
                except Exception as err:
                    failures[(engine.name, q)] = f"error: {err}"[:160]
                    continue
                if round_no == 0:
                    first_rows[(engine.name, q)] = rows
                else:
                    times[(engine.name, q)].append(seconds)
            print(f"round {round_no} {engine.name} done", file=sys.stderr)
        if round_no == 0:
            check_answers(engines, queries, answers, first_rows, failures)

    report(engines, queries, times, failures, args)
    for engine in engines:
        engine.close()
    lakefed_wrong = [q for (name, q), why in failures.items() if name == "lakefed"]
    return 1 if lakefed_wrong else 0


def report(engines, queries, times, failures, args):
    names = [e.name for e in engines]
    medians = {(n, q): statistics.median(times[(n, q)]) if times[(n, q)] else None for n in names for q in queries}
    print(f"data: {args.data} (SF {args.sf:g}), rounds: {args.rounds}, cores: {os.cpu_count()}\n")
    ratio_heads = [f"{n} / lakefed" for n in names[1:]] + (["lakefed / fastest peer"] if len(names) > 1 else [])
    print("| query | " + " | ".join(names + ratio_heads) + " |")
    print("|---" * (1 + len(names) + len(ratio_heads)) + "|")
    for q in queries:
        row = {n: medians[(n, q)] for n in names}
        print(f"| {q.upper()} | " + " | ".join(table_cells(row, names, "failed")) + " |")
    common = [q for q in queries if all(medians[(n, q)] for n in names)]
    geo = {n: math.exp(statistics.fmean(math.log(medians[(n, q)]) for q in common)) if common else None for n in names}
    cells = table_cells(geo, names, "-")
    print(f"| geometric mean ({len(common)} queries) | " + " | ".join(cells) + " |")
    memory = [f"{e.peak_memory_mib():.0f}" for e in engines] + [""] * len(ratio_heads)
    print("| peak memory (MiB) | " + " | ".join(memory) + " |")
    for (name, q), why in sorted(failures.items()):
        print(f"\n{name} {q}: {why}")


def table_cells(seconds, names, missing):
    """One row's cells: each engine's seconds, each peer's ratio to lakefed,
    and lakefed's ratio to the fastest peer that answered (the goal: at most 1.25)."""
    base = seconds["lakefed"]
    cells = [f"{seconds[n]:.3f}" if seconds[n] else missing for n in names]
    cells += [f"{seconds[n] / base:.2f}" if seconds[n] and base else "-" for n in names[1:]]
    if len(names) > 1:
        answered = [seconds[n] for n in names[1:] if seconds[n]]
        cells.append(f"{base / min(answered):.2f}" if base and answered else "-")
    return cells

if __name__ == "__main__":
    sys.exit(main())
