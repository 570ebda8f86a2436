"""``partitioned`` mode in the writer: one window replaced, the others untouched; partition specs."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from pyiceberg.transforms import BucketTransform
from pyiceberg.types import LongType

from airflow_provider_chimera.contract import IntentError, parse_intent
from airflow_provider_chimera.contract.model import Ingestion, PartitionField
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.sources.window import Window, WindowError
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from airflow_provider_chimera.writer.partitions import floor, following, partition_fields, preceding
from tests.helpers import intent_with

UTC = dt.UTC
SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("ts", pa.timestamp("us", tz="UTC"))])
DAY1 = dt.datetime(2026, 11, 1, tzinfo=UTC)
DAY2 = dt.datetime(2026, 11, 2, tzinfo=UTC)
DAY3 = dt.datetime(2026, 11, 3, tzinfo=UTC)


def _day(first_id: int, day: dt.datetime, rows: int) -> pa.RecordBatch:
    """``rows`` rows spread over ``day`` (one every 24/rows hours), ids from ``first_id``."""
    step = dt.timedelta(hours=24) / rows
    return pa.RecordBatch.from_pydict(
        {"id": list(range(first_id, first_id + rows)), "ts": [day + i * step for i in range(rows)]}, schema=SCHEMA
    )


def _info(run: str):
    return lambda: CommitInfo(pipeline="p1", run_id=run, source="s/o", position=Position())


def _ids_by_day(writer: IcebergWriter) -> dict[str, list[int]]:
    table = writer.load().scan().to_arrow().to_pylist()
    days: dict[str, list[int]] = {}
    for row in table:
        days.setdefault(row["ts"].date().isoformat(), []).append(row["id"])
    return {day: sorted(ids) for day, ids in sorted(days.items())}


def _writer(catalog) -> IcebergWriter:
    return IcebergWriter(catalog, "qa", "events", partition_by=[PartitionField(column="ts", transform="day")])


def test_a_rerun_replaces_its_window_only(catalog):
    writer = _writer(catalog)
    assert writer.write(SCHEMA, iter([_day(0, DAY1, 24)]), "overwrite", _info("d1"), window=Window("ts", DAY1, DAY2)).rows == 24
    assert writer.write(SCHEMA, iter([_day(100, DAY2, 12)]), "overwrite", _info("d2"), window=Window("ts", DAY2, DAY3)).rows == 12
    day2_files = {f.file.file_path for f in writer.load().scan(row_filter="ts >= '2026-11-02T00:00:00+00:00'").plan_files()}
    assert _ids_by_day(writer) == {"2026-11-01": list(range(24)), "2026-11-02": list(range(100, 112))}

    # The source's first day changed: the rerun replaces that day, with exactly its new rows.
    result = writer.write(SCHEMA, iter([_day(500, DAY1, 6)]), "overwrite", _info("d1-again"), window=Window("ts", DAY1, DAY2))
    assert result.rows == 6
    assert _ids_by_day(writer) == {"2026-11-01": list(range(500, 506)), "2026-11-02": list(range(100, 112))}
    # The other day's data files were not even rewritten.
    assert {f.file.file_path for f in writer.load().scan(row_filter="ts >= '2026-11-02T00:00:00+00:00'").plan_files()} == day2_files

    # The same rerun again: same counts, nothing duplicated.
    writer.write(SCHEMA, iter([_day(500, DAY1, 6)]), "overwrite", _info("d1-third"), window=Window("ts", DAY1, DAY2))
    assert writer.load().scan().to_arrow().num_rows == 18
    summary = writer.load().current_snapshot().summary.additional_properties
    assert summary["chimera.run-id"] == "d1-third"


def test_an_empty_window_empties_its_partition_only(catalog):
    writer = _writer(catalog)
    writer.write(SCHEMA, iter([_day(0, DAY1, 4)]), "overwrite", _info("d1"), window=Window("ts", DAY1, DAY2))
    writer.write(SCHEMA, iter([_day(10, DAY2, 4)]), "overwrite", _info("d2"), window=Window("ts", DAY2, DAY3))
    result = writer.write(SCHEMA, iter(()), "overwrite", _info("d1-empty"), window=Window("ts", DAY1, DAY2))
    assert (result.committed, result.rows) == (True, 0)
    assert _ids_by_day(writer) == {"2026-11-02": [10, 11, 12, 13]}


def test_an_hour_window_inside_a_day_partition(catalog):
    writer = _writer(catalog)
    writer.write(SCHEMA, iter([_day(0, DAY1, 24)]), "overwrite", _info("d1"), window=Window("ts", DAY1, DAY2))
    hour = Window("ts", DAY1 + dt.timedelta(hours=5), DAY1 + dt.timedelta(hours=6))
    replacement = pa.RecordBatch.from_pydict({"id": [900, 901], "ts": [hour.start, hour.start + dt.timedelta(minutes=30)]}, schema=SCHEMA)
    writer.write(SCHEMA, iter([replacement]), "overwrite", _info("h5"), window=hour)
    assert _ids_by_day(writer) == {"2026-11-01": sorted([*range(5), *range(6, 24), 900, 901])}


def test_rows_outside_the_window_stop_the_run(catalog):
    writer = _writer(catalog)
    writer.write(SCHEMA, iter([_day(0, DAY1, 4)]), "overwrite", _info("d1"), window=Window("ts", DAY1, DAY2))
    stray = _day(50, DAY2, 3)
    with pytest.raises(WindowError, match=r"^qa.events: 3 rows read fall outside the run's window ts in \[2026-11-01T00:00:00\+00:00, 2026-11-02"):
        writer.write(SCHEMA, iter([stray]), "overwrite", _info("bad"), window=Window("ts", DAY1, DAY2))
    assert _ids_by_day(writer) == {"2026-11-01": [0, 1, 2, 3]}  # nothing committed


def test_a_date_column_window(catalog):
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("day", pa.date32())])
    writer = IcebergWriter(catalog, "qa", "daily", partition_by=[PartitionField(column="day", transform="month")])

    def batch(first, days):
        return pa.RecordBatch.from_pydict({"id": list(range(first, first + len(days))), "day": days}, schema=schema)

    november = Window("day", dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 12, 1, tzinfo=UTC))
    december = Window("day", dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))
    writer.write(schema, iter([batch(0, [dt.date(2026, 11, 1), dt.date(2026, 11, 30)])]), "overwrite", _info("nov"), window=november)
    writer.write(schema, iter([batch(10, [dt.date(2026, 12, 1)])]), "overwrite", _info("dec"), window=december)
    writer.write(schema, iter([batch(20, [dt.date(2026, 11, 15)])]), "overwrite", _info("nov2"), window=november)
    rows = sorted((r["id"], r["day"]) for r in writer.load().scan().to_arrow().to_pylist())
    assert rows == [(10, dt.date(2026, 12, 1)), (20, dt.date(2026, 11, 15))]


def test_the_default_spec_of_a_partitioned_mode_is_its_column_and_granularity():
    def ingestion(**target):
        return Ingestion.model_validate(
            {"trigger": {"type": "adhoc"}, "mode": {"type": "partitioned", "column": "ts", "granularity": "hour"},
             "target": {"table": "t", **target}}
        )

    assert partition_fields(ingestion()) == [PartitionField(column="ts", transform="hour")]
    explicit = [{"column": "ts", "transform": "day"}, {"column": "id", "transform": "bucket[8]"}]
    assert partition_fields(ingestion(partition_by=explicit)) == [
        PartitionField(column="ts", transform="day"), PartitionField(column="id", transform="bucket[8]")
    ]


@pytest.mark.parametrize(
    ("value", "granularity", "start", "end", "before"),
    [
        (dt.datetime(2026, 11, 1, 13, 45, tzinfo=UTC), "hour", DAY1 + dt.timedelta(hours=13), DAY1 + dt.timedelta(hours=14), DAY1 + dt.timedelta(hours=12)),
        # An offset is converted: 13:00+02:00 is 11:00 UTC.
        (dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "hour", DAY1 + dt.timedelta(hours=11),
         DAY1 + dt.timedelta(hours=12), DAY1 + dt.timedelta(hours=10)),
        (dt.datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "day", dt.datetime(2026, 12, 31, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC),
         dt.datetime(2026, 12, 30, tzinfo=UTC)),
        (dt.datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "month", dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC),
         dt.datetime(2026, 11, 1, tzinfo=UTC)),
        (dt.datetime(2026, 1, 31, tzinfo=UTC), "month", dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 2, 1, tzinfo=UTC),
         dt.datetime(2025, 12, 1, tzinfo=UTC)),
        (dt.datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "year", dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC),
         dt.datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_periods_by_granularity(value, granularity, start, end, before):
    """The period holding a time, the next one and the one before (which window a run loads: tests/unit/ingest/test_windows.py)."""
    first = floor(value, granularity)
    assert (first, following(first, granularity), preceding(first, granularity)) == (start, end, before)


def test_a_period_needs_a_time_zone():
    with pytest.raises(WindowError, match="has no time zone"):
        floor(dt.datetime(2026, 11, 1), "day")


def test_bucket_and_truncate_specs_end_to_end(catalog):
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])
    spec = [PartitionField(column="id", transform="bucket[16]"), PartitionField(column="name", transform="truncate[4]")]
    writer = IcebergWriter(catalog, "qa", "buckets", partition_by=spec)
    names = ["alpha1", "alpha2", "beta", "betamax", "gamma"]
    batch = pa.RecordBatch.from_pydict({"id": list(range(100)), "name": [names[i % 5] for i in range(100)]}, schema=schema)
    writer.write(schema, iter([batch]), "append", _info("b"))
    table = writer.load()
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("id_bucket", "bucket[16]"), ("name_truncate", "truncate[4]")]
    partitions = {(f.file.partition[0], f.file.partition[1]) for f in table.scan().plan_files()}
    bucket = BucketTransform(16).transform(LongType())
    expected = {(bucket(i), names[i % 5][:4]) for i in range(100)}
    assert partitions == expected
    assert {name for _, name in partitions} == {"alph", "beta", "gamm"}
    assert table.scan().to_arrow().num_rows == 100
    # A filter on the bucketed column reads only its bucket's files.
    assert table.scan(row_filter="id == 7").to_arrow().column("id").to_pylist() == [7]


@pytest.mark.parametrize("transform", ["bucket[0]", "truncate[]", "days", "bucket[4"])
def test_an_invalid_transform_is_refused_with_its_json_path(transform):
    source = {
        "name": "db", "type": "postgres", "connection": {"conn_id": "c"},
        "objects": [{"name": "public.t", "ingestion": {
            "trigger": {"type": "adhoc"}, "mode": {"type": "full"},
            "target": {"table": "t", "partition_by": [{"column": "id", "transform": transform}]},
        }}],
    }
    with pytest.raises(IntentError) as caught:
        parse_intent(json.dumps(intent_with(source)).encode(), "bad.json")
    assert "bad.json: /sources/0/objects/0/ingestion/target/partition_by/0/transform:" in str(caught.value)
