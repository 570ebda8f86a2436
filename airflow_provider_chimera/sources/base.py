"""What every source hook provides: an :class:`Extract` of bounded Arrow record batches.

A source hook owns the connection to one source system (through the Airflow provider's hook
where one exists). ``extract`` reads one object, starting after the :class:`Position` the last
committed Iceberg snapshot recorded, and reports the new position once its batches are consumed.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_chimera.contract.model import Connection, Source, SourceObject


class Position(BaseModel):
    """How far a pipeline has read its source; recorded in each Iceberg snapshot summary."""

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = None
    files: list[str] = Field(default_factory=list)
    offsets: dict[str, int] = Field(default_factory=dict)


class Extract(ABC):
    """One read of one object: a schema, a stream of batches, and the position reached."""

    schema: pa.Schema

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield record batches of at most the configured number of rows."""

    @abstractmethod
    def position(self) -> Position:
        """The position after every batch has been consumed."""

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self.batches())


class SourceHook(ABC):
    """Base of the per-type source hooks in this package."""

    source_type: str

    def __init__(self, source: Source, batch_rows: int = 65_536):
        self.source = source
        self.batch_rows = batch_rows

    @abstractmethod
    def extract(self, obj: SourceObject, since: Position | None) -> Extract:
        """Read ``obj`` past ``since`` (``None``: from the beginning)."""

    @abstractmethod
    def probe(self) -> str:
        """Open a real connection and run the cheapest request; what succeeded, or raise."""

    def test_connection(self) -> tuple[bool, str]:
        """``(ok, message)`` as Airflow's hooks report it."""
        try:
            return True, self.probe()
        except Exception as exc:  # report, never raise: this answers a connection test
            return False, f"{type(exc).__name__}: {exc}"


class DbApiSourceHook(SourceHook):
    """A source reached through a DB-API connection (``connect()``)."""

    @abstractmethod
    def connect(self):
        """A new DB-API connection; the caller closes it."""

    def probe(self) -> str:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
        finally:
            conn.close()
        return "connected"


class CursorExtract(Extract):
    """An extract that reads past a cursor column (``incremental``) or everything (``full``)."""

    def __init__(self, hook: SourceHook, obj: SourceObject, since: Position | None):
        self.hook = hook
        self.obj = obj
        self.since_cursor = since.cursor if since else None
        column = cursor_column(obj)
        self.cursor_column = self.resolve_column(column) if column else None
        self._tracker = CursorTracker(self.cursor_column, self.since_cursor)

    def resolve_column(self, name: str) -> str:
        """The column name as the source stores it."""
        return name

    def check_columns(self, available: list[str], wanted: list[str]) -> None:
        """Fail naming the object and the columns that do not exist."""
        missing = [c for c in wanted if c not in available]
        if missing:
            raise LookupError(f"{self.obj.name}: columns {missing} do not exist")
        if self.cursor_column and self.cursor_column not in available:
            raise LookupError(f"{self.obj.name}: cursor column {self.cursor_column!r} does not exist")

    def position(self) -> Position:
        return Position(cursor=self._tracker.value)


_PLACEHOLDER = re.compile(r"\$\{(secret|env):([A-Za-z0-9_.-]+)\}")


class UnsupportedColumnError(TypeError):
    """A source column whose type Chimera cannot map; names the column."""


class UnresolvedSecretError(LookupError):
    pass


def resolve_uri(connection: Connection) -> str:
    """The connection URI with ``${env:NAME}`` and ``${secret:NAME}`` placeholders filled in.

    ``env`` reads the process environment; ``secret`` asks Airflow's secrets backends (the
    Variable of that name). The result holds credentials: never log it.
    """
    assert connection.uri is not None

    def fill(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "env":
            value = os.environ.get(name)
        else:
            from airflow.sdk import Variable

            value = Variable.get(name, default=None)
        if value is None:
            raise UnresolvedSecretError(f"placeholder ${{{kind}:{name}}} has no value")
        return value

    return _PLACEHOLDER.sub(fill, connection.uri)


class CursorTracker:
    """Tracks the largest cursor value seen across batches, for ``incremental`` mode."""

    def __init__(self, column: str | None, start: str | None):
        self.column = column
        self.value: str | None = start
        self._max: pa.Scalar | None = None

    def observe(self, batch: pa.RecordBatch) -> None:
        import pyarrow.compute as pc

        if not self.column or not batch.num_rows:
            return
        value = pc.max(batch.column(self.column))
        if value.is_valid and (self._max is None or pc.greater(value, self._max).as_py()):
            self._max = value
            py = value.as_py()
            self.value = py.isoformat() if hasattr(py, "isoformat") else str(py)


def cursor_column(obj: SourceObject) -> str | None:
    """The object's ``incremental`` cursor column, if it has one."""
    from airflow_provider_chimera.contract.model import IncrementalMode

    mode = obj.ingestion.mode if obj.ingestion else None
    return mode.cursor if isinstance(mode, IncrementalMode) else None


def airflow_connection(conn_id: str):
    """The Airflow connection ``conn_id`` (from the metastore, env vars or a secrets backend)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)
