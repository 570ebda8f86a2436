"""One measured parse of one DAG file, in this (fresh) process, the way Airflow's DAG processor does it.

The DAG processor imports ``airflow.dag_processing.processor`` and pre-imports the ``airflow.*``
modules a DAG file names (``[dag_processor] parsing_pre_import_modules``), then forks a process
that builds a ``BundleDagBag`` for that one file and serializes each DAG. This worker does the same
preparation untimed, then times the ``BundleDagBag`` (the parse) and, separately, the
serialization. ``--repeat 2`` parses the file again in the same process (module and in-process caches warm);
only the first parse is serialized and profiled.

Writes one JSON object (``--out``): per-parse seconds, DAG and task counts, import errors, the network and
database calls seen while parsing, and a digest of what was built (to check the sides agree).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

# Calls that mean network or database I/O (Python audit events; C drivers' own sockets are not seen).
WATCHED_EVENTS = frozenset(
    {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "sqlite3.connect", "subprocess.Popen"}
)


def _asset(asset) -> str:
    watchers = ",".join(f"{w.name}:{type(w.trigger).__name__}" for w in asset.watchers)
    return f"{asset.uri}|{asset.name}|{asset.group}|{watchers}"


def _schedule(timetable) -> list:
    name = type(timetable).__name__
    if hasattr(timetable, "expression"):
        return [name, timetable.expression, str(timetable.timezone)]
    if hasattr(timetable, "delta"):
        return [name, timetable.delta.total_seconds()]
    condition = timetable.asset_condition
    if condition is None:
        return [name]
    return [name, type(condition).__name__, sorted(_asset(asset) for asset in condition.objects)]


def _signature(dag) -> list:
    """What must be equal across the sides: id, schedule, run settings, tags, params, each task's settings (execution timeout too), assets and upstream tasks."""
    return [
        dag.dag_id,
        _schedule(dag.timetable),
        dag.start_date.isoformat() if dag.start_date else None,
        dag.catchup,
        dag.max_active_runs,
        sorted(set(dag.tags) - {"dagfactory"}),  # dag-factory adds its own tag
        sorted([name, p.value, p.description, p.schema] for name in dag.params for p in [dag.params.get_param(name)]),
        sorted(
            [t.task_id, t.owner, t.retries, t.retry_delay.total_seconds(), t.pool, t.priority_weight,
             str(t.weight_rule), t.execution_timeout.total_seconds() if t.execution_timeout else None,
             sorted(_asset(a) for a in t.inlets), sorted(_asset(a) for a in t.outlets),
             sorted(t.upstream_task_ids)]
            for t in dag.tasks
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dag-file", required=True)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--serialize", action="store_true")
    parser.add_argument("--out", required=True, help="write the result (JSON) to this file")
    parser.add_argument("--signatures", help="write the built DAGs' signatures to this JSON file")
    parser.add_argument("--profile", help="write a cProfile of the first parse to this file")
    args = parser.parse_args()

    # What the DAG processor has loaded before it forks a parsing process.
    import airflow.dag_processing.processor  # noqa: F401
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.file import iter_airflow_imports

    for module in iter_airflow_imports(args.dag_file):
        importlib.import_module(module)

    seen: Counter = Counter()
    watching = [False]

    def audit(event: str, _args: tuple) -> None:
        if watching[0] and event in WATCHED_EVENTS:
            seen[event] += 1

    sys.addaudithook(audit)

    runs = []
    bag = None
    for attempt in range(args.repeat):
        profiler = None
        if args.profile and attempt == 0:
            import cProfile

            profiler = cProfile.Profile()
        watching[0] = True
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        bag = BundleDagBag(
            dag_folder=args.dag_file,
            bundle_path=Path(args.bundle),
            bundle_name="bench",
            load_op_links=False,
        )
        parse_s = time.perf_counter() - start
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        watching[0] = False
        run = {"parse_s": parse_s}
        if args.serialize and attempt == 0:
            start = time.perf_counter()
            for dag in bag.dags.values():
                DagSerialization.to_dict(dag)
            run["serialize_s"] = time.perf_counter() - start
        runs.append(run)

    assert bag is not None
    signatures = sorted(_signature(dag) for dag in bag.dags.values())
    digest = hashlib.sha256(json.dumps(signatures, default=str).encode()).hexdigest()
    if args.signatures:
        Path(args.signatures).write_text(json.dumps(signatures, default=str))
    Path(args.out).write_text(json.dumps(
        {
            "runs": runs,
            "dags": len(bag.dags),
            "tasks": sum(len(d.tasks) for d in bag.dags.values()),
            "import_errors": bag.import_errors,
            "io_calls": dict(seen),
            "digest": digest,
            "pid": os.getpid(),
        }
    ))


if __name__ == "__main__":
    main()
