"""Where a run's time goes inside the ingest task: ``make bench-run-cost``'s two pipelines, profiled in-process.

The task's code runs here the way a forked, preloaded task process runs it: this process imports
``airflow_provider_chimera.preload`` first (what the LocalExecutor's forkserver imported), then
executes the ingest task of each pipeline (``IngestOperator.execute`` with a real Task SDK
context, ``tests.helpers.run_task``) against the local PostgreSQL, an embedded catalog and a
SQLite registry in a temporary folder, as ``bench/runcost/run.py``'s Airflow does. After two
warm-up runs each, ``--runs`` runs of each pipeline are timed, each in a child forked from this
process (nothing one run caches is there for the next, as with forked task processes) and under
``cProfile``; the report lists each pipeline's median wall time and the summed profile's top
entries by cumulative time (``--top``), which is where to look for a fixed cost. Needs the local services.

    PYTHONPATH=$PWD .venv/bin/python bench/runcost/profile_task.py --runs 5
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

PRELOADED: set[str] = set()  # the modules imported once the preload was
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per pipeline (5)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the full pipeline's table (10,000)")
    parser.add_argument("--top", type=int, default=40, help="profile entries listed per pipeline (40)")
    parser.add_argument("--modules", action="store_true", help="name every module a run imported (else their packages)")
    parser.add_argument("--callers", default="", help="also list who calls the functions matching this regular expression")
    parser.add_argument("--callees", default="", help="also list what the functions matching this regular expression call")
    args = parser.parse_args()

    from run import INTENT, _intent, _source_tables  # the benchmark's own source tables and intent

    from tests.conftest import SERVICES

    home = Path(tempfile.mkdtemp(prefix="chimera-runcost-profile-"))
    intents = home / "intents"
    intents.mkdir()
    (intents / f"{INTENT}.json").write_text(json.dumps(_intent()))
    s = SERVICES
    os.environ.update(
        AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CHIMERA__INTENTS_DIR=str(intents), AIRFLOW__CHIMERA__WAREHOUSE=str(home / "warehouse"),
        AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'registry.db'}", AIRFLOW__CHIMERA__STATE_DIR=str(home / "chimera"),
        AIRFLOW__CHIMERA__TASK_RETRIES="2",
        AIRFLOW_CONN_RUNCOST_POSTGRES=f"postgresql://{s['CHIMERA_PG_USER']}:{s['CHIMERA_PG_PASSWORD']}@{s['CHIMERA_PG_HOST']}:{s['CHIMERA_PG_PORT']}/{s['CHIMERA_PG_DB']}",
    )
    _source_tables(args.rows)
    import airflow_provider_chimera.preload  # noqa: F401  (what the forked task process has imported)

    global PRELOADED
    PRELOADED = set(sys.modules)
    report = []
    try:
        # First, while this process has imported nothing but the preload: what a task's parse of
        # the pipelines' DAG file costs (it reads the intents folder; onboarding not needed).
        from run import INC_DAG

        parse = functools.partial(_parse, INC_DAG)
        report.append(_profiled("the task process's parse of dags/chimera_pipelines.py", [parse] * args.runs, home / "parse", args))

        from airflow_provider_chimera.pipelines import discover

        from tests.helpers import mark_onboarded, run_task

        pipelines = {p.object.name: p for p in discover(intents, onboarded={}).pipelines}
        for pipeline in pipelines.values():
            mark_onboarded(pipeline)  # the registry created and migrated (Alembic), as `chimera onboard` does
        # What this process imported since is the parse's (measured above) or its own set-up's.
        PRELOADED = set(sys.modules)
        for name in ("public.runcost_events", "public.runcost_orders"):
            pipeline = pipelines[name]
            ingest = functools.partial(_task, run_task, pipeline)
            for i in range(2):  # warm-up: the first run creates the table, the incremental one loads its rows
                _forked(functools.partial(ingest, f"warm-{i}"), home / f"{pipeline.id}-warm.prof")
            report.append(_profiled(f"{pipeline.id}: the task", [functools.partial(ingest, f"run-{i}") for i in range(args.runs)],
                                    home / pipeline.id, args))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for label, rows, times, profile_text, imported in report:
        print(f"\n=== {label}: {rows}; median {statistics.median(times) * 1000:.0f} ms of {len(times)} runs "
              f"({', '.join(f'{t * 1000:.0f}' for t in times)} ms)")
        shown = imported if args.modules else sorted({n if n.startswith("airflow") else n.split(".")[0] for n in imported})
        print(f"imported by the task, not by the preload ({len(imported)} modules): {' '.join(shown) or '-'}")
        print(profile_text)


def _task(run_task, pipeline, run_id: str) -> str:
    return f"{run_task(pipeline, run_id=run_id)['rows']} rows"


def _parse(dag_id: str) -> str:
    """What the task runner does before the task runs: parse the DAG file that holds ``dag_id``,
    with Airflow's parsing context naming the DAG and task."""
    import runpy

    from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager

    with _airflow_parsing_context_manager(dag_id=dag_id, task_id="ingest"):
        found = runpy.run_path(str(REPO / "dags" / "chimera_pipelines.py"))
    return f"{sum(1 for name in found if not name.startswith('__') and name != 'build_dags')} DAG(s)"


def _profiled(label: str, works: list, dumps: Path, args) -> tuple:
    """Each of ``works`` in a forked child, timed and profiled; the summed profile's top entries."""
    times, stats = [], None
    for i, work in enumerate(works):
        elapsed, result, dump = _forked(work, Path(f"{dumps}-{i}.prof"))
        times.append(elapsed)
        stats = pstats.Stats(dump) if stats is None else stats.add(dump)
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(args.top)
    if args.callers:
        stats.print_callers(args.callers)
    if args.callees:
        stats.print_callees(args.callees)
    return label, result["rows"], times, out.getvalue(), result["imported"]


def _forked(work, dump: Path) -> tuple[float, dict, str]:
    """``work()`` in a child forked from this (preloaded) process, as the
    LocalExecutor's forkserver starts a task: nothing a previous run cached is there. The child's
    wall time, what work returned and the modules it imported (what
    ``airflow_provider_chimera.preload`` might import), and its profile (written to ``dump``)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the task process
        os.close(read)
        code = 1
        try:
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            result = work()
            profile.disable()
            elapsed = time.perf_counter() - started
            profile.dump_stats(str(dump))
            imported = sorted(set(sys.modules) - PRELOADED)  # by this child, or by the parent after the preload
            os.write(write, json.dumps({"elapsed": elapsed, "rows": result, "imported": imported}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not answer:
        raise SystemExit(f"{work}: the forked run failed (status {status})")
    out = json.loads(answer)
    return out["elapsed"], {"rows": out["rows"], "imported": out["imported"]}, str(dump)


if __name__ == "__main__":
    main()
