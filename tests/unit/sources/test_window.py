"""The time window of a ``partitioned`` run: bounds per column type, the Arrow filter, Kafka's refusal."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.sources.kafka import KafkaReader
from airflow_provider_chimera.sources.window import Window, WindowError

UTC = dt.UTC
START = dt.datetime(2026, 11, 1, 6, tzinfo=UTC)
END = dt.datetime(2026, 11, 3, tzinfo=UTC)


def test_bounds_take_the_columns_type():
    window = Window("c", START, END)
    assert window.bounds(pa.timestamp("us", tz="UTC")) == (START, END)
    assert window.bounds(pa.timestamp("ms")) == (dt.datetime(2026, 11, 1, 6), dt.datetime(2026, 11, 3))
    # A date belongs to the window its midnight falls in: Nov 1 (midnight before 06:00) does not.
    assert window.bounds(pa.date32()) == (dt.date(2026, 11, 2), dt.date(2026, 11, 3))
    with pytest.raises(WindowError, match=r"^partition column 'c' is string; a 'partitioned' mode needs a date or timestamp column$"):
        window.bounds(pa.string())


def test_bounds_are_utc_whatever_zone_they_come_in():
    plus2 = dt.timezone(dt.timedelta(hours=2))
    window = Window("c", dt.datetime(2026, 11, 1, 2, tzinfo=plus2), dt.datetime(2026, 11, 2, 2, tzinfo=plus2))
    assert (window.start, window.end) == (dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 11, 2, tzinfo=UTC))
    assert str(window) == "c in [2026-11-01T00:00:00+00:00, 2026-11-02T00:00:00+00:00)"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (dt.datetime(2026, 11, 1), END, r"^window on 'c': bound 2026-11-01T00:00:00 has no time zone$"),
        (END, START, r"^window on 'c': end 2026-11-01T06:00:00\+00:00 is not after start 2026-11-03T00:00:00\+00:00$"),
    ],
)
def test_invalid_windows_are_refused(start, end, message):
    with pytest.raises(WindowError, match=message):
        Window("c", start, end)


def test_filter_keeps_the_half_open_interval_and_drops_nulls():
    values = [START - dt.timedelta(microseconds=1), START, END - dt.timedelta(microseconds=1), END, None]
    batch = pa.RecordBatch.from_pydict({"id": [1, 2, 3, 4, 5], "c": values}, schema=pa.schema([("id", pa.int64()), ("c", pa.timestamp("us", tz="UTC"))]))
    assert Window("c", START, END).filter(batch).column("id").to_pylist() == [2, 3]


def test_filter_names_a_column_that_was_not_read():
    batch = pa.RecordBatch.from_pydict({"id": [1]})
    with pytest.raises(WindowError, match=r"^partition column 'c' is not among the columns read \(\['id'\]\)$"):
        Window("c", START, END).filter(batch)


def test_kafka_refuses_a_window_before_connecting():
    source = Source.model_validate(
        {"name": "clicks", "type": "kafka", "connection": {"uri": "kafka://127.0.0.1:1"},
         "objects": [{"name": "web.clicks", "schema": {"fields": [{"name": "ts", "type": "timestamptz"}]}}]}
    )
    hook = KafkaReader(source)
    with pytest.raises(WindowError, match=r"^source 'clicks': topic 'web.clicks' cannot be read in 'partitioned' mode"):
        hook.extract(source.objects[0], None, window=Window("ts", START, END))
