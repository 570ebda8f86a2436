"""PostgreSQL → an mdm target through the ingest task: changed rows close and open versions."""

from __future__ import annotations

import pytest

from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source


@pytest.fixture
def pg(pg_schema):
    return pg_schema("qa_pg_history", conn_id="qa_pg_history")


def _customers_source() -> dict:
    source = single_object_source(
        "postgres",
        {"conn_id": "qa_pg_history"},
        "qa_pg_history.customers",
        {"type": "incremental", "cursor": "updated_at"},
        "customers_history",
        source_name="crm",
    )
    source["objects"][0]["ingestion"]["target"].update(kind="mdm", keys=["id"])
    return source


def test_incremental_mdm_run_versions_exactly_the_updated_rows(pg, catalog):
    pg.execute("CREATE TABLE qa_pg_history.customers (id bigint PRIMARY KEY, name text, updated_at timestamptz)")
    pg.execute(
        "INSERT INTO qa_pg_history.customers SELECT g, 'customer ' || g, "
        "timestamptz '2026-11-01 00:00+00' + g * interval '1 second' FROM generate_series(1, 50) g"
    )
    source = _customers_source()
    assert run_pipeline(pipeline_for(source), run_id="load")["rows"] == 50

    pg.execute(
        "UPDATE qa_pg_history.customers SET name = name || ' (moved)', updated_at = timestamptz '2026-11-02 00:00+00' WHERE id IN (7, 42)"
    )
    result = run_pipeline(pipeline_for(source), run_id="update")
    assert (result["rows"], result["committed"]) == (2, True)

    table = read_table(catalog, "qa.customers_history")
    assert table.num_rows == 52
    rows = table.to_pylist()
    closed = sorted((r["id"], r["name"]) for r in rows if not r["is_current"])
    opened = sorted((r["id"], r["name"]) for r in rows if r["is_current"] and r["name"].endswith("(moved)"))
    assert closed == [(7, "customer 7"), (42, "customer 42")]
    assert opened == [(7, "customer 7 (moved)"), (42, "customer 42 (moved)")]
    assert sum(r["is_current"] for r in rows) == 50
    new_from = {r["id"]: r["effective_from"] for r in rows if r["is_current"] and r["id"] in (7, 42)}
    assert {r["id"]: r["effective_to"] for r in rows if not r["is_current"]} == new_from

    summary = catalog.load_table("qa.customers_history").current_snapshot().summary.additional_properties
    assert (summary["chimera.run-id"], summary["chimera.rows"], summary["chimera.versions-closed"]) == (
        "update",
        "2",
        "2",
    )
    assert summary["chimera.position"] == '{"cursor":"2026-11-02T00:00:00+00:00"}'

    # Nothing past the position: no commit, no versions.
    assert run_pipeline(pipeline_for(source), run_id="again")["committed"] is False
    assert read_table(catalog, "qa.customers_history").num_rows == 52
