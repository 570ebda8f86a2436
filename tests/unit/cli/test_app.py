"""The chimera CLI: help on every command, validation exit codes, pipelines listed without Airflow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["version"], ["tables"], ["intent"], ["intent", "validate"], ["dags"], ["dags", "list"]])
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"], prog_name="chimera")
    assert result.exit_code == 0, result.output
    assert "Usage: chimera" in result.output


def test_validate_ok_and_failure_exit_codes(tmp_path):
    assert runner.invoke(app, ["intent", "validate", str(REPO / "intents")]).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "name": "bad"}))
    result = runner.invoke(app, ["intent", "validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: /team: 'team' is required (add \"team\"" in result.output


def test_dags_list_json_and_errors(tmp_path):
    shutil.copy(REPO / "intents" / "retail_shop.json", tmp_path)
    (tmp_path / "broken.json").write_text("{")
    listed = json.loads(runner.invoke(app, ["dags", "list", "--intents", str(tmp_path), "--format", "json"]).output)
    assert [row["dag_id"] for row in listed] == [
        "retail_shop_shop_files_customers",
        "retail_shop_shop_files_events",
        "retail_shop_shop_db_public_orders",
    ]
    result = runner.invoke(app, ["dags", "list", "--intents", str(tmp_path), "--errors", "--format", "json"])
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert [e["file"] for e in report["rejected"]] == [str(tmp_path / "broken.json")]
    assert report["pending_onboarding"] == []


def test_every_cli_action_is_audited(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setattr("sys.argv", ["chimera", "dags", "list", "--format", "ids", "--intents", str(REPO / "intents")])
    result = runner.invoke(app, ["dags", "list", "--format", "ids", "--intents", str(REPO / "intents")])
    assert result.exit_code == 0
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry().session() as session:
        rows = [(r.action, r.details["argv"][:2]) for r in entries(session)]
    assert rows == [("cli.dags.list", ["dags", "list"])]
