"""A time window on one column: the rows a ``partitioned`` run reads and replaces.

A window is half-open, ``start <= column < end``, in UTC. Its bounds become values of the
column's own type (:meth:`Window.bounds`): aware UTC datetimes for time-zone-aware timestamps,
naive datetimes holding the UTC wall-clock time for timestamps without a zone, and for dates the
first date on or after each bound (so a date belongs to the window its midnight falls in).
Sources push the window down to the server as a predicate; files, which have no server, filter
in Arrow with :meth:`Window.mask`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_chimera.errors import FixRequired


class WindowError(FixRequired, ValueError):
    """A window that cannot be applied: names the column and why."""


@dataclass(frozen=True)
class Window:
    column: str
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        for bound in (self.start, self.end):
            if bound.tzinfo is None:
                raise WindowError(f"window on {self.column!r}: bound {bound.isoformat()} has no time zone")
        # Plain datetimes in UTC (Airflow hands over pendulum datetimes).
        object.__setattr__(self, "start", _plain_utc(self.start))
        object.__setattr__(self, "end", _plain_utc(self.end))
        if self.end <= self.start:
            raise WindowError(
                f"window on {self.column!r}: end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )

    def __str__(self) -> str:
        return f"{self.column} in [{self.start.isoformat()}, {self.end.isoformat()})"

    def bounds(self, arrow_type: pa.DataType) -> tuple[Any, Any]:
        """``(start, end)`` as values of a column of ``arrow_type``."""
        if pa.types.is_timestamp(arrow_type):
            if arrow_type.tz is not None:
                return self.start, self.end
            return self.start.replace(tzinfo=None), self.end.replace(tzinfo=None)
        if pa.types.is_date(arrow_type):
            return _first_date_from(self.start), _first_date_from(self.end)
        raise WindowError(
            f"partition column {self.column!r} is {arrow_type}; a 'partitioned' mode needs a date or timestamp column"
        )

    def mask(self, batch: pa.RecordBatch | pa.Table) -> pa.Array:
        """True for each row whose column falls in the window (a null falls in no window)."""
        index = batch.schema.get_field_index(self.column)
        if index < 0:
            raise WindowError(f"partition column {self.column!r} is not among the columns read ({batch.schema.names})")
        column = batch.column(index)
        start, end = self.bounds(column.type)
        inside = pc.and_kleene(
            pc.greater_equal(column, pa.scalar(start, type=column.type)),
            pc.less(column, pa.scalar(end, type=column.type)),
        )
        return pc.fill_null(inside, False)

    def filter(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The rows of ``batch`` in the window."""
        return batch.filter(self.mask(batch))


def _plain_utc(value: dt.datetime) -> dt.datetime:
    utc = value.astimezone(dt.UTC)
    return dt.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=dt.UTC)


def _first_date_from(value: dt.datetime) -> dt.date:
    """The first date whose midnight (UTC) is at or after ``value``."""
    day = value.date()
    return day if value.time() == dt.time(0) else day + dt.timedelta(days=1)
