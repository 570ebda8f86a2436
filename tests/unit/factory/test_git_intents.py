"""The DAG files of a git DAG bundle (samples/git-intents/dags/) read the intents beside them.

A checkout laid out as docs/git-intents.md says: ``dags/`` (copies of samples/git-intents/dags/)
and ``intents/``. ``[chimera] intents_dir`` points elsewhere: what the files build comes from the
checkout, and the process's settings (read by the registry sync and the onboarding steps at run
time) name the checkout's folder.
"""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import pytest

from airflow_provider_chimera import settings as chimera_settings
from airflow_provider_chimera.settings import load_settings, use_intents_dir

REPO = Path(__file__).resolve().parents[3]
BUNDLE_DAGS = REPO / "samples" / "git-intents" / "dags"


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A bundle checkout holding the sample's DAG files and the repository's sample intent."""
    monkeypatch.setattr(chimera_settings, "_intents_dir_of_process", None)  # restored after the test
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(tmp_path / "configured-elsewhere"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "dag_bundles" / "chimera" / "versions" / ("ab" * 20)
    shutil.copytree(BUNDLE_DAGS, root / "dags")
    (root / "intents").mkdir()
    shutil.copy(REPO / "intents" / "retail_shop.json", root / "intents")
    return root


def test_the_bundle_has_a_file_for_each_file_of_the_dags_folder():
    assert sorted(p.name for p in BUNDLE_DAGS.glob("*.py")) == sorted(p.name for p in (REPO / "dags").glob("*.py"))


def test_the_pipelines_file_builds_the_checkouts_intents_and_names_them_for_the_process(checkout):
    names = runpy.run_path(str(checkout / "dags" / "chimera_pipelines.py"))
    assert "retail_shop_shop_files_customers" in names
    assert load_settings().intents_dir == (checkout / "intents").resolve()


def test_every_bundle_dag_file_parses_from_the_checkout(checkout):
    built: set[str] = set()
    for path in sorted((checkout / "dags").glob("*.py")):
        built |= {k for k, v in runpy.run_path(str(path)).items() if type(v).__name__ == "DAG"}
    assert {"chimera_registry_sync", "chimera_onboard__retail_shop", "retail_shop_shop_files_customers"} <= built


def test_a_broken_intent_of_the_checkout_is_the_error_files_import_error(checkout):
    broken = json.loads((checkout / "intents" / "retail_shop.json").read_text())
    del broken["team"]["support_email"]
    (checkout / "intents" / "broken_shop.json").write_text(json.dumps({**broken, "name": "broken_shop"}))
    with pytest.raises(Exception, match=r"broken_shop\.json: /team/support_email: Field required"):
        runpy.run_path(str(checkout / "dags" / "chimera_intent_errors.py"))
    names = runpy.run_path(str(checkout / "dags" / "chimera_pipelines.py"))
    assert "retail_shop_shop_files_customers" in names  # the other intent's DAGs are built all the same


def test_use_intents_dir_wins_over_the_option_and_the_option_holds_without_it(tmp_path, monkeypatch):
    monkeypatch.setattr(chimera_settings, "_intents_dir_of_process", None)
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(tmp_path / "option"))
    assert load_settings().intents_dir == tmp_path / "option"
    assert use_intents_dir(tmp_path / "bundle" / "intents") == tmp_path / "bundle" / "intents"
    assert load_settings().intents_dir == tmp_path / "bundle" / "intents"
