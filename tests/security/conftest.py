"""Fixtures of the security tests: an intents folder with a good, onboarded intent, and the tenancy file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.security.corpus import TENANCY, good_intent


@pytest.fixture
def intents_folder(tmp_path, monkeypatch) -> Path:
    """An intents folder holding team A's onboarded intent at ``a/good.json``; ``[chimera] intents_dir``."""
    folder = tmp_path / "intents"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    raw = json.dumps(good_intent()).encode()
    (folder / "a" / "good.json").write_bytes(raw)
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(folder))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.manifest import write_onboarded

    with open_registry() as registry, registry.session() as session:
        write_onboarded(session, "good", raw)  # team A's pipelines are running
    return folder


@pytest.fixture
def tenancy_file(tmp_path, monkeypatch) -> Path:
    """The two-team tenancy file, configured as ``[chimera] tenancy_file``."""
    path = tmp_path / "tenancy.yaml"
    path.write_text(yaml.safe_dump(TENANCY))
    monkeypatch.setenv("AIRFLOW__CHIMERA__TENANCY_FILE", str(path))
    return path


@pytest.fixture(autouse=True, scope="session")
def _single_team_said():
    """Chimera says once per process that it runs single-team; say it before any CLI run, so the
    log line never lands in the captured stdout of the first ``--format json`` validation."""
    from airflow_provider_chimera.tenancy.authorize import current_tenancy

    current_tenancy(None)
