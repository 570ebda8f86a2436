"""chimera recover --scenario: the plan as JSON or a table, and scenario problems named."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from tests.unit.registry.conftest import chimera_home  # noqa: F401 (fixture)

runner = CliRunner()

SCENARIO = {
    "budget": {"cpu": 4, "memory_gib": 8},
    "teams": {"sales": {"weight": 2}},
    "pipelines": [
        {"id": "sales_crm_orders", "team": "sales", "priority": "critical", "cpu": 2, "memory_gib": 4, "duration_s": 600},
        {"id": "sales_crm_customers", "team": "sales", "priority": "low", "cpu": 1, "memory_gib": 2, "duration_s": 300},
        {"id": "ops_kafka_clicks", "team": "ops", "priority": "high", "cpu": 2, "memory_gib": 2, "duration_s": 900},
        {"id": "ops_files_contracts", "team": "ops", "priority": "medium", "cpu": 1, "memory_gib": 1, "duration_s": 120},
    ],
}


@pytest.fixture
def home(chimera_home, tmp_path):  # noqa: F811 (the imported fixture)
    """A fresh AIRFLOW_HOME (where every command's audit entry goes) and a folder for scenario files."""
    return tmp_path


def write(home, data: dict):
    path = home / "scenario.json"
    path.write_text(json.dumps(data))
    return path


def test_json_output_has_the_plan_makespan_and_lower_bound(home):
    result = runner.invoke(app, ["recover", "--scenario", str(write(home, SCENARIO)), "--format", "json"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert set(output) == {"plan", "makespan_s", "lower_bound_s"}
    assert [(e["id"], e["start_s"], e["finish_s"]) for e in output["plan"]] == [
        ("ops_kafka_clicks", 0.0, 900.0),
        ("sales_crm_orders", 0.0, 600.0),
        ("sales_crm_customers", 600.0, 900.0),
        ("ops_files_contracts", 600.0, 720.0),
    ]
    assert all(set(e) == {"id", "start_s", "finish_s", "reason"} and e["reason"] for e in output["plan"])
    assert (output["makespan_s"], output["lower_bound_s"]) == (900.0, 900.0)


def test_table_output_lists_each_pipeline_with_its_team_priority_and_times(home):
    result = runner.invoke(app, ["recover", "--scenario", str(write(home, SCENARIO))])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "ops_files_contracts" in line]
    assert "ops" in line and "medium" in line and "0:10:00" in line and "0:12:00" in line
    assert "makespan 0:15:00, lower bound 0:15:00 (1.00x); budget 4 CPU, 8 GiB" in result.output


def test_a_scenario_without_budget_uses_the_recovery_options(home, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__RECOVERY_CPU", "2")
    monkeypatch.setenv("AIRFLOW__CHIMERA__RECOVERY_MEMORY_GIB", "64")
    data = {k: v for k, v in SCENARIO.items() if k != "budget"}
    result = runner.invoke(app, ["recover", "--scenario", str(write(home, data)), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["lower_bound_s"] == 1710.0  # (1200 + 300 + 1800 + 120) CPU-seconds / 2 CPU


def test_a_pipeline_larger_than_the_budget_is_named(home):
    data = json.loads(json.dumps(SCENARIO))
    data["pipelines"][2]["cpu"] = 6
    path = write(home, data)
    result = runner.invoke(app, ["recover", "--scenario", str(path), "--format", "json"])
    assert result.exit_code == 2
    assert f"{path}: /pipelines/2 (ops_kafka_clicks)/cpu: 6 exceeds the whole CPU budget of 4; it could never start" in result.output


def test_without_a_scenario_it_says_what_to_give(home):
    result = runner.invoke(app, ["recover"])
    assert result.exit_code == 2
    assert "give the pipelines to recover: --scenario FILE" in result.output


def test_a_consumer_re_simulating_the_json_plan_sees_no_overlap(home):
    """Durations as estimates give them (microseconds, sums that drift in binary floating point):
    each start in the printed plan is 0 or exactly the printed finish of a pipeline it follows, and
    replaying the printed starts and finishes with exact comparisons never holds more than the budget."""
    durations = [0.1, 0.2, 0.3, 123.456789, 0.7, 1e-4, 59.999999, 3600.000001, 17.25, 0.30000000000000004]
    pipelines = [
        {"id": f"p{i:02d}", "team": f"team-{i % 3}", "priority": ["critical", "high", "medium", "low"][i % 4],
         "cpu": [1, 2, 0.5][i % 3], "memory_gib": [1, 0.5, 2][i % 3], "duration_s": durations[i % len(durations)] * (1 + i // len(durations))}
        for i in range(40)
    ]
    scenario = {"budget": {"cpu": 3, "memory_gib": 4}, "pipelines": pipelines}
    result = runner.invoke(app, ["recover", "--scenario", str(write(home, scenario)), "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)["plan"]
    finishes = {e["finish_s"] for e in plan}
    assert all(e["start_s"] == 0.0 or e["start_s"] in finishes for e in plan)
    needs = {p["id"]: p for p in pipelines}
    for at in sorted({e["start_s"] for e in plan}):
        running = [needs[e["id"]] for e in plan if e["start_s"] <= at < e["finish_s"]]
        assert sum(p["cpu"] for p in running) <= 3 and sum(p["memory_gib"] for p in running) <= 4, at
    assert max(e["finish_s"] for e in plan) == json.loads(result.output)["makespan_s"]
