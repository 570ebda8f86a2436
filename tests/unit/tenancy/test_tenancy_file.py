"""The tenancy file: its shape, the rules over all teams, the shipped JSON Schema, and ``chimera teams``."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from airflow_provider_chimera.tenancy.model import Tenancy, TenancyError, parse_tenancy, schema_text

RETAIL = {
    "support_email": "retail-data@example.org",
    "namespaces": ["retail"],
    "connections": ["retail_postgres"],
    "secrets_prefix": "RETAIL_",
    "file_roots": ["file:///data/retail/"],
    "intents_path": "retail",
}
SALES = {"support_email": "sales@example.org", "namespaces": ["sales"], "secrets_prefix": "SALES_", "intents_path": "sales/"}


def _parse(teams: dict) -> Tenancy:
    return parse_tenancy(yaml.safe_dump({"teams": teams}).encode(), "tenancy.yaml")


def _problems(teams: dict) -> list[tuple[str, str]]:
    with pytest.raises(TenancyError) as caught:
        _parse(teams)
    return caught.value.problems


def test_the_issue_example_parses_and_is_normalised():
    spec = _parse({"retail-analytics": RETAIL}).teams["retail-analytics"]
    assert spec.intents_path == "retail/"
    assert spec.file_roots == ["file:///data/retail"]
    assert spec.project_names == ["retail"]  # projects default to the namespaces


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"support_email": "nobody"}, "/teams/retail/support_email", "not a valid email"),
        ({"namespaces": ["Retail"]}, "/teams/retail/namespaces/0", "should match pattern"),
        ({"intents_path": "../other"}, "/teams/retail/intents_path", "relative to the intents folder"),
        ({"intents_path": "/etc"}, "/teams/retail/intents_path", "relative to the intents folder"),
        ({"secrets_prefix": "AIRFLOW_"}, "/teams/retail/secrets_prefix", "platform's own AIRFLOW"),
        ({"secrets_prefix": "PY"}, "/teams/retail/secrets_prefix", "platform's own PYICEBERG"),
        ({"file_roots": ["/data/retail"]}, "/teams/retail/file_roots", "is not a URL"),
        ({"file_roots": ["file://data"]}, "/teams/retail/file_roots", "must be absolute"),
        ({"file_roots": ["file:///data/${env:X}"]}, "/teams/retail/file_roots", "placeholder or a glob"),
        ({"colour": "red"}, "/teams/retail/colour", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_team_is_named_with_its_field(change, path, message):
    problems = _problems({"retail": {**RETAIL, **change}})
    assert any(where == path and message in text for where, text in problems), problems


@pytest.mark.parametrize(
    ("sales", "message"),
    [
        ({"namespaces": ["retail"]}, "namespace 'retail' is given to both"),
        ({"intents_path": "retail/sales/"}, "overlap"),
        ({"secrets_prefix": "RETAIL_S"}, "secrets_prefix 'RETAIL_' of 'retail' and 'RETAIL_S' of 'sales' overlap"),
    ],
)
def test_nothing_is_given_to_two_teams(sales, message):
    problems = _problems({"retail": RETAIL, "sales": {**SALES, **sales}})
    assert any(message in text for _, text in problems), problems


def test_a_file_that_is_no_yaml_mapping_is_rejected():
    with pytest.raises(TenancyError, match="not valid YAML at line 1"):
        parse_tenancy(b"teams: [unclosed", "t.yaml")
    with pytest.raises(TenancyError, match="must be a mapping with 'teams'"):
        parse_tenancy(b"- a\n- b\n", "t.yaml")


def test_the_shipped_schema_is_the_models_and_accepts_the_example():
    shipped = json.loads(schema_text())
    generated = Tenancy.model_json_schema()
    assert shipped["$defs"] == generated["$defs"] and shipped["properties"] == generated["properties"]
    validator = Draft202012Validator(shipped)
    assert not list(validator.iter_errors({"teams": {"retail-analytics": RETAIL}}))
    assert list(validator.iter_errors({"teams": {"retail-analytics": {**RETAIL, "colour": "red"}}}))


def test_team_of_file_follows_the_intents_paths():
    tenancy = _parse({"retail": RETAIL, "sales": SALES})
    assert tenancy.team_of_file("retail/shop.json") == "retail"
    assert tenancy.team_of_file("sales/sub/crm.json") == "sales"
    assert tenancy.team_of_file("retailers/x.json") is None


runner = CliRunner()


def test_chimera_teams_validate_and_show(tmp_path):
    good = tmp_path / "tenancy.yaml"
    good.write_text(yaml.safe_dump({"teams": {"retail": RETAIL, "sales": SALES}}))
    result = runner.invoke(app, ["teams", "validate", "--file", str(good)], prog_name="chimera")
    assert result.exit_code == 0 and "2 team(s): retail, sales" in result.stdout
    shown = runner.invoke(app, ["teams", "show", "retail", "--file", str(good), "--format", "json"], prog_name="chimera")
    assert json.loads(shown.stdout) == {
        "team": "retail", "support_email": "retail-data@example.org", "intents_path": "retail/",
        "namespaces": ["retail"], "projects": ["retail"], "connections": ["retail_postgres"],
        "secrets_prefix": "RETAIL_", "file_roots": ["file:///data/retail"],
    }
    missing = runner.invoke(app, ["teams", "show", "nobody", "--file", str(good)], prog_name="chimera")
    assert missing.exit_code == 2 and "no team 'nobody'" in missing.output


def test_chimera_teams_validate_names_every_problem(tmp_path):
    bad = tmp_path / "tenancy.yaml"
    bad.write_text(yaml.safe_dump({"teams": {"retail": {**RETAIL, "support_email": "x", "intents_path": "/abs"}}}))
    result = runner.invoke(app, ["teams", "validate", "--file", str(bad)], prog_name="chimera")
    assert result.exit_code == 2
    assert f"{bad}: /teams/retail/support_email:" in result.output
    assert f"{bad}: /teams/retail/intents_path:" in result.output


def test_chimera_teams_without_a_tenancy_file_says_single_team(monkeypatch):
    monkeypatch.delenv("AIRFLOW__CHIMERA__TENANCY_FILE", raising=False)
    result = runner.invoke(app, ["teams", "validate"], prog_name="chimera")
    assert result.exit_code == 2 and "single-team" in result.output
