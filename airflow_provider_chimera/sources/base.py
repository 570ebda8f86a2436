"""What every source reader provides: an :class:`Extract` of bounded Arrow record batches.

A source reader owns the connection to one source system (through the Airflow provider's hook
where one exists). ``extract`` reads one object, starting after the :class:`Position` the last
committed Iceberg snapshot recorded, and reports the new position once its batches are consumed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_chimera.contract.model import Connection, Source, SourceObject
from airflow_provider_chimera.contract.source_rules import password_slot_only
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.secrets import resolve_uri
from airflow_provider_chimera.sources.window import Window
from airflow_provider_chimera.tenancy.model import SINGLE_TEAM, Grant


# Seconds every driver waits to connect (and to log in) before failing: a silent server fails the
# attempt instead of holding a worker slot (the task-limits watchdog is the outer bound).
CONNECT_TIMEOUT_S = 20


def connect_timeout_s() -> int:
    """:data:`CONNECT_TIMEOUT_S`, read when a driver connects (the one place every driver takes it from)."""
    return CONNECT_TIMEOUT_S


class Position(BaseModel):
    """How far a pipeline has read its source; recorded in each Iceberg snapshot summary."""

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = None
    files: list[str] = Field(default_factory=list)
    offsets: dict[str, int] = Field(default_factory=dict)


class Extract(ABC):
    """One read of one object: a schema, a stream of batches, and the position reached.

    Besides its batches, an extract may keep the records it could not convert (:attr:`rejected`,
    sent to quarantine as they come with :meth:`spool_rejected`), count the rows it passed on
    (:attr:`rows_read`), and name the source's native column types (:attr:`pg_types`).
    """

    schema: pa.Schema
    # The rows its batches held so far; stays 0 for an extract that does not count them
    # (governance.protect's ProtectedExtract, which every ingest run reads through, does).
    rows_read: int = 0
    # The records the source could not convert, with the reason; None: the source rejects nothing.
    rejected: list[Rejected] | None = None
    # The source's native type name of each column, where the reader plans its read from them
    # (PostgreSQL's catalogue); empty otherwise.
    pg_types: Mapping[str, str] = MappingProxyType({})

    @abstractmethod
    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield record batches of at most the configured number of rows."""

    @abstractmethod
    def position(self) -> Position:
        """The position after every batch has been consumed."""

    def spool_rejected(self, spool: Any) -> None:
        """From now on send each rejected record to ``spool`` (anything with ``add``) instead of
        keeping it. By default there is nothing to spool: an extract that protects or forwards its
        records (governance.protect) says how."""

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self.batches())


class CheckWarning(str):
    """A finding of :meth:`SourceReader.check_object` that does not make the object unreadable:
    the connectivity test reports it as a warning and onboarding goes on (a declared file set
    whose landing folder has no file yet). Any other finding is a problem."""


class SourceReader(ABC):
    """Base of the per-type source readers in this package."""

    source_type: str

    def __init__(self, source: Source, batch_rows: int = 65_536, grant: Grant | None = None):
        self.source = source
        self.batch_rows = batch_rows
        # What the intent's team may use; without one, a single team's (reserved names still refused).
        self.grant = grant if grant is not None else SINGLE_TEAM

    def resolved_uri(self) -> str:
        """The source's URI with its placeholders resolved within :attr:`grant` (never log it)."""
        assert self.source.connection.uri is not None
        return resolve_uri(self.source.connection.uri, self.grant, password_only=password_slot_only(self.source_type))

    @abstractmethod
    def extract(self, obj: SourceObject, since: Position | None, window: Window | None = None, limit: int | None = None) -> Extract:
        """Read ``obj`` past ``since`` (``None``: from the beginning).

        With a ``window`` (``partitioned`` mode) only the rows whose window column falls in it
        are read, the predicate evaluated by the source where it has a query language.
        ``limit``: read at most that many records (a ``stream`` micro-batch). Kafka honours it;
        the other readers ignore it and read everything past ``since`` (``stream`` mode reads
        Kafka only).
        """

    def committed(self, obj: SourceObject, position: Position, pipeline_id: str) -> None:
        """Called once ``position`` of ``obj`` is committed to Iceberg by ``pipeline_id``.

        The snapshot stays the state of truth; a source may mirror the position where its own
        tools look for it (Kafka: the consumer group's offsets). Nothing to do by default.
        """

    def adopted_position(self, obj: SourceObject, value: object) -> Position:
        """The position an ``adopt_from`` run conf value states: a cursor value, by default.

        Written the way Chimera records cursors: ISO-8601 for dates and timestamps, digits for
        numbers. Rows with a cursor value up to and including it count as already ingested.
        """
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"adopt_from: expected the last cursor value already in the table, got {value!r}")
        return Position(cursor=str(value))

    @abstractmethod
    def probe(self) -> str:
        """Open a real connection and run the cheapest request; what succeeded, or raise."""

    @abstractmethod
    def check_object(self, obj: SourceObject) -> list[str]:
        """Open a real connection and look ``obj`` up: why it cannot be read (empty: it can);
        a :class:`CheckWarning` among them is only a warning.

        Checks that the object exists and has the columns it names and its ``incremental``
        cursor column, with the cheapest request the source answers (a catalogue query, a
        topic or collection listing, a file glob). Connection failures raise.
        """

    def check_objects(self, objects: list[SourceObject]) -> dict[str, list[str]]:
        """:meth:`check_object` for each object, by object name."""
        return {obj.name: self.check_object(obj) for obj in objects}

    @abstractmethod
    def list_objects(self) -> list[str]:
        """The names of the objects the connection can see (tables, collections, topics, files)."""

    def test_connection(self) -> tuple[bool, str]:
        """``(ok, message)`` as Airflow's hooks report it."""
        try:
            return True, self.probe()
        except Exception as exc:  # report, never raise: this answers a connection test
            return False, f"{type(exc).__name__}: {exc}"


