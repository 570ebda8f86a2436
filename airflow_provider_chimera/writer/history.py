"""History targets: ``mdm`` keeps every version of a key, ``reference`` is bitemporal.

``mdm`` adds ``effective_from``, ``effective_to`` (null while current) and ``is_current`` to the
source's columns. A row whose key has no current version opens one; a row equal to its key's
current version changes nothing; a changed row closes the current version (``effective_to`` set,
``is_current`` false) and opens a new one. Keys missing from a run are left as they are: a run
never invents a delete, in ``incremental`` mode (which brings only changed rows) and in ``full``
mode alike.

``reference`` takes the business validity ``effective_from``/``effective_to`` from the source and
adds the system validity ``valid_from``/``valid_to`` (null for the live version). A version is
identified by its keys and business ``effective_from``; a correction (same identity, different
values) sets ``valid_to`` on the version it supersedes and adds the new one, so :func:`as_of`
still returns what the table said at any earlier time.

Both kinds store ``_chimera_row_hash``, a digest of the source columns, to tell changed rows from
unchanged ones without comparing every column. The time a run opens and closes versions with is
one instant, taken once the source has been read: not the source's cursor, which need not be a
time and which ``full`` mode lacks (``docs/decisions/0010-history-targets-versioned-by-run-time.md``).
The table's schema follows the source's under the ingestion's ``schema_evolution``
(:mod:`~airflow_provider_chimera.writer.evolution`); a key repeated within a run keeps its last row
by ``order_by`` (the ingest task passes the incremental cursor, else ``dedup.order_by``).

A run is one Iceberg transaction and one snapshot, carrying the same summary properties as every
Chimera commit (:class:`~airflow_provider_chimera.writer.iceberg.CommitInfo`) plus
``chimera.versions-closed``. Memory holds the run's rows and one data file of the table at a time:
only files that may hold a live version of a key in the run are read, and only files in which a
version is closed are rewritten.

Several runs may commit to one history table at once (runs on several workers, maintenance). A
commit that loses the race is planned again from the table as it is then, at a new instant: the
current versions are read again, so a key is never opened twice and a version never closed twice
(:func:`~airflow_provider_chimera.writer.conflicts.retry_commits`; pyiceberg's own retry, which
would re-apply the stale plan, is off for these tables: :data:`NO_CATALOG_RETRIES`). Before each new
try, main is re-read as for appends (:func:`~airflow_provider_chimera.writer.iceberg.settled`): a
commit that already landed is not made again, and an incremental run another run of its pipeline
read past fails with :class:`~airflow_provider_chimera.writer.conflicts.PositionMovedError`. A
staged load whose publish finds main moved is likewise planned again on main's new snapshot and
checked again (``restage``; :mod:`airflow_provider_chimera.governance.wap`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThanOrEqual,
    Or,
)
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.table import Table

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.faults import fault_point
from airflow_provider_chimera.sources.window import Window
from airflow_provider_chimera.writer.attempt import attempt
from airflow_provider_chimera.writer.conflicts import NO_CATALOG_RETRIES, retry_commits
from airflow_provider_chimera.writer.evolution import fit_schema
from airflow_provider_chimera.writer.iceberg import (
    MAIN,
    Branch,
    CommitInfo,
    CommitResult,
    IcebergWriter,
    WriteMode,
    _conform,
    hold,
    settled,
    start_branch,
)

HistoryKind = Literal["mdm", "reference"]

EFFECTIVE_FROM = "effective_from"
EFFECTIVE_TO = "effective_to"
IS_CURRENT = "is_current"
VALID_FROM = "valid_from"
VALID_TO = "valid_to"
ROW_HASH = "_chimera_row_hash"
VERSIONS_CLOSED = "chimera.versions-closed"

TIMESTAMPTZ = pa.timestamp("us", tz="UTC")
# Up to this many distinct values a key column prunes data files with IN (pyiceberg evaluates
# larger IN lists as "might match" anyway); beyond it, with the range of the run's values.
_IN_LIMIT = 200
_POS = "__chimera_pos"
_IDX = "__chimera_idx"
_NEW_HASH = "__chimera_new_hash"


class HistoryError(FixRequired, ValueError):
    """A run that cannot be applied to a history target; the message names table, columns and keys."""


@dataclass(frozen=True)
class HistoryResult(CommitResult):
    """A commit's counts: ``rows`` versions opened, ``closed`` versions closed, ``unchanged`` rows
    equal to their current version."""

    closed: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class _Run:
    """One run's rows, one per identity, and what its commit records: planned again on every try."""

    incoming: pa.Table
    collapsed: int  # repeats of an identity within the run
    info: CommitInfo
    positional: bool  # an incremental run: another run of its pipeline must not have read past it
    stage: Branch | None
    chunk_bytes: int


