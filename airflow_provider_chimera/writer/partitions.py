"""``partitioned`` mode: the run's window, the target's partition spec, and what a run replaces.

A ``partitioned`` run loads the rows of one window, ``column`` in ``[start, end)`` (which window:
``ingest.windows``, from the run's conf, data interval, asset event, logical date or schedule),
and replaces exactly those rows of the table in one commit. A rerun of the same interval, or a backfill over a range,
replaces, never duplicates, and leaves every other partition untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import And, BooleanExpression, GreaterThanOrEqual, LessThan
from pyiceberg.schema import Schema
from pyiceberg.types import DateType, TimestampType, TimestamptzType

from airflow_provider_chimera.contract.model import Ingestion, PartitionedMode, PartitionField
from airflow_provider_chimera.sources.window import Window, WindowError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def column_named(names: list[str], name: str) -> str:
    """``name`` as the table spells it: itself, or its one case-insensitive match (Snowflake
    stores unquoted ``order_ts`` as ``ORDER_TS``); unchanged when neither exists."""
    if name in names:
        return name
    matches = [candidate for candidate in names if candidate.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else name


def for_table(window: Window, names: list[str]) -> Window:
    """``window`` on the column as the table spells it."""
    return replace(window, column=column_named(names, window.column))


def partition_fields(ingestion: Ingestion) -> list[PartitionField]:
    """The target's partition spec: ``partition_by``, or for a ``partitioned`` mode without one,
    the mode's column with its granularity as the transform."""
    if ingestion.target.partition_by:
        return list(ingestion.target.partition_by)
    if isinstance(ingestion.mode, PartitionedMode):
        return [PartitionField(column=ingestion.mode.column, transform=ingestion.mode.granularity)]
    return []


def floor(value: dt.datetime, granularity: str) -> dt.datetime:
    """The start (UTC) of the ``granularity`` period holding ``value``."""
    if value.tzinfo is None:
        raise WindowError(f"date {value.isoformat()} has no time zone")
    utc = value.astimezone(dt.UTC)
    parts = {
        "hour": (utc.year, utc.month, utc.day, utc.hour),
        "day": (utc.year, utc.month, utc.day, 0),
        "month": (utc.year, utc.month, 1, 0),
        "year": (utc.year, 1, 1, 0),
    }[granularity]
    return dt.datetime(*parts, tzinfo=dt.UTC)


def following(start: dt.datetime, granularity: str) -> dt.datetime:
    """The start of the ``granularity`` period after the one starting at ``start``."""
    if granularity == "hour":
        return start + dt.timedelta(hours=1)
    if granularity == "day":
        return start + dt.timedelta(days=1)
    if granularity == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def preceding(start: dt.datetime, granularity: str) -> dt.datetime:
    """The start of the ``granularity`` period before the one starting at ``start``."""
    if granularity == "hour":
        return start - dt.timedelta(hours=1)
    if granularity == "day":
        return start - dt.timedelta(days=1)
    if granularity == "month":
        return start.replace(year=start.year - (start.month == 1), month=(start.month - 2) % 12 + 1)
    return start.replace(year=start.year - 1)


def window_filter(window: Window, schema: Schema, table: str) -> BooleanExpression:
    """The Iceberg row filter ``start <= column < end`` on the table's column."""
    try:
        field = schema.find_field(window.column)
    except ValueError:
        raise WindowError(f"{table}: partition column {window.column!r} is not in the table") from None
    kind = field.field_type
    if isinstance(kind, (TimestampType, TimestamptzType)):
        # Microseconds since the epoch: the UTC instant for timestamptz, the UTC wall-clock
        # time for a timestamp without a zone (how the window's bounds read such a column).
        start, end = (_micros(window.start), _micros(window.end))
    elif isinstance(kind, DateType):
        first, stop = window.bounds(pa.date32())
        start, end = (first - _EPOCH.date()).days, (stop - _EPOCH.date()).days
    else:
        raise WindowError(
            f"{table}: partition column {window.column!r} is {kind}; a 'partitioned' mode needs a date or timestamp column"
        )
    return And(GreaterThanOrEqual(window.column, start), LessThan(window.column, end))


def inside(batches: Iterator[pa.RecordBatch], window: Window, table: str) -> Iterator[pa.RecordBatch]:
    """``batches`` unchanged, after checking each row falls in ``window``.

    A row outside it would never be replaced by a rerun of its interval, so it stops the run.
    """
    for batch in batches:
        outside = batch.num_rows - pc.sum(window.mask(batch)).as_py() if batch.num_rows else 0
        if outside:
            raise WindowError(f"{table}: {outside} rows read fall outside the run's window {window}")
        yield batch


def _micros(value: dt.datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
