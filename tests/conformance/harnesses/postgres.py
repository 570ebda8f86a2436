"""PostgreSQL: a table of representative column types in schema ``qa_conf``."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import uuid
from typing import Any

from tests.conformance.harness import SourceHarness
from tests.helpers import postgres_uri

SCHEMA = "qa_conf"
WRONG_PASSWORD = "wrong-Conformance-4711"


class PostgresHarness(SourceHarness):
    source_type = "postgres"
    not_applicable = {
        "quarantine": "typed columns: PostgreSQL refuses a value that does not fit its column, so no bad record reaches Chimera",
    }

    def prepare(self) -> None:
        self.db = self.fixture("pg_schema")(SCHEMA, conn_id="qa_conf_pg")

    def connection(self) -> dict[str, Any]:
        return {"conn_id": "qa_conf_pg"}

    @property
    def object_name(self) -> str:
        return f"{SCHEMA}.things"

    def create_object(self, rows: int) -> None:
        self.db.execute(
            f"CREATE TABLE {SCHEMA}.things (id bigint PRIMARY KEY, amount numeric(12,2), note text, attrs jsonb, "
            "ref uuid, flag boolean, day date, placed timestamptz, updated_at timestamp)"
        )
        self.append_rows(1, rows)

    def append_rows(self, first: int, last: int) -> None:
        self.db.execute(
            f"INSERT INTO {SCHEMA}.things SELECT g, g * 1.25, 'row ' || g, jsonb_build_object('n', g), md5(g::text)::uuid, "
            "mod(g, 2) = 0, date '2026-11-01' + g, timestamptz '2026-11-01 00:00+00' + g * interval '1 minute', "
            "timestamp '2026-11-01 00:00' + g * interval '1 second' FROM generate_series(%s::int, %s::int) g",
            (first, last),
        )

    def expected_types(self) -> dict[str, str]:
        return {
            "id": "long",
            "amount": "decimal(12, 2)",
            "note": "string",
            "attrs": "string",
            "ref": "string",
            "flag": "boolean",
            "day": "date",
            "placed": "timestamptz",
            "updated_at": "timestamp",
        }

    def expected_row(self, n: int) -> dict[str, Any]:
        start = dt.datetime(2026, 11, 1)
        return {
            "id": n,
            "amount": decimal.Decimal(n * 125).scaleb(-2),
            "note": f"row {n}",
            "attrs": f'{{"n": {n}}}',
            "ref": str(uuid.UUID(hashlib.md5(str(n).encode()).hexdigest())),
            "flag": n % 2 == 0,
            "day": dt.date(2026, 11, 1) + dt.timedelta(days=n),
            "placed": (start + dt.timedelta(minutes=n)).replace(tzinfo=dt.timezone.utc),
            "updated_at": start + dt.timedelta(seconds=n),
        }

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        return self.source({"type": "full"}, object_name=f"{SCHEMA}.chimera_missing"), f"{SCHEMA}.chimera_missing"

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        self.fixture("monkeypatch").setenv("QA_CONF_PASSWORD", WRONG_PASSWORD)
        return {"uri": postgres_uri(self.fixture("services"), password="${env:QA_CONF_PASSWORD}")}, WRONG_PASSWORD
