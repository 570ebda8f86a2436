"""The table maintenance task: a failing action fails the task, after the other actions ran."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_chimera.maintenance.table import MaintenanceError
from airflow_provider_chimera.operators.maintenance import TableMaintenanceOperator
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from tests.helpers import pipeline_for, single_object_source

SCHEMA = pa.schema([pa.field("id", pa.int64())])


def _pipeline(cursor: str = "id"):
    source = single_object_source("postgres", {"conn_id": "db"}, "public.orders", {"type": "incremental", "cursor": cursor}, "orders")
    source["objects"][0]["ingestion"]["retention"] = {"days": 10}
    return pipeline_for(source)


def test_a_cursor_that_is_not_a_time_fails_retention_but_compaction_still_runs(catalog, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__COMPACTION_MIN_FILES", "3")
    pipeline = _pipeline()
    writer = IcebergWriter(catalog, "qa", "orders", properties={"chimera.pipeline": pipeline.id})
    for run in range(3):
        info = CommitInfo(pipeline=pipeline.id, run_id=f"r{run}", source="s", position=Position(cursor=str(run)))
        writer.write(SCHEMA, iter([pa.RecordBatch.from_pydict({"id": [run]}, schema=SCHEMA)]), "append", lambda info=info: info)

    with pytest.raises(MaintenanceError) as error:
        TableMaintenanceOperator(task_id=pipeline.id, pipeline=pipeline).execute({"run_id": "m1"})

    assert str(error.value) == (
        "test.json: pipeline qa_intent_src_public_orders: maintenance of qa.orders failed: table.retention: "
        "RetentionError: test.json: pipeline qa_intent_src_public_orders: retention dates rows by the cursor "
        "column 'id', which is long in qa.orders; it needs a date or timestamp column (or a time partition_by)"
    )
    assert len(list(writer.load().scan().plan_files())) == 1  # the three small files were compacted
    assert writer.load().scan().to_arrow().num_rows == 3


def test_a_table_not_created_yet_is_left_alone(catalog):
    pipeline = _pipeline("updated_at")
    result = TableMaintenanceOperator(task_id=pipeline.id, pipeline=pipeline).execute({"run_id": "m1"})
    assert result == {"pipeline": pipeline.id, "table": "qa.orders", "exists": False}
