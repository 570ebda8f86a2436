"""chimera status: the timeliness board from the registry, before and after a check."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from tests.unit.registry.conftest import INTENT, write_intent

runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    (tmp_path / "intents").mkdir()
    return tmp_path


def _sync_intent(home, sla: dict | None) -> None:
    """Record the sales_crm intent (customers with ``sla``, orders without) in the registry."""
    data = copy.deepcopy(INTENT)
    if sla:
        data["sources"][0]["objects"][0]["ingestion"]["sla"] = sla
    write_intent(home / "intents", data)
    result = runner.invoke(app, ["registry", "sync", "--intents", str(home / "intents")])
    assert result.exit_code == 0, result.output


def _board(*args: str):
    result = runner.invoke(app, ["status", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_status_has_help():
    result = runner.invoke(app, ["status", "--help"], prog_name="chimera")
    assert result.exit_code == 0, result.output
    assert "--team" in result.output and "--format" in result.output


def test_board_lists_only_pipelines_with_an_sla_not_checked_yet(home):
    _sync_intent(home, {"fresh_within": "PT2H", "warn_after": "PT90M"})
    assert _board() == [
        {
            "pipeline": "sales_crm_crm_public_customers",
            "team": "sales",
            "state": None,
            "since": None,
            "last_published_at": None,
            "checked_at": None,
            "fresh_within": "PT2H",
            "warn_after": "PT90M",
        }
    ]
    assert _board("--team", "sales")[0]["pipeline"] == "sales_crm_crm_public_customers"
    assert _board("--team", "qa") == []
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "sales_crm_crm_public_customers" in line]
    assert "not checked yet" in line and "PT90M" in line


def test_board_shows_the_recorded_state_worst_first(home):
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import SlaStatusRow

    data = copy.deepcopy(INTENT)
    for obj in data["sources"][0]["objects"]:
        obj["ingestion"]["sla"] = {"fresh_within": "P1D"}
    write_intent(home / "intents", data)
    assert runner.invoke(app, ["registry", "sync", "--intents", str(home / "intents")]).exit_code == 0
    checked = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    with open_registry().session() as session:
        session.add(SlaStatusRow(pipeline_id="sales_crm_crm_public_customers", state="on_time", since=checked, last_published_at=checked, checked_at=checked))
        session.add(SlaStatusRow(pipeline_id="sales_crm_crm_public_orders", state="late", since=checked, last_published_at=None, checked_at=checked))
    assert [(r["pipeline"], r["state"], r["last_published_at"]) for r in _board()] == [
        ("sales_crm_crm_public_orders", "late", None),
        ("sales_crm_crm_public_customers", "on_time", "2026-11-25T12:00:00+00:00"),
    ]
    result = runner.invoke(app, ["status"])
    lines = [line for line in result.output.splitlines() if "sales_crm_crm_public" in line]
    assert ["late" in lines[0], "never" in lines[0], "on time" in lines[1], "2026-11-25 12:00:00" in lines[1]] == [True] * 4