@dataclass(frozen=True)
class Layout:
    """The columns a history kind adds and how it tells live versions from superseded ones."""

    kind: HistoryKind
    keys: tuple[str, ...]

    @property
    def identity(self) -> list[str]:
        """The columns that name one version's slot: keys, plus business ``effective_from`` for ``reference``."""
        return [*self.keys, EFFECTIVE_FROM] if self.kind == "reference" else list(self.keys)

    @property
    def opens(self) -> str:
        return EFFECTIVE_FROM if self.kind == "mdm" else VALID_FROM

    @property
    def closes(self) -> str:
        return EFFECTIVE_TO if self.kind == "mdm" else VALID_TO

    @property
    def managed(self) -> list[pa.Field]:
        """The columns Chimera adds to the source's."""
        if self.kind == "mdm":
            times = [
                pa.field(EFFECTIVE_FROM, TIMESTAMPTZ),
                pa.field(EFFECTIVE_TO, TIMESTAMPTZ),
                pa.field(IS_CURRENT, pa.bool_()),
            ]
        else:
            times = [pa.field(VALID_FROM, TIMESTAMPTZ), pa.field(VALID_TO, TIMESTAMPTZ)]
        return [*times, pa.field(ROW_HASH, pa.string())]

    @property
    def managed_names(self) -> list[str]:
        return [field.name for field in self.managed]

    def live(self) -> BooleanExpression:
        return EqualTo(IS_CURRENT, True) if self.kind == "mdm" else IsNull(VALID_TO)

    def live_mask(self, table: pa.Table) -> pa.ChunkedArray:
        if self.kind == "mdm":
            return pc.fill_null(table.column(IS_CURRENT), False)
        return pc.is_null(table.column(VALID_TO))

    def check_source(self, name: str, schema: pa.Schema) -> None:
        """Fail naming the columns when the source cannot feed this kind of target."""
        missing_keys = [key for key in self.keys if key not in schema.names]
        if missing_keys:
            raise HistoryError(
                f"{name}: target keys {missing_keys} are not columns of the source (its columns: {schema.names})"
            )
        if self.kind == "reference":
            missing = [c for c in (EFFECTIVE_FROM, EFFECTIVE_TO) if c not in schema.names]
            if missing:
                raise HistoryError(
                    f"{name}: a 'reference' target needs the business validity columns "
                    f"['{EFFECTIVE_FROM}', '{EFFECTIVE_TO}'] from the source; missing: {missing}"
                )
        clash = [c for c in self.managed_names if c in schema.names]
        if clash:
            raise HistoryError(
                f"{name}: the source has columns {clash} that {'an' if self.kind == 'mdm' else 'a'} '{self.kind}' target fills itself; "
                "leave them out with the object's 'columns'"
            )

    def target_schema(self, source: pa.Schema) -> pa.Schema:
        return pa.schema([*source, *self.managed])


