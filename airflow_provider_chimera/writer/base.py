"""What every table writer offers the ingest run: one ``write`` with one signature.

:class:`~airflow_provider_chimera.writer.iceberg.IcebergWriter` replaces or appends rows;
:class:`~airflow_provider_chimera.writer.history.HistoryWriter` keeps every version of a key.
The run (:mod:`airflow_provider_chimera.ingest.run`) opens the one its target needs and calls
:meth:`TableWriter.write` the same way for both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from airflow_provider_chimera.sources.base import Position
    from airflow_provider_chimera.sources.window import Window
    from airflow_provider_chimera.writer.iceberg import Branch, CommitInfo, CommitResult, WriteMode


class TableWriter(ABC):
    """Writes one target table of ``catalog``."""

    catalog: Catalog

    @property
    @abstractmethod
    def name(self) -> str:
        """The table's ``namespace.table``."""

    @abstractmethod
    def load(self) -> Table | None:
        """The table, or ``None`` while it does not exist."""

    @abstractmethod
    def last_position(self, pipeline: str) -> Position | None:
        """The source position recorded by the newest snapshot ``pipeline`` committed, if any."""

    @abstractmethod
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
        """Commit ``batches`` (of ``schema``) in one Iceberg transaction.

        ``mode``: ``overwrite`` replaces the table's rows (only those inside ``window``, when
        given: ``partitioned`` mode), ``append`` adds to them; a writer that never replaces rows
        says how it reads ``mode`` and refuses a ``window``. ``info`` is called once the batches
        are consumed; its properties go into the commit's snapshots. ``chunk_bytes``: the most
        Arrow data held before a data file is written. ``stage``: commit to that branch instead
        of ``main`` (write-audit-publish).
        """
