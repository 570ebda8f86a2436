"""The source conformance suite: every check of :data:`~tests.conformance.harness.CHECKS`, run
against every registered source harness (``tests/conformance/harnesses/``) on its real service.

A check a harness declares not applicable shows as skipped with the harness's reason; a service
that does not answer fails naming ``make services``.
"""

from __future__ import annotations

import pytest

from airflow_provider_chimera.sources import source_reader
from tests.conformance.harness import TABLE, SourceHarness, cases
from tests.helpers import pipeline_for, read_table, run_pipeline

pytestmark = pytest.mark.integration

TARGET = f"qa.{TABLE}"
ROWS = 12  # rows the object is created with
BATCH_ROWS = 5  # the bound the batches check sets: ROWS rows take at least three batches


@pytest.fixture
def harness(request) -> SourceHarness:
    made = request.param(request)
    made.prepare()
    return made


def _numbers(catalog, harness: SourceHarness) -> list[int]:
    """The row numbers the target holds, in order (a row read twice shows twice)."""
    return sorted(harness.row_number(row) for row in read_table(catalog, TARGET).to_pylist())


def _run(harness: SourceHarness, mode: dict, **object_fields) -> dict:
    return run_pipeline(pipeline_for(harness.source(mode, **object_fields)))


@pytest.mark.parametrize("harness", cases("type_mapping"), indirect=True)
def test_type_mapping_round_trip(harness, catalog):
    harness.create_object(ROWS)
    assert _run(harness, {"type": "full"})["rows"] == ROWS
    table = catalog.load_table(TARGET)
    assert {f.name: str(f.field_type) for f in table.schema().fields} == harness.expected_types()
    rows = sorted(table.scan().to_arrow().to_pylist(), key=harness.row_number)
    assert rows == [harness.expected_row(n) for n in range(1, ROWS + 1)]


@pytest.mark.parametrize("harness", cases("full_reload"), indirect=True)
def test_full_reload_replaces(harness, catalog):
    harness.create_object(ROWS)
    assert _run(harness, {"type": "full"})["rows"] == ROWS
    harness.append_rows(ROWS + 1, ROWS + 3)
    assert _run(harness, {"type": "full"})["rows"] == ROWS + 3
    assert _numbers(catalog, harness) == list(range(1, ROWS + 4))  # each row once


@pytest.mark.parametrize("harness", cases("incremental"), indirect=True)
def test_incremental_reads_only_past_the_position(harness, catalog):
    harness.create_object(ROWS)
    assert _run(harness, harness.incremental_mode)["rows"] == ROWS
    harness.append_rows(ROWS + 1, ROWS + 5)
    assert _run(harness, harness.incremental_mode)["rows"] == 5
    assert _numbers(catalog, harness) == list(range(1, ROWS + 6))


@pytest.mark.parametrize("harness", cases("unchanged_rerun"), indirect=True)
def test_unchanged_rerun_commits_nothing(harness, catalog):
    harness.create_object(ROWS)
    assert _run(harness, harness.incremental_mode)["committed"] is True
    before = catalog.load_table(TARGET)
    again = _run(harness, harness.incremental_mode)
    assert (again["rows"], again["committed"]) == (0, False)
    after = catalog.load_table(TARGET)
    assert after.current_snapshot().snapshot_id == before.current_snapshot().snapshot_id
    assert len(after.snapshots()) == len(before.snapshots())


@pytest.mark.parametrize("harness", cases("missing_object"), indirect=True)
def test_missing_object_is_named(harness, catalog):
    source, name = harness.missing_object_source()
    pipeline = pipeline_for(source)
    problems = source_reader(pipeline.source).check_object(pipeline.object)
    assert problems and any(name in problem for problem in problems), problems
    with pytest.raises(Exception) as raised:
        run_pipeline(pipeline)
    assert name in str(raised.value)
    assert not catalog.table_exists(TARGET) or catalog.load_table(TARGET).current_snapshot() is None


@pytest.mark.parametrize("harness", cases("quarantine"), indirect=True)
def test_bad_record_is_quarantined(harness, catalog):
    harness.create_object(ROWS)
    reason = harness.add_bad_record()
    source = harness.source({"type": "full"})
    source["objects"][0]["ingestion"]["quarantine_threshold"] = 0.5
    pipeline = pipeline_for(source)
    result = run_pipeline(pipeline, run_id="conformance-run")
    assert (result["rows"], result["quarantined"]) == (ROWS, 1)
    assert _numbers(catalog, harness) == list(range(1, ROWS + 1))
    (row,) = read_table(catalog, f"{TARGET}__quarantine").to_pylist()
    assert reason in row["reason"], row
    assert row["position"], row  # where the record is at the source
    assert (row["pipeline"], row["run_id"]) == (pipeline.id, "conformance-run")


@pytest.mark.parametrize("harness", cases("bounded_batches"), indirect=True)
def test_batches_are_bounded(harness):
    harness.create_object(ROWS)
    pipeline = pipeline_for(harness.source({"type": "full"}))
    extract = source_reader(pipeline.source, batch_rows=BATCH_ROWS).extract(pipeline.object, None)
    sizes = [batch.num_rows for batch in extract.batches()]
    assert sum(sizes) == ROWS, sizes
    assert max(sizes) <= BATCH_ROWS, sizes


@pytest.mark.parametrize("harness", cases("connection_test"), indirect=True)
def test_connection_test(harness, monkeypatch):
    # A silent host fails within seconds, not the drivers' usual timeout.
    monkeypatch.setattr("airflow_provider_chimera.sources.base.CONNECT_TIMEOUT_S", 3)
    ok, message = source_reader(pipeline_for(harness.source({"type": "full"})).source).test_connection()
    assert (ok, bool(message)) == (True, True), message
    source = harness.source({"type": "full"})
    source["connection"], secret = harness.unreachable_connection()
    ok, message = source_reader(pipeline_for(source).source).test_connection()
    assert ok is False and message, message
    if secret:
        assert secret not in message

