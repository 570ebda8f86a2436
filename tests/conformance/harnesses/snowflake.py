"""Snowflake (fakesnow's server, through the real connector): a table of representative column types."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

from tests.conformance.harness import SourceHarness
from tests.mailbox import free_port

WRONG_PASSWORD = "wrong-Conformance-4711"


class SnowflakeHarness(SourceHarness):
    source_type = "snowflake"
    key = "ID"  # Snowflake stores unquoted names in upper case
    not_applicable = {
        "quarantine": "typed columns: Snowflake refuses a value that does not fit its column, so no bad record reaches Chimera",
    }

    def prepare(self) -> None:
        self.cur = self.fixture("snowflake_schema")("CONF", "qa_conf_snowflake", "THINGS")

    def connection(self) -> dict[str, Any]:
        return {"conn_id": "qa_conf_snowflake"}

    @property
    def object_name(self) -> str:
        return "conf.things"

    def create_object(self, rows: int) -> None:
        self.cur.execute(
            "CREATE TABLE QA.CONF.THINGS (ID NUMBER(38,0), QTY NUMBER(9,0), AMOUNT NUMBER(12,2), NOTE VARCHAR, "
            "ATTRS VARIANT, PAID BOOLEAN, DAY DATE, UPDATED_AT TIMESTAMP_NTZ)"
        )
        self.append_rows(1, rows)

    def append_rows(self, first: int, last: int) -> None:
        self.cur.execute(
            "INSERT INTO QA.CONF.THINGS SELECT g, g * 2, g * 1.25, 'row ' || g, OBJECT_CONSTRUCT('n', g), g % 2 = 0, "
            "DATEADD(day, g, '2026-11-01'::DATE), DATEADD(second, g, '2026-11-01 00:00:00'::TIMESTAMP_NTZ) "
            f"FROM (SELECT SEQ4() + {first} AS g FROM TABLE(GENERATOR(ROWCOUNT => {last - first + 1})))"
        )

    def expected_types(self) -> dict[str, str]:
        return {
            "ID": "decimal(38, 0)",
            "QTY": "long",
            "AMOUNT": "decimal(12, 2)",
            "NOTE": "string",
            "ATTRS": "string",
            "PAID": "boolean",
            "DAY": "date",
            "UPDATED_AT": "timestamp",
        }

    def expected_row(self, n: int) -> dict[str, Any]:
        return {
            "ID": decimal.Decimal(n),
            "QTY": n * 2,
            "AMOUNT": decimal.Decimal(n * 125).scaleb(-2),
            "NOTE": f"row {n}",
            "ATTRS": json.dumps({"n": n}, separators=(",", ":")),
            "PAID": n % 2 == 0,
            "DAY": dt.date(2026, 11, 1) + dt.timedelta(days=n),
            "UPDATED_AT": dt.datetime(2026, 11, 1) + dt.timedelta(seconds=n),
        }

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        return self.source({"type": "full"}, object_name="conf.chimera_missing"), "conf.chimera_missing"

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        # Host, port and protocol come only from a platform-owned connection: one on a port nothing answers on.
        extra = {"account": "fakesnow", "database": "QA", "host": "127.0.0.1", "port": free_port(), "protocol": "http"}
        connection = {"conn_type": "snowflake", "login": "qa", "password": WRONG_PASSWORD, "schema": "CONF", "extra": extra}
        self.fixture("monkeypatch").setenv("AIRFLOW_CONN_QA_CONF_SNOWFLAKE_DOWN", json.dumps(connection))
        return {"conn_id": "qa_conf_snowflake_down"}, WRONG_PASSWORD
