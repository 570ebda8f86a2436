"""Where an incremental run starts: the snapshot's position, or an explicit adoption of a table
that holds rows Chimera did not record."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.ingest.resume import UnadoptedTableError
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.sources.kafka import KafkaReader
from airflow_provider_chimera.sources.postgres import PostgresReader
from airflow_provider_chimera.writer import IcebergWriter
from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source

ARROW = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])


def _source(folder) -> dict:
    schema = {"fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}
    return single_object_source(
        "file", {"uri": folder.as_uri()}, "events", {"type": "incremental"}, "events", path="*.jsonl", format="json", schema=schema
    )


def _write(folder, name: str, ids: range) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("".join(json.dumps({"id": i, "name": f"e{i}"}) + "\n" for i in ids))


@pytest.fixture
def loaded_elsewhere(tmp_path, catalog):
    """``qa.events`` holding rows 0..9 written by another tool (no Chimera position), and the source
    folder holding those rows in a.jsonl and 10..14 in b.jsonl."""
    catalog.create_namespace_if_not_exists("qa")
    table = catalog.create_table(("qa", "events"), schema=ARROW)
    table.append(pa.Table.from_pylist([{"id": i, "name": f"e{i}"} for i in range(10)], schema=ARROW))
    data = tmp_path / "data"
    _write(data, "a.jsonl", range(10))
    _write(data, "b.jsonl", range(10, 15))
    return _source(data)


def test_a_table_with_rows_but_no_position_stops_the_run(loaded_elsewhere, catalog):
    before = catalog.load_table("qa.events").current_snapshot().snapshot_id
    with pytest.raises(UnadoptedTableError) as failure:
        run_pipeline(pipeline_for(loaded_elsewhere))
    assert str(failure.value) == (
        "test.json: pipeline qa_intent_src_events: table qa.events already holds 10 rows, but none of its snapshots "
        "records where this pipeline stopped reading, so an incremental load cannot tell which source rows it already "
        "holds. To adopt the table, trigger the DAG qa_intent_src_events once with the run conf "
        '{"adopt_from": ["<glob of the files already in the table>"]} (airflow dags trigger qa_intent_src_events '
        """--conf '{"adopt_from": ["<glob of the files already in the table>"]}'); later runs continue from the """
        "position that run records."
    )
    assert catalog.load_table("qa.events").current_snapshot().snapshot_id == before


def test_adoption_reads_only_past_the_stated_position_and_is_then_ignored(loaded_elsewhere, catalog):
    pipeline = pipeline_for(loaded_elsewhere)
    result = run_pipeline(pipeline, conf={"adopt_from": "a.jsonl"})
    assert (result["rows"], result["rows_read"]) == (5, 5)
    assert sorted(read_table(catalog, "qa.events").column("id").to_pylist()) == list(range(15))
    writer = IcebergWriter(catalog, "qa", "events")
    assert [name.rsplit("/", 1)[-1] for name in writer.last_position(pipeline.id).files] == ["a.jsonl", "b.jsonl"]
    # A retry or a repeat of the adoption run: the snapshot's position wins over the conf.
    again = run_pipeline(pipeline, conf={"adopt_from": "a.jsonl"})
    assert (again["rows"], again["committed"]) == (0, False)
    assert read_table(catalog, "qa.events").num_rows == 15


def test_adopting_with_nothing_new_still_records_the_position(loaded_elsewhere, catalog, tmp_path):
    pipeline = pipeline_for(loaded_elsewhere)
    result = run_pipeline(pipeline, conf={"adopt_from": ["a.jsonl", "b.*"]})
    assert (result["rows"], result["committed"], result["bytes_written"]) == (0, True, 0)
    summary = catalog.load_table("qa.events").current_snapshot().summary.additional_properties
    assert (summary["chimera.pipeline"], summary["chimera.rows"]) == (pipeline.id, "0")
    assert read_table(catalog, "qa.events").num_rows == 10
    # Later runs need no conf: they continue from the adopted position.
    _write(tmp_path / "data", "c.jsonl", range(15, 18))
    assert run_pipeline(pipeline)["rows"] == 3
    assert sorted(read_table(catalog, "qa.events").column("id").to_pylist()) == [*range(10), 15, 16, 17]


def test_a_bad_adoption_value_is_named(loaded_elsewhere):
    with pytest.raises(ValueError, match=r"^test.json: pipeline qa_intent_src_events: DAG run conf adopt_from: 'z\*' matches no file$"):
        run_pipeline(pipeline_for(loaded_elsewhere), conf={"adopt_from": "z*"})
    with pytest.raises(ValueError, match=r"DAG run conf adopt_from: expected a glob or a list of globs of files already ingested, got 5"):
        run_pipeline(pipeline_for(loaded_elsewhere), conf={"adopt_from": 5})


def test_an_empty_table_or_a_full_load_needs_no_position_adoption(tmp_path, catalog):
    """Tables created outside Chimera are taken over with ``adopt_table`` (writer.ownership), no ``adopt_from``."""
    catalog.create_namespace_if_not_exists("qa")
    catalog.create_table(("qa", "events"), schema=ARROW)
    data = tmp_path / "data"
    _write(data, "a.jsonl", range(4))
    assert run_pipeline(pipeline_for(_source(data)), conf={"adopt_table": True})["rows"] == 4
    full = _source(data)
    full["objects"][0]["ingestion"]["mode"] = {"type": "full"}
    full["objects"][0]["ingestion"]["target"]["table"] = "other"
    catalog.create_table(("qa", "other"), schema=ARROW).append(pa.Table.from_pylist([{"id": 99, "name": "x"}], schema=ARROW))
    assert run_pipeline(pipeline_for(full), conf={"adopt_table": True})["rows"] == 4
    assert read_table(catalog, "qa.other").column("id").to_pylist() == [0, 1, 2, 3]


def _hook(cls, source_type: str):
    return cls(Source.model_validate({"name": "s", "type": source_type, "connection": {"uri": "x://h"}, "objects": "all"}))


@pytest.mark.parametrize(("value", "cursor"), [("2026-11-01T00:00:00", "2026-11-01T00:00:00"), (41, "41"), (2.5, "2.5")])
def test_a_cursor_source_adopts_a_cursor_value(value, cursor):
    assert _hook(PostgresReader, "postgres").adopted_position(None, value) == Position(cursor=cursor)


@pytest.mark.parametrize("value", [True, None, ["x"], {"a": 1}])
def test_a_cursor_source_refuses_other_values(value):
    with pytest.raises(ValueError, match=r"^adopt_from: expected the last cursor value already in the table, got "):
        _hook(PostgresReader, "postgres").adopted_position(None, value)


def test_kafka_adopts_offsets_by_partition():
    obj = type("Obj", (), {"name": "clicks"})()
    assert _hook(KafkaReader, "kafka").adopted_position(obj, {"0": 12, 1: 3}) == Position(offsets={"0": 12, "1": 3})
    for bad in ("12", {}, {"x": 1}, {"0": -1}, {"0": True}):
        with pytest.raises(ValueError, match=r"^adopt_from: expected \{\"<partition>\": <next offset to read>, \.\.\.\} for topic 'clicks'"):
            _hook(KafkaReader, "kafka").adopted_position(obj, bad)
