"""The quarantine table: source records that could not be ingested, with the reason.

``<table>__quarantine`` sits beside its target, in the same namespace. Each rejected record is
one row: pipeline, run id, source, where the record is in the source (file path, partition and
offset, document id), the reason, and the raw value when there is one (protected as the
pipeline's classification policy says, :mod:`~airflow_provider_chimera.governance.protect`).
Rows are committed before the target's own commit, so a record is never dropped unseen: a crash
in between can only repeat rows in quarantine (the same run id and position), never lose them.

Memory stays bounded however many records a run rejects: a :class:`QuarantineSpool` takes each
record as the source rejects it and writes a Parquet data file of the quarantine table every
``CHUNK_ROWS`` records (or ``CHUNK_BYTES`` of text), keeping only the current chunk; all the
files are committed together, in one snapshot, before the target's commit. A run that fails
before that commit deletes them (:mod:`airflow_provider_chimera.writer.attempt`). The table is
created carrying ``chimera.pipeline`` = its pipeline, like the target
(:mod:`airflow_provider_chimera.writer.ownership`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.io.pyarrow import _dataframe_to_data_files
from pyiceberg.table import Table

from airflow_provider_chimera.sources.base import Rejected
from airflow_provider_chimera.writer.attempt import Attempt
from airflow_provider_chimera.writer.catalog import create_table, ensure_namespace

SUFFIX = "__quarantine"
SCHEMA = pa.schema(
    [
        pa.field("pipeline", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("position", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


# A chunk of rejected records is written once it holds this many records, or this much text.
CHUNK_ROWS = 10_000
CHUNK_BYTES = 32 << 20
OWNER = "chimera.pipeline"  # writer.iceberg.PIPELINE (not imported: the writer imports this module's users)


class QuarantineSpool:
    """The rejected records of one run, on their way to ``<namespace>.<table>__quarantine``.

    :meth:`add` each record as it is rejected; :meth:`commit` commits them all (one snapshot)
    and returns how many; :meth:`discard` deletes the chunks written so far instead.
    """

    def __init__(
        self,
        catalog: Catalog,
        namespace: str,
        table: str,
        *,
        pipeline: str,
        run_id: str,
        source: str,
        chunk_rows: int = CHUNK_ROWS,
        chunk_bytes: int = CHUNK_BYTES,
    ):
        self.catalog = catalog
        self.identifier = (namespace, table + SUFFIX)
        self.pipeline, self.run_id, self.source = pipeline, run_id, source
        self.chunk_rows, self.chunk_bytes = chunk_rows, chunk_bytes
        self.count = 0  # records added
        self.chunks = 0  # data files written
        self._pending: list[dict] = []
        self._size = 0
        self._table: Table | None = None
        self._files: list = []
        self._attempt: Attempt | None = None

    @property
    def name(self) -> str:
        return ".".join(self.identifier)

    def add(self, record: Rejected) -> None:
        self._pending.append(
            {"pipeline": self.pipeline, "run_id": self.run_id, "source": self.source, "position": record.position,
             "reason": record.reason, "raw": record.raw, "quarantined_at": dt.datetime.now(dt.timezone.utc)}
        )
        self.count += 1
        self._size += len(record.position) + len(record.reason) + len(record.raw or "")
        if len(self._pending) >= self.chunk_rows or self._size >= self.chunk_bytes:
            self._flush()

    def extend(self, records: Iterable[Rejected]) -> None:
        for record in records:
            self.add(record)

    def _target(self) -> Table:
        if self._table is None:
            try:
                table = self.catalog.load_table(self.identifier)
            except NoSuchTableError:
                ensure_namespace(self.catalog, self.identifier[0])
                table = create_table(self.catalog, self.identifier, schema=SCHEMA, properties={OWNER: self.pipeline})
            if table.properties.get(OWNER) != self.pipeline:
                from airflow_provider_chimera.writer.ownership import TableOwnershipError, refusal

                raise TableOwnershipError(refusal(self.name, table.properties.get(OWNER), self.pipeline, ""))
            self._table = table
            self._attempt = Attempt(table.io, self.name)
        return self._table

    def _flush(self) -> None:
        if not self._pending:
            return
        table = self._target()
        chunk = pa.Table.from_pylist(self._pending, schema=table.schema().as_arrow())
        self._pending, self._size = [], 0
        assert self._attempt is not None
        self._files.extend(
            self._attempt.written(
                _dataframe_to_data_files(table_metadata=table.metadata, write_uuid=uuid.uuid4(), df=chunk, io=table.io)
            )
        )
        self.chunks += 1

    def commit(self) -> int:
        """Write what is pending and commit every chunk in one snapshot; the records added."""
        self._flush()
        if self._files:
            from airflow_provider_chimera.writer.conflicts import retry_commits

            def append_all(tried: int) -> None:
                table = self._target() if tried == 1 else self._target().refresh()
                with table.transaction() as txn:
                    with txn.update_snapshot().fast_append() as append:
                        for data_file in self._files:
                            append.append_data_file(data_file)

            retry_commits(self.name, append_all, what="quarantine append")  # concurrent runs append too
            self._files = []
            assert self._attempt is not None
            self._attempt.paths.clear()  # committed: no longer the attempt's to delete
        return self.count

    def discard(self) -> None:
        """Delete the chunks written and not committed (the run failed before its commit)."""
        self._pending, self._size, self._files = [], 0, []
        if self._attempt is not None:
            self._attempt.discard()


def quarantine(
    catalog: Catalog, namespace: str, table: str, *, pipeline: str, run_id: str, source: str, rejected: Iterable[Rejected]
) -> int:
    """Append ``rejected`` to ``<namespace>.<table>__quarantine`` (created on first use); rows written."""
    spool = QuarantineSpool(catalog, namespace, table, pipeline=pipeline, run_id=run_id, source=source)
    try:
        spool.extend(rejected)
        return spool.commit()
    except BaseException:
        spool.discard()
        raise
