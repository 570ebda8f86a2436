"""PDF documents: one row per page, with the document's metadata, read with pypdf.

The connection and ``path`` work as for ``file`` sources (a base location and a glob below it);
``incremental`` reads only files no earlier snapshot recorded. Every page becomes a row of
:data:`PAGE_SCHEMA`. A document that cannot yield text — encrypted, scanned without a text layer,
or corrupt — yields no rows: it is reported as :class:`~.base.Rejected` with the reason, for the
quarantine table, and the run goes on with the other documents. So is a document larger than
``[chimera] pdf_max_mb``, without being opened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator

import pyarrow as pa

from airflow_provider_chimera.contract.model import SourceObject
from airflow_provider_chimera.sources.base import Extract, Position, Rejected
from airflow_provider_chimera.sources.file import FileReader
from airflow_provider_chimera.sources.window import Window

PAGE_SCHEMA = pa.schema(
    [
        pa.field("document_id", pa.string(), nullable=False),  # sha256 of the file's bytes
        pa.field("path", pa.string(), nullable=False),
        pa.field("page_number", pa.int32(), nullable=False),  # from 1
        pa.field("text", pa.string()),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("modified_at", pa.timestamp("us", tz="UTC")),
        pa.field("page_count", pa.int32(), nullable=False),
    ]
)


class PdfReader(FileReader):
    """Reads PDF documents of one base location."""

    source_type = "pdf"

    def extract(
        self, obj: SourceObject, since: Position | None, window: Window | None = None, limit: int | None = None
    ) -> PdfExtract:
        """Every document no snapshot recorded; ``window`` and ``limit`` are ignored (a document has no
        window column, and ``stream`` mode reads Kafka only)."""
        from airflow_provider_chimera.settings import load_settings

        confinement, todo, done = self.pending_files(obj, since)
        return PdfExtract(confinement, todo, done, self.batch_rows, max_bytes=load_settings().pdf_max_mb << 20)


class PdfExtract(Extract):
    schema = PAGE_SCHEMA

    def __init__(self, confinement, files: list[str], done: list[str], batch_rows: int, max_bytes: int = 50 << 20):
        self.confinement = confinement
        self.max_bytes = max_bytes
        self.files = files
        self._done = done
        self.batch_rows = batch_rows
        self.rejected: list[Rejected] = []

    def position(self) -> Position:
        return Position(files=self._done)

    def batches(self) -> Iterator[pa.RecordBatch]:
        rows: list[dict] = []
        for name in self.files:
            rows.extend(self._pages(name))
            while len(rows) >= self.batch_rows:
                yield pa.RecordBatch.from_pylist(rows[: self.batch_rows], schema=PAGE_SCHEMA)
                rows = rows[self.batch_rows :]
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=PAGE_SCHEMA)

    def _pages(self, name: str) -> list[dict]:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        size = self.confinement.fs.size(self.confinement.check(name))
        if size is not None and size > self.max_bytes:
            # Not opened: pypdf holds the whole document (and more) in memory.
            return self._reject(name, f"too large: {size / (1 << 20):.1f} MiB, over [chimera] pdf_max_mb "
                                      f"({self.max_bytes >> 20} MiB); split it or ask the platform team to raise the cap")
        with self.confinement.open(name) as handle:
            data = handle.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:  # grew since its size was read
            return self._reject(name, f"too large: over [chimera] pdf_max_mb ({self.max_bytes >> 20} MiB)")
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens some
                return self._reject(name, "encrypted: the document needs a password")
            texts = [page.extract_text() or "" for page in reader.pages]
            meta = reader.metadata
            details = {
                "title": _text(meta.get("/Title")) if meta else None,
                "author": _text(meta.get("/Author")) if meta else None,
                "created_at": _date(meta.creation_date) if meta else None,
                "modified_at": _date(meta.modification_date) if meta else None,
            }
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
            return self._reject(name, f"corrupt: {type(exc).__name__}: {exc}")
        if not any(text.strip() for text in texts):
            return self._reject(name, "no text layer (a scan?): no page yields text; OCR it first")
        document_id = hashlib.sha256(data).hexdigest()
        common = {
            "document_id": document_id,
            "path": name,
            **details,
            "page_count": len(texts),
        }
        return [{**common, "page_number": i + 1, "text": text} for i, text in enumerate(texts)]

    def _reject(self, name: str, reason: str) -> list[dict]:
        self.rejected.append(Rejected(reason=reason, position=name))
        return []


def _text(value) -> str | None:
    return str(value) if value is not None else None


def _date(value) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
