"""Files: CSV and JSON Lines under a base folder, read with a declared schema; each append is a new file."""

from __future__ import annotations

import json
from abc import abstractmethod
from typing import Any

from tests.conformance import declared
from tests.conformance.harness import SourceHarness


class _FileHarness(SourceHarness):
    source_type = "file"
    format: str
    suffix: str
    incremental_mode = {"type": "incremental"}  # new files, not a cursor

    def prepare(self) -> None:
        self.base = self.fixture("tmp_path") / "drop"
        self.base.mkdir()

    def connection(self) -> dict[str, Any]:
        return {"uri": self.base.as_uri()}

    @property
    def object_name(self) -> str:
        return "things"

    def object_fields(self) -> dict[str, Any]:
        return {"path": f"*.{self.suffix}", "format": self.format, "schema": declared.SCHEMA}

    def create_object(self, rows: int) -> None:
        self.append_rows(1, rows)

    def append_rows(self, first: int, last: int) -> None:
        self.write(f"part-{first:05d}", [declared.record(n) for n in range(first, last + 1)])

    @abstractmethod
    def write(self, stem: str, records: list[dict[str, Any]], raw_lines: tuple[str, ...] = ()) -> None:
        """A new file ``<stem>.<suffix>`` holding ``records``, then ``raw_lines`` as they are."""

    def expected_types(self) -> dict[str, str]:
        return declared.ICEBERG_TYPES

    def expected_row(self, n: int) -> dict[str, Any]:
        return declared.expected_row(n)

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        path = f"missing/*.{self.suffix}"
        return self.source({"type": "full"}, path=path), path

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        return {"uri": (self.base / "no-such-folder").as_uri()}, ""  # a file base holds no secret


class CsvHarness(_FileHarness):
    name = "file-csv"
    format = "csv"
    suffix = "csv"

    def write(self, stem: str, records: list[dict[str, Any]], raw_lines: tuple[str, ...] = ()) -> None:
        def text(value: Any) -> str:
            return str(value).lower() if isinstance(value, bool) else str(value)

        lines = [",".join(declared.FIELDS), *(",".join(text(r[f]) for f in declared.FIELDS) for r in records)]
        (self.base / f"{stem}.csv").write_text("\n".join([*lines, *raw_lines]) + "\n")

    def add_bad_record(self) -> str:
        self.write("bad", [], raw_lines=("not-a-number,x,1.00,true,2026-11-02,2026-11-01T00:00:00Z",))
        return "field 'id' does not hold a long"


class JsonHarness(_FileHarness):
    name = "file-json"
    format = "json"
    suffix = "jsonl"

    def write(self, stem: str, records: list[dict[str, Any]], raw_lines: tuple[str, ...] = ()) -> None:
        lines = [json.dumps(r) for r in records]
        (self.base / f"{stem}.jsonl").write_text("\n".join([*lines, *raw_lines]) + "\n")

    def add_bad_record(self) -> str:
        self.write("bad", [], raw_lines=("not json",))
        return "not valid JSON"