class DbApiReader(SourceReader):
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

    @abstractmethod
    def object_columns(self, conn, name: str) -> list[str] | None:
        """The column names of table or view ``name`` as the source stores them; ``None`` if it
        does not exist."""

    @abstractmethod
    def object_names(self, conn) -> list[str]:
        """The tables and views ``conn`` can see, named as an intent names them."""

    def resolve_column(self, name: str) -> str:
        """A column name of an intent as the source stores it."""
        return name

    def check_objects(self, objects: list[SourceObject]) -> dict[str, list[str]]:
        """Every object looked up over one connection."""
        conn = self.connect()
        try:
            return {obj.name: self._check(conn, obj) for obj in objects}
        finally:
            conn.close()

    def check_object(self, obj: SourceObject) -> list[str]:
        return self.check_objects([obj])[obj.name]

    def _check(self, conn, obj: SourceObject) -> list[str]:
        try:
            available = self.object_columns(conn, obj.name)
        except Exception as exc:  # one unreadable object does not hide the others' results
            return [f"cannot be looked up: {type(exc).__name__}: {exc}"]
        if available is None:
            return [f"table or view {obj.name!r} does not exist"]
        return missing_columns(obj, available, self.resolve_column)

    def list_objects(self) -> list[str]:
        conn = self.connect()
        try:
            return self.object_names(conn)
        finally:
            conn.close()


class CursorExtract(Extract):
    """An extract that reads past a cursor column (``incremental``) or everything (``full``)."""

    def __init__(self, hook: SourceReader, obj: SourceObject, since: Position | None):
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




class UnsupportedColumnError(FixRequired, TypeError):
    """A source column whose type Chimera cannot map; names the column."""


class SourceRefusedError(FixRequired, PermissionError):
    """A source that reaches what its intent may not (a placeholder outside the team's prefix or
    outside the password slot, a Snowflake key, a file outside the base or the team's roots).

    Terminal: retrying cannot help; the message says what to change in the intent.
    """


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


def missing_columns(obj: SourceObject, available: list[str], resolve=lambda name: name) -> list[str]:
    """Problems for the columns ``obj`` names and its cursor column that are not in ``available``
    (``resolve`` maps an intent's column name to the source's spelling)."""
    present = set(available)
    problems = []
    missing = [c for c in obj.columns or [] if resolve(c) not in present]
    if missing:
        problems.append(f"columns {missing} do not exist")
    cursor = cursor_column(obj)
    if cursor and resolve(cursor) not in present:
        problems.append(f"cursor column {cursor!r} does not exist")
    return problems


def cursor_column(obj: SourceObject) -> str | None:
    """The object's ``incremental`` cursor column, if it has one."""
    from airflow_provider_chimera.contract.model import IncrementalMode

    mode = obj.ingestion.mode if obj.ingestion else None
    return mode.cursor if isinstance(mode, IncrementalMode) else None


def airflow_connection(conn_id: str):
    """The Airflow connection ``conn_id`` (from the metastore, env vars or a secrets backend)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


class Rejected(BaseModel):
    """A source record that cannot be ingested: it goes to the target's quarantine table."""

    model_config = ConfigDict(frozen=True)

    reason: str
    position: str  # where it is in the source: file path, "partition/offset", document _id
    raw: str | None = None  # the raw value, when there is one to keep
