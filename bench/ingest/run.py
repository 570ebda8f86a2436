"""``make bench-ingest``: Chimera's ingestion against dlt and the raw limit, on the same data.

Generates each path's input once (PostgreSQL and MariaDB tables of N rows × 10 columns of mixed
types, a Kafka topic of M JSON messages, CSV files of N rows; see generate.py), then moves it to
Parquet/Iceberg with every side of the path, each run in a fresh process (worker.py), the sides
interleaved in a rotating order, ``--repeat`` rounds. Reports the medians as rows/s and MB/s, the
peak RSS, and the ratios Chimera/dlt and Chimera/limit against the issue's targets, as a markdown
table (printed and written to ``.bench/results/ingest.md``) and JSON (``.bench/results/ingest.json``,
copied to ``bench/results/ingest.json``). Every side must move every row; speed is only
reported, never asserted.

Sizes: ``--rows`` (``BENCH_ROWS``, default 10,000,000), ``--messages`` (``BENCH_MESSAGES``,
default 5,000,000), ``--repeat`` (``BENCH_REPEAT``, default 3). Needs the local services
(``make services``) and the benchmark environment: ``make bench-ingest`` or
``.bench/venv/bin/python bench/ingest/run.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVICES_ENV = REPO / "scripts" / "services.env"
MB = 1_000_000

PATHS = {
    "postgres": {"label": "PostgreSQL → Iceberg", "sides": ["chimera", "dlt", "limit"]},
    "mysql": {"label": "MySQL (MariaDB) → Iceberg", "sides": ["chimera", "dlt", "limit"]},
    "kafka": {"label": "Kafka (JSON) → Iceberg", "sides": ["chimera", "limit", "limit_parse"]},
    "csv": {"label": "CSV files → Iceberg", "sides": ["chimera", "limit"]},
}
SIDE_LABELS = {
    "postgres": {"chimera": "Chimera (ADBC COPY → Iceberg)", "dlt": "dlt (sql_table, {backend} → Iceberg)",
                 "limit": "raw limit (ADBC COPY → Parquet)"},
    "mysql": {"chimera": "Chimera (ConnectorX → Iceberg)", "dlt": "dlt (sql_table, {backend} → Iceberg)",
              "limit": "raw limit (ConnectorX → Parquet)"},
    "kafka": {"chimera": "Chimera (confluent-kafka, Arrow JSON → Iceberg)", "limit": "raw limit (bare consume loop)",
              "limit_parse": "reference (consume, Arrow JSON parse → Parquet)"},
    "csv": {"chimera": "Chimera (pyarrow CSV → Iceberg)", "limit": "raw limit (pyarrow CSV → Parquet)"},
}
# The issue's targets.
TARGET_VS_DLT = 2.0  # database paths: at least 2× dlt's throughput
TARGET_VS_LIMIT = 0.6  # every path: at least 60% of the raw limit's throughput
TARGET_RSS_MIB = 1024  # peak RSS under 1 GiB

ASYMMETRIES = [
    (
        "Every side starts in a fresh process with its libraries already imported; the time is from the start "
        "of the read to the last file or commit written. Chimera's time includes its embedded catalog (SQLite), "
        "creating the table and the Iceberg commit; dlt's includes its extract, normalize and load steps and "
        "its Iceberg commit; the raw limits write one plain Parquet file and no table metadata."
    ),
    (
        "The raw limits convert nothing: PostgreSQL numeric and json arrive as text (ADBC), MySQL through "
        "ConnectorX's own types. Chimera maps each column to its declared Iceberg type (numeric(12,2) stays "
        "decimal(12,2)); dlt with ConnectorX writes numeric(12,2) as decimal(38,10) and MySQL TIMESTAMP as a "
        "naive timestamp."
    ),
    (
        "Kafka's raw limit is the issue's bare consume loop: it neither parses nor writes. The 'reference' row "
        "adds what any ingestion must do (Arrow's JSON parse with the declared schema, a Parquet write) and is "
        "shown for context; the Chimera/limit ratio is against the bare loop."
    ),
    (
        "dlt runs with its defaults apart from the backend (ConnectorX streaming Arrow batches of 65,536 rows, "
        "its fastest), chunk_size 65,536, reflection_level full_with_precision, write_disposition replace. "
        "The raw limits and Chimera use Chimera's defaults: batches of 65,536 rows, zstd Parquet."
    ),
    (
        "Chimera's side is its ingest run (what the ingest task runs) with its registry (a SQLite file migrated "
        "once before the runs), as a deployment has it: the pipeline's intent is in the intents folder and the "
        "registry was synced before the run (untimed, in another process); the run's check results are "
        "recorded there, timed; the task's own writes to the runs table and its lineage are not part of it."
    ),
]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value.replace("_", "")) if value else default


def _check_services(env: dict[str, str], paths: list[str]) -> None:
    wanted = {
        "postgres": ("PostgreSQL", env["CHIMERA_PG_HOST"], env["CHIMERA_PG_PORT"]),
        "mysql": ("MariaDB", env["CHIMERA_MYSQL_HOST"], env["CHIMERA_MYSQL_PORT"]),
        "kafka": ("Kafka", *env["CHIMERA_KAFKA_BOOTSTRAP"].split(":")),
    }
    for path in paths:
        if path not in wanted:
            continue
        name, host, port = wanted[path]
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                pass
        except OSError as exc:
            raise SystemExit(f"{name} is not answering on {host}:{port} ({exc.strerror}); "
                             "start the services with `make services`") from None


def _worker_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYICEBERG_"))}
    env.update(
        AIRFLOW_HOME=str(work / "airflow-home"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN=f"sqlite:///{work / 'registry.db'}",
        AIRFLOW__CHIMERA__STATE_DIR=str(work / "state"),
        AIRFLOW__CHIMERA__INTENTS_DIR=str(work / "intents"),  # each Chimera run writes its intent in a folder of its own
        RUNTIME__DLTHUB_TELEMETRY="false",
        DO_NOT_TRACK="1",
    )
    return env


def _migrate_registry(work: Path) -> None:
    """Create Chimera's registry once, untimed, as a deployment has it before any run."""
    (work / "intents").mkdir(exist_ok=True)
    code = ("from airflow_provider_chimera.registry.db import open_registry\n"
            "with open_registry():\n    pass\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=_worker_env(work), cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run_side(work: Path, spec_file: Path, path: str, side: str, label: str, dlt_backend: str, expected: int) -> dict:
    run_dir = work / "runs" / f"{path}-{side}-{time.monotonic_ns()}"
    out = run_dir.with_suffix(".json")
    log = work / "logs" / f"{path}-{side}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "worker.py"), "--spec", str(spec_file), "--side", side,
           "--work", str(run_dir), "--out", str(out), "--dlt-backend", dlt_backend]
    with log.open("a") as stream:
        stream.write(f"\n=== {' '.join(cmd)}\n")
        stream.flush()
        code = subprocess.run(cmd, check=False, env=_worker_env(work), cwd=REPO, stdout=stream, stderr=stream).returncode
    shutil.rmtree(run_dir, ignore_errors=True)
    if code != 0 or not out.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{label}: the process failed (exit {code}); last lines of {log}:\n{tail}")
    result = json.loads(out.read_text())
    out.unlink()
    if result["rows"] != expected:
        raise SystemExit(f"{label}: moved {result['rows']} rows, expected {expected} (log: {log})")
    return result