class HistoryWriter(IcebergWriter):
    """Writes an ``mdm`` or ``reference`` target (see the module documentation)."""

    def __init__(
        self,
        catalog,
        namespace: str,
        table: str,
        *,
        kind: HistoryKind,
        keys: list[str],
        order_by: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        **kwargs,
    ):
        super().__init__(catalog, namespace, table, **kwargs)
        self.layout = Layout(kind, tuple(keys))
        self.order_by = order_by  # which of a key's rows repeated in one run wins: the last by it
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def write(
        self,
        schema: pa.Schema,
        batches: Iterator[pa.RecordBatch],
        mode: WriteMode,
        info: Callable[[], CommitInfo],
        chunk_bytes: int = 128 << 20,
        window: Window | None = None,
        stage: Branch | None = None,
    ) -> HistoryResult:
        """Apply one run's rows in one Iceberg transaction; ``mode`` is ignored (a history is never
        replaced), and a ``window`` refused (a ``partitioned`` run replaces rows, a history keeps them).
        With ``stage``, the commit goes to that branch, started at main's snapshot, and main is left
        as it was (write-audit-publish).

        Nothing is committed when no version opens or closes and either nothing was read or the
        source position is the one the pipeline's last commit recorded; rows that all equal their
        current versions but moved the position commit a snapshot without data changes, so the
        next run starts past them. ``info`` is called once, when the rows are read; a commit that
        conflicts with another is planned and made again (see the module documentation).
        """
        if window is not None:
            raise HistoryError(f"{self.name}: a {self.layout.kind} table keeps every version; it takes no window to replace")
        layout = self.layout
        layout.check_source(self.name, schema)
        table = self._without_catalog_retries(self.ensure_table(layout.target_schema(schema)))
        fit_schema(table, layout.target_schema(schema), self.schema_evolution, self.name)
        target = table.schema().as_arrow()
        incoming = pa.Table.from_batches(list(_conform(batches, target)), schema=target)
        self._check_identity(incoming)
        incoming = incoming.set_column(
            target.get_field_index(ROW_HASH), ROW_HASH, row_hash(incoming, layout.managed_names)
        )
        read = incoming.num_rows
        incoming = self._one_per_identity(incoming)
        run = _Run(incoming, collapsed=read - incoming.num_rows, info=info(), positional=mode == "append",
                   stage=stage, chunk_bytes=chunk_bytes)
        head = table.metadata.refs.get(MAIN)
        started_at = head.snapshot_id if head is not None else None
        planned: list[HistoryResult] = []

        def commit(tried: int) -> HistoryResult:
            # Every try plans from the table as it is now: the versions another commit opened or
            # closed meanwhile are read again, never overwritten by a plan made before it.
            result = self._apply(table if tried == 1 else self.load(), run)
            planned.append(result)
            return result

        def revalidate() -> HistoryResult | None:
            # Staged loads only touch their own branch; main's positions are checked on publish.
            if stage is not None:
                return None
            landed = settled(self.load(), started_at, run.info, run.positional, self.name)
            return None if landed is None else replace(planned[-1], snapshot_id=landed.snapshot_id, committed=True)

        return retry_commits(self.name, commit, revalidate=revalidate, what="history write")

    def _without_catalog_retries(self, table: Table) -> Table:
        """``table``, set not to be retried by pyiceberg itself (:data:`NO_CATALOG_RETRIES`): once,
        for a table created before Chimera set it."""
        if all(table.properties.get(k) == v for k, v in NO_CATALOG_RETRIES.items()):
            return table

        def set_once(tried: int) -> Table:
            current = table if tried == 1 else self.load()
            with current.transaction() as txn:
                txn.set_properties(NO_CATALOG_RETRIES)
            return current

        return retry_commits(self.name, set_once, what="table properties")

    def _apply(self, table: Table, run: _Run, *, restaging: bool = False) -> HistoryResult:
        """Plan the run against ``table`` as it is (the versions it closes, the rows it opens) and
        commit it in one transaction. ``restaging``: commit even when nothing changes, so that a
        load already checked and about to be published still has a snapshot (its position)."""
        layout, incoming, stage = self.layout, run.incoming, run.stage
        # One instant per commit, never before the versions it closes began (another run's commit
        # may have opened them after this run first planned).
        now = _utc(self.clock())
        # A failed attempt deletes the data files it wrote (writer.attempt).
        with attempt(table.io, self.name) as files, table.transaction() as txn:
            replaced, added, unchanged, closed = self._close_changed(table, txn, incoming, now)
            files.written(added)
            opening = incoming.filter(pc.invert(pc.is_in(pa.array(range(incoming.num_rows), pa.int64()), unchanged)))
            opening = self._opened(opening, now)
            opened = []
            for chunk in _slices(opening, run.chunk_bytes):
                opened.extend(
                    files.written(
                        _dataframe_to_data_files(
                            table_metadata=txn.table_metadata, write_uuid=uuid.uuid4(), df=chunk, io=table.io
                        )
                    )
                )
            added.extend(opened)
            commit = run.info
            quiet = incoming.num_rows == 0 or self.last_position(commit.pipeline) == commit.position
            dropped = run.collapsed + len(unchanged)
            if not replaced and opening.num_rows == 0 and quiet and not commit.record_anyway and not restaging:
                return HistoryResult(
                    snapshot_id=None, rows=0, committed=False, dropped=dropped, closed=0, unchanged=len(unchanged)
                )
            properties = {**commit.properties(opening.num_rows), VERSIONS_CLOSED: str(closed)}
            base, branch = start_branch(table, stage) if stage else (None, MAIN)
            producer = txn.update_snapshot(snapshot_properties=properties, branch=branch)
            with producer.overwrite() if replaced else producer.merge_append() as snapshot:
                for data_file in replaced:
                    snapshot.delete_data_file(data_file)
                for data_file in added:
                    snapshot.append_data_file(data_file)
            fault_point("after_files")  # files written, snapshot staged, nothing committed
            files.commit_next()
        if stage and branch is None:
            hold(table, stage, snapshot.snapshot_id)
        return HistoryResult(
            snapshot_id=snapshot.snapshot_id,
            rows=opening.num_rows,
            committed=True,
            dropped=dropped,
            data_files=tuple(f.file_path for f in opened),
            branch=stage.name if stage else None,
            base_snapshot_id=base,
            restage=(lambda: self._restage(run)) if stage else None,
            positional=run.positional,
            info=commit,
            closed=closed,
            unchanged=len(unchanged),
        )

    def _restage(self, run: _Run) -> HistoryResult:
        """Stage the run again on its branch from main as it is now, planned anew against main's
        current versions (write-audit-publish after main moved; ``governance.wap``)."""
        return retry_commits(self.name, lambda tried: self._apply(self.load(), run, restaging=True), what="re-staging")

    def _check_identity(self, incoming: pa.Table) -> None:
        missing = {c: incoming.column(c).null_count for c in self.layout.identity if incoming.column(c).null_count}
        if missing:
            raise HistoryError(f"{self.name}: rows without a value in identifying columns (column: rows): {missing}")

    def _one_per_identity(self, incoming: pa.Table) -> pa.Table:
        """One row per identity: the last by ``order_by`` (ties: the last read); identical repeats
        collapse; differing repeats without ``order_by`` are an error naming them."""
        identity = self.layout.identity
        order_by = self.order_by if self.order_by in incoming.column_names else None
        counts = incoming.group_by(identity).aggregate([([], "count_all"), (ROW_HASH, "count_distinct")])
        repeated = counts.filter(pc.greater(counts.column("count_all"), 1))
        if repeated.num_rows == 0:
            return incoming
        if order_by is None:
            differing = repeated.filter(pc.greater(repeated.column(f"{ROW_HASH}_count_distinct"), 1))
            if differing.num_rows:
                named = ", ".join(
                    "(" + ", ".join(f"{c}={row[c]!r}" for c in identity) + ")"
                    for row in differing.slice(0, 5).to_pylist()
                )
                more = f" and {differing.num_rows - 5} more" if differing.num_rows > 5 else ""
                raise HistoryError(
                    f"{self.name}: keys {named}{more} appear more than once in one run with different values; "
                    "an incremental cursor would keep the latest, or remove the repeats in the source"
                )
        ordered = incoming.append_column(_IDX, pa.array(range(incoming.num_rows), pa.int64()))
        if order_by is not None:
            ordered = ordered.take(pc.sort_indices(ordered, [(order_by, "ascending", "at_start"), (_IDX, "ascending")]))
            ordered = ordered.set_column(ordered.num_columns - 1, _IDX, pa.array(range(ordered.num_rows), pa.int64()))
        last = ordered.group_by(identity).aggregate([(_IDX, "max")]).column(f"{_IDX}_max")
        return ordered.take(last.take(pc.sort_indices(last))).drop_columns([_IDX])

    def _close_changed(self, table: Table, txn, incoming: pa.Table, now: dt.datetime):
        """Close the live versions the run changes, file by file.

        Each data file that may hold a live version of the run's identities is read for its
        identity, hash and liveness columns; only a file where a version closes is read whole
        and rewritten. Returns the data files to replace, their replacements, the indexes of
        ``incoming`` rows equal to a live version, and how many versions were closed.
        """
        layout = self.layout
        identity = layout.identity
        replaced, added, closed = [], [], 0
        unchanged: list[pa.Array] = []
        if incoming.num_rows == 0 or table.current_snapshot() is None:
            return replaced, added, pa.array([], pa.int64()), closed
        probe = incoming.select(identity).append_column(_NEW_HASH, incoming.column(ROW_HASH))
        probe = probe.append_column(_IDX, pa.array(range(incoming.num_rows), pa.int64()))
        metadata = txn.table_metadata
        schema = metadata.schema()
        liveness = [IS_CURRENT] if layout.kind == "mdm" else [VALID_TO]
        slim = ArrowScan(metadata, table.io, schema.select(*identity, ROW_HASH, *liveness), AlwaysTrue())
        whole = ArrowScan(metadata, table.io, schema, AlwaysTrue())
        for task in table.scan(row_filter=And(layout.live(), _key_filter(incoming, identity))).plan_files():
            stored = slim.to_table([task])
            positions = pa.array(range(stored.num_rows), pa.int64())
            live = pa.table(
                [
                    *(stored.column(c).cast(probe.schema.field(c).type) for c in identity),
                    stored.column(ROW_HASH),
                    positions,
                ],
                names=[*identity, ROW_HASH, _POS],
            ).filter(layout.live_mask(stored))
            matched = live.join(probe, keys=identity, join_type="inner")
            if matched.num_rows == 0:
                continue
            same = pc.fill_null(pc.equal(matched.column(ROW_HASH), matched.column(_NEW_HASH)), False)
            unchanged.append(matched.filter(same).column(_IDX).combine_chunks())
            ending = pc.unique(matched.filter(pc.invert(same)).column(_POS).combine_chunks())
            if len(ending) == 0:
                continue
            stored = whole.to_table([task])
            close = pc.is_in(positions, ending)
            began = pc.max(stored.filter(close).column(layout.opens)).as_py()
            if began is not None and began >= now:
                raise HistoryError(
                    f"{self.name}: a version to close began at {began.isoformat()}, not before this run's time "
                    f"{now.isoformat()}; check the clock of the machine running the pipeline"
                )
            stored = _replace(
                stored,
                layout.closes,
                pc.if_else(
                    close, pa.scalar(now, stored.schema.field(layout.closes).type), stored.column(layout.closes)
                ),
            )
            if layout.kind == "mdm":
                stored = _replace(stored, IS_CURRENT, pc.if_else(close, False, stored.column(IS_CURRENT)))
            replaced.append(task.file)
            added.extend(
                _dataframe_to_data_files(table_metadata=metadata, write_uuid=uuid.uuid4(), df=stored, io=table.io)
            )
            closed += len(ending)
        indexes = (
            pc.unique(pa.chunked_array(unchanged, pa.int64()).combine_chunks())
            if unchanged
            else pa.array([], pa.int64())
        )
        return replaced, added, indexes, closed

    def _opened(self, rows: pa.Table, now: dt.datetime) -> pa.Table:
        """``rows`` as new live versions opened at ``now``."""
        layout = self.layout
        rows = _replace(rows, layout.opens, pa.array([now] * rows.num_rows, TIMESTAMPTZ))
        rows = _replace(rows, layout.closes, pa.nulls(rows.num_rows, TIMESTAMPTZ))
        if layout.kind == "mdm":
            rows = _replace(rows, IS_CURRENT, pa.array([True] * rows.num_rows, pa.bool_()))
        return rows


