"""Representative records for sources read with a schema declared in the intent (files, Kafka...).

Record ``n`` as the source holds it (:func:`record`, JSON-ready) and as it reads back from Iceberg
(:func:`expected_row`), with :data:`SCHEMA` (the object's ``schema``) and :data:`ICEBERG_TYPES`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from tests.helpers import record_schema

SCHEMA = record_schema(["id"], id="long", name="string", amount="decimal(10,2)", paid="boolean", day="date", ts="timestamptz")
FIELDS = [field["name"] for field in SCHEMA["fields"]]
ICEBERG_TYPES = {"id": "long", "name": "string", "amount": "decimal(10, 2)", "paid": "boolean", "day": "date", "ts": "timestamptz"}

_DAY = dt.date(2026, 11, 1)
_START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def record(n: int) -> dict[str, Any]:
    """Record ``n`` with every value written as JSON carries it (decimals, dates and instants as text)."""
    return {
        "id": n,
        "name": f"row {n}",
        "amount": f"{n}.25",
        "paid": n % 2 == 0,
        "day": (_DAY + dt.timedelta(days=n)).isoformat(),
        "ts": (_START + dt.timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
    }


def expected_row(n: int) -> dict[str, Any]:
    """Record ``n`` as read back from Iceberg."""
    return {
        "id": n,
        "name": f"row {n}",
        "amount": decimal.Decimal(f"{n}.25"),
        "paid": n % 2 == 0,
        "day": _DAY + dt.timedelta(days=n),
        "ts": _START + dt.timedelta(seconds=n),
    }
