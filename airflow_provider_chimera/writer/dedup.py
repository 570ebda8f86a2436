"""``dedup``: one row per key, the latest by ``order_by``, within a run and against the table.

Within the run, rows sharing a key are reduced to the one with the greatest ``order_by`` (ties,
and a run without ``order_by``: the one read last). Against the table, a row whose key the table
already holds replaces the table's rows of that key when it is newer by ``order_by`` (without
``order_by``: always, the run being the newer data) and is dropped as an older duplicate
otherwise. A null ``order_by`` is older than any value. Only rows sharing a key with another row
are ever dropped; a row with a null key column stops the run, since it has no identity to
compare.

Memory: the run's rows are held as one Arrow table (every row must be seen before any is known
to be the latest). The table is looked up for the run's keys only, reading the key and
``order_by`` columns of the data files whose statistics may hold them; replacing a key rewrites
the data files holding it (copy-on-write).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysFalse, AlwaysTrue, And, BooleanExpression, EqualTo, In, Not, Or
from pyiceberg.io import FileIO
from pyiceberg.table import DataScan, Transaction

from airflow_provider_chimera.contract.model import Dedup
from airflow_provider_chimera.errors import FixRequired

log = logging.getLogger(__name__)

_ROW = "__chimera_row"
_MATCHED = "__chimera_matched"
_TARGET_ORDER = "__chimera_target_order"


class DedupError(FixRequired, ValueError):
    """Rows that cannot be deduplicated; names the table and the column."""


@dataclass(frozen=True)
class Resolved:
    """The rows to write, the table rows they replace, and what was dropped."""

    rows: pa.Table
    replace: BooleanExpression
    replaced_keys: int
    older_than_table: int


def deduplicate(
    txn: Transaction,
    io: FileIO,
    batches: Iterator[pa.RecordBatch],
    schema: pa.Schema,
    dedup: Dedup,
    replace: BooleanExpression | None,
    table: str,
) -> tuple[Iterator[pa.RecordBatch], BooleanExpression | None, int]:
    """The run's rows deduplicated within the run and against the table.

    ``replace`` is what the commit replaces anyway (``None``: nothing, everything for ``full``,
    a window for ``partitioned``). Returns the rows to write, what the commit must now replace
    (``replace`` and the keys that newer rows take over), and how many rows were dropped.
    """
    rows = pa.Table.from_batches(list(batches), schema=schema)
    dedup = spelled_as_in(dedup, schema.names)
    latest = latest_per_key(rows, dedup, table)
    dropped = rows.num_rows - latest.num_rows
    if not isinstance(replace, AlwaysTrue):  # a full overwrite keeps nothing to compare with
        resolved = against_table(txn, io, latest, dedup, exclude=replace)
        latest, dropped = resolved.rows, dropped + resolved.older_than_table
        if resolved.replaced_keys:
            replace = resolved.replace if replace is None else Or(replace, resolved.replace)
            log.info("%s: dedup: %d keys replaced by newer rows", table, resolved.replaced_keys)
        if resolved.older_than_table:
            log.info("%s: dedup: %d rows dropped, the table holds their key as new or newer", table, resolved.older_than_table)
    if rows.num_rows != latest.num_rows:
        log.info("%s: dedup: %d of %d rows read kept", table, latest.num_rows, rows.num_rows)
    return iter(latest.to_batches()), replace, dropped


def spelled_as_in(dedup: Dedup, names: list[str]) -> Dedup:
    """``dedup`` with its columns spelled as the table spells them."""
    from airflow_provider_chimera.writer.partitions import column_named

    return dedup.model_copy(
        update={
            "keys": [column_named(names, key) for key in dedup.keys],
            "order_by": column_named(names, dedup.order_by) if dedup.order_by else None,
        }
    )


def latest_per_key(rows: pa.Table, dedup: Dedup, table: str) -> pa.Table:
    """One row per key of ``rows``: the greatest ``order_by``, ties going to the row read last.
    The rows kept stay in the order they were read."""
    _check(rows, dedup, table)
    if rows.num_rows < 2:
        return rows
    numbered = rows.append_column(_ROW, pa.array(range(rows.num_rows), pa.int64()))
    sort_keys = [(key, "ascending") for key in dedup.keys]
    if dedup.order_by:
        sort_keys.append((dedup.order_by, "descending"))
    sort_keys.append((_ROW, "descending"))
    # Nulls sort last in either direction (Arrow's default): a null order_by is the oldest.
    ordered = numbered.take(pc.sort_indices(numbered, sort_keys=sort_keys))
    # In sorted order, the first row of each key is its latest.
    winners = ordered.group_by(list(dedup.keys), use_threads=False).aggregate([(_ROW, "first")])
    keep = pc.sort_indices(winners.column(f"{_ROW}_first"))
    return rows.take(winners.column(f"{_ROW}_first").take(keep))


def against_table(
    txn: Transaction, io: FileIO, rows: pa.Table, dedup: Dedup, exclude: BooleanExpression | None = None
) -> Resolved:
    """Compare ``rows`` (one per key) with the table's rows as ``txn`` sees them (read with ``io``).

    ``exclude`` selects table rows the commit replaces anyway (a ``partitioned`` run's window):
    they are no duplicates of anything.
    """
    keys = list(dedup.keys)
    if rows.num_rows == 0:
        return Resolved(rows, AlwaysFalse(), 0, 0)
    lookup = _candidates(rows, keys)
    if exclude is not None:
        lookup = And(lookup, Not(exclude))
    columns = (*keys, dedup.order_by) if dedup.order_by else tuple(keys)
    existing = DataScan(
        table_metadata=txn.table_metadata, io=io, row_filter=lookup, selected_fields=columns
    ).to_arrow()
    if existing.num_rows == 0:
        return Resolved(rows, AlwaysFalse(), 0, 0)
    # The table's newest row per key (the table may hold several, written before dedup was set).
    aggregations = [(dedup.order_by, "max")] if dedup.order_by else []
    existing = existing.group_by(keys, use_threads=False).aggregate(aggregations)
    if dedup.order_by:
        existing = existing.rename_columns([*keys, _TARGET_ORDER])
    existing = existing.append_column(_MATCHED, pa.repeat(pa.scalar(True), existing.num_rows))
    # Only the key and order_by columns take part in the join (Arrow joins no nested payload).
    numbered = rows.select(list(columns)).append_column(_ROW, pa.array(range(rows.num_rows), pa.int64()))
    joined = numbered.join(existing, keys=keys, join_type="left outer").sort_by(_ROW)
    matched = pc.fill_null(joined.column(_MATCHED), False)
    if dedup.order_by:
        new, old = joined.column(dedup.order_by), joined.column(_TARGET_ORDER)
        # Newer: greater than the table's, or any value where the table's is null.
        newer = pc.fill_null(pc.or_kleene(pc.greater(new, old), pc.and_kleene(pc.is_null(old), pc.is_valid(new))), False)
    else:
        newer = pa.repeat(pa.scalar(True), joined.num_rows)
    keep = pc.or_(pc.invert(matched), newer)
    replacing = pc.and_(matched, newer)
    kept = rows.take(pc.indices_nonzero(keep))
    replaced = joined.filter(replacing).select(keys)
    return Resolved(
        rows=kept,
        replace=key_filter(replaced, keys),
        replaced_keys=replaced.num_rows,
        older_than_table=rows.num_rows - kept.num_rows,
    )


def key_filter(keys_table: pa.Table, keys: list[str]) -> BooleanExpression:
    """An Iceberg filter matching exactly the rows whose key is one of ``keys_table``'s rows."""
    if keys_table.num_rows == 0:
        return AlwaysFalse()
    if len(keys) == 1:
        return In(keys[0], pc.unique(keys_table.column(keys[0])).to_pylist())
    terms = [
        _combined(And, [EqualTo(key, value) for key, value in row.items()])
        for row in keys_table.group_by(keys).aggregate([]).to_pylist()
    ]
    return _combined(Or, terms)


def _candidates(rows: pa.Table, keys: list[str]) -> BooleanExpression:
    """A filter holding at least the table rows with the run's keys (per column ``In``): cheap to
    evaluate, exact for one key; the join narrows it down for several."""
    terms = [In(key, pc.unique(rows.column(key)).to_pylist()) for key in keys]
    return _combined(And, terms)


def _combined(op, terms: list[BooleanExpression]) -> BooleanExpression:
    """``op`` (``And``/``Or``) over ``terms``; pyiceberg nests many terms as a balanced tree."""
    return terms[0] if len(terms) == 1 else op(*terms)


def _check(rows: pa.Table, dedup: Dedup, table: str) -> None:
    wanted = [*dedup.keys, *([dedup.order_by] if dedup.order_by else [])]
    missing = [column for column in wanted if column not in rows.column_names]
    if missing:
        raise DedupError(f"{table}: dedup columns {missing} are not among the columns written")
    for key in dedup.keys:
        nulls = rows.column(key).null_count
        if nulls:
            raise DedupError(
                f"{table}: dedup key column {key!r} is null in {nulls} rows; a row without a key cannot be deduplicated"
            )
