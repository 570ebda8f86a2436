"""chimera audit, chimera registry sync|info, chimera intent diff|onboard — each audited."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from airflow_provider_chimera.cli.registry import register_intent_commands
from tests.unit.registry.conftest import intent_data, write_intent

runner = CliRunner()

# The `intent` group is assembled elsewhere; these tests mount diff/onboard on a group of their own.
intent_app = typer.Typer(no_args_is_help=True)
register_intent_commands(intent_app)
intent_host = typer.Typer()
intent_host.add_typer(intent_app, name="intent")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    (tmp_path / "intents").mkdir()
    return tmp_path


def _audit(*args: str) -> list[dict]:
    result = runner.invoke(app, ["audit", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("command", [["audit"], ["registry"], ["registry", "sync"], ["registry", "info"]])
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"], prog_name="chimera")
    assert result.exit_code == 0, result.output
    assert "Usage: chimera" in result.output


@pytest.mark.parametrize("command", [["intent", "diff"], ["intent", "onboard"]])
def test_intent_commands_have_help(command):
    result = runner.invoke(intent_host, [*command, "--help"], prog_name="chimera")
    assert result.exit_code == 0, result.output
    assert "Usage: chimera" in result.output


def test_onboard_then_diff_text(home):
    path = write_intent(home / "intents", intent_data())
    result = runner.invoke(intent_host, ["intent", "onboard", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("onboarded sales_crm version ")
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import OnboardedVersionRow

    with open_registry() as registry, registry.session(read_only=True) as session:
        assert session.get(OnboardedVersionRow, "sales_crm").content == path.read_bytes()

    unchanged = runner.invoke(intent_host, ["intent", "diff", str(path)])
    assert unchanged.exit_code == 0 and unchanged.output.splitlines()[-1] == "no differences"

    data = intent_data()
    objects = data["sources"][0]["objects"]
    objects.pop(1)
    objects[0]["columns"] = ["id", "updated_at", "email"]
    objects[0]["ingestion"]["trigger"]["schedule"] = "@daily"
    objects.append({"name": "public.invoices"})
    write_intent(home / "intents", data)
    result = runner.invoke(intent_host, ["intent", "diff", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "removed objects (their pipelines are retired, data kept):",
        "  - crm/public.orders",
        "removed columns (no longer read, data kept):",
        "  - crm/public.customers: name",
        "added objects (need onboarding; no pipeline until then):",
        "  + crm/public.invoices",
        "added columns (need onboarding; pipelines keep the onboarded columns until then):",
        "  + crm/public.customers: email",
        "changed settings:",
        '  ~ crm/public.customers: ingestion.trigger.schedule: "@hourly" -> "@daily"',
    ]
    assert [e["action"] for e in _audit("--intent", "sales_crm")] == ["intent.diffed", "intent.diffed", "intent.onboarded"]


def test_diff_json_and_never_onboarded(home):
    path = write_intent(home / "intents", intent_data())
    result = runner.invoke(intent_host, ["intent", "diff", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["intent"], body["onboarded_hash"], body["diff"]) == ("sales_crm", None, None)
    runner.invoke(intent_host, ["intent", "onboard", str(path)])
    data = intent_data()
    data["sources"][0]["objects"][0]["columns"].append("email")
    write_intent(home / "intents", data)
    body = json.loads(runner.invoke(intent_host, ["intent", "diff", str(path), "--format", "json"]).output)
    assert body["needs_onboarding"] is True
    assert body["diff"]["added_columns"] == [
        {"source": "crm", "object": "public.customers", "columns": ["email"], "all_except": None}
    ]
    (entry,) = _audit("--action", "intent.diffed", "--limit", "1")
    assert entry["details"]["added_columns"] == 1 and entry["intent_hash"] == body["current_hash"]


def test_invalid_intent_exits_2_with_its_problems(home):
    bad = home / "intents" / "bad.json"
    bad.write_text(json.dumps({"version": 1, "name": "bad"}))
    for command in (["intent", "diff", str(bad)], ["intent", "onboard", str(bad)]):
        result = runner.invoke(intent_host, command)
        assert result.exit_code == 2
        assert f"{bad}: /team: Field required" in result.output
    assert [e["action"] for e in _audit("--intent", "bad")] == ["intent.rejected", "intent.rejected"]


def test_registry_sync_and_audit_filters(home):
    write_intent(home / "intents", intent_data())
    result = runner.invoke(app, ["registry", "sync", "--intents", str(home / "intents")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "new version: sales_crm",
        "pipeline created: sales_crm_crm_public_customers",
        "pipeline created: sales_crm_crm_public_orders",
    ]
    again = runner.invoke(app, ["registry", "sync", "--intents", str(home / "intents")])
    assert again.output.strip() == f"registry up to date with {home / 'intents'}"

    created = _audit("--action", "pipeline.*")
    assert [e["details"]["target_table"] for e in created] == ["sales.orders", "sales.customers"]
    synced = _audit("--action", "registry.synced")
    assert [e["details"]["created"] for e in synced] == [0, 2]
    assert _audit("--since", "2999-01-01") == []
    assert len(_audit("--limit", "2")) == 2
    table = runner.invoke(app, ["audit", "--action", "pipeline.created"])
    assert table.exit_code == 0 and "Chimera audit log" in table.output and "sales.orders" in table.output
    # Reading the log is itself recorded.
    assert _audit("--action", "audit.viewed", "--limit", "1")[0]["details"] == {"action": "pipeline.created", "limit": 50}


def test_bad_since_is_named(home):
    result = runner.invoke(app, ["audit", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "'yesterday' is not an ISO-8601 date or time" in result.output


def test_registry_info(home):
    result = runner.invoke(app, ["registry", "info"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"database: sqlite:///{home / 'registry.db'}"
    assert lines[-1] == "lineage_queued_for_datahub_lite: 0"
