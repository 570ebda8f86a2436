"""Every hostile intent of the corpus is rejected with a clear error, and hides no other intent's DAGs."""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tests.security as package
from airflow_provider_chimera.cli.app import app
from tests.security.corpus import HostileCase

CASES: list[HostileCase] = [
    case
    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("cases_"))
    for case in importlib.import_module(f"tests.security.{module}").CASES
]
GOOD_DAGS = {"good_files_customers"}


def _place(case: HostileCase, folder: Path) -> Path:
    target = folder / (case.folder or ("b/" if case.tenancy else "")) / case.file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(case.raw if case.raw is not None else json.dumps(case.document()).encode())
    return target


@pytest.fixture
def placed(request, intents_folder, tmp_path, monkeypatch):
    case: HostileCase = request.param
    if case.tenancy:
        request.getfixturevalue("tenancy_file")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    return case, _place(case, intents_folder)


def _run_time_points() -> set[str]:
    """Points covered by run-time tests: each ``test_*`` module of this package names its own in ``COVERS``."""
    return {
        point
        for module in pkgutil.iter_modules(package.__path__)
        if module.name.startswith("test_")
        for point in getattr(importlib.import_module(f"tests.security.{module.name}"), "COVERS", ())
    }


def test_the_corpus_covers_every_control():
    """Every control of the issue has a hostile intent in the corpus, or a run-time test where the
    attack only shows at run time (a failed attempt's files, a Superset registration)."""
    points = {case.point for case in CASES} | _run_time_points()
    assert {"tenancy", *map(str, range(1, 12))} <= points, sorted(points)


@pytest.mark.parametrize("placed", CASES, ids=[c.id for c in CASES], indirect=True)
def test_validate_names_file_path_and_reason(placed, intents_folder):
    case, path = placed
    result = CliRunner().invoke(app, ["intent", "validate", "--format", "json", str(intents_folder)], prog_name="chimera")
    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)
    ours = [p for p in problems if p["file"] == str(path)]
    assert any(p["path"] == (case.path or "/") and case.message in p["message"] for p in ours), ours
    assert not [p for p in problems if p["file"] != str(path)], "the good intent must not be blamed"


@pytest.mark.parametrize("placed", CASES, ids=[c.id for c in CASES], indirect=True)
def test_other_intents_dags_still_load(placed, intents_folder):
    from airflow_provider_chimera.factory import build_dags
    from airflow_provider_chimera.factory.onboarding import build_onboarding_dags
    from airflow_provider_chimera.pipelines import discover

    case, path = placed
    found = discover(intents_folder)
    assert {p.id for p in found.pipelines} == GOOD_DAGS
    assert any(str(path) in str(error) for error in found.errors)
    assert set(build_dags(intents_folder)) == GOOD_DAGS
    onboarding = build_onboarding_dags(intents_folder)
    assert set(onboarding) == {"chimera_onboard__good"}
    assert onboarding["chimera_onboard__good"].tasks[0].intent_file == str(intents_folder / "a" / "good.json")
