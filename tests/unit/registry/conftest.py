"""A fresh registry (SQLite under a temporary AIRFLOW_HOME) and intent files to feed it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.helpers import sales_crm_intent

INTENT = sales_crm_intent(
    {
        "name": "crm",
        "type": "postgres",
        "connection": {"uri": "postgresql://reader:${secret:crm_password}@crm:5432/crm"},
        "objects": [
            {
                "name": "public.customers",
                "columns": ["id", "name", "updated_at"],
                "ingestion": {
                    "trigger": {"type": "timed", "schedule": "@hourly"},
                    "mode": {"type": "incremental", "cursor": "updated_at"},
                    "target": {"table": "customers"},
                },
            },
            {
                "name": "public.orders",
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "orders"}},
            },
        ],
    }
)


def intent_data(**changes) -> dict:
    data = copy.deepcopy(INTENT)
    data.update(changes)
    return data


def write_intent(folder: Path, data: dict) -> Path:
    path = folder / f"{data['name']}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture
def chimera_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "airflow"
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.delenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", raising=False)
    monkeypatch.delenv("AIRFLOW__CHIMERA__STATE_DIR", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_RUN_ID", raising=False)
    return home


@pytest.fixture
def registry(chimera_home):
    from airflow_provider_chimera.registry.db import open_registry

    reg = open_registry()
    yield reg
    reg.close()


@pytest.fixture
def intents_dir(tmp_path) -> Path:
    folder = tmp_path / "intents"
    folder.mkdir()
    return folder
