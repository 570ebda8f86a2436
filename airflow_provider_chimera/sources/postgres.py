"""PostgreSQL, read with ADBC (binary COPY straight into Arrow).

The connection comes from the Postgres provider's hook (``conn_id``) or the intent's URI.
ADBC hands some types over as opaque or lossy values, so the select list is built from the
table's catalogue types and each column is mapped explicitly (:data:`CAST_AS_TEXT`, then
:func:`_arrow_target`): ``numeric(p,s)`` becomes ``decimal128(p,s)``, ``json``/``jsonb``/``uuid``
become strings, timestamps keep their time zone, arrays become lists of their element's type.
A type with no mapping (``point``, ``tsvector``, ranges...) stops the read before any row is
read, naming the column and its type. The full table is in ``docs/type-mapping.md``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator

import pyarrow as pa

from airflow_provider_chimera.contract.model import SourceObject
from airflow_provider_chimera.sources.base import (
    CursorExtract,
    DbApiReader,
    Position,
    UnsupportedColumnError,
    connect_timeout_s,
)
from airflow_provider_chimera.sources.window import Window, WindowError

# Types read as their text form and converted in Arrow, because ADBC's own mapping is opaque.
CAST_AS_TEXT = ("numeric", "json", "jsonb", "uuid", "money", "inet", "cidr", "xml", "interval", "time with time zone")
# Read as text too, then cast: ADBC reads ``oid`` (unsigned 32 bits) as int32, wrapping values above 2^31-1.
FROM_TEXT = {"oid": pa.int64()}
# The ADBC driver's database option choosing how it learns the server's types (PostgresReader.connect).
TYPE_RESOLVER = "adbc.postgresql.type_resolver_mode"
# PostgreSQL's FirstNormalObjectId: objects with a lower OID (its own types) were created by the system.
FIRST_USER_OID = 16384
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")
_MAX_DECIMAL_PRECISION = 38


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a SQL string literal, read the same whatever ``standard_conforming_strings``
    says (psycopg writes ``E'...'`` with escaped backslashes when the value holds one)."""
    from psycopg import sql

    return sql.Literal(value).as_string(None).strip()


def _arrow_target(pg_type: str) -> pa.DataType | None:
    """The Arrow type a column read as text converts to; ``None`` keeps ADBC's own type.
    An array of such a type is read as ``text[]`` and converts to a list of it."""
    if pg_type.endswith("[]"):
        element = _arrow_target(pg_type[:-2])
        return None if element is None else pa.list_(element)
    match = _NUMERIC.match(pg_type.replace(" ", ""))
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if precision > _MAX_DECIMAL_PRECISION:
            return pa.string()
        return pa.decimal128(precision, scale)
    base = re.sub(r"\([\d,\s]*\)", "", pg_type)  # without modifiers: time(3) with time zone
    if base in CAST_AS_TEXT:
        return pa.string()  # unconstrained numeric too: no safe fixed precision exists
    return FROM_TEXT.get(base)


