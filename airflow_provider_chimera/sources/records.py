"""Records that do not fit the declared schema, found without slowing down the ones that do.

A source reads a whole batch with Arrow first. Only when that fails does it look for the records
at fault, halving the batch until each failing record stands alone (:func:`sift`): a few bad
records cost a few more reads of their neighbours, not one read per record. Rows whose
non-nullable fields are null are found with one vectorised null count per column. The records at
fault go to quarantine (:class:`~.base.Rejected`); their reasons name the field and the declared
type, never the value, which only the (protected) raw record holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_chimera.contract.arrow import arrow_schema
from airflow_provider_chimera.contract.model import ObjectSchema
from airflow_provider_chimera.sources.jsonrows import JsonRows

# What a failed read or cast of bad data raises (ArrowInvalid is a ValueError); a type Arrow
# cannot convert at all (ArrowNotImplementedError) is a schema problem and is not caught.
READ_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError, OverflowError, ArithmeticError)

T = TypeVar("T")


def sift(count: int, read: Callable[[int, int], T]) -> tuple[list[tuple[int, int, T]], list[int]]:
    """Read items ``0..count`` with ``read(start, stop)``, all at once if that works, else by halves
    until each failing item stands alone: ``([(start, stop, result), ...] in order, failing indices)``."""
    good: list[tuple[int, int, T]] = []
    bad: list[int] = []

    def visit(start: int, stop: int) -> None:
        try:
            good.append((start, stop, read(start, stop)))
            return
        except READ_ERRORS:
            if stop - start == 1:
                bad.append(start)
                return
        middle = (start + stop) // 2
        visit(start, middle)
        visit(middle, stop)

    if count:
        visit(0, count)
    return good, bad


def _label(field: pa.Field, labels: dict[str, str] | None) -> str:
    return (labels or {}).get(field.name) or str(field.type)


def conform(
    data: pa.Table | pa.RecordBatch, schema: pa.Schema, labels: dict[str, str] | None = None
) -> tuple[pa.Table, dict[int, str]]:
    """``data``'s columns of ``schema``, cast to it, without the rows that do not fit: a value that
    does not cast, or a null in a non-nullable field. Returns the table and, by row of ``data``,
    the reason each row left out does not fit (``labels``: the declared type names, by field)."""
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    table = table.select(schema.names)
    reasons: dict[int, str] = {}
    columns = []
    for field, column in zip(schema, table.columns):
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except READ_ERRORS:
                column = column.combine_chunks()
                _, bad = sift(len(column), lambda start, stop, c=column, t=field.type: c.slice(start, stop - start).cast(t))
                for index in bad:
                    reasons.setdefault(index, f"field {field.name!r} does not hold a {_label(field, labels)}")
                column = pc.if_else(_flags(len(column), bad), pa.scalar(None, column.type), column).cast(field.type)
        if not field.nullable and column.null_count:
            for index in pc.indices_nonzero(pc.is_null(column)).to_pylist():
                reasons.setdefault(index, f"field {field.name!r} is missing or null, and it is not nullable")
        columns.append(column)
    nullable = pa.schema([f.with_nullable(True) for f in schema])
    table = pa.Table.from_arrays(columns, schema=nullable)
    if reasons:
        table = table.filter(pc.invert(_flags(table.num_rows, reasons)))
    return table.cast(schema), reasons


def _flags(count: int, indices) -> pa.Array:
    """A boolean array of ``count`` values, true at ``indices``."""
    flags = np.zeros(count, dtype=bool)
    flags[list(indices)] = True
    return pa.array(flags)


def row_json(data: pa.Table | pa.RecordBatch, index: int) -> str:
    """One row as a JSON object (values as JSON, or their text): the raw value of a rejected row."""
    (row,) = data.slice(index, 1).to_pylist()
    return json.dumps(row, ensure_ascii=False, default=str)


def _all_objects(lines: bytes) -> bool:
    """Whether every line of ``lines`` opens a JSON object (checked with numpy, not line by line)."""
    data = np.frombuffer(lines, dtype=np.uint8)
    if not data.size or data[0] != ord("{"):
        return False
    starts = np.flatnonzero(data == ord("\n")) + 1
    return not starts.size or (starts[-1] < data.size and bool((data[starts] == ord("{")).all()))


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}


class JsonRecords:
    """JSON records, one per payload, into the declared schema; the ones that do not fit set aside."""

    def __init__(self, declared: ObjectSchema, columns: list[str] | None = None):
        self.rows = JsonRows.of(declared)
        self.schema = arrow_schema(declared, columns)
        self.labels = {f.name: f.type for f in declared.fields}
        self.required = [f.name for f in declared.fields if not f.nullable]
        # For telling which field of a failing record is at fault: every field nullable.
        loose = JsonRows.of(declared)
        self._loose = JsonRows(
            pa.schema([f.with_nullable(True) for f in loose.schema]),
            pa.schema([f.with_nullable(True) for f in loose.read_schema]),
            loose.json_fields,
        )

    def read(self, payloads: Sequence[bytes], joined: bytes | None = None) -> tuple[pa.Table, dict[int, str]]:
        """The payloads that hold a fitting record, as a table of the object's columns in order,
        and the reason for each that does not, by index. One Arrow read when all fit.
        ``joined``: the payloads already joined with newlines, one per line (not joined again)."""
        if joined is None:
            joined = b"\n".join(payloads)
        # Arrow's reader takes a leading `null` line for a row (or worse): only objects go in.
        if payloads and _all_objects(joined):
            try:
                table = self.rows.read(joined)
            except READ_ERRORS:
                table = None
            if table is not None and table.num_rows == len(payloads):
                return conform(table, self.schema, self.labels)
        return self._sift(payloads)

    def _sift(self, payloads: Sequence[bytes]) -> tuple[pa.Table, dict[int, str]]:
        """Each payload that is no object set aside, then the others read by halves (:func:`sift`)."""
        reasons: dict[int, str] = {}
        keep = [i for i, p in enumerate(payloads) if p[:1] == b"{" or p.lstrip()[:1] == b"{"]
        if len(keep) < len(payloads):
            for i in sorted(set(range(len(payloads))) - set(keep)):
                reasons[i] = self.reason(payloads[i])
        lines = [payloads[i] for i in keep]

        def read(start: int, stop: int) -> pa.Table:
            table = self.rows.read(b"\n".join(lines[start:stop]))
            if table.num_rows != stop - start:
                raise ValueError("a payload holds more than one JSON value")
            return table

        parts, bad = sift(len(lines), read)
        for index in bad:
            reasons[keep[index]] = self.reason(lines[index])
        if not parts:
            return self.schema.empty_table(), reasons
        if len(parts) == 1 and not bad:
            table, rows = parts[0][2], keep
        else:
            table = pa.concat_tables([part for _, _, part in parts])
            rows = [keep[i] for start, stop, _ in parts for i in range(start, stop)]
        typed, unfit = conform(table, self.schema, self.labels)
        for index, reason in unfit.items():
            reasons[rows[index]] = reason
        return typed, dict(sorted(reasons.items()))

    def reason(self, payload: bytes) -> str:
        """Why one payload does not fit: not JSON, not an object, or the first field of the wrong type."""
        try:
            record = json.loads(payload)
        except ValueError as exc:
            detail = f": {exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            return "not valid JSON" + detail if payload.strip() else "empty: no JSON record"
        if not isinstance(record, dict):
            return f"not a JSON object but {_JSON_KINDS.get(type(record), 'a value')}"
        for name in self.required:
            if record.get(name) is None:
                return f"field {name!r} is missing or null, and it is not nullable"
        for field in self._loose.schema:
            value = record.get(field.name)
            if value is None:
                continue
            try:
                self._loose.read(json.dumps({field.name: value}).encode())
            except READ_ERRORS:
                return f"field {field.name!r} does not hold a {self.labels.get(field.name, field.type)}"
        return "does not read with the declared schema"