def as_of(table: Table, system_time: dt.datetime) -> pa.Table:
    """The rows of a history table as they stood at ``system_time`` (time-zone aware).

    For a ``reference`` table these are the versions with ``valid_from <= system_time <
    valid_to`` (``valid_to`` null: still live), so a superseded version is returned for times before
    its correction. For an ``mdm`` table, the versions current then (``effective_from``/``effective_to``).
    """
    if system_time.tzinfo is None:
        raise ValueError("as_of needs a time-zone-aware time")
    names = table.schema().column_names
    opens, closes = (VALID_FROM, VALID_TO) if VALID_FROM in names else (EFFECTIVE_FROM, EFFECTIVE_TO)
    at = _utc(system_time).isoformat()
    return table.scan(
        row_filter=And(LessThanOrEqual(opens, at), Or(IsNull(closes), GreaterThan(closes, at)))
    ).to_arrow()


def row_hash(table: pa.Table, exclude: list[str]) -> pa.Array:
    """A digest of each row's values, by column name; null values leave no trace, so adding a
    column that stays null does not make every row look changed."""
    names = sorted(n for n in table.column_names if n not in exclude)
    parts = []
    for name in names:
        text = _as_text(table.column(name))
        prefix = f"{len(name)}:{name}="
        part = pc.binary_join_element_wise(prefix, pc.cast(pc.utf8_length(text), pa.string()), ":", text, "")
        parts.append(pc.fill_null(part, ""))
    joined = pc.binary_join_element_wise(*parts, "") if parts else pa.array([""] * table.num_rows)
    return pa.array(
        [hashlib.blake2b(value.encode(), digest_size=16).hexdigest() for value in joined.to_pylist()], pa.string()
    )


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return pa.chunked_array([pa.array([None if v is None else v.hex() for v in column.to_pylist()], pa.string())])
    if pa.types.is_nested(kind):
        return pa.chunked_array(
            [
                pa.array(
                    [None if v is None else json.dumps(v, sort_keys=True, default=str) for v in column.to_pylist()],
                    pa.string(),
                )
            ]
        )
    return pc.cast(column, pa.string())