class PostgresReader(DbApiReader):
    """Reads tables and views of one PostgreSQL database."""

    source_type = "postgres"

    def uri(self) -> str:
        connection = self.source.connection
        if connection.uri is not None:
            return self.resolved_uri()
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        uri = PostgresHook(postgres_conn_id=connection.conn_id).get_uri()
        return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", uri)

    def _with_timeout(self, uri: str) -> str:
        """``uri`` with libpq's ``connect_timeout`` unless it sets one."""
        if "connect_timeout=" in uri:
            return uri
        return f"{uri}{'&' if '?' in uri else '?'}connect_timeout={connect_timeout_s()}"

    def connect(self, *, builtin_types: bool = False):
        """A new ADBC connection. ``builtin_types``: it knows PostgreSQL's own types only (the
        driver's ``builtin`` type resolver, compiled in), instead of reading the server's whole type
        catalogue as it connects (``dynamic``, ~0.1-0.2 s, more on a database of many tables),
        which only user-defined types (enums, domains, composites, extensions' types) need."""
        import adbc_driver_postgresql.dbapi as adbc

        uri = self._with_timeout(self.uri())
        if builtin_types:
            try:
                return adbc.connect(uri, db_kwargs={TYPE_RESOLVER: "builtin"}, autocommit=True)
            except adbc.Error as exc:  # a driver without the option: the catalogue it is
                if TYPE_RESOLVER not in str(exc):
                    raise
        # Autocommit: a read must hold no transaction (and its locks) open between statements.
        return adbc.connect(uri, autocommit=True)

    def columns(self, conn, table: str) -> list[tuple[str, str]]:
        """``(name, type)`` of the table's columns, in table order."""
        return [(name, pg_type) for name, pg_type, _ in self.typed_columns(conn, table)]

    def typed_columns(self, conn, table: str) -> list[tuple[str, str, bool]]:
        """``(name, type, user-defined)`` of the table's columns, in table order; a type is
        user-defined when the system did not create it (its OID, or its element's, is not below
        PostgreSQL's ``FirstNormalObjectId``)."""
        with conn.cursor() as cur:
            cur.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                f"(a.atttypid >= {FIRST_USER_OID} OR COALESCE(t.typelem, 0) >= {FIRST_USER_OID}) "
                "FROM pg_attribute a LEFT JOIN pg_type t ON t.oid = a.atttypid "
                f"WHERE a.attrelid = {quote_literal(table)}::regclass AND a.attnum > 0 "
                "AND NOT a.attisdropped ORDER BY a.attnum"
            )
            return [(name, pg_type, bool(user)) for name, pg_type, user in cur.fetchall()]

    def object_columns(self, conn, name: str) -> list[str] | None:
        with conn.cursor() as cur:
            cur.execute(f"SELECT to_regclass({quote_literal(name)})::oid")
            (oid,) = cur.fetchone()
            if oid is None:
                return None
            cur.execute(
                f"SELECT a.attname FROM pg_attribute a WHERE a.attrelid = {int(oid)} AND a.attnum > 0 "
                "AND NOT a.attisdropped ORDER BY a.attnum"
            )
            return [column for (column,) in cur.fetchall()]

    def _check(self, conn, obj: SourceObject) -> list[str]:
        problems = super()._check(conn, obj)
        if not problems:
            with conn.cursor() as cur:
                cur.execute(f"SELECT has_table_privilege(to_regclass({quote_literal(obj.name)}), 'SELECT')")
                if not cur.fetchone()[0]:
                    problems.append(f"the connection's user may not SELECT from {obj.name!r}")
        return problems

    def object_names(self, conn) -> list[str]:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )
            return [name for (name,) in cur.fetchall()]

    def extract(
        self, obj: SourceObject, since: Position | None, window: Window | None = None, limit: int | None = None
    ) -> PostgresExtract:
        """``limit`` is ignored: every record past ``since`` is read (``stream`` mode reads Kafka only)."""
        return PostgresExtract(self, obj, since, window)


