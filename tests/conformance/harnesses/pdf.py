"""PDF documents: one row per page; each append is a new document whose pages are the new rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from tests.conformance.harness import SourceHarness
from tests.unit.sources.pdfs import make_pdf


class PdfHarness(SourceHarness):
    source_type = "pdf"
    key = "text"  # page n reads "row n"
    incremental_mode = {"type": "incremental"}  # new documents, not a cursor

    def prepare(self) -> None:
        self.base = self.fixture("tmp_path") / "contracts"
        self.base.mkdir()
        self.pages: dict[int, tuple[Path, int, int]] = {}  # row number -> (document, page number, page count)

    def connection(self) -> dict[str, Any]:
        return {"uri": self.base.as_uri()}

    @property
    def object_name(self) -> str:
        return "contracts"

    def object_fields(self) -> dict[str, Any]:
        return {"path": "*.pdf"}

    def create_object(self, rows: int) -> None:
        self.append_rows(1, rows)

    def append_rows(self, first: int, last: int) -> None:
        document = make_pdf(self.base / f"doc-{first:05d}.pdf", [f"row {n}" for n in range(first, last + 1)])
        for n in range(first, last + 1):
            self.pages[n] = (document, n - first + 1, last - first + 1)

    def add_bad_record(self) -> str:
        make_pdf(self.base / "locked.pdf", ["Secret terms"], password="s3cret")
        return "encrypted"

    def row_number(self, row: dict[str, Any]) -> int:
        return int(row["text"].split()[-1])

    def expected_types(self) -> dict[str, str]:
        return {
            "document_id": "string",
            "path": "string",
            "page_number": "int",
            "text": "string",
            "title": "string",
            "author": "string",
            "created_at": "timestamptz",
            "modified_at": "timestamptz",
            "page_count": "int",
        }

    def expected_row(self, n: int) -> dict[str, Any]:
        document, page, count = self.pages[n]
        return {
            "document_id": hashlib.sha256(document.read_bytes()).hexdigest(),
            "path": str(document),
            "page_number": page,
            "text": f"row {n}",
            "title": "Contract",
            "author": "Legal",
            "created_at": dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc),
            "modified_at": None,
            "page_count": count,
        }

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        return self.source({"type": "full"}, path="missing/*.pdf"), "missing/*.pdf"

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        return {"uri": (self.base / "no-such-folder").as_uri()}, ""  # a file base holds no secret
