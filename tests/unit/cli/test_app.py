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
    assert f"{bad}: /team: Field required" in result.output


def test_dags_list_json_and_errors(tmp_path):
    shutil.copy(REPO / "intents" / "retail_shop.json", tmp_path)
    (tmp_path / "broken.json").write_text("{")
    listed = json.loads(runner.invoke(app, ["dags", "list", "--intents", str(tmp_path), "--format", "json"]).output)
    assert [row["dag_id"] for row in listed] == [
        "retail_shop_shop_files_customers",
        "retail_shop_shop_files_events",
        "retail_shop_shop_db_public_orders",
    ]
    errors = runner.invoke(app, ["dags", "list", "--intents", str(tmp_path), "--errors", "--format", "json"]).output
    assert [e["file"] for e in json.loads(errors)] == [str(tmp_path / "broken.json")]
