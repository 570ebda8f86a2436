"""The one Iceberg writer: creates targets, commits batches atomically, records positions.

Every commit carries Chimera's snapshot summary properties (pipeline, run, source, position,
rows). Those summaries are the pipeline's state: the next run resumes from the position of the
newest snapshot its pipeline committed, so a re-run after a successful commit reads nothing twice.

A write may be staged on a branch instead of ``main`` (:class:`Branch`): the ingest task stages
every load on its audit branch and publishes it only once its checks pass
(:mod:`airflow_provider_chimera.governance.wap`). Positions are read from ``main`` alone.

A commit that loses a race with another commit to the table is made again from the table as it is
then, with the same data files (:mod:`airflow_provider_chimera.writer.conflicts`); an unstaged
append first re-reads main's positions (:func:`settled`), so it is never committed twice and never
after another run of its pipeline read past its start.
"""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import _dataframe_to_data_files
from pyiceberg.table import Table, Transaction
from pyiceberg.transforms import parse_transform

from airflow_provider_chimera.contract.model import Dedup, PartitionField
from airflow_provider_chimera.faults import fault_point
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.sources.window import Window
from airflow_provider_chimera.writer.aging import AGING_PROPERTIES, delete_manifest_lists, ensure_properties, expire_oldest
from airflow_provider_chimera.writer.attempt import attempt
from airflow_provider_chimera.writer.catalog import create_table, ensure_namespace
from airflow_provider_chimera.writer.conflicts import NO_CATALOG_RETRIES, PartitionSpecChangedError, PositionMovedError, retry_commits
from airflow_provider_chimera.writer.base import TableWriter
from airflow_provider_chimera.writer.dedup import deduplicate
from airflow_provider_chimera.writer.evolution import Policy, SchemaMismatchError, fit_schema  # noqa: F401 (re-exported)
from airflow_provider_chimera.writer.partitions import column_named, for_table, inside, window_filter
from airflow_provider_chimera.writer.rolling import rolling_data_files

PIPELINE = "chimera.pipeline"
RUN_ID = "chimera.run-id"
SOURCE = "chimera.source"
POSITION = "chimera.position"
ROWS = "chimera.rows"

WriteMode = Literal["append", "overwrite"]
MAIN = "main"
AUDIT_PREFIX = "audit_"


@dataclass(frozen=True)
class CommitResult:
    snapshot_id: int | None
    rows: int
    committed: bool
    # Rows read but not written: duplicates (dedup); for history targets, repeats within the run
    # and rows equal to their current version.
    dropped: int = 0
    # The data files holding the rows the commit added (not the rewrites of files it replaced).
    data_files: tuple[str, ...] = ()
    # The branch the commit was staged on (None: committed to main), and main's snapshot then.
    branch: str | None = None
    base_snapshot_id: int | None = None
    # Stages the same load again on its branch from main's newest snapshot (staged loads only).
    restage: Callable[[], CommitResult] | None = field(default=None, compare=False, repr=False)
    # An append recording a read position (incremental, stream): exactly-once rests on it.
    positional: bool = False
    info: CommitInfo | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Branch:
    """Where a write is staged instead of ``main``: a branch that readers of the table do not see
    until it is published (:mod:`airflow_provider_chimera.governance.wap`)."""

    name: str
    # Iceberg's max ref age: how long the branch may outlive its newest snapshot.
    max_age_ms: int | None = None


def start_branch(table: Table, branch: Branch) -> tuple[int | None, str | None]:
    """Point ``branch`` at main's snapshot, in a commit of its own; main's snapshot id, and the
    branch the write's snapshots go to.

    A branch of that name left by an earlier attempt is replaced, and audit branches older than
    their max ref age are removed in the same commit. The commit of its own (not part of the
    write's transaction) lets a write that pyiceberg retries after a concurrent commit find the
    branch. A table without any snapshot takes no branch (Iceberg allows none): the write then
    stages a snapshot no branch points at, and :func:`hold` gives it its branch once committed.
    """
    metadata = table.metadata
    main = metadata.refs.get(MAIN)
    base = main.snapshot_id if main is not None else None
    now_ms = int(time.time() * 1000)
    with table.manage_snapshots() as manage:
        for name, ref in metadata.refs.items():
            head = metadata.snapshot_by_id(ref.snapshot_id)
            expired = (
                name.startswith(AUDIT_PREFIX)
                and ref.max_ref_age_ms is not None
                and head is not None
                and now_ms - head.timestamp_ms > ref.max_ref_age_ms
            )
            if name == branch.name or expired:
                manage.remove_branch(name)
        if base is not None:
            manage.create_branch(base, branch.name, max_ref_age_ms=branch.max_age_ms)
    return base, (branch.name if metadata.snapshots else None)