def _generate(args, env: dict[str, str], work: Path, console) -> dict:
    from generate import csv_files, kafka_topic, mysql_table, postgres_table

    makers = {
        "postgres": lambda: postgres_table(env, args.rows, args.keep),
        "mysql": lambda: mysql_table(env, args.rows, args.keep),
        "kafka": lambda: kafka_topic(env, args.messages),
        "csv": lambda: csv_files(work / "csv", args.rows),
    }
    datasets = {}
    for path in args.paths:
        console.print(f"generating {PATHS[path]['label']}: {args.messages if path == 'kafka' else args.rows:,} "
                      f"{'messages' if path == 'kafka' else 'rows'}")
        dataset = makers[path]()
        datasets[path] = dataset
        console.print(f"  {'reused the existing table' if dataset.reused else f'{dataset.seconds:.1f} s'}")
    return datasets


def _summarise(path: str, samples: dict[str, list[dict]], dlt_backend: str) -> dict:
    """Medians per side; the data size (MB) is the Arrow size of the rows as the reference reads them."""
    reference = "limit_parse" if path == "kafka" else "limit"
    data_bytes = statistics.median(r["arrow_bytes"] for r in samples[reference])
    sides = {}
    for side, runs in samples.items():
        seconds = [r["seconds"] for r in runs]
        median = statistics.median(seconds)
        rows = runs[0]["rows"]
        sides[side] = {
            "label": SIDE_LABELS[path][side].format(backend="ConnectorX" if dlt_backend == "connectorx" else "pyarrow"),
            "rows": rows,
            "seconds": seconds,
            "median_seconds": median,
            "rows_per_s": rows / median,
            "mb_per_s": data_bytes / MB / median,
            "parquet_mb": statistics.median(r["parquet_bytes"] for r in runs) / MB,
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        }
    for side in sides.values():
        if "dlt" in sides:
            side["vs_dlt"] = side["rows_per_s"] / sides["dlt"]["rows_per_s"]
        side["vs_limit"] = side["rows_per_s"] / sides["limit"]["rows_per_s"]
    chimera = sides["chimera"]
    targets = {
        "vs_limit": {"value": chimera["vs_limit"], "target": TARGET_VS_LIMIT, "met": chimera["vs_limit"] >= TARGET_VS_LIMIT},
        "peak_rss_mib": {"value": chimera["peak_rss_mib"], "target": TARGET_RSS_MIB,
                         "met": chimera["peak_rss_mib"] < TARGET_RSS_MIB},
    }
    if "vs_dlt" in chimera:
        targets["vs_dlt"] = {"value": chimera["vs_dlt"], "target": TARGET_VS_DLT, "met": chimera["vs_dlt"] >= TARGET_VS_DLT}
    return {"label": PATHS[path]["label"], "data_mb": data_bytes / MB, "sides": sides, "targets": targets}


