"""Files: CSV and JSON Lines under a base folder, read with a declared schema; one file per batch of rows."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from abc import abstractmethod
from typing import Any

from tests.conformance.harness import SourceHarness
from tests.helpers import record_schema

SCHEMA = record_schema(
    ["id"], id="long", name="string", amount="decimal(10,2)", paid="boolean", day="date", ts="timestamptz"
)


def _record(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "name": f"row {n}",
        "amount": f"{n}.25",
        "paid": n % 2 == 0,
        "day": (dt.date(2026, 11, 1) + dt.timedelta(days=n)).isoformat(),
        "ts": f"2026-11-01T00:{n // 60:02d}:{n % 60:02d}Z",
    }


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
        return {"path": f"*.{self.suffix}", "format": self.format, "schema": SCHEMA}

    def create_object(self, rows: int) -> None:
        self.append_rows(1, rows)

    def append_rows(self, first: int, last: int) -> None:
        self.write(f"part-{first:05d}", [_record(n) for n in range(first, last + 1)])

    @abstractmethod
    def write(self, stem: str, records: list[dict[str, Any]], raw_lines: list[str] = ()) -> None:
        """A new file ``<stem>.<suffix>`` holding ``records``, then ``raw_lines`` as they are."""

    def expected_types(self) -> dict[str, str]:
        return {"id": "long", "name": "string", "amount": "decimal(10, 2)", "paid": "boolean", "day": "date", "ts": "timestamptz"}

    def expected_row(self, n: int) -> dict[str, Any]:
        return {
            "id": n,
            "name": f"row {n}",
            "amount": decimal.Decimal(f"{n}.25"),
            "paid": n % 2 == 0,
            "day": dt.date(2026, 11, 1) + dt.timedelta(days=n),
            "ts": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=n),
        }

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        path = f"missing/*.{self.suffix}"
        return self.source({"type": "full"}, path=path), path

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        return {"uri": (self.base / "no-such-folder").as_uri()}, ""  # a file base holds no secret


class CsvHarness(_FileHarness):
    name = "file-csv"
    format = "csv"
    suffix = "csv"

    def write(self, stem: str, records: list[dict[str, Any]], raw_lines: list[str] = ()) -> None:
        header = list(SCHEMA_FIELDS)
        lines = [",".join(header)]
        lines += [",".join(str(r[f]).lower() if isinstance(r[f], bool) else str(r[f]) for f in header) for r in records]
        (self.base / f"{stem}.csv").write_text("\n".join([*lines, *raw_lines]) + "\n")

    def add_bad_record(self) -> str:
        self.write("bad", [], raw_lines=["not-a-number,x,1.00,true,2026-11-02,2026-11-01T00:00:00Z"])
        return "field 'id' does not hold a long"


class JsonHarness(_FileHarness):
    name = "file-json"
    format = "json"
    suffix = "jsonl"

    def write(self, stem: str, records: list[dict[str, Any]], raw_lines: list[str] = ()) -> None:
        lines = [json.dumps(r) for r in records]
        (self.base / f"{stem}.jsonl").write_text("\n".join([*lines, *raw_lines]) + "\n")

    def add_bad_record(self) -> str:
        self.write("bad", [], raw_lines=["not json"])
        return "not valid JSON"


SCHEMA_FIELDS = [field["name"] for field in SCHEMA["fields"]]
