"""MongoDB → Iceberg over the wire protocol, against FerretDB as `make services` starts it."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest
from bson import ObjectId

from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from tests.helpers import assert_incremental_runs, mongo_uri, pipeline_for, read_table, record_schema, run_pipeline, single_object_source

SCHEMA = record_schema(
    ["_id"], _id="string", sku="string", qty="long", price="decimal(10,2)", tags="json", updated_at="timestamptz"
)


@pytest.fixture
def mongo(mongo_database):
    return mongo_database("qa_shop", conn_id="qa_mongo")["products"]


def _source(mode: dict, connection: dict | None = None) -> dict:
    return single_object_source("mongodb", connection or {"conn_id": "qa_mongo"}, "products", mode, "products", schema=SCHEMA)


def _documents(first: int, last: int) -> list[dict]:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    return [
        {
            "_id": ObjectId(f"{n:024x}"),
            "sku": f"SKU-{n}",
            "qty": n,
            # FerretDB 1.x has no Decimal128; amounts stored as doubles are the common case anyway.
            "price": n + 0.5,
            "tags": {"colour": "red", "n": n},
            "updated_at": start + dt.timedelta(seconds=n),
            "ignored": "not in the schema",
        }
        for n in range(first, last + 1)
    ]


def test_full_load_round_trips_documents(mongo, catalog):
    mongo.insert_many(_documents(1, 300))
    assert run_pipeline(pipeline_for(_source({"type": "full"})))["rows"] == 300
    table = read_table(catalog, "qa.products").sort_by("qty")
    assert table.num_rows == 300
    assert "ignored" not in table.schema.names
    first = table.slice(0, 1).to_pylist()[0]
    assert first["_id"] == f"{1:024x}"
    assert first["sku"] == "SKU-1"
    assert first["price"] == decimal.Decimal("1.50")
    assert json.loads(first["tags"]) == {"colour": "red", "n": 1}
    assert first["updated_at"] == dt.datetime(2026, 11, 1, 0, 0, 1, tzinfo=dt.timezone.utc)


def test_incremental_reads_only_documents_past_the_cursor(mongo, catalog, services):
    source = _source({"type": "incremental", "cursor": "updated_at"}, {"uri": mongo_uri(services, "qa_shop")})
    mongo.insert_many(_documents(1, 100))
    assert_incremental_runs(source, 100, lambda: mongo.insert_many(_documents(101, 125)), 25)
    assert sorted(read_table(catalog, "qa.products").column("qty").to_pylist()) == list(range(1, 126))


def test_a_document_that_does_not_fit_the_schema_goes_to_quarantine(mongo, catalog):
    documents = _documents(1, 3)
    documents[1]["qty"] = "three"
    mongo.insert_many(documents)
    with pytest.raises(QuarantineThresholdError, match=r"1 of 3 records read \(33.3%\) went to quarantine table qa.products__quarantine"):
        run_pipeline(pipeline_for(_source({"type": "full"})))
    assert catalog.load_table("qa.products").current_snapshot() is None  # nothing published
    (row,) = read_table(catalog, "qa.products__quarantine").to_pylist()
    assert (row["position"], row["reason"]) == ("_id=000000000000000000000002", "field 'qty': a str value does not convert to long")
    assert json.loads(row["raw"])["qty"] == "three"
