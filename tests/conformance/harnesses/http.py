"""HTTP/REST APIs: the ``http`` source plugin against a local JSON API started by the test
(``tests.http_api``, page-number pagination), registered through its entry point as once installed."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

from tests.conformance.harness import SourceHarness
from tests.helpers import record_schema
from tests.mailbox import free_port

WRONG_PASSWORD = "wrong-Conformance-4711"
SCHEMA = record_schema(
    ["id"],
    id="long",
    name="string",
    amount="decimal(10,2)",
    active="boolean",
    tags="json",
    day="date",
    seen_at="timestamp",
    updated_at="timestamptz",
)
_START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
OPTIONS = {
    "pagination": {"type": "page", "page_size": 5},
    "records_path": "data",
    "incremental_param": "updated_since",
}


def _record(n: int) -> dict[str, Any]:
    at = _START + dt.timedelta(minutes=n)
    return {
        "id": n,
        "name": f"thing {n}",
        "amount": f"{n}.50",
        "active": n % 2 == 0,
        "tags": {"colour": "red", "n": n},
        "day": (at + dt.timedelta(days=n)).date().isoformat(),
        "seen_at": at.replace(tzinfo=None).isoformat(),
        "updated_at": at.isoformat().replace("+00:00", "Z"),
        "ignored": "not in the schema",
    }


class HttpHarness(SourceHarness):
    source_type = "http"

    def prepare(self) -> None:
        self.fixture("http_source")  # the plugin's entry point, on a throw-away dist-info
        self.api = self.fixture("http_api")

    def connection(self) -> dict[str, Any]:
        return {"uri": self.api.base_url}

    @property
    def object_name(self) -> str:
        return "things"

    def object_fields(self) -> dict[str, Any]:
        return {"path": "page/things", "schema": SCHEMA}

    def source(self, mode: dict[str, Any], *, object_name: str | None = None, **object_fields: Any) -> dict[str, Any]:
        return {**super().source(mode, object_name=object_name, **object_fields), "options": OPTIONS}

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        return self.source({"type": "full"}, object_name="chimera_missing", path="page/chimera_missing"), "chimera_missing"

    def create_object(self, rows: int) -> None:
        self.api.data["things"] = [_record(n) for n in range(1, rows + 1)]

    def append_rows(self, first: int, last: int) -> None:
        self.api.data["things"].extend(_record(n) for n in range(first, last + 1))

    def add_bad_record(self) -> str:
        self.api.data["things"].append({**_record(999), "id": "nine"})
        return "field 'id' does not hold a long"

    def expected_types(self) -> dict[str, str]:
        return {
            "id": "long",
            "name": "string",
            "amount": "decimal(10, 2)",
            "active": "boolean",
            "tags": "string",
            "day": "date",
            "seen_at": "timestamp",
            "updated_at": "timestamptz",
        }

    def expected_row(self, n: int) -> dict[str, Any]:
        at = _START + dt.timedelta(minutes=n)
        return {
            "id": n,
            "name": f"thing {n}",
            "amount": decimal.Decimal(f"{n}.50"),
            "active": n % 2 == 0,
            "tags": json.dumps({"colour": "red", "n": n}, separators=(",", ":")),
            "day": (at + dt.timedelta(days=n)).date(),
            "seen_at": at.replace(tzinfo=None),
            "updated_at": at,
        }

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        self.fixture("monkeypatch").setenv("QA_CONF_HTTP_PASSWORD", WRONG_PASSWORD)
        return {"uri": f"http://qa:${{env:QA_CONF_HTTP_PASSWORD}}@127.0.0.1:{free_port()}/"}, WRONG_PASSWORD
