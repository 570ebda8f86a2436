"""MongoDB collections, read with ``pymongo`` into the object's declared schema.

The connection comes from the Mongo provider's hook (``conn_id``; its ``schema`` is the
database) or the intent's URI (``mongodb://user:${secret:pw}@host:27017/db``). Documents are
schemaless, so the contract requires a ``schema``: each declared field is taken from the
document's top level and converted to the declared type (``json`` fields keep the value as JSON
text, ``string`` fields take ObjectIds and UUIDs as text). A document with a value that does not
convert, or without a non-nullable field, goes to quarantine with the reason naming the field,
its position ``_id=<id>`` and the document as relaxed Extended JSON; the read goes on.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_chimera.contract.arrow import arrow_schema
from airflow_provider_chimera.contract.model import SourceObject
from airflow_provider_chimera.sources.base import (
    CursorExtract,
    Position,
    Rejected,
    SourceReader,
    connect_timeout_s,
    cursor_column,
)
from airflow_provider_chimera.sources.records import READ_ERRORS
from airflow_provider_chimera.sources.window import Window

# Documents looked at to find the fields an object names (documents need not share fields).
SAMPLE_DOCUMENTS = 100


class MongoReader(SourceReader):
    """Reads collections of one MongoDB database."""

    source_type = "mongodb"

    def client_and_database(self):
        """A new client and the source's database; the caller closes the client (``with client:``).
        Every failure after the client exists closes it here: no client outlives its use."""
        connection = self.source.connection
        timeouts = {"serverSelectionTimeoutMS": connect_timeout_s() * 1000, "connectTimeoutMS": connect_timeout_s() * 1000}
        if connection.uri is not None:
            import pymongo

            client = pymongo.MongoClient(self.resolved_uri(), tz_aware=True, **timeouts)
            try:
                database = client.get_default_database(default=None)
                if database is None:
                    raise ValueError(f"source {self.source.name!r}: the connection URI names no database")
            except BaseException:
                client.close()
                raise
            return client, database
        from airflow.providers.mongo.hooks.mongo import MongoHook

        hook = MongoHook(mongo_conn_id=connection.conn_id)
        for key, value in timeouts.items():  # the platform's connection extras win
            hook.extras.setdefault(key, value)
        client = hook.get_conn()
        try:
            codecs = client.codec_options.with_options(tz_aware=True)
            return client, client.get_database(hook.connection.schema, codec_options=codecs)
        except BaseException:
            client.close()
            raise

    def extract(
        self, obj: SourceObject, since: Position | None, window: Window | None = None, limit: int | None = None
    ) -> MongoExtract:
        """``limit`` is ignored: every record past ``since`` is read (``stream`` mode reads Kafka only)."""
        return MongoExtract(self, obj, since, window)

    def probe(self) -> str:
        client, database = self.client_and_database()
        with client:
            database.command("ping")
        return "connected"

    def check_objects(self, objects: list[SourceObject]) -> dict[str, list[str]]:
        """Each collection must exist; the fields an object names and its cursor field must occur
        in at least one of the collection's first :data:`SAMPLE_DOCUMENTS` documents."""
        client, database = self.client_and_database()
        with client:
            existing = set(database.list_collection_names())
            return {obj.name: self._check(database, obj, existing) for obj in objects}

    def check_object(self, obj: SourceObject) -> list[str]:
        return self.check_objects([obj])[obj.name]

    def _check(self, database, obj: SourceObject, existing: set[str]) -> list[str]:
        if obj.name not in existing:
            return [f"collection {obj.name!r} does not exist"]
        cursor = cursor_column(obj)
        wanted = list(dict.fromkeys([*(obj.columns or []), *([cursor] if cursor else [])]))
        if not wanted:
            return []
        sample = list(database[obj.name].find({}, {name: 1 for name in wanted}, limit=SAMPLE_DOCUMENTS))
        if not sample:
            return []  # an empty collection has no fields to look for yet
        seen = {key for document in sample for key in document}
        problems = []
        missing = [name for name in obj.columns or [] if name not in seen]
        if missing:
            problems.append(f"fields {missing} occur in none of the first {len(sample)} documents")
        if cursor and cursor not in seen:
            problems.append(f"cursor field {cursor!r} occurs in none of the first {len(sample)} documents")
        return problems

    def list_objects(self) -> list[str]:
        client, database = self.client_and_database()
        with client:
            return sorted(database.list_collection_names())


