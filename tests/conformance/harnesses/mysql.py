"""MySQL (MariaDB as `make services` starts it): a table of representative column types."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from tests.conformance.harness import SourceHarness
from tests.helpers import mysql_uri

TABLE = "qa_conf_things"
WRONG_PASSWORD = "wrong-Conformance-4711"


class MySqlHarness(SourceHarness):
    source_type = "mysql"
    not_applicable = {
        "quarantine": "typed columns: MySQL refuses (or converts) a value that does not fit its column, so no bad record reaches Chimera",
    }

    def prepare(self) -> None:
        self.cur = self.fixture("mysql_tables")(None, TABLE)

    def connection(self) -> dict[str, Any]:
        # By URI, its password from a placeholder (the other MySQL tests reach it through a conn_id).
        services = self.fixture("services")
        self.fixture("monkeypatch").setenv("QA_CONF_MYSQL_PASSWORD", services["CHIMERA_MYSQL_PASSWORD"])
        return {"uri": mysql_uri(services, password="${env:QA_CONF_MYSQL_PASSWORD}")}

    @property
    def object_name(self) -> str:
        return TABLE

    def create_object(self, rows: int) -> None:
        self.cur.execute(
            f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, qty INT UNSIGNED, amount DECIMAL(12,2), note VARCHAR(40), "
            "attrs JSON, flag TINYINT(1), day DATE, placed TIMESTAMP NULL, updated_at DATETIME(6), took TIME, payload BLOB)"
        )
        self.append_rows(1, rows)

    def append_rows(self, first: int, last: int) -> None:
        self.cur.execute(
            f"INSERT INTO {TABLE} SELECT seq, seq * 2, seq * 1.25, CONCAT('row ', seq), JSON_OBJECT('n', seq), MOD(seq, 2), "
            "DATE '2026-11-01' + INTERVAL seq DAY, TIMESTAMP '2026-11-01 00:00:00' + INTERVAL seq MINUTE, "
            f"TIMESTAMP '2026-11-01 00:00:00' + INTERVAL seq SECOND, SEC_TO_TIME(seq), UNHEX('CAFE') FROM seq_{first}_to_{last}"
        )

    def expected_types(self) -> dict[str, str]:
        return {
            "id": "long",
            "qty": "long",
            "amount": "decimal(12, 2)",
            "note": "string",
            "attrs": "string",
            "flag": "int",
            "day": "date",
            "placed": "timestamptz",
            "updated_at": "timestamp",
            "took": "string",
            "payload": "binary",
        }

    def expected_row(self, n: int) -> dict[str, Any]:
        start = dt.datetime(2026, 11, 1)
        return {
            "id": n,
            "qty": n * 2,
            "amount": decimal.Decimal(n * 125).scaleb(-2),
            "note": f"row {n}",
            "attrs": f'{{"n": {n}}}',
            "flag": n % 2,
            "day": dt.date(2026, 11, 1) + dt.timedelta(days=n),
            "placed": (start + dt.timedelta(minutes=n)).replace(tzinfo=dt.timezone.utc),
            "updated_at": start + dt.timedelta(seconds=n),
            "took": f"00:00:{n:02d}",
            "payload": b"\xca\xfe",
        }

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        self.fixture("monkeypatch").setenv("QA_CONF_PASSWORD", WRONG_PASSWORD)
        return {"uri": mysql_uri(self.fixture("services"), password="${env:QA_CONF_PASSWORD}")}, WRONG_PASSWORD