def hold(table: Table, branch: Branch, snapshot_id: int) -> None:
    """Point ``branch`` at a staged snapshot no branch points at yet (the first load of a table).

    A commit of its own, after the write's: Iceberg refuses a branch in the commit that gives a
    table its first snapshot ("Table has no snapshots and can only be written to the main branch").
    """

    def create(tried: int) -> None:
        current = table if tried == 1 else table.refresh()
        current.manage_snapshots().create_branch(snapshot_id, branch.name, max_ref_age_ms=branch.max_age_ms).commit()

    retry_commits(".".join(table.name()), create, what="branch creation")


@dataclass(frozen=True)
class CommitInfo:
    pipeline: str
    run_id: str
    source: str
    position: Position
    # Commit a snapshot even without rows, to record the position (e.g. every record was quarantined).
    record_anyway: bool = False

    def properties(self, rows: int) -> dict[str, str]:
        return {
            PIPELINE: self.pipeline,
            RUN_ID: self.run_id,
            SOURCE: self.source,
            POSITION: self.position.model_dump_json(exclude_defaults=True),
            ROWS: str(rows),
        }


class IcebergWriter(TableWriter):
    """Writes one target table: appends, or replaces its rows (all, or a ``partitioned`` window's)."""

    def __init__(
        self,
        catalog: Catalog,
        namespace: str,
        table: str,
        partition_by: list[PartitionField] | None = None,
        properties: dict[str, str] | None = None,
        schema_evolution: Policy = "evolve",
        dedup: Dedup | None = None,
    ):
        self.catalog = catalog
        self.identifier = (namespace, table)
        self.partition_by = partition_by or []
        # A new table is created with them; pyiceberg's own commit retry off (writer.conflicts);
        # merged manifests and a bounded history, also added to an existing table (writer.aging).
        self.properties = {**AGING_PROPERTIES, **(properties or {}), **NO_CATALOG_RETRIES}
        self.schema_evolution = schema_evolution  # writer.evolution
        self.dedup = dedup  # writer.dedup

    @property
    def name(self) -> str:
        return ".".join(self.identifier)

    def load(self) -> Table | None:
        try:
            return self.catalog.load_table(self.identifier)
        except NoSuchTableError:
            return None

    def ensure_table(self, schema: pa.Schema) -> Table:
        """The target table, created from ``schema`` (with its partition spec) if missing."""
        table = self.load()
        if table is not None:
            return ensure_properties(self._owned(table), self.properties)
        ensure_namespace(self.catalog, self.identifier[0])
        table = self._owned(create_table(self.catalog, self.identifier, schema=schema, properties=self.properties))
        if self.partition_by and table.spec().is_unpartitioned():
            # Runs started at once (a backfill's windows) may all find the new table unpartitioned:
            # one adds the spec, the others' commits conflict and find it added.
            def partition(tried: int) -> Table:
                current = table if tried == 1 else table.refresh()
                if current.spec().is_unpartitioned():
                    with current.update_spec() as spec:
                        for field in self.partition_by:
                            column = column_named(schema.names, field.column)
                            spec.add_field(column, parse_transform(field.transform), f"{column}_{field.transform.split('[')[0]}")
                return current

            table = retry_commits(self.name, partition, what="partition spec")
        return table

    def _owned(self, table: Table) -> Table:
        """``table``, unless this writer names its owner (``chimera.pipeline`` in ``properties``) and
        the table belongs to another or none: the last line behind
        :func:`~airflow_provider_chimera.writer.ownership.claim_tables`."""
        owner = self.properties.get(PIPELINE)
        if owner and table.properties.get(PIPELINE) != owner:
            from airflow_provider_chimera.writer.ownership import TableOwnershipError, refusal

            raise TableOwnershipError(refusal(self.name, table.properties.get(PIPELINE), owner, ""))
        return table

    def last_position(self, pipeline: str) -> Position | None:
        """The position recorded by the newest snapshot ``pipeline`` committed, if any."""
        table = self.load()
        if table is None:
            return None
        snapshot = table.current_snapshot()
        while snapshot is not None:
            props = snapshot.summary.additional_properties if snapshot.summary else {}
            if props.get(PIPELINE) == pipeline and POSITION in props:
                return Position.model_validate(json.loads(props[POSITION]))
            parent = snapshot.parent_snapshot_id
            snapshot = table.snapshot_by_id(parent) if parent is not None else None
        return None

    def write(
        self,
        schema: pa.Schema,
        batches: Iterator[pa.RecordBatch],
        mode: WriteMode,
        info: Callable[[], CommitInfo],
        chunk_bytes: int = 128 << 20,
        window: Window | None = None,
        stage: Branch | None = None,
    ) -> CommitResult:
        """Commit ``batches`` in one Iceberg transaction (``overwrite`` replaces the contents;
        with a ``window``, only the rows whose window column falls in it: ``partitioned`` mode).
        With ``stage``, the commit goes to that branch, started at main's snapshot, and main is
        left as it was (write-audit-publish).

        Data files are written as the batches stream in, ``chunk_bytes`` of Arrow data at a
        time, so memory stays bounded by the chunk, not the table. ``info`` is called once the
        batches are consumed (a source knows its end position only then) and its properties
        go into every snapshot of the commit. An append of nothing commits nothing: a re-run
        that finds no new data leaves the table as it was.

        The table's schema is first fitted to ``schema`` (``schema_evolution``); with ``dedup``
        the run's rows are reduced to the latest per key and compared with the table's.
        """
        table = self.ensure_table(schema)
        head = table.metadata.refs.get(MAIN)
        started_at = head.snapshot_id if head is not None else None
        # A failed attempt deletes the data files it wrote (writer.attempt).
        with attempt(table.io, self.name) as files:
            txn = table.transaction()
            # A schema change is part of the run's commit: a failed run leaves the table as it was.
            fit_schema(txn, schema, self.schema_evolution, self.name)
            table_schema = txn.table_metadata.schema()
            target_schema = table_schema.as_arrow()
            window = for_table(window, target_schema.names) if window else None
            replace = None if mode == "append" else window_filter(window, table_schema, self.name) if window else AlwaysTrue()
            stream = _conform(batches, target_schema)
            if window is not None:
                stream = inside(stream, window, self.name)
            dropped = 0
            if self.dedup is not None:
                stream, replace, dropped = deduplicate(txn, table.io, stream, target_schema, self.dedup, replace, self.name)
            data_files, rows = [], 0
            if txn.table_metadata.spec().is_unpartitioned():
                # Row groups encoded as the batches arrive, while the source reads on (writer.rolling).
                for data_file in rolling_data_files(stream, target_schema, txn.table_metadata, table.io, chunk_bytes, files.opening):
                    rows += data_file.record_count
                    data_files.append(data_file)
            else:
                data_files, rows = _partitioned_files(stream, target_schema, txn, table.io, chunk_bytes, files)
            commit_info = info()
            # Rows read but all dropped as duplicates still move the position: commit it.
            if not data_files and mode == "append" and not commit_info.record_anyway and not dropped:
                return CommitResult(snapshot_id=None, rows=0, committed=False, dropped=dropped)
            load = _Load(
                schema=schema, data_files=tuple(data_files), replace=replace, info=commit_info, rows=rows,
                dropped=dropped, stage=stage, positional=mode == "append", spec_id=txn.table_metadata.default_spec_id,
            )
            first = [txn]

            def commit(tried: int) -> CommitResult:
                # The first try commits the transaction the files were written in; a retry starts
                # over from the table as it is now, with the same data files (writer.conflicts).
                current = first.pop() if first else self._fitted(schema)
                return self._commit(current, load, files.commit_next)

            def revalidate() -> CommitResult | None:
                # Staged loads only touch their own branch; main's positions are checked on publish.
                if stage is not None:
                    return None
                landed = settled(self.load(), started_at, commit_info, load.positional, self.name)
                return None if landed is None else load.result(landed.snapshot_id, None, None, self)

            return retry_commits(self.name, commit, revalidate=revalidate, what="write")

    def _fitted(self, schema: pa.Schema) -> Transaction:
        """A new transaction on the table as it is now, with its schema fitted to ``schema``."""
        txn = self.load().transaction()
        fit_schema(txn, schema, self.schema_evolution, self.name)
        return txn

    def _commit(self, txn: Transaction, load: _Load, committing: Callable[[], None] = lambda: None) -> CommitResult:
        """Commit ``load``'s data files in ``txn`` (replacing what it replaces), on its branch if staged."""
        table = txn._table  # noqa: SLF001 (the table the transaction commits to)
        if txn.table_metadata.default_spec_id != load.spec_id:
            raise PartitionSpecChangedError(f"{self.name}: its partition spec changed while this run wrote its data files")
        base, branch = start_branch(table, load.stage) if load.stage else (None, MAIN)
        properties = load.info.properties(load.rows)
        if load.replace is not None:
            with warnings.catch_warnings():
                # Replacing an empty table (or partition) is no news; pyiceberg warns about it.
                warnings.filterwarnings("ignore", "Delete operation did not match any records")
                txn.delete(load.replace, snapshot_properties=properties, branch=branch)
        # merge_append: with the table's commit.manifest-merge.* properties its small manifests are
        # merged into one as they reach the minimum count, so the manifest list stays short (writer.aging).
        with txn.update_snapshot(snapshot_properties=properties, branch=branch).merge_append() as append:
            for data_file in load.data_files:
                append.append_data_file(data_file)
        # A commit to main also expires main's oldest snapshots beyond the table's count (writer.aging);
        # a staged load's publication does (governance.wap).
        expired = expire_oldest(txn) if branch == MAIN else []
        fault_point("after_files")  # files written, snapshot staged, nothing committed
        committing()
        txn.commit_transaction()
        delete_manifest_lists(table.io, expired, self.name)
        if load.stage and branch is None:
            hold(table, load.stage, append.snapshot_id)
        return load.result(append.snapshot_id, base, load.stage.name if load.stage else None, self)

    def restage(self, load: _Load) -> CommitResult:
        """Stage ``load`` again on its branch, from main as it is now: the same data files, the same
        rows replaced (write-audit-publish after main moved; ``governance.wap``)."""
        return retry_commits(self.name, lambda tried: self._commit(self._fitted(load.schema), load), what="re-staging")


