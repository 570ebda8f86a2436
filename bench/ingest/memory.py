"""``make bench-memory``: does Chimera's memory grow with the table? A PostgreSQL table of ``--rows``
(10,000,000) and one of ``--big-rows`` (50,000,000), each ingested once by Chimera in a fresh
process, exactly as ``make bench-ingest``'s Chimera side (``worker.py --side chimera``: a ``full``
run through the ingest run, into an embedded catalog).

Reports both runs' peak RSS (the process's ``ru_maxrss``, imported libraries included), seconds
and rows/s, and the ratio of the peak RSS, big table over small. The target: within 10 % (a
ratio ≤ 1.10): the reader streams bounded batches, so a table five times larger must not need
more memory. Reported, never asserted. Results in ``.bench/results/memory.json`` and ``.md``.
The big table takes about 6 GB in PostgreSQL while it exists (dropped at the end unless
``--keep``), and its generation takes several minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

from run import REPO, SERVICES_ENV, _check_services, _env_int, _migrate_registry, _run_side

TARGET_RATIO = 1.10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=_env_int("BENCH_ROWS", 10_000_000))
    parser.add_argument("--big-rows", type=int, default=_env_int("BENCH_BIG_ROWS", 50_000_000))
    parser.add_argument("--out", type=Path, default=REPO / ".bench" / "results" / "memory.json")
    parser.add_argument("--keep", action="store_true", help="keep the tables (reused by the next run of the same size)")
    args = parser.parse_args()

    from generate import postgres_table, services_env
    from rich.console import Console

    console = Console(width=max(Console().width, 150))
    env = services_env(SERVICES_ENV)
    _check_services(env, ["postgres"])
    work = Path(tempfile.mkdtemp(prefix="chimera-bench-memory-"))
    runs, datasets = {}, []
    try:
        _migrate_registry(work)
        for rows in (args.rows, args.big_rows):
            console.print(f"generating a PostgreSQL table of {rows:,} rows")
            dataset = postgres_table(env, rows, args.keep)
            datasets.append(dataset)
            spec = work / f"spec-{rows}.json"
            spec.write_text(json.dumps(dataset.spec()))
            label = f"Chimera, PostgreSQL → Iceberg, {rows:,} rows"
            result = _run_side(work, spec, "postgres", "chimera", label, "connectorx", rows)
            runs[rows] = result
            console.print(f"{label}: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mib']:.0f} MiB")
            if dataset.cleanup is not None:
                dataset.cleanup()  # one big table on disk at a time
                datasets.remove(dataset)
        small, big = runs[args.rows], runs[args.big_rows]
        ratio = big["peak_rss_mib"] / small["peak_rss_mib"]
        lines = [
            f"# Memory against table size: PostgreSQL → Iceberg, Chimera, {args.rows:,} and {args.big_rows:,} rows",
            "",
            f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}. One run each, "
            "a fresh process each (bench/ingest/worker.py --side chimera).",
            "",
            "| rows | seconds | rows/s | peak RSS MiB |",
            "| ---: | ---: | ---: | ---: |",
            *(f"| {rows:,} | {r['seconds']:.1f} | {rows / r['seconds']:,.0f} | {r['peak_rss_mib']:.0f} |"
              for rows, r in runs.items()),
            "",
            f"Peak RSS, {args.big_rows:,} rows ÷ {args.rows:,} rows: **{ratio:.3f}** "
            f"(target ≤ {TARGET_RATIO:.2f}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})",
        ]
        markdown = "\n".join(lines) + "\n"
        console.print(markdown, markup=False, highlight=False)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"runs": {str(k): v for k, v in runs.items()}, "rss_ratio": ratio,
                                        "target": TARGET_RATIO, "met": ratio <= TARGET_RATIO}, indent=2, default=str))
        args.out.with_suffix(".md").write_text(markdown)
        console.print(f"results: {args.out}, {args.out.with_suffix('.md')}")
    finally:
        for dataset in datasets:
            if dataset.cleanup is not None:
                dataset.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