class MongoExtract(CursorExtract):
    hook: MongoReader

    def __init__(self, hook: MongoReader, obj: SourceObject, since: Position | None, window: Window | None = None):
        assert obj.schema_ is not None  # the contract requires one for mongodb objects
        super().__init__(hook, obj, since)
        self.schema = arrow_schema(obj.schema_, obj.columns)
        self.check_columns(arrow_schema(obj.schema_).names, [])
        self.rejected: list[Rejected] = []
        self._labels = {f.name: f.type for f in obj.schema_.fields}
        self.filter: dict[str, Any] = {}
        if self.cursor_column and self.since_cursor is not None:
            cursor_type = arrow_schema(obj.schema_).field(self.cursor_column).type
            self.filter = {self.cursor_column: {"$gt": _typed(self.since_cursor, cursor_type)}}
        if window is not None:
            declared = arrow_schema(obj.schema_)
            if window.column not in declared.names:
                raise LookupError(f"{obj.name}: partition field {window.column!r} is not in the object's schema")
            # BSON stores instants (UTC); a date field is stored as its midnight.
            start, end = window.bounds(declared.field(window.column).type)
            bounds = {"$gte": _bson_instant(start), "$lt": _bson_instant(end)}
            in_window = {window.column: bounds}
            self.filter = {"$and": [self.filter, in_window]} if self.filter else in_window

    def batches(self) -> Iterator[pa.RecordBatch]:
        client, database = self.hook.client_and_database()
        projection = {name: 1 for name in self.schema.names}
        with client:
            if self.obj.name not in database.list_collection_names():
                # Reading a missing collection yields nothing: a full reload would empty the table.
                raise LookupError(f"{self.obj.name}: collection does not exist")
            documents = database[self.obj.name].find(self.filter, projection, batch_size=min(self.hook.batch_rows, 10_000))
            chunk: list[dict] = []
            for document in documents:
                chunk.append(document)
                if len(chunk) >= self.hook.batch_rows:
                    yield from self._batch(chunk)
                    chunk = []
            if chunk:
                yield from self._batch(chunk)

    def _batch(self, documents: list[dict]) -> Iterator[pa.RecordBatch]:
        """The documents that convert, as (at most) one batch; the others rejected with the reason.
        The cursor moves past rejected documents too, so they are not read again."""
        reasons: dict[int, str] = {}
        arrays = [self._column(documents, field, reasons) for field in self.schema]
        for field, array in zip(self.schema, arrays):
            if not field.nullable and array.null_count:
                for row in pc.indices_nonzero(pc.is_null(array)).to_pylist():
                    reasons.setdefault(row, f"field {field.name!r} is missing or null, and it is not nullable")
        nullable = pa.schema([f.with_nullable(True) for f in self.schema])
        batch = pa.RecordBatch.from_arrays(arrays, schema=nullable)
        self._tracker.observe(batch)
        if reasons:
            from bson import json_util

            for row in sorted(reasons):
                document = documents[row]
                raw = json_util.dumps(document, json_options=json_util.RELAXED_JSON_OPTIONS)
                self.rejected.append(Rejected(reason=reasons[row], position=f"_id={document.get('_id')!s}", raw=raw))
            keep = np.ones(len(documents), dtype=bool)
            keep[list(reasons)] = False
            batch = batch.filter(pa.array(keep))
        if batch.num_rows:
            yield batch.cast(self.schema)

    def _column(self, documents: list[dict], field: pa.Field, reasons: dict[int, str]) -> pa.Array:
        """One field of every document; a value that does not convert is noted in ``reasons`` (by
        document) and left null."""
        try:
            return pa.array([_plain(doc.get(field.name), field.type) for doc in documents], type=field.type)
        except READ_ERRORS:
            pass
        values = []
        for index, document in enumerate(documents):
            value = document.get(field.name)
            try:
                plain = _plain(value, field.type)
                pa.array([plain], type=field.type)
            except READ_ERRORS:
                label = self._labels.get(field.name, str(field.type))
                reasons.setdefault(index, f"field {field.name!r}: a {type(value).__name__} value does not convert to {label}")
                plain = None
            values.append(plain)
        return pa.array(values, type=field.type)


def _plain(value: Any, arrow_type: pa.DataType) -> Any:
    """A BSON value as the Python value Arrow converts to ``arrow_type``."""
    if value is None:
        return None
    if pa.types.is_string(arrow_type):
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            from bson import json_util

            # JSON text of embedded documents and arrays (``json`` fields), in relaxed form.
            return json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS)
        if isinstance(value, bytes):
            if getattr(value, "subtype", None) == 4:  # a standard-representation UUID
                return str(value.as_uuid())
            return value  # other binary: taken as UTF-8 text, or the read stops naming the document
        return str(value)  # ObjectId, UUID, numbers declared as strings
    if pa.types.is_decimal(arrow_type):
        if hasattr(value, "to_decimal"):  # Decimal128
            return value.to_decimal()
        if isinstance(value, float):
            # Amounts are often stored as doubles: take the shortest decimal that prints the
            # same double, rounded to the declared scale.
            return decimal.Decimal(repr(value)).quantize(decimal.Decimal(1).scaleb(-arrow_type.scale), decimal.ROUND_HALF_EVEN)
    if pa.types.is_date(arrow_type) and isinstance(value, dt.datetime):
        return value.date()
    return value


def _bson_instant(value: dt.date | dt.datetime) -> dt.datetime:
    """A window bound as the aware UTC datetime BSON compares with."""
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _typed(text: str, arrow_type: pa.DataType) -> Any:
    """A cursor position (as recorded in a snapshot) back in the field's BSON type."""
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        value = dt.datetime.fromisoformat(text)
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if pa.types.is_integer(arrow_type):
        return int(text)
    if pa.types.is_floating(arrow_type):
        return float(text)
    if pa.types.is_decimal(arrow_type):
        from bson.decimal128 import Decimal128

        return Decimal128(decimal.Decimal(text))
    return text
