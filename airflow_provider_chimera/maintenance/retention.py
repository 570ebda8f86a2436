"""``retention: {"days": N}``: delete the rows dated before the cutoff, whole partitions where possible.

The cutoff is midnight (UTC) starting the day ``N`` days before today, so on a table partitioned by
``day`` or ``hour`` of its age column (:mod:`.rules`) every expired partition is dropped whole, its
files removed from the table without being read or rewritten; a row lives ``N`` to ``N + 1`` days.
Files that hold rows on both sides of the cutoff (a ``month`` partition, an unpartitioned table)
are rewritten without the expired rows. Rows whose age column is null are kept.

The delete is pyiceberg's copy-on-write ``Table.delete`` in one transaction, with the snapshot
property ``chimera.maintenance: retention``; the data files stay readable by older snapshots until
those expire (:mod:`.snapshots`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

from pyiceberg.expressions import And, BooleanExpression, EqualTo, LessThan
from pyiceberg.table import Table
from pyiceberg.types import DateType, TimestampType, TimestamptzType

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.maintenance import MAINTENANCE
from airflow_provider_chimera.contract.retention import AgeColumn
from airflow_provider_chimera.writer.history import EFFECTIVE_TO, IS_CURRENT
from airflow_provider_chimera.writer.partitions import column_named

CUTOFF = "chimera.retention-cutoff"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class RetentionError(FixRequired, ValueError):
    """Retention cannot be applied to a table; the message names pipeline, table and column."""


@dataclass(frozen=True)
class RetentionResult:
    column: str
    cutoff: dt.datetime
    rows_deleted: int
    files_removed: int
    files_added: int
    snapshot_ids: tuple[int, ...]

    def details(self) -> dict[str, object]:
        return {
            "column": self.column,
            "cutoff": self.cutoff.isoformat(),
            "rows_deleted": self.rows_deleted,
            "files_removed": self.files_removed,
            "files_added": self.files_added,
            "snapshot_ids": list(self.snapshot_ids),
        }


def cutoff(days: int, now: dt.datetime) -> dt.datetime:
    """Midnight (UTC) starting the day ``days`` days before ``now``: rows dated earlier expire."""
    day = (now.astimezone(dt.UTC) - dt.timedelta(days=days)).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def expired_rows(table: Table, age: AgeColumn, before: dt.datetime, where: str) -> tuple[str, BooleanExpression]:
    """The table's age column, and the filter matching the rows dated before ``before``."""
    schema = table.schema()
    column = column_named(schema.column_names, age.column)
    try:
        kind = schema.find_field(column).field_type
    except ValueError:
        raise RetentionError(
            f"{where}: retention dates rows by the {age.basis} column {age.column!r}, which is not a column "
            f"of {'.'.join(table.name())}"
        ) from None
    if isinstance(kind, (TimestampType, TimestamptzType)):
        # Microseconds since the epoch: the UTC instant, or the UTC wall-clock time without a zone.
        delta = before - _EPOCH
        bound = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    elif isinstance(kind, DateType):
        bound = (before.date() - _EPOCH.date()).days
    else:
        raise RetentionError(
            f"{where}: retention dates rows by the {age.basis} column {column!r}, which is {kind} in "
            f"{'.'.join(table.name())}; it needs a date or timestamp column (or a time partition_by)"
        )
    expired: BooleanExpression = LessThan(column, bound)
    if age.basis == "history" and column == EFFECTIVE_TO:
        expired = And(EqualTo(IS_CURRENT, False), expired)  # valid_to is null while a version lives
    return column, expired


def apply_retention(table: Table, age: AgeColumn, days: int, now: dt.datetime, where: str) -> RetentionResult:
    """Delete the rows of ``table`` dated before :func:`cutoff`, in one transaction."""
    before = cutoff(days, now)
    column, expired = expired_rows(table, age, before, where)
    known = {snapshot.snapshot_id for snapshot in table.snapshots()}
    if table.current_snapshot() is not None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Delete operation did not match any records")
            table.delete(expired, snapshot_properties={MAINTENANCE: "retention", CUTOFF: before.isoformat()})
        table.refresh()
    new = [s for s in table.snapshots() if s.snapshot_id not in known]
    totals = {"deleted-records": 0, "deleted-data-files": 0, "added-data-files": 0, "added-records": 0}
    for snapshot in new:
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        for name in totals:
            totals[name] += int(summary.get(name, 0))
    return RetentionResult(
        column=column,
        cutoff=before,
        # A rewritten file counts its rows as deleted and its kept rows as added again.
        rows_deleted=totals["deleted-records"] - totals["added-records"],
        files_removed=totals["deleted-data-files"],
        files_added=totals["added-data-files"],
        snapshot_ids=tuple(s.snapshot_id for s in new),
    )
