"""Which column tells a row's age, for ``retention: {"days": N}``.

The first rule that applies decides:

1. ``mdm`` target: ``effective_to`` of closed versions (``is_current`` false); ``reference``
   target: ``valid_to`` of superseded versions. A current or live version is never deleted,
   however old.
2. the column of the first ``partition_by`` item with a time transform (``year``, ``month``,
   ``day``, ``hour``): whole partitions expire together.
3. the ``column`` of a ``partitioned`` mode (the table is partitioned by it too).
4. the ``cursor`` of an ``incremental`` mode; it must be a date or timestamp column, which only the
   table can tell, so a cursor of another type fails the maintenance task, naming it.

An ingestion with ``retention`` and none of these is rejected when the intent is validated.
This module imports nothing heavy: the contract's validation calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TIME_TRANSFORMS = ("year", "month", "day", "hour")

Basis = Literal["history", "partition_by", "partitioned mode", "cursor"]


@dataclass(frozen=True)
class AgeColumn:
    """The column whose value dates a row, and which rule chose it."""

    column: str
    basis: Basis


def age_column(ingestion) -> AgeColumn | None:
    """The column retention compares with its cutoff, or ``None`` when the ingestion has none."""
    target, mode = ingestion.target, ingestion.mode
    if target.kind == "mdm":
        return AgeColumn("effective_to", "history")
    if target.kind == "reference":
        return AgeColumn("valid_to", "history")
    for field in target.partition_by:
        if field.transform in TIME_TRANSFORMS:
            return AgeColumn(field.column, "partition_by")
    if mode.type == "partitioned":
        return AgeColumn(mode.column, "partitioned mode")
    if mode.type == "incremental" and mode.cursor:
        return AgeColumn(mode.cursor, "cursor")
    return None
