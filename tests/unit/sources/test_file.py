"""File sources: CSV, JSON Lines, JSON arrays and Parquet, read with the declared schema."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_chimera.sources.file import FileReadError
from tests.helpers import pipeline_for, read_table, run_pipeline

FIELDS = [
    {"name": "id", "type": "long", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "amount", "type": "decimal(10,2)"},
    {"name": "ts", "type": "timestamptz"},
]


def _source(base, path: str, fmt: str, mode: str = "full", columns=None) -> dict:
    obj = {
        "name": "things",
        "path": path,
        "format": fmt,
        "schema": {"fields": FIELDS},
        "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": mode}, "target": {"namespace": "qa", "table": "things"}},
    }
    if columns:
        obj["columns"] = columns
    return {"name": "drop", "type": "file", "connection": {"uri": base.as_uri()}, "objects": [obj]}


def _rows(start: int, count: int) -> list[dict]:
    return [{"id": i, "name": f"n{i}", "amount": f"{i}.50", "ts": f"2026-11-2{i % 3}T10:00:00Z"} for i in range(start, start + count)]


def test_csv_with_schema_and_column_selection(tmp_path, catalog):
    lines = ["id,name,amount,ts"] + [f"{r['id']},{r['name']},{r['amount']},{r['ts']}" for r in _rows(1, 5)]
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    run_pipeline(pipeline_for(_source(tmp_path, "*.csv", "csv", columns=["id", "amount", "ts"])))
    table = read_table(catalog, "qa.things").sort_by("id")
    assert table.column_names == ["id", "amount", "ts"]
    assert table.num_rows == 5
    row = table.slice(0, 1).to_pylist()[0]
    assert str(row["amount"]) == "1.50"
    assert row["ts"] == dt.datetime(2026, 11, 21, 10, tzinfo=dt.timezone.utc)


def test_json_lines_and_json_array(tmp_path, catalog):
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in _rows(1, 3)) + "\n")
    (tmp_path / "b.json").write_text(json.dumps(_rows(4, 2)))
    run_pipeline(pipeline_for(_source(tmp_path, "*.json*", "json")))
    assert sorted(read_table(catalog, "qa.things").column("id").to_pylist()) == [1, 2, 3, 4, 5]


def test_parquet(tmp_path, catalog):
    table = pa.Table.from_pylist([{"id": i, "name": f"n{i}", "amount": None, "ts": None} for i in range(10)])
    pq.write_table(table, tmp_path / "part-0.parquet")
    run_pipeline(pipeline_for(_source(tmp_path, "part-*.parquet", "parquet")))
    assert read_table(catalog, "qa.things").num_rows == 10


def test_a_bad_value_goes_to_quarantine_and_fails_the_run_without_a_threshold(tmp_path, catalog):
    from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError

    (tmp_path / "bad.csv").write_text("id,name,amount,ts\nnot-a-number,x,1.00,2026-11-20T10:00:00Z\n")
    with pytest.raises(QuarantineThresholdError, match=r"1 of 1 records read \(100.0%\) went to quarantine table qa.things__quarantine"):
        run_pipeline(pipeline_for(_source(tmp_path, "*.csv", "csv")))
    assert not catalog.table_exists("qa.things") or catalog.load_table("qa.things").current_snapshot() is None
    (row,) = read_table(catalog, "qa.things__quarantine").to_pylist()
    assert (row["position"], row["reason"]) == (f"{tmp_path}/bad.csv#1", "field 'id' does not hold a long")


def test_a_file_that_cannot_be_read_names_the_file(tmp_path, catalog):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(FileReadError, match=r"bad\.parquet: cannot read as parquet with the declared schema"):
        run_pipeline(pipeline_for(_source(tmp_path, "*.parquet", "parquet")))