@dataclass(frozen=True)
class _Load:
    """What one write commits: kept so that a commit can be made again on a newer base."""

    schema: pa.Schema
    data_files: tuple
    replace: object  # the rows replaced (a row filter), None for an append
    info: CommitInfo
    rows: int
    dropped: int
    stage: Branch | None
    positional: bool  # an append recording a read position: exactly-once rests on it
    spec_id: int  # the partition spec the data files were written under

    def result(self, snapshot_id: int | None, base: int | None, branch: str | None, writer: IcebergWriter) -> CommitResult:
        return CommitResult(
            snapshot_id=snapshot_id,
            rows=self.rows,
            committed=True,
            dropped=self.dropped,
            data_files=tuple(f.file_path for f in self.data_files),
            branch=branch,
            base_snapshot_id=base,
            restage=(lambda: writer.restage(self)) if self.stage else None,
            positional=self.positional,
            info=self.info,
        )


def settled(table: Table, since: int | None, info: CommitInfo, positional: bool, name: str):
    """Re-validate a commit of ``info`` against main's snapshots newer than ``since``: the snapshot
    that already holds it (same run, same position: never commit it twice), or ``None`` to commit.

    Raises :class:`~airflow_provider_chimera.writer.conflicts.PositionMovedError` when, for a
    ``positional`` load, another run of the pipeline committed since: its position is past the one
    this run read from, and committing would load records twice.
    """
    recorded = info.properties(0)
    snapshot = table.current_snapshot()
    while snapshot is not None and snapshot.snapshot_id != since:
        props = snapshot.summary.additional_properties if snapshot.summary else {}
        if props.get(PIPELINE) == info.pipeline:
            if props.get(RUN_ID) == info.run_id and props.get(POSITION) == recorded[POSITION]:
                return snapshot
            if positional:
                raise PositionMovedError(
                    f"{name}: run {props.get(RUN_ID)} of pipeline {info.pipeline} committed position "
                    f"{props.get(POSITION)} (snapshot {snapshot.snapshot_id}) while run {info.run_id} was loading from the "
                    f"position before it; this run's rows were not committed, so no record is loaded twice. Run the "
                    f"pipeline again (one run at a time: it continues from the newest position)"
                )
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return None


