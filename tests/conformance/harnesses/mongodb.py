"""MongoDB (FerretDB as `make services` starts it): a collection read with a declared schema."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

from tests.conformance.harness import SourceHarness
from tests.helpers import record_schema
from tests.mailbox import free_port

DATABASE = "qa_conf"
WRONG_PASSWORD = "wrong-Conformance-4711"
SCHEMA = record_schema(
    ["_id"], _id="string", n="long", sku="string", price="decimal(10,2)", active="boolean", tags="json", updated_at="timestamptz"
)
_START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


class MongoHarness(SourceHarness):
    source_type = "mongodb"
    key = "n"

    def prepare(self) -> None:
        self.collection = self.fixture("mongo_database")(DATABASE, conn_id="qa_conf_mongo")["things"]

    def connection(self) -> dict[str, Any]:
        return {"conn_id": "qa_conf_mongo"}

    @property
    def object_name(self) -> str:
        return "things"

    def object_fields(self) -> dict[str, Any]:
        return {"schema": SCHEMA}

    def create_object(self, rows: int) -> None:
        self.append_rows(1, rows)

    def append_rows(self, first: int, last: int) -> None:
        from bson import ObjectId

        self.collection.insert_many(
            [
                {
                    "_id": ObjectId(f"{n:024x}"),
                    "n": n,
                    "sku": f"SKU-{n}",
                    "price": n + 0.5,  # FerretDB 1.x has no Decimal128: amounts as doubles
                    "active": n % 2 == 0,
                    "tags": {"colour": "red", "n": n},
                    "updated_at": _START + dt.timedelta(seconds=n),
                    "ignored": "not in the schema",
                }
                for n in range(first, last + 1)
            ]
        )

    def add_bad_record(self) -> str:
        from bson import ObjectId

        self.collection.insert_one({"_id": ObjectId(f"{999:024x}"), "n": "nine", "updated_at": _START})
        return "field 'n': a str value does not convert to long"

    def expected_types(self) -> dict[str, str]:
        return {
            "_id": "string",
            "n": "long",
            "sku": "string",
            "price": "decimal(10, 2)",
            "active": "boolean",
            "tags": "string",
            "updated_at": "timestamptz",
        }

    def expected_row(self, n: int) -> dict[str, Any]:
        return {
            "_id": f"{n:024x}",
            "n": n,
            "sku": f"SKU-{n}",
            "price": decimal.Decimal(f"{n}.50"),
            "active": n % 2 == 0,
            "tags": json.dumps({"colour": "red", "n": n}),
            "updated_at": _START + dt.timedelta(seconds=n),
        }

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        self.fixture("monkeypatch").setenv("QA_CONF_PASSWORD", WRONG_PASSWORD)
        return {"uri": f"mongodb://qa:${{env:QA_CONF_PASSWORD}}@127.0.0.1:{free_port()}/{DATABASE}"}, WRONG_PASSWORD