def _markdown(results: dict, args, machine: str) -> str:
    lines = [
        (
            f"# Ingestion benchmark: {args.rows:,} rows (databases, CSV), {args.messages:,} Kafka messages, "
            f"median of {args.repeat} run(s)"
        ),
        "",
        (
            f"{machine}. MB/s: the path's data size (the Arrow in-memory size of all its rows as the raw limit "
            "reads them; for Kafka, as the reference parses them) divided by the side's time, the same size for "
            "every side. ÷ dlt and ÷ limit: the side's rows/s divided by dlt's and by the raw limit's."
        ),
        "",
        "| path | side | rows | median s | min–max s | rows/s | MB/s | Parquet MB written | peak RSS MiB | ÷ dlt | ÷ limit |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results.values():
        for side in result["sides"].values():
            cells = [
                result["label"], side["label"], f"{side['rows']:,}", f"{side['median_seconds']:.2f}",
                f"{min(side['seconds']):.2f}–{max(side['seconds']):.2f}", f"{side['rows_per_s']:,.0f}",
                f"{side['mb_per_s']:.1f}", f"{side['parquet_mb']:.1f}", f"{side['peak_rss_mib']:.0f}",
                f"{side['vs_dlt']:.2f}" if "vs_dlt" in side else "", f"{side['vs_limit']:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Targets (Chimera):", "",
              "| path | Chimera ÷ dlt (≥ 2.00) | Chimera ÷ limit (≥ 0.60) | Chimera peak RSS MiB (< 1024) |",
              "| --- | --- | --- | --- |"]
    def cell(targets: dict, key: str, fmt: str) -> str:
        if key not in targets:
            return "n/a"
        return f"{format(targets[key]['value'], fmt)}: {'met' if targets[key]['met'] else '**NOT met**'}"

    for result in results.values():
        t = result["targets"]
        lines.append(f"| {result['label']} | {cell(t, 'vs_dlt', '.2f')} | {cell(t, 'vs_limit', '.2f')} | "
                     f"{cell(t, 'peak_rss_mib', '.0f')} |")
    lines += ["", "Left unequal on purpose:", ""] + [f"- {a}" for a in ASYMMETRIES]
    return "\n".join(lines) + "\n"


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("airflow-provider-chimera", "apache-airflow", "pyiceberg", "pyarrow", "adbc-driver-postgresql",
                 "mysqlclient", "confluent-kafka", "dlt", "connectorx"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=_env_int("BENCH_ROWS", 10_000_000),
                        help="rows of the database tables and the CSV files (BENCH_ROWS, 10000000)")
    parser.add_argument("--messages", type=int, default=_env_int("BENCH_MESSAGES", 5_000_000),
                        help="Kafka messages (BENCH_MESSAGES, 5000000)")
    parser.add_argument("--repeat", type=int, default=_env_int("BENCH_REPEAT", 3),
                        help="measured runs per side, interleaved (BENCH_REPEAT, 3)")
    parser.add_argument("--paths", default="postgres,mysql,kafka,csv", help="comma-separated subset of the paths")
    parser.add_argument("--dlt-backend", default="connectorx", choices=["connectorx", "pyarrow"],
                        help="dlt's sql_database backend (connectorx: its fastest)")
    parser.add_argument("--out", type=Path, default=REPO / ".bench" / "results" / "ingest.json")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated database tables (reused by the next run of the same size) and the work folder")
    args = parser.parse_args()
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in args.paths if p not in PATHS]
    if unknown:
        raise SystemExit(f"unknown path(s) {unknown}; choose among {list(PATHS)}")

    from generate import services_env
    from rich.console import Console

    console = Console(width=max(Console().width, 150))
    env = services_env(SERVICES_ENV)
    _check_services(env, args.paths)
    work = Path(tempfile.mkdtemp(prefix="chimera-bench-ingest-"))
    datasets: dict = {}
    try:
        _migrate_registry(work)
        datasets = _generate(args, env, work, console)
        specs = {}
        for path, dataset in datasets.items():
            specs[path] = work / f"spec-{path}.json"
            specs[path].write_text(json.dumps(dataset.spec()))

        # Warm-up, untimed: one raw-limit read of each input, so that no side is the first to bring
        # the table into the servers' caches or the files into the page cache.
        for path in args.paths:
            console.print(f"warm-up: {SIDE_LABELS[path]['limit']} on {PATHS[path]['label']}")
            _run_side(work, specs[path], path, "limit", SIDE_LABELS[path]["limit"], args.dlt_backend, datasets[path].rows)

        samples: dict[str, dict[str, list[dict]]] = {p: {s: [] for s in PATHS[p]["sides"]} for p in args.paths}
        for round_no in range(args.repeat):
            for path in args.paths:
                sides = PATHS[path]["sides"]
                order = sides[round_no % len(sides):] + sides[: round_no % len(sides)]
                for side in order:
                    label = f"{PATHS[path]['label']}: {SIDE_LABELS[path][side].format(backend=args.dlt_backend)}"
                    result = _run_side(work, specs[path], path, side, label, args.dlt_backend, datasets[path].rows)
                    samples[path][side].append(result)
                    console.print(f"run {round_no + 1}/{args.repeat}: {label}: {result['seconds']:.2f} s, "
                                  f"peak RSS {result['peak_rss_mib']:.0f} MiB")

        results = {path: _summarise(path, samples[path], args.dlt_backend) for path in args.paths}
        machine = f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
        markdown = _markdown(results, args, machine)
        console.print(markdown, markup=False, highlight=False)

        args.out.parent.mkdir(parents=True, exist_ok=True)
        document = json.dumps({
            "rows": args.rows,
            "messages": args.messages,
            "repeat": args.repeat,
            "dlt_backend": args.dlt_backend,
            "generation_seconds": {p: d.seconds for p, d in datasets.items()},
            "reused_tables": [p for p, d in datasets.items() if d.reused],
            "paths": results,
            "targets": {"vs_dlt": TARGET_VS_DLT, "vs_limit": TARGET_VS_LIMIT, "peak_rss_mib": TARGET_RSS_MIB},
            "all_targets_met": all(t["met"] for r in results.values() for t in r["targets"].values()),
            "runs": samples,
            "asymmetries": ASYMMETRIES,
            "versions": _versions(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        }, indent=2, default=str)
        args.out.write_text(document)
        args.out.with_suffix(".md").write_text(markdown)
        # The issue names bench/results/*.json (ignored by git, like .bench/).
        copy = REPO / "bench" / "results" / args.out.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(document)
        console.print(f"results: {args.out}, {args.out.with_suffix('.md')}, {copy}")
    finally:
        for dataset in datasets.values():
            if dataset.cleanup is not None:
                try:
                    dataset.cleanup()
                except Exception as exc:  # noqa: BLE001 - cleaning up must not hide the run's own outcome
                    console.print(f"could not remove the {dataset.path} input: {exc}")
        if args.keep:
            console.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
