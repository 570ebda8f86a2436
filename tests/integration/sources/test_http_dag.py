"""An intent with an ``http`` source through the DAG factory: its DAG is built from a folder of
intents like any other, and its ingest task, run as the task runner would run it, loads the
API's records into Iceberg. (The lead runs the same intent with ``dag.test()`` in tests/e2e.)"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from airflow_provider_chimera.factory import build_dags
from tests.entry_points import http_source, plugin_site  # noqa: F401  (fixtures)
from tests.helpers import adhoc_ingestion, intent_with, mark_onboarded, read_table, record_schema
from tests.http_api import http_api  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("http_source")]


def _intent(base_url: str) -> dict:
    source = {
        "name": "api",
        "type": "http",
        "connection": {"uri": base_url},
        "options": {"pagination": {"type": "cursor", "next_path": "meta.next"}, "records_path": "data", "incremental_param": "updated_since"},
        "objects": [
            {
                "name": "orders",
                "path": "cursor/orders",
                "schema": record_schema(["id"], id="long", status="string", updated_at="timestamptz"),
                "ingestion": adhoc_ingestion({"type": "incremental", "cursor": "updated_at"}, "api_orders"),
            }
        ],
    }
    return intent_with(source, name="http_dag")


def _run_ingest(dag, run_id: str) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    task = dag.get_task("ingest")
    mark_onboarded(task.pipeline)  # the task skips until its intent completed onboarding
    try:
        return task.execute({"run_id": run_id, "dag_run": SimpleNamespace(conf={})})
    except AirflowFailException as failed:
        raise failed.__cause__ from None


def test_the_generated_dag_ingests_the_api_incrementally(http_api, catalog, tmp_path):
    http_api.data["orders"] = [
        {"id": n, "status": "open", "updated_at": f"2026-11-01T00:{n:02d}:00Z"} for n in range(1, 8)
    ]
    intents = tmp_path / "intents"
    intents.mkdir()
    (intents / "http_dag.json").write_text(json.dumps(_intent(http_api.base_url)))
    dags = build_dags(intents)
    assert set(dags) == {"http_dag_api_orders"}
    dag = dags["http_dag_api_orders"]
    assert "http" in dag.tags
    # A registered type's asset is named by its type: http://<host>/<first path segment or default>/<object>.
    assert [a.uri for a in dag.get_task("ingest").inlets] == [f"{http_api.base_url}/default/orders"]

    assert _run_ingest(dag, "first")["rows"] == 7
    assert _run_ingest(dag, "again")["committed"] is False
    http_api.data["orders"].append({"id": 8, "status": "new", "updated_at": "2026-11-01T00:30:00Z"})
    assert _run_ingest(dag, "more")["rows"] == 1
    table = read_table(catalog, "qa.api_orders")
    assert sorted(table.column("id").to_pylist()) == list(range(1, 9))
