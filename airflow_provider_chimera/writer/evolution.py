"""Schema evolution: fit the target table to the source's schema before a write.

``evolve`` (the default) adds the source's new columns as nullable columns and widens a column
where Iceberg allows it (int → long, float → double, decimal precision up at the same scale),
through pyiceberg's ``update_schema().union_by_name``. A column the table has and the source no
longer sends is kept and written as null (a required one becomes optional first). A source type
narrower than the table's that the table's type holds without loss (int into long) is written
into the wider column. Any other type change stops the run naming the column and both types.

``fail`` changes nothing: any difference (a column added or missing, a type changed either way,
a required column becoming nullable) stops the run with every difference spelled out.

Types are compared as Iceberg types, so Arrow types that Iceberg stores alike (int16 and int32,
string and large_string) are no difference; nested types (lists, maps, structs) are compared by
shape, element types and nullability, not by their field ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
from pyiceberg.io.pyarrow import _pyarrow_to_schema_without_ids
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    StructType,
)

from airflow_provider_chimera.errors import FixRequired

log = logging.getLogger(__name__)

Policy = Literal["evolve", "fail"]
ChangeKind = Literal["added", "missing", "widened", "narrower", "nullable", "incompatible"]


class SchemaMismatchError(FixRequired, ValueError):
    """The source's schema does not fit the target table; the message names each column."""


@dataclass(frozen=True)
class Change:
    """One difference between the table's schema (``old``) and the source's (``new``)."""

    column: str
    kind: ChangeKind
    old: IcebergType | None = None
    new: IcebergType | None = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"column {self.column!r} ({self.new}) is added"
        if self.kind == "missing":
            return f"column {self.column!r} ({self.old}) is missing from the source"
        if self.kind == "widened":
            return f"column {self.column!r} widens from {self.old} to {self.new}"
        if self.kind == "narrower":
            return f"column {self.column!r} narrows from {self.old} to {self.new}"
        if self.kind == "nullable":
            return f"column {self.column!r} ({self.old}) becomes nullable"
        return f"column {self.column!r} changes from {self.old} to {self.new}, which Iceberg cannot widen to"


def widens(old: IcebergType, new: IcebergType) -> bool:
    """Iceberg's type promotions: int → long, float → double, decimal(P, S) → decimal(P', S), P' > P."""
    if isinstance(old, IntegerType):
        return isinstance(new, LongType)
    if isinstance(old, FloatType):
        return isinstance(new, DoubleType)
    if isinstance(old, DecimalType) and isinstance(new, DecimalType):
        return new.scale == old.scale and new.precision > old.precision
    return False


def same_type(old: IcebergType, new: IcebergType) -> bool:
    """Whether two Iceberg types are alike, ignoring the field ids inside nested types (a
    table's ids against a source schema's unassigned ones)."""
    if isinstance(old, ListType) and isinstance(new, ListType):
        return old.element_required == new.element_required and same_type(old.element_type, new.element_type)
    if isinstance(old, MapType) and isinstance(new, MapType):
        return (
            old.value_required == new.value_required
            and same_type(old.key_type, new.key_type)
            and same_type(old.value_type, new.value_type)
        )
    if isinstance(old, StructType) and isinstance(new, StructType):
        return len(old.fields) == len(new.fields) and all(
            a.name == b.name and a.required == b.required and same_type(a.field_type, b.field_type)
            for a, b in zip(old.fields, new.fields)
        )
    return old == new


def differences(table_schema: Schema, source: pa.Schema) -> list[Change]:
    """How ``source`` differs from ``table_schema``, column by column, in the source's order
    (then the table's columns the source lacks)."""
    incoming = _pyarrow_to_schema_without_ids(source)
    changes: list[Change] = []
    for field in incoming.fields:
        existing = _find(table_schema, field.name)
        if existing is None:
            changes.append(Change(field.name, "added", new=field.field_type))
            continue
        old, new = existing.field_type, field.field_type
        if not same_type(old, new):
            if widens(old, new):
                changes.append(Change(field.name, "widened", old, new))
            elif widens(new, old):
                changes.append(Change(field.name, "narrower", old, new))
            else:
                changes.append(Change(field.name, "incompatible", old, new))
        elif existing.required and field.optional:
            changes.append(Change(field.name, "nullable", old, new))
    names = set(source.names)
    for existing in table_schema.fields:
        if existing.name not in names:
            changes.append(Change(existing.name, "missing", old=existing.field_type))
    return changes


def fit_schema(table: Table | Transaction, source: pa.Schema, policy: Policy, name: str) -> list[Change]:
    """Make ``table``'s schema take ``source``'s batches under ``policy``; the changes found.

    Raises :class:`SchemaMismatchError` naming every offending column. When ``evolve`` adds or
    widens columns, a table is updated in place (one schema commit); a transaction stages the
    change, to be committed with the transaction's data.
    """
    current = table.table_metadata.schema() if isinstance(table, Transaction) else table.schema()
    changes = differences(current, source)
    if not changes:
        return changes
    if policy == "fail":
        raise SchemaMismatchError(
            f"{name}: the source's schema differs from the table's and schema_evolution is 'fail': "
            + "; ".join(str(change) for change in changes)
        )
    blocking = [change for change in changes if change.kind == "incompatible"]
    if blocking:
        raise SchemaMismatchError(f"{name}: cannot evolve the table: " + "; ".join(str(change) for change in blocking))
    evolving = [change for change in changes if change.kind in ("added", "widened", "nullable")]
    missing_required = [
        change.column for change in changes if change.kind == "missing" and current.find_field(change.column).required
    ]
    if evolving or missing_required:
        with table.update_schema() as update:
            update.union_by_name(_as_union(source, current))
            for column in missing_required:
                update.make_column_optional(column)
    for change in changes:
        if change.kind == "missing":
            log.info("%s: %s; written as null", name, change)
        elif change.kind == "narrower":
            log.info("%s: %s; written into the table's %s column", name, change, change.old)
        else:
            log.info("%s: schema evolved: %s", name, change)
    return changes


def _as_union(source: pa.Schema, table_schema: Schema) -> pa.Schema:
    """``source`` with every new column nullable (a column added to a table holding rows
    cannot be required)."""
    return pa.schema(
        [field if _find(table_schema, field.name) is not None else field.with_nullable(True) for field in source]
    )


def _find(schema: Schema, name: str):
    try:
        return schema.find_field(name)
    except ValueError:
        return None
