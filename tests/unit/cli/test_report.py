"""chimera report: per pipeline figures from the registry's runs, check results and SLA states."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from tests.helpers import intent_with
from tests.unit.registry.conftest import intent_data, write_intent

runner = CliRunner()
UTC = dt.UTC
T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
CUSTOMERS, ORDERS = "sales_crm_crm_public_customers", "sales_crm_crm_public_orders"
EVENTS = "qa_intent_src_events"


def _qa_intent() -> dict:
    obj = {
        "name": "events",
        "path": "*.csv",
        "format": "csv",
        "schema": {"fields": [{"name": "id", "type": "long"}]},
        "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "events"}},
    }
    return intent_with({"name": "src", "type": "file", "connection": {"uri": "file:///data"}, "objects": [obj]})


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry holding three pipelines of two teams, their runs, check results and SLA states."""
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import CheckResultRow, SlaStatusRow
    from airflow_provider_chimera.registry.runs import record_run
    from airflow_provider_chimera.pipelines.sync import sync_registry

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    folder = tmp_path / "intents"
    folder.mkdir()
    write_intent(folder, intent_data())
    write_intent(folder, _qa_intent())
    reg = open_registry()
    assert sorted(sync_registry(reg, folder).created) == [EVENTS, CUSTOMERS, ORDERS]

    def at(minutes: float) -> dt.datetime:
        return T0 + dt.timedelta(minutes=minutes)

    with reg.session() as session:
        stats = {"rows_read": 110, "bytes_written": 1000, "cpu_seconds": 1.5}
        record_run(session, CUSTOMERS, "r1", "success", rows=100, started_at=at(0), ended_at=at(1), **stats)
        stats = {"rows_read": 50, "bytes_written": 500, "cpu_seconds": 0.5}
        record_run(session, CUSTOMERS, "r2", "success", rows=50, started_at=at(60), ended_at=at(61.5), **stats)
        record_run(session, CUSTOMERS, "r3", "failed", started_at=at(120), ended_at=at(120.5), cpu_seconds=0.25, error="boom")
        record_run(session, ORDERS, "old", "success", rows=7, started_at=at(-14400), ended_at=at(-14399))
        record_run(session, EVENTS, "e1", "success", rows=3, started_at=at(5), ended_at=at(7), bytes_written=30)
        outcomes = [(CUSTOMERS, "r1", "passed"), (CUSTOMERS, "r1", "passed"), (CUSTOMERS, "r2", "passed"),
                    (CUSTOMERS, "r2", "failed"), (EVENTS, "e1", "error"), (ORDERS, "old", "failed")]
        for i, (pipeline, run, outcome) in enumerate(outcomes):
            checked = at(-14399) if run == "old" else at(i)
            session.add(CheckResultRow(pipeline_id=pipeline, run_id=run, checked_at=checked, check_name=f"c{i}",
                                       check_type="missing_count", outcome=outcome))
        session.add(SlaStatusRow(pipeline_id=CUSTOMERS, state="late", since=at(0), checked_at=at(130)))
        session.add(SlaStatusRow(pipeline_id=EVENTS, state="on_time", since=at(7), checked_at=at(130)))
    reg.close()
    return tmp_path


