"""The recovery scenario: weights default to 1, and every rejection names the pipeline and field."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from airflow_provider_chimera.recovery.model import (
    Budget,
    Scenario,
    ScenarioError,
    parse_scenario,
)


def _scenario(*pipelines: dict, **extra) -> dict:
    return {"budget": {"cpu": 8, "memory_gib": 16}, "pipelines": list(pipelines), **extra}


def _pipeline(id: str = "p", **changes) -> dict:
    return {"id": id, "team": "sales", "priority": "high", "cpu": 1, "memory_gib": 2, "duration_s": 60} | changes


def test_a_team_not_listed_has_weight_one_and_priority_defaults_to_medium():
    scenario = Scenario.model_validate(_scenario(_pipeline(priority="low"), {k: v for k, v in _pipeline("q").items() if k != "priority"}, teams={"ops": {"weight": 3}}))
    assert (scenario.weight("ops"), scenario.weight("sales")) == (3.0, 1.0)
    assert [p.priority for p in scenario.pipelines] == ["low", "medium"]


def test_a_pipeline_larger_than_the_cpu_budget_is_rejected_by_id():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(json.dumps(_scenario(_pipeline("ok"), _pipeline("sales_crm_orders", cpu=12))), "s.json")
    assert caught.value.problems == [
        "s.json: /pipelines/1 (sales_crm_orders)/cpu: 12 exceeds the whole CPU budget of 8; it could never start"
    ]


def test_a_pipeline_larger_than_the_memory_budget_is_rejected_by_id():
    with pytest.raises(ValidationError, match=r"/pipelines/0 \(big\)/memory_gib: 32 exceeds the whole memory budget of 16 GiB"):
        Scenario.model_validate(_scenario(_pipeline("big", memory_gib=32)))


def test_field_errors_name_the_json_path_and_the_pipeline_id():
    raw = json.dumps(_scenario(_pipeline("a"), _pipeline("b", priority="urgent", duration_s=0)))
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw, "s.json")
    assert caught.value.problems == [
        "s.json: /pipelines/1 (b)/priority: Input should be 'critical', 'high', 'medium' or 'low'",
        "s.json: /pipelines/1 (b)/duration_s: Input should be greater than 0",
    ]


def test_a_duplicate_id_and_unknown_fields_are_rejected():
    with pytest.raises(ScenarioError, match=r"/pipelines/1 \(a\)/id: 'a' is listed twice"):
        parse_scenario(json.dumps(_scenario(_pipeline("a"), _pipeline("a"))))
    with pytest.raises(ScenarioError, match=r"/pipelines/0 \(a\)/gpu: Extra inputs are not permitted"):
        parse_scenario(json.dumps(_scenario(_pipeline("a", gpu=1))))


def test_not_json_is_named():
    with pytest.raises(ScenarioError, match=r"^s.json: not JSON: "):
        parse_scenario("{", "s.json")


def test_a_missing_budget_takes_the_default_one():
    raw = json.dumps({"pipelines": [_pipeline()]})
    assert parse_scenario(raw, default_budget=Budget(cpu=4, memory_gib=8)).budget == Budget(cpu=4, memory_gib=8)
    with pytest.raises(ScenarioError, match=r"^<scenario>: /budget: Field required$"):
        parse_scenario(raw)