class PostgresExtract(CursorExtract):
    hook: PostgresReader

    def __init__(self, hook: PostgresReader, obj: SourceObject, since: Position | None, window: Window | None = None):
        super().__init__(hook, obj, since)
        self.window = window
        # One connection plans the read and reads the rows, and it knows PostgreSQL's own types
        # only: an ADBC connection that loads the server's type catalogue costs ~0.15 s, paid by
        # every run. A table with a user-defined column (or a column the driver's table of
        # types does not know) is read over a connection that loads it (PostgresReader.connect).
        # :meth:`batches` closes the connection; an extract dropped unread closes it when collected.
        self._conn = None
        try:
            conn = self._connect(builtin_types=True)
            typed = hook.typed_columns(conn, obj.name)
            self._plan([(name, pg_type) for name, pg_type, _ in typed])
            wanted = set(self.targets)
            if any(user for name, _, user in typed if name in wanted):
                conn = self._connect(builtin_types=False)
            arrow_schema = self._arrow_schema(conn)
            if any(_opaque(f.type) for f in arrow_schema):  # a type the driver's table of types lacks
                conn = self._connect(builtin_types=False)
                arrow_schema = self._arrow_schema(conn)
            self.schema = self._convert_schema(arrow_schema)
        except BaseException:
            if self._conn is not None:
                self._conn.close()
            raise

    def _connect(self, *, builtin_types: bool):
        """The extract's connection, replacing (and closing) the one it had."""
        if self._conn is not None:
            self._conn.close()
        self._conn = conn = self.hook.connect(builtin_types=builtin_types)
        weakref.finalize(self, conn.close)
        return conn

    def _arrow_schema(self, conn) -> pa.Schema:
        """The Arrow schema ADBC gives the planned query's result."""
        with conn.cursor() as cur:
            cur.execute(self.sql + " LIMIT 0")
            return cur.fetch_arrow_table().schema

    def _plan(self, table_columns: list[tuple[str, str]]) -> None:
        obj = self.obj
        if not table_columns:
            raise LookupError(f"{obj.name}: table has no columns or does not exist")
        types = dict(table_columns)
        wanted = obj.columns or [name for name, _ in table_columns]
        self.check_columns(list(types), wanted)
        self.pg_types = types
        self.targets = {c: _arrow_target(types[c]) for c in wanted}
        self.cursor_type = types.get(self.cursor_column or "", "")
        if self.window is not None and self.window.column not in types:
            raise LookupError(f"{obj.name}: partition column {self.window.column!r} does not exist")
        self.window_type = types.get(self.window.column, "") if self.window else ""
        self.sql = self._query(wanted)

    def _query(self, wanted: list[str]) -> str:
        select = ", ".join(
            quote_ident(c) if self.targets[c] is None else f"{quote_ident(c)}::{_text_type(self.targets[c])} AS {quote_ident(c)}"
            for c in wanted
        )
        schema, _, table = self.obj.name.rpartition(".")
        source = f"{quote_ident(schema)}.{quote_ident(table)}" if schema else quote_ident(table)
        sql = f"SELECT {select} FROM {source}"
        where = []
        if self.cursor_column and self.since_cursor is not None:
            # The cursor value is the one a previous Chimera commit recorded; it is quoted as a
            # literal because COPY (ADBC's fast path) takes no bind parameters.
            where.append(f"{quote_ident(self.cursor_column)} > {quote_literal(self.since_cursor)}::{self.cursor_type}")
        if self.window is not None:
            where.append(self._window_predicate(self.window))
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql

    def _window_predicate(self, window: Window) -> str:
        """``start <= column < end`` with both bounds literals of the column's own type."""
        pg_type = self.window_type
        if pg_type.startswith("timestamp") and "with time zone" in pg_type:
            arrow_type = pa.timestamp("us", tz="UTC")
        elif pg_type.startswith("timestamp"):
            arrow_type = pa.timestamp("us")
        elif pg_type == "date":
            arrow_type = pa.date32()
        else:
            raise WindowError(
                f"{self.obj.name}: partition column {window.column!r} is {pg_type}; "
                "a 'partitioned' mode needs a date or timestamp column"
            )
        start, end = window.bounds(arrow_type)
        column = quote_ident(window.column)
        return (
            f"{column} >= {quote_literal(start.isoformat())}::{pg_type} "
            f"AND {column} < {quote_literal(end.isoformat())}::{pg_type}"
        )

    def _convert_schema(self, schema: pa.Schema) -> pa.Schema:
        return pa.schema(
            [
                pa.field(f.name, self.targets[f.name] or _plain(f.type, f.name, self.pg_types[f.name]), nullable=True)
                for f in schema
            ]
        )

    def batches(self) -> Iterator[pa.RecordBatch]:
        conn, self._conn = self._conn, None
        with (conn if conn is not None else self.hook.connect()) as conn:  # the planning connection, once
            with conn.cursor() as cur:
                cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(16 << 20)})
                cur.execute(self.sql)
                for batch in cur.fetch_record_batch():
                    for start in range(0, batch.num_rows, self.hook.batch_rows):
                        part = batch.slice(start, self.hook.batch_rows)
                        converted = pa.RecordBatch.from_arrays(
                            [col.cast(self.schema.field(i).type) for i, col in enumerate(part.columns)],
                            schema=self.schema,
                        )
                        self._tracker.observe(converted)
                        yield converted


def _opaque(arrow_type: pa.DataType) -> bool:
    """Whether ADBC handed a column (or its arrays' elements) over as an opaque value."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _opaque(arrow_type.value_type)
    return isinstance(arrow_type, pa.BaseExtensionType)


def _text_type(target: pa.DataType) -> str:
    """What a column converted in Arrow is selected as: ``text``, or ``text[]`` for an array."""
    return "text[]" if pa.types.is_list(target) else "text"


def _plain(arrow_type: pa.DataType, column: str, pg_type: str) -> pa.DataType:
    """Types ADBC delivers that Iceberg stores as they are (or after a lossless widening).

    ADBC reads an array of any dimension as a flat list (the catalogue type does not record
    dimensions): ``int[][]`` arrives as ``list<int32>`` holding the elements in row-major order.
    """
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return pa.list_(_plain(arrow_type.value_type, column, pg_type))
    if pa.types.is_timestamp(arrow_type):
        return pa.timestamp("us", tz=arrow_type.tz)
    if pa.types.is_large_string(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type):
        return pa.binary()
    if isinstance(arrow_type, pa.BaseExtensionType) or pa.types.is_null(arrow_type) or pa.types.is_interval(arrow_type):
        raise UnsupportedColumnError(
            f"column {column!r}: PostgreSQL type {pg_type!r} has no Iceberg mapping; "
            "select it through a view that casts it (to text, for example)"
        )
    return arrow_type