def _partitioned_files(stream, schema: pa.Schema, txn: Transaction, io, chunk_bytes: int, files) -> tuple[list, int]:
    """A partitioned table's data files, written by pyiceberg a chunk of ``chunk_bytes`` at a time."""
    data_files, rows = [], 0
    for chunk in _chunks(stream, schema, chunk_bytes):
        rows += chunk.num_rows
        # pyiceberg's own append() is built on this function; calling it per chunk lets
        # partitioned tables stream too (append() takes a reader only when unpartitioned).
        data_files.extend(
            files.written(_dataframe_to_data_files(table_metadata=txn.table_metadata, write_uuid=uuid.uuid4(), df=chunk, io=io))
        )
    return data_files, rows


def _chunks(batches: Iterator[pa.RecordBatch], schema: pa.Schema, chunk_bytes: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.nbytes
        if size >= chunk_bytes:
            yield pa.Table.from_batches(pending, schema=schema)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending, schema=schema)


def _conform(batches: Iterator[pa.RecordBatch], target: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Order and cast each batch to the table's Arrow schema (missing columns become nulls)."""
    for batch in batches:
        arrays = []
        for field in target:
            index = batch.schema.get_field_index(field.name)
            if index < 0:
                arrays.append(pa.nulls(batch.num_rows, field.type))
            else:
                arrays.append(batch.column(index).cast(field.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=target)
