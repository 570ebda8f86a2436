"""The board from a seeded registry: rows the user may read, filters, worst SLA first, pagination,
a bounded number of queries, and the page's links."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.ui_fleet import pipeline_id, seed_fleet


@pytest.fixture
def fleet(registry, grants):
    ids = seed_fleet(registry, 120, runs=12, checks=3, teams=4)
    grants.known_dags = ids
    return ids


def test_board_json_lists_every_pipeline_for_an_admin_worst_sla_first(as_user, fleet):
    answer = as_user("admin").get("/chimera/api/pipelines", params={"page_size": 500})
    assert answer.status_code == 200
    board = answer.json()
    assert board["total"] == 120 and len(board["rows"]) == 120
    states = [row["sla_state"] for row in board["rows"]]
    order = ["late", "error", "warning", "unknown", "on_time"]
    assert states == sorted(states, key=order.index)
    assert board["sla_states"] == ["late", "warning", "unknown", "on_time"]


def test_a_row_has_the_last_run_trend_quality_and_quarantine(as_user, fleet):
    board = as_user("admin").get("/chimera/api/pipelines", params={"page_size": 500}).json()
    row = next(r for r in board["rows"] if r["pipeline_id"] == pipeline_id(0))
    assert row["intent"] == "fleet0000" and row["team"] == "team00" and row["source_type"] == "postgres"
    assert row["target_table"] == "fleet0000.obj0"
    assert row["last_run_state"] == "failed"  # every 7th pipeline's last run failed
    assert row["last_error"] == "SourceUnavailable: connection refused"  # the first line only
    assert len(row["trend"]) == 10 and row["trend"][-1]["state"] == "failed"
    assert row["last_success_at"].startswith("2026-12-01T10:02")  # the run before the failed one
    assert row["quality_checks"] == 30 and row["quality_pass_rate"] == pytest.approx(29 / 30, abs=1e-4)
    assert row["quarantined_rows_last_run"] == 11 % 4
    assert row["grid_path"] == f"dags/{pipeline_id(0)}/grid"
    assert row["lineage_url"] is None  # [chimera] datahub_url is empty
    ok = next(r for r in board["rows"] if r["pipeline_id"] == pipeline_id(1))
    assert ok["last_run_state"] == "success" and ok["rows_last_run"] is not None and ok["last_error"] is None


def test_filters_team_source_type_sla_and_failing(as_user, fleet):
    client = as_user("admin")

    def rows(**params):
        return client.get("/chimera/api/pipelines", params={"page_size": 500, **params}).json()["rows"]

    assert {r["team"] for r in rows(team="team01")} == {"team01"} and len(rows(team="team01")) == 30
    assert {r["source_type"] for r in rows(source_type="kafka")} == {"kafka"}
    assert {r["sla_state"] for r in rows(sla="late")} == {"late"} and len(rows(sla="late")) == 20
    failing = rows(failing="true")
    assert {r["pipeline_id"] for r in failing} == {pipeline_id(p) for p in range(0, 120, 7)}
    assert {r["last_run_state"] for r in failing} == {"failed"}
    assert rows(team="team01", failing="true") == [r for r in failing if r["team"] == "team01"]


def test_pagination(as_user, fleet):
    client = as_user("admin")
    first = client.get("/chimera/api/pipelines", params={"page_size": 50}).json()
    third = client.get("/chimera/api/pipelines", params={"page_size": 50, "page": 3}).json()
    assert (first["total"], first["pages"], len(first["rows"]), len(third["rows"])) == (120, 3, 50, 20)
    every = client.get("/chimera/api/pipelines", params={"page_size": 500}).json()["rows"]
    assert [r["pipeline_id"] for r in third["rows"]] == [r["pipeline_id"] for r in every[100:]]
    assert client.get("/chimera/api/pipelines", params={"page_size": 0}).status_code == 422


def test_rows_are_only_the_dags_the_user_may_read(as_user, fleet):
    board = as_user("alice").get("/chimera/api/pipelines", params={"page_size": 500}).json()
    assert sorted(r["pipeline_id"] for r in board["rows"]) == sorted(pipeline_id(p) for p in range(10))
    assert board["teams"] == ["team00"]
    assert as_user("nobody").get("/chimera/api/pipelines").json()["rows"] == []


def test_a_page_costs_the_same_few_queries_whatever_the_fleet(as_user, fleet, registry):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(registry.engine, "before_cursor_execute", listener)
    try:
        as_user("admin").get("/chimera/api/pipelines", params={"page_size": 100, "failing": "true"})
    finally:
        event.remove(registry.engine, "before_cursor_execute", listener)
    assert len(statements) <= 6, statements


def test_board_page_links_and_rerun_buttons(as_user, fleet, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_URL", "http://datahub.test:9002/")
    page = as_user("admin").get("/chimera/", params={"page_size": 20})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<base href="/chimera/">' in html
    assert f'href="/dags/{pipeline_id(4)}/grid" target="_top"' in html  # a late pipeline: on the first page
    # The pipeline's name opens its DAG page in Airflow with the Chimera tab chosen.
    assert f'href="/dags/{pipeline_id(4)}/plugin/chimera-dag" target="_top"' in html
    assert "http://datahub.test:9002/dataset/urn%3Ali%3Adataset%3A%28urn%3Ali%3AdataPlatform%3Aiceberg%2Cfleet0000.obj4%2CPROD%29/Lineage" in html
    assert html.count('<button type="button" data-testid="rerun"') == 20 and html.count('<span data-testid="rerun-result"') == 20
    assert "<polyline" in html and "next →" in html
