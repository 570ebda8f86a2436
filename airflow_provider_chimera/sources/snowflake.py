"""Snowflake, read as Arrow batches straight from the connector (``fetch_arrow_batches``).

The connection comes from the Snowflake provider's hook (``conn_id``; a ``protocol`` in its
extras is passed on, for private endpoints and emulators) or the intent's URI
(``snowflake://user:${secret:pw}@account/DB/SCHEMA?warehouse=WH&role=R``; the query may name
only warehouse, role, schema, database and application: an endpoint other than the account's
own, a protocol or an authenticator is a platform-owned connection's to give). The result's column types come from
``cursor.describe`` before any row is read (:func:`_arrow_type`), so each batch is cast to one
stable schema whatever the connector picked for it (Snowflake sends small ``NUMBER(38,0)``
values as int64 and large ones as decimals).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

from airflow_provider_chimera.contract.model import SourceObject
from airflow_provider_chimera.contract.source_rules import SNOWFLAKE_HINT, SNOWFLAKE_QUERY_KEYS, snowflake_query_problems
from airflow_provider_chimera.sources.base import (
    CursorExtract,
    DbApiReader,
    Position,
    SourceRefusedError,
    UnsupportedColumnError,
    connect_timeout_s,
)
from airflow_provider_chimera.sources.window import Window

# snowflake.connector.constants.FIELD_TYPES, by type_code.
_FIXED, _REAL, _TEXT, _DATE, _TIMESTAMP, _VARIANT, _TS_LTZ, _TS_TZ, _TS_NTZ, _OBJECT, _ARRAY, _BINARY, _TIME, _BOOLEAN = range(14)
_MAX_INT64_DIGITS = 18
_NO_SUCH_OBJECT = "42S02"  # SQLSTATE of "does not exist or not authorized"


def resolve_ident(name: str) -> str:
    """The name as Snowflake stores it: an all-lowercase name is upper-cased, as Snowflake does
    for unquoted identifiers; any other spelling is taken as written (a quoted identifier)."""
    return name.upper() if name == name.lower() else name


def quote_ident(name: str) -> str:
    name = resolve_ident(name)
    return '"' + name.replace('"', '""') + '"'


def _arrow_type(column: str, type_code: int, precision: int | None, scale: int | None) -> pa.DataType:
    """Arrow type of a result column from its ``ResultMetadata``."""
    if type_code == _FIXED:
        if not scale and (precision or 38) <= _MAX_INT64_DIGITS:
            return pa.int64()
        return pa.decimal128(precision or 38, scale or 0)
    simple = {
        _REAL: pa.float64(),
        _TEXT: pa.string(),
        _DATE: pa.date32(),
        _BOOLEAN: pa.bool_(),
        _BINARY: pa.binary(),
        _TIME: pa.time64("us"),
        _TIMESTAMP: pa.timestamp("us"),
        _TS_NTZ: pa.timestamp("us"),
        _TS_LTZ: pa.timestamp("us", tz="UTC"),
        _TS_TZ: pa.timestamp("us", tz="UTC"),
        # Semi-structured values arrive as their JSON text; Iceberg has no JSON type.
        _VARIANT: pa.string(),
        _OBJECT: pa.string(),
        _ARRAY: pa.string(),
    }
    try:
        return simple[type_code]
    except KeyError:
        from snowflake.connector.constants import FIELD_TYPES

        name = FIELD_TYPES[type_code].name if 0 <= type_code < len(FIELD_TYPES) else f"code {type_code}"
        raise UnsupportedColumnError(f"column {column!r}: Snowflake type {name} has no Iceberg mapping") from None


class SnowflakeReader(DbApiReader):
    """Reads tables and views of one Snowflake account."""

    source_type = "snowflake"

    def connect_kwargs(self) -> dict:
        """The connector's parameters. From a URI only the account, user, password, database and
        the allow-listed query keys (:data:`~airflow_provider_chimera.contract.source_rules.SNOWFLAKE_QUERY_KEYS`);
        host, port, protocol and authenticator come only from a platform-owned connection (``conn_id``)."""
        connection = self.source.connection
        if connection.uri is not None:
            problems = snowflake_query_problems(connection.uri)
            if problems:
                raise SourceRefusedError(f"source {self.source.name!r}: connection uri: {problems[0]}; {SNOWFLAKE_HINT}")
            url = urlsplit(self.resolved_uri())
            query = {k: v[-1] for k, v in parse_qs(url.query).items() if k in SNOWFLAKE_QUERY_KEYS}
            database, _, schema = url.path.lstrip("/").partition("/")
            kwargs = {
                "user": unquote(url.username or ""),
                "password": unquote(url.password or ""),
                "account": url.hostname or "",
                "database": database or None,
                "schema": schema or None,
                **query,
                "login_timeout": connect_timeout_s(),
            }
            return {k: v for k, v in kwargs.items() if v is not None}
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        hook = SnowflakeHook(snowflake_conn_id=connection.conn_id)
        # The provider hook builds the connector's parameters (auth, role, warehouse, host and
        # port from extras); it does not pass ``protocol`` on, which http endpoints need.
        kwargs = hook._get_conn_params()
        extra = hook.get_connection(connection.conn_id).extra_dejson
        if extra.get("protocol"):
            kwargs["protocol"] = extra["protocol"]
        kwargs.setdefault("login_timeout", connect_timeout_s())
        return kwargs

    def connect(self):
        import snowflake.connector

        return snowflake.connector.connect(**self.connect_kwargs())

    def object_columns(self, conn, name: str) -> list[str] | None:
        from snowflake.connector.errors import ProgrammingError

        table = ".".join(quote_ident(part) for part in name.split("."))
        with conn.cursor() as cur:
            try:
                # ``describe`` compiles the query and returns its columns without running it.
                described = cur.describe(f"SELECT * FROM {table}")
            except ProgrammingError as exc:
                if exc.sqlstate == _NO_SUCH_OBJECT:
                    return None
                raise
        return [m.name for m in described]

    def object_names(self, conn) -> list[str]:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema <> 'INFORMATION_SCHEMA' ORDER BY 1"
            )
            return [name for (name,) in cur.fetchall()]

    def resolve_column(self, name: str) -> str:
        return resolve_ident(name)

    def extract(
        self, obj: SourceObject, since: Position | None, window: Window | None = None, limit: int | None = None
    ) -> SnowflakeExtract:
        """``limit`` is ignored: every record past ``since`` is read (``stream`` mode reads Kafka only)."""
        return SnowflakeExtract(self, obj, since, window)


class SnowflakeExtract(CursorExtract):
    hook: SnowflakeReader

    def __init__(self, hook: SnowflakeReader, obj: SourceObject, since: Position | None, window: Window | None = None):
        super().__init__(hook, obj, since)
        since_cursor = self.since_cursor
        select = ", ".join(quote_ident(c) for c in obj.columns) if obj.columns else "*"
        table = ".".join(quote_ident(part) for part in obj.name.split("."))
        self.sql = f"SELECT {select} FROM {table}"
        self.params: tuple = ()
        if self.cursor_column and since_cursor is not None:
            self.sql += f" WHERE {quote_ident(self.cursor_column)} > %s"
            self.params = (since_cursor,)
        with hook.connect() as conn, conn.cursor() as cur:
            try:
                described = cur.describe(self.sql, self.params or None)
            except Exception as exc:
                raise LookupError(f"{obj.name}: cannot be read: {exc}") from exc
        self.schema = pa.schema([pa.field(m.name, _arrow_type(m.name, m.type_code, m.precision, m.scale)) for m in described])
        self.check_columns(self.schema.names, [])
        if window is not None:
            self._limit_to(window, table)

    def _limit_to(self, window: Window, table: str) -> None:
        """Add ``start <= column < end``; the bounds' type follows the column's (described) type."""
        column = resolve_ident(window.column)
        if column in self.schema.names:
            column_type = self.schema.field(column).type
        else:  # a column the object does not select can still bound the read
            with self.hook.connect() as conn, conn.cursor() as cur:
                described = {m.name: m for m in cur.describe(f"SELECT * FROM {table}")}
            if column not in described:
                raise LookupError(f"{self.obj.name}: partition column {window.column!r} does not exist")
            m = described[column]
            column_type = _arrow_type(m.name, m.type_code, m.precision, m.scale)
        start, end = window.bounds(column_type)
        predicate = f"{quote_ident(window.column)} >= %s AND {quote_ident(window.column)} < %s"
        self.sql += (" AND " if self.params else " WHERE ") + predicate  # params: the cursor's bound
        self.params = (*self.params, start, end)

    def resolve_column(self, name: str) -> str:
        return resolve_ident(name)

    def batches(self) -> Iterator[pa.RecordBatch]:
        with self.hook.connect() as conn, conn.cursor() as cur:
            cur.execute(self.sql, self.params or None)
            for table in cur.fetch_arrow_batches():
                table = table.cast(self.schema)  # also drops the connector's field metadata
                for batch in table.to_batches(max_chunksize=self.hook.batch_rows):
                    self._tracker.observe(batch)
                    yield batch
