"""Point 8: a failed attempt leaves no data files behind, and the maintenance sweeps old orphans.

Against the embedded Iceberg catalog and its warehouse folder: an attempt failing after its data
files are written (an injected failure, a quarantine threshold) deletes them; files that no snapshot
references (what a killed worker leaves) are deleted by ``chimera_maintenance`` once older than
``[chimera] orphan_file_age_hours``, while younger ones and every referenced file stay.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pytest
from pyiceberg.io.pyarrow import _dataframe_to_data_files

from airflow_provider_chimera.faults import VARIABLE, InjectedFailure
from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from airflow_provider_chimera.maintenance.orphans import referenced_files, remove_orphan_files
from airflow_provider_chimera.maintenance.table import ORPHANS, maintain
from airflow_provider_chimera.settings import load_settings
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source

COVERS = ("8",)

UTC = dt.UTC


def _source(data: Path, mode: str = "incremental", threshold: float | None = None) -> dict:
    source = single_object_source(
        "file", {"uri": data.as_uri()}, "things", {"type": mode}, "things",
        path="*.jsonl", format="json", schema=record_schema(["id"], id="long", name="string"),
    )
    if threshold is not None:
        source["objects"][0]["ingestion"]["quarantine_threshold"] = threshold
    return source


def _write(data: Path, name: str, rows: list) -> None:
    data.mkdir(exist_ok=True)
    (data / name).write_text("".join(json.dumps(row) + "\n" for row in rows))


def _files(catalog, name: str) -> set[str]:
    """Every file under the table's folder."""
    root = Path(urlsplit(catalog.load_table(name).location()).path)
    return {str(p) for p in root.rglob("*") if p.is_file()}


def _data_files(catalog, name: str) -> set[str]:
    return {f for f in _files(catalog, name) if f.endswith(".parquet")}


def _committed(catalog, name: str) -> set[str]:
    """The data files some snapshot of the table references."""
    table = catalog.load_table(name)
    return {
        urlsplit(entry.data_file.file_path).path
        for snapshot in table.snapshots()
        for manifest in snapshot.manifests(table.io)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False)
    }


@pytest.mark.parametrize("runs_before", [0, 1])
def test_an_attempt_failing_after_its_files_are_written_leaves_none(tmp_path, catalog, monkeypatch, runs_before):
    data = tmp_path / "data"
    pipeline = pipeline_for(_source(data))
    for run in range(runs_before):
        _write(data, f"{run}.jsonl", [{"id": run, "name": "kept"}])
        run_pipeline(pipeline, run_id=f"ok-{run}")
    _write(data, "new.jsonl", [{"id": 100 + i, "name": "x" * 100} for i in range(1000)])
    monkeypatch.setenv(VARIABLE, "after_files")
    with pytest.raises(InjectedFailure):
        run_pipeline(pipeline, run_id="failing")
    assert _data_files(catalog, "qa.things") == _committed(catalog, "qa.things")
    assert read_table(catalog, "qa.things").num_rows == runs_before
    monkeypatch.delenv(VARIABLE)
    assert run_pipeline(pipeline, run_id="retry")["rows"] == 1000  # the retry writes them again, once
    assert _data_files(catalog, "qa.things") == _committed(catalog, "qa.things")


def test_a_run_stopped_by_its_quarantine_threshold_leaves_no_target_files(tmp_path, catalog):
    data = tmp_path / "data"
    _write(data, "a.jsonl", [{"id": 1, "name": "ann"}, {"id": "two"}, {"id": "three"}])
    with pytest.raises(QuarantineThresholdError):
        run_pipeline(pipeline_for(_source(data, mode="full", threshold=0.1)))
    assert _data_files(catalog, "qa.things") == set() == _committed(catalog, "qa.things")
    # The quarantined records are committed before the threshold is checked: kept, with their files.
    assert read_table(catalog, "qa.things__quarantine").num_rows == 2
    assert _data_files(catalog, "qa.things__quarantine") == _committed(catalog, "qa.things__quarantine")


