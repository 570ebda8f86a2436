"""Concurrent commits to one table, across processes sharing one catalog (``writer.conflicts``).

The catalog is pyiceberg's SQL catalog on the local PostgreSQL (a fresh database per test) with a
warehouse folder: what two Airflow workers share; and Chimera's embedded SQLite catalog, which the
task processes of one machine share. Eight processes run one ``partitioned`` pipeline (files,
one per day) over eight days at once (a backfill); every run stages its day on its audit branch
and publishes it while the others move ``main``, so most commits lose a race and are re-checked
and retried. Every run succeeds, the rows and snapshots add up, and no data file is left
unreferenced.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import uuid
from pathlib import Path

import pytest

from tests.helpers import pipeline_for, read_table, single_object_source

UTC = dt.UTC
DAYS = 8
ROWS_PER_DAY = 50


def _day(day: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2026, 11, day, tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


@pytest.fixture(params=["postgresql", "sqlite"])
def shared_catalog(request, services, settings, monkeypatch, cleanups, tmp_path):
    """The catalog every process opens under ``[chimera] catalog_name``, and its warehouse folder:
    pyiceberg's SQL catalog on a fresh PostgreSQL database, or the embedded SQLite default."""
    from airflow_provider_chimera.writer import chimera_catalog

    if request.param == "sqlite":
        catalog = chimera_catalog(settings)
        assert "sqlite" in str(catalog.engine.url)
        return catalog, settings.warehouse.resolve()
    import psycopg

    from tests.conftest import require_service
    from tests.helpers import postgres_uri

    require_service("PostgreSQL", services["CHIMERA_PG_HOST"], services["CHIMERA_PG_PORT"])
    database = f"chimera_commits_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(postgres_uri(services), autocommit=True)
    admin.execute(f"CREATE DATABASE {database}")

    def drop():
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()

    cleanups(drop)
    uri = postgres_uri(services).rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://") + f"/{database}"
    warehouse = (tmp_path / "shared-warehouse").resolve()
    warehouse.mkdir()
    # pyiceberg reads "_" in these variables' catalog name as "-": a name without one.
    monkeypatch.setenv("AIRFLOW__CHIMERA__CATALOG_NAME", "shared")
    from airflow_provider_chimera.settings import load_settings

    settings = load_settings()
    prefix = "PYICEBERG_CATALOG__SHARED__"
    monkeypatch.setenv(prefix + "TYPE", "sql")
    monkeypatch.setenv(prefix + "URI", uri)
    monkeypatch.setenv(prefix + "WAREHOUSE", warehouse.as_uri())
    from pyiceberg.catalog import load_catalog
    from pyiceberg.utils.config import Config

    # The run processes, started after this, open it through [chimera] catalog_name and these
    # variables; this one (pyiceberg read its environment on import) opens it directly.
    assert Config().get_catalog_config(settings.catalog_name) == {"type": "sql", "uri": uri, "warehouse": warehouse.as_uri()}
    return load_catalog("shared", type="sql", uri=uri, warehouse=warehouse.as_uri()), warehouse


@pytest.fixture
def events(tmp_path) -> dict:
    """A file source: one JSON-lines file per day, ``ROWS_PER_DAY`` events each; its source block."""
    folder = tmp_path / "events"
    folder.mkdir()
    step = dt.timedelta(days=1) / ROWS_PER_DAY
    for day in range(1, DAYS + 1):
        first = dt.datetime(2026, 11, day, tzinfo=UTC)
        lines = [
            json.dumps({"id": (day - 1) * ROWS_PER_DAY + n, "ts": (first + n * step).isoformat()}) for n in range(ROWS_PER_DAY)
        ]
        (folder / f"day-{day:02d}.jsonl").write_text("\n".join(lines) + "\n")
    fields = [{"name": "id", "type": "long", "nullable": False}, {"name": "ts", "type": "timestamptz"}]
    return single_object_source(
        "file", {"uri": folder.as_uri()}, "events", {"type": "partitioned", "column": "ts", "granularity": "day"}, "events",
        path="*.jsonl", format="json", schema={"fields": fields},
    )


class _Counter(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.conflicts = 0

    def emit(self, record):
        if "conflicted with a concurrent commit" in record.getMessage():
            self.conflicts += 1


def _one_day(source: dict, day: int, start, results) -> None:
    """A worker process: wait for the others, then run the pipeline for ``day``."""
    from tests.helpers import run_pipeline

    counter = _Counter()
    logging.getLogger("airflow_provider_chimera.writer.conflicts").addHandler(counter)
    start.wait(timeout=120)
    try:
        result = run_pipeline(pipeline_for(source), run_id=f"backfill-{day}", interval=_day(day))
        results.put((day, result["rows"], counter.conflicts, None))
    except BaseException as exc:
        import traceback

        results.put((day, 0, counter.conflicts, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def at_once(target, arguments: list[tuple]) -> list:
    """Run ``target(*args, start, results)`` in one spawned process per ``args``, all started
    together (``start``: a barrier); the tuples they put on ``results``, sorted."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(len(arguments)), context.Queue()
    workers = [context.Process(target=target, args=(*args, start, results)) for args in arguments]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=600) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def _data_files_on_disk(warehouse: Path) -> set[str]:
    return {f"file://{path.resolve()}" for path in warehouse.rglob("*.parquet")}


def _referenced(table) -> set[str]:
    """Data files any snapshot of the table references."""
    files = set()
    for snapshot in table.snapshots():
        for manifest in snapshot.manifests(table.io):
            files.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False))
    return files


def test_eight_processes_backfill_one_table_at_once(shared_catalog, events):
    catalog, warehouse = shared_catalog
    outcomes = at_once(_one_day, [(events, day) for day in range(1, DAYS + 1)])

    assert [error for *_, error in outcomes if error] == []
    assert [(day, rows) for day, rows, _, _ in outcomes] == [(day, ROWS_PER_DAY) for day in range(1, DAYS + 1)]
    retried = sum(conflicts for _, _, conflicts, _ in outcomes)
    assert retried > 0, "eight runs at once: some commits must have lost a race and been retried"
    print(f"conflict retries per run: {[conflicts for _, _, conflicts, _ in outcomes]}")

    table = catalog.load_table("qa.events")
    rows = read_table(catalog, "qa.events")
    assert sorted(rows.column("id").to_pylist()) == list(range(DAYS * ROWS_PER_DAY))
    # main holds one published snapshot per run, each with its run's rows.
    published = {}
    snapshot = table.current_snapshot()
    while snapshot is not None:
        props = snapshot.summary.additional_properties
        if props.get("chimera.run-id"):
            published[props["chimera.run-id"]] = int(props["chimera.rows"])
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    assert published == {f"backfill-{day}": ROWS_PER_DAY for day in range(1, DAYS + 1)}
    assert int(table.current_snapshot().summary.additional_properties["total-records"]) == DAYS * ROWS_PER_DAY
    # Every audit branch is gone, and every data file in the warehouse is referenced: no orphans.
    assert sorted(table.metadata.refs) == ["main"]
    on_disk = _data_files_on_disk(warehouse)
    assert on_disk and on_disk <= _referenced(table)
    current = {task.file.file_path for task in table.scan().plan_files()}
    assert on_disk == current
