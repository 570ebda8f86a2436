"""Authorizing intents against their team's grant: what is refused, what the team's details become."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.pipelines import discover, pipelines_of
from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.tenancy import authorize as authorize_module
from airflow_provider_chimera.tenancy.authorize import (
    AuthorizationError,
    authorize,
    authorize_pipeline,
    within_roots,
)
from airflow_provider_chimera.tenancy.model import parse_tenancy
from tests.security.corpus import TENANCY, file_source, good_intent


def _tenancy():
    return parse_tenancy(yaml.safe_dump(TENANCY).encode(), "tenancy.yaml")


def _intent(document: dict):
    return parse_intent(json.dumps(document).encode(), "x.json")


def test_an_authorized_intent_takes_its_teams_details_from_the_tenancy_file(tmp_path):
    intent = _intent(good_intent())
    authorized, problems = authorize(intent, tmp_path / "a" / "good.json", tmp_path, _tenancy())
    assert problems == []
    assert authorized.intent.team.support_email == "team-a@platform.example.org"  # not a@example.org
    assert authorized.grant.team == "team-a" and authorized.grant.secrets_prefix == "A_"


def test_without_a_tenancy_file_everything_but_the_platforms_own_names_is_allowed(tmp_path):
    document = good_intent()
    document["sources"][0]["connection"]["uri"] = "file://${env:ANY_NAME}/x"
    authorized, problems = authorize(_intent(document), tmp_path / "good.json", tmp_path, None)
    assert problems == [] and authorized.grant.team is None
    for name in ("AIRFLOW__CORE__FERNET_KEY", "airflow_conn_x", "PYICEBERG_CATALOG__CHIMERA__URI", "PII_KEY"):
        document["sources"][0]["connection"]["uri"] = f"file://${{env:{name}}}/x"
        authorized, problems = authorize(_intent(document), tmp_path / "good.json", tmp_path, None, frozenset({"PII_KEY"}))
        assert authorized is None
        assert [p.path for p in problems] == ["/sources/0/connection/uri"], name


def test_the_platforms_key_names_are_reserved_from_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", "${env:QA_PII_KEY}")
    document = good_intent()
    document["sources"][0]["connection"]["uri"] = "file://${env:QA_PII_KEY}/x"
    (tmp_path / "good.json").write_text(json.dumps(document))
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    found = discover(tmp_path)
    assert found.pipelines == []
    assert "placeholder ${env:QA_PII_KEY} is not available to intents" in str(found.errors[0])


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        ("file:///data/retail", True),
        ("file:///data/retail/2026/x.csv", True),
        ("/data/retail/x.csv", True),
        ("file:///data/retail2", False),
        ("file:///data/retail/../sales", False),
        ("file:///data", False),
        ("s3://bucket/retail/x", False),
        ("not a url", False),
    ],
)
def test_within_roots_compares_whole_path_components(url, inside):
    assert within_roots(url, ("file:///data/retail",)) is inside


def test_run_time_authorization_follows_the_tenancy_file_as_it_is_now(tmp_path, monkeypatch):
    folder = tmp_path / "intents"
    (folder / "a").mkdir(parents=True)
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text(yaml.safe_dump(TENANCY))
    monkeypatch.setenv("AIRFLOW__CHIMERA__TENANCY_FILE", str(tenancy))
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(folder))
    (pipeline,) = pipelines_of(_intent(good_intent()), str(folder / "a" / "good.json"), "hash")
    assert authorize_pipeline(pipeline, load_settings()).team == "team-a"
    withdrawn = json.loads(json.dumps(TENANCY))
    withdrawn["teams"]["team-a"]["namespaces"] = ["team_a_new"]
    tenancy.write_text(yaml.safe_dump(withdrawn))
    with pytest.raises(AuthorizationError, match="namespace 'team_a' is not one of team 'team-a'"):
        authorize_pipeline(pipeline, load_settings())


def test_an_unusable_tenancy_file_authorizes_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "intents"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "good.json").write_text(json.dumps(good_intent()))
    tenancy = tmp_path / "tenancy.yaml"
    tenancy.write_text("teams: {team-a: {support_email: broken}}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__TENANCY_FILE", str(tenancy))
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    found = discover(folder)
    assert found.pipelines == []
    assert "the platform's tenancy file is unusable" in str(found.errors[0])


def test_single_team_mode_is_said_once(caplog, monkeypatch):
    monkeypatch.setattr(authorize_module, "_SAID_SINGLE_TEAM", False)
    with caplog.at_level(logging.INFO, logger=authorize_module.__name__):
        for _ in range(3):
            assert authorize_module.current_tenancy(None) is None
    assert [r.getMessage() for r in caplog.records].count(
        "no [chimera] tenancy_file: running single-team, every intent may use every namespace and connection"
    ) == 1


def test_a_teams_intents_may_sit_in_sub_folders_of_its_path(tmp_path):
    source = file_source(uri=f"file://{Path('/data/retail')}")
    document = {**good_intent(), "sources": [source]}
    tenancy = _tenancy()
    _, problems = authorize(_intent(document), tmp_path / "a" / "deep" / "good.json", tmp_path, tenancy)
    assert [p.message for p in problems] == [
        "'file:///data/retail' is not under the file roots of team 'team-a'"
    ]
