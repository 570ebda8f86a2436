"""The chimera_timeliness DAG: every five minutes, unpaused, no catch-up, one check task."""

from __future__ import annotations

import runpy
from pathlib import Path

from airflow_provider_chimera.factory.timeliness import build_timeliness_dags

REPO = Path(__file__).resolve().parents[3]


def test_timeliness_dag_runs_every_five_minutes_unpaused_without_catchup():
    dags = build_timeliness_dags()
    assert list(dags) == ["chimera_timeliness"]
    dag = dags["chimera_timeliness"]
    assert dag.schedule == "*/5 * * * *"
    assert dag.catchup is False
    assert dag.is_paused_upon_creation is False
    assert dag.max_active_runs == 1
    assert dag.tags == {"chimera"}
    (task,) = dag.tasks
    assert (task.task_id, type(task).__name__, task.pool) == ("check", "TimelinessOperator", "default_pool")


def test_the_dags_folder_file_defines_it(tmp_path, monkeypatch):
    # Parsing needs no intents folder, registry or catalog: point them all at nothing.
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(tmp_path / "missing"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", "postgresql://nobody@127.0.0.1:1/none")
    names = runpy.run_path(str(REPO / "dags" / "chimera_timeliness.py"))
    assert names["chimera_timeliness"].dag_id == "chimera_timeliness"