def _orphan(table, name: str, hours_old: float, now: dt.datetime) -> str:
    """A data file written as a killed attempt leaves it (never committed), last modified ``hours_old`` ago."""
    rows = pa.Table.from_pylist([{"id": 999, "name": name}], schema=table.schema().as_arrow())
    (data_file,) = _dataframe_to_data_files(table_metadata=table.metadata, write_uuid=uuid.uuid4(), df=rows, io=table.io)
    path = urlsplit(data_file.file_path).path
    when = (now - dt.timedelta(hours=hours_old)).timestamp()
    os.utime(path, (when, when))
    return path


def _loaded(tmp_path, catalog):
    data = tmp_path / "data"
    pipeline = pipeline_for(_source(data, threshold=0.5))
    for run in range(3):
        _write(data, f"{run}.jsonl", [{"id": run, "name": "row"}, {"id": "bad"}])
        run_pipeline(pipeline, run_id=f"load-{run}")
    return pipeline


def test_old_unreferenced_files_are_removed_young_and_referenced_ones_kept(tmp_path, catalog):
    _loaded(tmp_path, catalog)
    table = catalog.load_table("qa.things")
    now = dt.datetime.now(UTC)
    before = _files(catalog, "qa.things")
    old = _orphan(table, "old", 100, now)
    young = _orphan(table, "young", 10, now)
    result = remove_orphan_files(table, dt.timedelta(hours=72), now)
    assert result.removed == (old,)
    assert result.young == 1
    assert _files(catalog, "qa.things") == before | {young}
    assert sorted(read_table(catalog, "qa.things").column("id").to_pylist()) == [0, 1, 2]


def test_every_referenced_file_survives_a_sweep_that_finds_everything_old(tmp_path, catalog):
    """A year on, every file is old: only the orphans go, metadata, manifests and data all stay."""
    _loaded(tmp_path, catalog)
    table = catalog.load_table("qa.things")
    now = dt.datetime.now(UTC)
    orphans = {_orphan(table, f"o{i}", 1, now) for i in range(3)}
    before = _files(catalog, "qa.things")
    assert {path for path in before if path not in referenced_files(table)} == orphans
    result = remove_orphan_files(table, dt.timedelta(hours=72), now + dt.timedelta(days=365))
    assert set(result.removed) == orphans
    assert _files(catalog, "qa.things") == before - orphans
    table = catalog.load_table("qa.things")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [0, 1, 2]
    assert all(table.scan(snapshot_id=s.snapshot_id).to_arrow() is not None for s in table.snapshots())


def test_chimera_maintenance_sweeps_target_and_quarantine_at_the_configured_age(tmp_path, catalog, monkeypatch):
    pipeline = _loaded(tmp_path, catalog)
    now = dt.datetime.now(UTC)
    target = _orphan(catalog.load_table("qa.things"), "t", 5, now)
    quarantine = catalog.load_table("qa.things__quarantine")
    rows = pa.Table.from_pylist(
        [{"pipeline": "p", "run_id": "r", "source": "s", "position": "1", "reason": "x", "raw": None, "quarantined_at": now}],
        schema=quarantine.schema().as_arrow(),
    )
    (left,) = _dataframe_to_data_files(table_metadata=quarantine.metadata, write_uuid=uuid.uuid4(), df=rows, io=quarantine.io)
    path = urlsplit(left.file_path).path
    os.utime(path, ((now - dt.timedelta(hours=5)).timestamp(),) * 2)

    outcome = maintain(pipeline, catalog, load_settings(), now=now)  # default: 72 hours, both kept
    assert outcome.failed == {}
    assert outcome.done[ORPHANS]["orphan_files_removed"] == 0 and outcome.done[ORPHANS]["orphan_files_too_young"] == 2
    assert Path(target).exists() and Path(path).exists()

    monkeypatch.setenv("AIRFLOW__CHIMERA__ORPHAN_FILE_AGE_HOURS", "4")
    outcome = maintain(pipeline, catalog, load_settings(), now=now)
    assert outcome.failed == {}
    assert sorted(outcome.done[ORPHANS]["orphan_files"]) == sorted([target, path])
    assert not Path(target).exists() and not Path(path).exists()
    assert read_table(catalog, "qa.things__quarantine").num_rows == 3
    assert sorted(read_table(catalog, "qa.things").column("id").to_pylist()) == [0, 1, 2]