def _json(*args: str) -> dict:
    result = runner.invoke(app, ["report", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_each_pipelines_figures_and_the_totals(registry):
    report = _json()
    pipelines = {p["pipeline"]: p for p in report["pipelines"]}
    assert list(pipelines) == [EVENTS, CUSTOMERS, ORDERS]  # by team (qa, sales), then id
    customers = pipelines[CUSTOMERS]
    assert {k: customers[k] for k in ("team", "intent", "target_table", "status", "runs", "succeeded", "failed")} == {
        "team": "sales", "intent": "sales_crm", "target_table": "sales.customers", "status": "active",
        "runs": 3, "succeeded": 2, "failed": 1,
    }
    assert (customers["rows"], customers["rows_read"], customers["bytes_written"], customers["cpu_seconds"]) == (150, 160, 1500, 2.25)
    assert (customers["dq_checks"], customers["dq_passed"], customers["dq_pass_rate"]) == (4, 3, 0.75)
    assert (customers["sla_state"], customers["mean_duration_seconds"]) == ("late", 60.0)  # 60, 90 and 30 s
    assert customers["last_run_at"] == "2026-11-20T10:00:00+00:00"
    assert [(s["run_id"], s["rows"], s["duration_seconds"]) for s in customers["series"]] == [
        ("r1", 100, 60.0), ("r2", 50, 90.0), ("r3", None, 30.0)
    ]
    events = pipelines[EVENTS]
    assert (events["team"], events["dq_pass_rate"], events["sla_state"], events["rows_read"]) == ("qa", 0.0, "on_time", None)
    assert (pipelines[ORDERS]["sla_state"], pipelines[ORDERS]["dq_pass_rate"]) == (None, 0.0)
    assert report["totals"] == {
        "pipelines": 3, "runs": 5, "succeeded": 4, "failed": 1, "rows": 160, "rows_read": 160,
        "bytes_written": 1530, "cpu_seconds": 2.25, "dq_checks": 6, "dq_passed": 3, "dq_pass_rate": 0.5,
    }
    assert (report["team"], report["since"]) == (None, None)


def test_team_and_since_filters(registry):
    sales = _json("--team", "sales")
    assert [p["pipeline"] for p in sales["pipelines"]] == [CUSTOMERS, ORDERS]
    assert _json("--team", "nobody")["pipelines"] == []

    recent = _json("--since", "2026-11-19")
    assert recent["since"] == "2026-11-19T00:00:00+00:00"
    orders = next(p for p in recent["pipelines"] if p["pipeline"] == ORDERS)
    # The old run and its check are before the period; the active pipeline is still listed.
    assert (orders["runs"], orders["rows"], orders["dq_checks"], orders["dq_pass_rate"], orders["series"]) == (0, None, 0, None, [])
    assert recent["totals"]["runs"] == 4
    assert recent["totals"]["dq_pass_rate"] == 3 / 5

    later = _json("--since", "2026-11-20T09:30:00+00:00", "--team", "sales")
    customers = later["pipelines"][0]
    assert [s["run_id"] for s in customers["series"]] == ["r3"]
    assert (customers["rows"], customers["failed"], customers["dq_checks"]) == (None, 1, 0)


def test_since_as_a_duration_and_a_bad_since(registry):
    assert _json("--since", "P3650D")["totals"]["runs"] == 5
    result = runner.invoke(app, ["report", "--since", "last week"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Invalid value for --since: 'last week' is not an ISO-8601 date, time or duration (P7D)" in result.output
    result = runner.invoke(app, ["report", "--since", "P7X"], env={"COLUMNS": "200"})
    assert "'P7X' is not an ISO-8601 duration such as P7D or PT12H" in result.output


def test_table_shows_dashes_for_what_was_not_recorded(registry):
    result = runner.invoke(app, ["report", "--team", "sales"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if "sales_crm_" in line}
    assert re.search(r"sales_crm_crm_public_customers\s+│\s+sales\s+│\s+3\s+│\s+1\s+│\s+150\s+│\s+1\.5 KiB\s+│\s+75\.0%\s+│\s+late", lines[CUSTOMERS])
    # No bytes or CPU recorded for its run, no SLA state yet.
    assert re.search(r"│\s+1\s+│\s+0\s+│\s+7\s+│\s+—\s+│\s+0\.0%\s+│\s+—\s+│\s+—\s+│\s+2026-11-10 08:00", lines[ORDERS])


def test_html_is_a_self_contained_page_with_one_point_per_run(registry, tmp_path):
    page_file = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--format", "html", "--output", str(page_file)])
    assert result.exit_code == 0, result.output
    page = page_file.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert "https://" not in page and "<script" not in page
    sections = dict(re.findall(r"<section><h2>([^<]+)</h2>(.*?)</section>", page, re.S))
    customers = sections[CUSTOMERS]
    assert customers.count("<svg") == 1
    assert len(re.findall(r'<circle class="rows', customers)) == 3  # one per run; the failed one on the axis
    assert len(re.findall(r'<circle class="rows failed"', customers)) == 1
    assert len(re.findall(r'<circle class="duration', customers)) == 3
    assert "r2 · 2026-11-20T09:00:00+00:00 · success · rows 50 · 90.0 s" in customers
    assert "no runs in this period" in _html_section(["--since", "2026-11-19"], ORDERS)


def _html_section(args: list[str], pipeline: str) -> str:
    result = runner.invoke(app, ["report", "--format", "html", *args])
    assert result.exit_code == 0, result.output
    return dict(re.findall(r"<section><h2>([^<]+)</h2>(.*?)</section>", result.stdout, re.S))[pipeline]