def _key_filter(incoming: pa.Table, identity: list[str]) -> BooleanExpression:
    """A filter that every live version of the run's identities passes (it prunes data files)."""
    terms: list[BooleanExpression] = []
    for name in identity:
        values = pc.unique(incoming.column(name).combine_chunks())
        if len(values) <= _IN_LIMIT:
            terms.append(In(name, set(values.to_pylist())))
        else:
            bounds = pc.min_max(values)
            terms.append(GreaterThanOrEqual(name, bounds["min"].as_py()))
            terms.append(LessThanOrEqual(name, bounds["max"].as_py()))
    return And(*terms) if len(terms) > 1 else (terms[0] if terms else AlwaysTrue())


def _replace(table: pa.Table, name: str, values) -> pa.Table:
    """``table`` with column ``name`` holding ``values``, cast to the column's type."""
    index = table.schema.get_field_index(name)
    field = table.schema.field(index)
    return table.set_column(index, field, values.cast(field.type))


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _slices(table: pa.Table, chunk_bytes: int) -> Iterator[pa.Table]:
    if table.num_rows == 0:
        return
    rows = max(1, int(table.num_rows * chunk_bytes / max(table.nbytes, 1)))
    for start in range(0, table.num_rows, rows):
        yield table.slice(start, rows)
