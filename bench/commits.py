"""``make bench-commits``: commit latency as a table ages, before and after Chimera's aging policy.

A stream pipeline commits one micro-batch after another to one table. Each commit here is what
Chimera's ingest does per micro-batch, without a source or checks: read the pipeline's position
(``IcebergWriter.last_position``), write the batch through ``IcebergWriter.write`` staged on the
run's audit branch, and publish it to ``main`` (``governance.wap.publish``), on the embedded SQL
catalog (SQLite, local warehouse). Two tables age side by side, commit by commit alternately, each
in a process of its own, so that a busy machine slows both alike:

- **before**: plain fast appends and an unbounded history (manifest merging off, no snapshot
  count, pyiceberg's 100 previous metadata files): the table properties Chimera used to create;
- **after**: Chimera's table properties (``airflow_provider_chimera.writer.aging``): manifests
  merged, at most ``chimera.snapshot-max-count`` snapshots on main, old metadata files deleted.

Reported per side: the latency of every commit, the ratio of the median of the last 20 commits
to the median of commits 5-15 (target ≤ 1.5 for *after*), the same for the process's CPU time per
commit (which a busy shared machine inflates less than wall-clock time), snapshots and manifests in the table at
the end, metadata JSON size, and a full-table read (``scan().to_arrow()``, best of 3) after commit
10 and after the last; for *after*, also the read after one compaction as ``chimera_maintenance``
runs it. Written to ``.bench/results/commits.{json,md,html}`` (the HTML plots latency against
commit number, inline SVG) and ``bench/results/commits.json``; exits 1 when *after* misses the target.

    make bench-commits                       # 2,000 commits of 100 rows ('before' stops at 800)
    make bench-commits BENCH_COMMITS=500     # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

from airflow_provider_chimera.governance.wap import audit_branch, publish
from airflow_provider_chimera.maintenance.compaction import compact
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer.aging import DELETE_OLD_METADATA, MAX_SNAPSHOTS, MERGE_ENABLED, PREVIOUS_METADATA
from airflow_provider_chimera.writer.iceberg import CommitInfo, IcebergWriter

REPO = Path(__file__).resolve().parents[1]
PIPELINE = "bench_stream"
TARGET = 1.5
BEFORE = {MERGE_ENABLED: "false", MAX_SNAPSHOTS: "0", DELETE_OLD_METADATA: "false", PREVIOUS_METADATA: "100"}
SIDES = {"before": BEFORE, "after": {}}
SCHEMA = pa.schema([("id", pa.int64()), ("at", pa.timestamp("us", tz="UTC")), ("payload", pa.string())])


def batch(number: int, rows: int) -> pa.RecordBatch:
    first = number * rows
    ids = pa.array(range(first, first + rows), pa.int64())
    at = pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i) for i in range(first, first + rows)], SCHEMA.field("at").type)
    return pa.record_batch([ids, at, pa.array([f"event {i}" for i in range(first, first + rows)])], schema=SCHEMA)


class Side:
    """One table aging under one set of table properties."""

    def __init__(self, name: str, catalog: SqlCatalog, properties: dict[str, str]):
        self.name = name
        self.writer = IcebergWriter(catalog, "bench", f"events_{name}", properties={"chimera.pipeline": PIPELINE, **properties})
        self.latencies: list[float] = []
        self.cpu: list[float] = []  # the process's CPU time per commit: what a busy shared machine does not inflate
        self.reads: dict[str, float] = {}

    def commit(self, number: int, rows: int) -> float:
        """One micro-batch as the ingest run makes it: position, staged write, publication."""
        run_id = f"stream__{number // 500}"  # a stream run makes many micro-batches
        started, cpu = time.perf_counter(), time.process_time()
        since = self.writer.last_position(PIPELINE)
        offset = (since.offsets.get("0", 0) if since else 0) + rows
        info = CommitInfo(pipeline=PIPELINE, run_id=run_id, source="kafka/events", position=Position(offsets={"0": offset}))
        result = self.writer.write(SCHEMA, iter([batch(number, rows)]), "append", lambda: info, stage=audit_branch(run_id, 24))
        publish(self.writer, result)
        elapsed = time.perf_counter() - started
        self.cpu.append(time.process_time() - cpu)
        self.latencies.append(elapsed)
        return elapsed

    def read(self, label: str, rows_expected: int) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            data = self.writer.load().scan().to_arrow()
            best = min(best, time.perf_counter() - started)
        if data.num_rows != rows_expected:
            raise SystemExit(f"{self.name}: the table holds {data.num_rows} rows after {label}, expected {rows_expected}")
        self.reads[label] = best
        return best

    def shape(self) -> dict[str, object]:
        table = self.writer.load()
        if table is None:
            return {}
        snapshot = table.current_snapshot()
        return {
            "snapshots": len(table.metadata.snapshots),
            "snapshot_log": len(table.metadata.snapshot_log),
            "metadata_log": len(table.metadata.metadata_log),
            "manifests": len(snapshot.manifests(table.io)) if snapshot else 0,
            "metadata_json_bytes": os.path.getsize(table.metadata_location.removeprefix("file://")),
            "position": self.writer.last_position(PIPELINE).offsets["0"],
        }


def _serve(conn, name: str, folder: str, properties: dict[str, str]) -> None:
    """A side's own process: its table, its catalog database, its memory and garbage collector (in
    one process the 'before' table's growing metadata would slow the other side's collections)."""
    catalog = SqlCatalog(name, uri=f"sqlite:///{folder}/catalog-{name}.db", warehouse=Path(folder).as_uri())
    side = Side(name, catalog, properties)
    while True:
        method, args = conn.recv()
        if method == "stop":
            return
        try:
            if method == "compact":
                compact(side.writer.load(), small_bytes=64 << 20, min_files=5, group_bytes=128 << 20)
                conn.send(("ok", None))
            elif method == "summary":
                conn.send(("ok", summary(side, *args)))
            else:
                conn.send(("ok", getattr(side, method)(*args)))
        except BaseException as exc:  # reported to the parent, which stops the benchmark
            conn.send(("error", f"{name}: {type(exc).__name__}: {exc}"))


class Remote:
    """A :class:`Side` in a process of its own, called one step at a time (so the sides alternate)."""

    def __init__(self, name: str, folder: Path, properties: dict[str, str]):
        self.name = name
        self.commits = 0
        self._conn, child = mp.get_context("fork").Pipe()
        self._process = mp.get_context("fork").Process(target=_serve, args=(child, name, str(folder), properties), daemon=True)
        self._process.start()

    def call(self, method: str, *args):
        self._conn.send((method, args))
        status, value = self._conn.recv()
        if status == "error":
            raise SystemExit(value)
        return value

    def commit(self, number: int, rows: int) -> float:
        self.commits += 1
        return self.call("commit", number, rows)

    def stop(self) -> None:
        self._conn.send(("stop", ()))
        self._process.join(30)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


def summary(side: Side) -> dict[str, object]:
    early = side.latencies[4:15]  # commits 5-15
    late = side.latencies[-20:]
    ratio = median_ms(late) / median_ms(early)
    cpu_ratio = median_ms(side.cpu[-20:]) / median_ms(side.cpu[4:15])
    return {
        "early_cpu_median_ms": round(median_ms(side.cpu[4:15]), 1),
        "late_cpu_median_ms": round(median_ms(side.cpu[-20:]), 1),
        "cpu_ratio": round(cpu_ratio, 2),
        "early_median_ms": round(median_ms(early), 1),
        "late_median_ms": round(median_ms(late), 1),
        "late_p95_ms": round(sorted(late)[int(0.95 * (len(late) - 1))] * 1000, 1),
        "max_ms": round(max(side.latencies) * 1000, 1),
        "total_s": round(sum(side.latencies), 1),
        "ratio": round(ratio, 2),
        "reads_s": {k: round(v, 3) for k, v in side.reads.items()},
        **side.shape(),
        "latencies_ms": [round(x * 1000, 2) for x in side.latencies],
    }


def svg(results: dict[str, dict], width: int = 900, height: int = 400) -> str:
    """Latency (ms, log scale) against commit number: every commit a dot, the rolling median of 25 a line."""
    pad = 56
    series = {name: r["latencies_ms"] for name, r in results.items()}
    count = max(len(s) for s in series.values())
    every = [v for s in series.values() for v in s if v > 0]
    low, high = math.log10(max(1.0, min(every))), math.log10(max(every))
    high = max(high, low + 1)
    colours = {"before": "#d62728", "after": "#1f77b4"}

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * i / max(1, count - 1)

    def y(ms: float) -> float:
        return height - pad - (height - 2 * pad) * (math.log10(max(ms, 1.0)) - low) / (high - low)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">']
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>')
    parts.append(f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>')
    for decade in range(int(math.floor(low)), int(math.ceil(high)) + 1):
        for step in (1, 2, 5):
            ms = step * 10**decade
            if low <= math.log10(ms) <= high:
                parts.append(f'<text x="{pad - 6}" y="{y(ms) + 4:.1f}" text-anchor="end">{ms:g}</text>')
                parts.append(f'<line x1="{pad}" y1="{y(ms):.1f}" x2="{width - pad}" y2="{y(ms):.1f}" stroke="#eee"/>')
    for k in range(5):
        i = round((count - 1) * k / 4)
        parts.append(f'<text x="{x(i):.1f}" y="{height - pad + 18}" text-anchor="middle">{i + 1}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle">commit number</text>')
    parts.append(f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">commit latency (ms, log scale)</text>')
    for n, (name, values) in enumerate(series.items()):
        colour = colours.get(name, "#555")
        dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="1.2"/>' for i, v in enumerate(values))
        parts.append(f'<g fill="{colour}" fill-opacity="0.35">{dots}</g>')
        rolling = [statistics.median(values[max(0, i - 12): i + 13]) for i in range(len(values))]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(rolling))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{pad + 10}" y="{pad - 20 + 16 * n}" fill="{colour}">{html.escape(name)}: rolling median of 25 commits</text>')
    parts.append("</svg>")
    return "".join(parts)


ROWS = [
    ("commits 5-15, median (ms)", "early_median_ms"),
    ("last 20 commits, median (ms)", "late_median_ms"),
    ("ratio (target after ≤ 1.5)", "ratio"),
    ("commits 5-15, median CPU time (ms)", "early_cpu_median_ms"),
    ("last 20 commits, median CPU time (ms)", "late_cpu_median_ms"),
    ("CPU-time ratio", "cpu_ratio"),
    ("last 20 commits, p95 (ms)", "late_p95_ms"),
    ("slowest commit (ms)", "max_ms"),
    ("all commits (s)", "total_s"),
    ("snapshots in metadata", "snapshots"),
    ("snapshot-log entries", "snapshot_log"),
    ("metadata-log entries", "metadata_log"),
    ("manifests in the manifest list", "manifests"),
    ("metadata JSON (bytes)", "metadata_json_bytes"),
    ("stream position recorded", "position"),
]


def table_rows(results: dict[str, dict]) -> list[tuple[str, list[str]]]:
    rows = [(label, [str(r[key]) for r in results.values()]) for label, key in ROWS]
    for label in sorted({k for r in results.values() for k in r["reads_s"]}):
        rows.append((f"full-table read {label} (s)", [str(r["reads_s"].get(label, "–")) for r in results.values()]))
    return rows


def _stopped(meta: dict) -> str:
    return f" ('before' stopped after {meta['before_commits']})" if meta["before_commits"] < meta["commits"] else ""


def markdown(results: dict[str, dict], meta: dict) -> str:
    lines = [
        f"# Commit latency as a table ages: {meta['commits']} commits of {meta['rows']} rows{_stopped(meta)}",
        "",
        f"{meta['machine']}; {meta['date']}; both tables aged side by side in one run.",
        "",
        "| | " + " | ".join(results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in table_rows(results)]
    return "\n".join(lines) + "\n"


def page(results: dict[str, dict], meta: dict) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in results)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>"
        for label, values in table_rows(results)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Chimera: commit latency as a table ages</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 10px;text-align:right}td:first-child{text-align:left}</style></head><body>"
        f"<h1>Commit latency as a table ages</h1><p>{meta['commits']} micro-batch commits of {meta['rows']} rows per table{_stopped(meta)} "
        f"through Chimera's writer (staged write + publish); {html.escape(meta['machine'])}; {html.escape(meta['date'])}.</p>"
        f"{svg(results)}<table><tr><th></th>{head}</tr>{body}</table></body></html>\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=int(os.environ.get("BENCH_COMMITS") or 2000))
    parser.add_argument("--rows", type=int, default=100, help="rows per micro-batch")
    parser.add_argument(
        "--before-commits", type=int, default=int(os.environ.get("BENCH_BEFORE_COMMITS") or 800),
        help="stop the 'before' table after this many commits (800; its commits grow slower with every one: hours to 2,000 on 2 CPUs)",
    )
    parser.add_argument("--out", type=Path, default=REPO / ".bench" / "results" / "commits.json")
    args = parser.parse_args()
    if args.commits < 30:
        parser.error("--commits: at least 30 (commits 5-15 and the last 20 are compared)")
    folder = Path(tempfile.mkdtemp(prefix="chimera-bench-commits-"))
    sides = [Remote(name, folder, properties) for name, properties in SIDES.items()]
    try:
        before_commits = min(args.before_commits, args.commits)
        for number in range(args.commits):
            ageing = [s for s in sides if s.name != "before" or number < before_commits]
            for side in ageing if number % 2 == 0 else reversed(ageing):
                side.commit(number, args.rows)
            if number + 1 == 10:
                for side in sides:
                    side.call("read", "after commit 10", 10 * args.rows)
            if number + 1 == before_commits < args.commits:
                sides[0].call("read", f"after commit {before_commits}", before_commits * args.rows)
            if (number + 1) % 100 == 0:
                # A run stopped early still leaves its numbers so far.
                partial = {s.name: s.call("summary") for s in sides}
                print(f"{number + 1}: " + ", ".join(f"{k} {v['late_median_ms']:.0f} ms (CPU {v['late_cpu_median_ms']:.0f})" for k, v in partial.items()), flush=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.with_suffix(".partial.json").write_text(json.dumps({"commits_so_far": number + 1, "sides": partial}))
        for side in sides:
            if side.commits == args.commits:
                side.call("read", f"after commit {args.commits}", args.commits * args.rows)
        after = sides[-1]
        after.call("compact")
        after.call("read", f"after commit {args.commits} + compaction", args.commits * args.rows)
        results = {side.name: side.call("summary") for side in sides}
    finally:
        for side in sides:
            side.stop()
        shutil.rmtree(folder, ignore_errors=True)
    meta = {
        "commits": args.commits,
        "before_commits": before_commits,
        "rows": args.rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    met = results["after"]["ratio"] <= TARGET
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**meta, "target_ratio": TARGET, "met": met, "sides": results}, indent=1))
    args.out.with_suffix(".md").write_text(markdown(results, meta))
    args.out.with_suffix(".html").write_text(page(results, meta))
    args.out.with_suffix(".partial.json").unlink(missing_ok=True)
    copy = REPO / "bench" / "results" / args.out.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.out, copy)
    print(markdown(results, meta))
    print(f"results: {args.out}, {args.out.with_suffix('.md')}, {args.out.with_suffix('.html')}, {copy}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
