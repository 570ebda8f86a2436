"""Per-task limits on real pipelines, each run in a task process of its own as Airflow's task runner
does: a read pushing the task over ``[chimera] task_memory_limit_mib`` stops with the error and commits
nothing, under a generous cap the same run succeeds; a read that hangs in the database driver is ended
after the task's ``execution_timeout``, which Airflow's own timeout signal alone does not achieve."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pyarrow.csv as pacsv
from pyiceberg.exceptions import NoSuchTableError

from tests.conftest import REPO
from tests.helpers import postgres_uri, record_schema, single_object_source
from tests.integration.onboarding.test_connectivity import silent_server  # noqa: F401  (a fixture)

ROWS = 600_000
GRACE_S = 2
TIMEOUT_S = 6  # time enough to connect and plan the read: the timeout falls in the read

# One ingest task: the cap is set once the process has imported what a task imports (baseline RSS +
# HEADROOM MiB, or an absolute value); prints the result, or the error's type and message.
MEMORY_TASK = textwrap.dedent(
    """
    import json, os, sys
    from airflow_provider_chimera.ingest.limits import rss_mib
    from airflow_provider_chimera.writer import IcebergWriter  # noqa: F401  (imported before the cap is set)
    from airflow_provider_chimera.operators.ingest import IngestOperator  # noqa: F401  (likewise)
    from tests.helpers import pipeline_for, run_task
    source, cap = json.loads(sys.argv[1]), sys.argv[2]
    cap = str(rss_mib() + int(cap[1:])) if cap.startswith("+") else cap
    os.environ["AIRFLOW__CHIMERA__TASK_MEMORY_LIMIT_MIB"] = cap
    try:
        result = run_task(pipeline_for(source))
        print("RESULT " + json.dumps({"rows": result["rows"], "cap": int(cap)}))
    except BaseException as exc:
        print("RESULT " + json.dumps({"error": type(exc).__name__, "message": str(exc), "cap": int(cap)}))
    """
)

# One ingest task run through the Task SDK's execute wrapper, which applies execution_timeout
# (SIGALRM in the task process), with a short grace for the watchdog's backstop.
TIMEOUT_TASK = textwrap.dedent(
    f"""
    import json, sys
    from datetime import timedelta
    from types import SimpleNamespace
    from airflow.sdk.execution_time.task_runner import _run_execute_callable
    from airflow_provider_chimera.ingest import limits
    from airflow_provider_chimera.operators.ingest import IngestOperator
    from tests.helpers import mark_onboarded, pipeline_for
    # What the task imports as it starts, imported first: the timeout is then spent in the read.
    import adbc_driver_postgresql.dbapi, airflow_provider_chimera.governance.wap, airflow_provider_chimera.sources.postgres  # noqa: E401
    limits.GRACE_SECONDS = {GRACE_S}
    pipeline = pipeline_for(json.loads(sys.argv[1]))
    mark_onboarded(pipeline)
    task = IngestOperator(task_id="ingest", pipeline=pipeline, execution_timeout=timedelta(seconds={TIMEOUT_S}))
    context = {{"run_id": "hung-run", "dag_run": SimpleNamespace(conf={{}})}}
    try:
        _run_execute_callable(context, task.execute, task)
    except BaseException as exc:
        print("RAISED " + type(exc).__name__, flush=True)
        raise
    """
)


def _task(script: str, *args: str, tmp_path) -> tuple[subprocess.CompletedProcess, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIRFLOW__CHIMERA__WAREHOUSE": str(tmp_path / "warehouse"),
        "AIRFLOW__CHIMERA__CATALOG_NAME": "chimera_test",
    }
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    return done, time.monotonic() - started


def _result(done: subprocess.CompletedProcess) -> dict:
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    assert line, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(line[len("RESULT "):])


def _csv_source(tmp_path) -> dict:
    """A CSV of ROWS rows (about 60 MB) read as the ``big`` pipeline into ``qa.big``."""
    data = tmp_path / "data"
    data.mkdir()
    ids = pa.array(range(ROWS), pa.int64())
    payload = pa.compute.binary_join_element_wise(pa.compute.cast(ids, pa.string()), pa.scalar("x" * 90), "-")
    pacsv.write_csv(pa.table({"id": ids, "payload": payload}), data / "big.csv")
    return single_object_source(
        "file", {"uri": data.as_uri()}, "big", {"type": "full"}, "big",
        path="*.csv", format="csv", schema=record_schema(["id"], id="long", payload="string"),
    )


def test_a_read_over_the_memory_cap_fails_and_commits_nothing_under_a_generous_cap_it_succeeds(tmp_path, catalog):
    source = _csv_source(tmp_path)
    over = _result(_task(MEMORY_TASK, json.dumps(source), "+32", tmp_path=tmp_path)[0])
    assert over["error"] == "TaskMemoryLimitExceeded", over
    seen = int(re.search(r"memory reached (\d+) MiB", over["message"]).group(1))
    assert seen > over["cap"]
    assert over["message"] == (
        f"qa_intent_src_big: the ingest task's memory reached {seen} MiB (resident set size), over its cap of "
        f"{over['cap']} MiB ([chimera] task_memory_limit_mib); the run was stopped and the table keeps its last "
        f"committed snapshot"
    )
    try:
        assert catalog.load_table("qa.big").current_snapshot() is None
    except NoSuchTableError:
        pass  # stopped before the table was created: nothing committed either

    ok = _result(_task(MEMORY_TASK, json.dumps(source), "8192", tmp_path=tmp_path)[0])
    assert ok == {"rows": ROWS, "cap": 8192}
    table = catalog.load_table("qa.big")
    assert len(table.snapshots()) == 1
    assert table.scan().to_arrow().num_rows == ROWS


def _hung_task(source: dict, tmp_path, monkeypatch, services) -> tuple[subprocess.CompletedProcess, float]:
    monkeypatch.setenv("QA_PG_PASSWORD", services["CHIMERA_PG_PASSWORD"])
    return _task(TIMEOUT_TASK, json.dumps(source), tmp_path=tmp_path)


def _ended_after_the_timeout(done: subprocess.CompletedProcess, elapsed: float, pipeline: str) -> None:
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-4000:]
    assert "RAISED" not in done.stdout  # the task never got out of the read
    assert (
        f"{pipeline}: the ingest task is still running {GRACE_S} s after its execution_timeout of {TIMEOUT_S} s (a read "
        f"blocked in native code does not see Airflow's timeout signal); the process ends (exit code 1), nothing "
        f"more is committed"
    ) in done.stderr
    assert TIMEOUT_S + GRACE_S <= elapsed < TIMEOUT_S + GRACE_S + 30


def test_a_connection_hung_in_the_driver_is_ended_after_its_execution_timeout(tmp_path, monkeypatch, services, silent_server):  # noqa: F811
    """A server that accepts the connection and never answers: the driver waits in native code, where
    Airflow's SIGALRM handler never runs; the watchdog ends the task process."""
    uri = postgres_uri(services, "${env:QA_PG_PASSWORD}", port=silent_server)
    source = single_object_source("postgres", {"uri": uri}, "public.orders", {"type": "full"}, "hung")
    done, elapsed = _hung_task(source, tmp_path, monkeypatch, services)
    _ended_after_the_timeout(done, elapsed, "qa_intent_src_public_orders")
    assert "Process timed out" not in done.stdout  # Airflow's timeout handler never ran


def test_a_query_that_never_returns_is_ended_after_its_execution_timeout(tmp_path, monkeypatch, services, pg_schema):
    """The query sleeps in PostgreSQL: Airflow's timeout fires in the task's main thread, but the read
    it waits for blocks in the driver on the read-ahead thread; the watchdog ends the task process."""
    pg = pg_schema("qa_hung")
    pg.execute("CREATE VIEW qa_hung.slow AS SELECT g AS id FROM generate_series(1, 3) g, pg_sleep(60)")
    source = single_object_source(
        "postgres", {"uri": postgres_uri(services, "${env:QA_PG_PASSWORD}")}, "qa_hung.slow", {"type": "full"}, "hung"
    )
    try:
        done, elapsed = _hung_task(source, tmp_path, monkeypatch, services)
    finally:  # the server's side of the ended task still sleeps, holding the view
        pg.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%qa_hung%' AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()")
    _ended_after_the_timeout(done, elapsed, "qa_intent_src_qa_hung_slow")
    assert "Process timed out" in done.stdout  # Airflow's timeout fired, and could not end the read
