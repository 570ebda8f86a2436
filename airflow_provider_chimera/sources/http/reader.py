"""The HTTP source's reader: each object is an endpoint (``path``) whose JSON records are read page
by page into the object's declared ``schema``; records that do not fit go to quarantine.

``incremental`` objects name a ``cursor`` field: the last value read is the next run's start, sent
as the query parameter ``incremental_param`` (e.g. ``updated_since``) and applied again here, so an
API that filters with ``>=`` or not at all reads no record twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_chimera.contract.arrow import arrow_schema
from airflow_provider_chimera.contract.model import SourceObject
from airflow_provider_chimera.sources.base import (
    CursorTracker,
    Extract,
    Position,
    Rejected,
    SourceReader,
    cursor_column,
)
from airflow_provider_chimera.sources.http.client import (
    HttpClient,
    HttpRequestError,
    endpoint_from_connection,
    endpoint_from_uri,
)
from airflow_provider_chimera.sources.http.options import HttpObjectOptions, HttpOptions
from airflow_provider_chimera.sources.http.pages import pages
from airflow_provider_chimera.sources.records import JsonRecords
from airflow_provider_chimera.sources.window import Window

# Records of the first page looked at to find the fields an object names.
SAMPLE_RECORDS = 100


class HttpReader(SourceReader):
    """Reads the endpoints of one HTTP/REST API."""

    source_type = "http"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.options = HttpOptions.model_validate(self.source.options or {})

    def client(self, retries: bool = True) -> HttpClient:
        """A client of the source's base URL with its credentials; the caller closes it (``with``).
        Without ``retries``, each request is tried once (connection tests answer at once)."""
        connection = self.source.connection
        if connection.uri is not None:
            endpoint = endpoint_from_uri(self.resolved_uri())
        else:
            endpoint = endpoint_from_connection(str(connection.conn_id))
        options = self.options if retries else self.options.model_copy(update={"max_retries": 0})
        return HttpClient(endpoint, options)

    def object_options(self, obj: SourceObject) -> HttpObjectOptions:
        return HttpObjectOptions.model_validate(obj.options or {})

    def records_path(self, obj: SourceObject) -> str:
        own = self.object_options(obj).records_path
        return self.options.records_path if own is None else own

    def extract(self, obj: SourceObject, since: Position | None, window: Window | None = None) -> HttpExtract:
        if window is not None:
            raise HttpRequestError(f"{obj.name}: an 'http' source reads in 'full' or 'incremental' mode, not 'partitioned'")
        return HttpExtract(self, obj, since)

    def probe(self) -> str:
        with self.client(retries=False) as client:
            response = client.get(self.options.probe_path)
        return f"connected (HTTP {response.status_code})"

    def check_object(self, obj: SourceObject) -> list[str]:
        """The endpoint answers its first page, the records are where ``records_path`` says, and
        the fields the object names (and its cursor) occur in its first records."""
        with self.client() as client:
            try:
                first = next(pages(client, obj.path or "", self.object_options(obj).params, self.records_path(obj)))
            except HttpRequestError as exc:
                return [str(exc)]
        sample = [r for r in first.records[:SAMPLE_RECORDS] if isinstance(r, dict)]
        if not sample:
            return []  # nothing to look for yet
        seen = {key for record in sample for key in record}
        problems = []
        missing = [name for name in obj.columns or [] if name not in seen]
        if missing:
            problems.append(f"fields {missing} occur in none of the first {len(sample)} records")
        cursor = cursor_column(obj)
        if cursor and cursor not in seen:
            problems.append(f"cursor field {cursor!r} occurs in none of the first {len(sample)} records")
        return problems

    def list_objects(self) -> list[str]:
        """An HTTP API does not list its endpoints: an intent names each one (``path``)."""
        return []


class HttpExtract(Extract):
    """The records of one endpoint past the last cursor value, page by page."""

    def __init__(self, reader: HttpReader, obj: SourceObject, since: Position | None):
        assert obj.schema_ is not None  # the plugin's capabilities require one
        self.reader = reader
        self.obj = obj
        self.schema = arrow_schema(obj.schema_, obj.columns)
        self.records = JsonRecords(obj.schema_, obj.columns)
        self.rejected: list[Rejected] = []
        self.cursor = cursor_column(obj)
        self.since = since.cursor if since else None
        if self.cursor and self.cursor not in self.schema.names:
            raise HttpRequestError(f"{obj.name}: cursor field {self.cursor!r} is not in the object's schema")
        self._tracker = CursorTracker(self.cursor, self.since)

    def params(self) -> dict[str, str]:
        params = dict(self.reader.object_options(self.obj).params)
        if self.since is not None and self.cursor and self.reader.options.incremental_param:
            params[self.reader.options.incremental_param] = self.since
        return params

    def batches(self) -> Iterator[pa.RecordBatch]:
        path = self.obj.path or ""
        with self.reader.client() as client:
            for page in pages(client, path, self.params(), self.reader.records_path(self.obj)):
                for start in range(0, len(page.records), self.reader.batch_rows):
                    yield from self._batch(page.records[start : start + self.reader.batch_rows], page.number, start)

    def _batch(self, records: list, page: int, start: int) -> Iterator[pa.RecordBatch]:
        payloads = [json.dumps(record, ensure_ascii=False).encode() for record in records]
        table, reasons = self.records.read(payloads)
        for index, reason in reasons.items():
            raw = payloads[index].decode()
            self.rejected.append(Rejected(reason=reason, position=f"{self.obj.path} page {page} record {start + index}", raw=raw))
        if self.since is not None and self.cursor and table.num_rows:
            column = table.column(self.cursor)
            after = pc.greater(column, pa.scalar(self.since).cast(column.type))
            table = table.filter(pc.fill_null(after, False))
        for batch in table.to_batches(max_chunksize=self.reader.batch_rows):
            if batch.num_rows:
                self._tracker.observe(batch)
                yield batch

    def position(self) -> Position:
        return Position(cursor=self._tracker.value)
