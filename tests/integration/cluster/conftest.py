"""The Iceberg REST catalog on S3 that ``scripts/catalog.sh`` runs (docs/cluster.md).

``rest_catalog`` makes sure the catalog and its store answer: when one does not, the fixture runs
``scripts/catalog.sh start``, and when neither did, it stops them again after the session; what was
already running is left running.
``cluster_catalog`` points Chimera at it the way a deployment would, only through pyiceberg's
``PYICEBERG_CATALOG__CHIMERA__*`` variables of ``scripts/cluster.env``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid

import pytest

from tests.conftest import REPO, SERVICES, _read_env, require_service

CLUSTER_ENV = _read_env(REPO / "scripts" / "cluster.env")
CATALOG_SCRIPT = REPO / "scripts" / "catalog.sh"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3):
            return True
    except OSError:
        return False


def _script(command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHIMERA_PYTHON": sys.executable}  # this Python has moto and boto3
    return subprocess.run(["bash", str(CATALOG_SCRIPT), command], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def rest_catalog() -> dict[str, str]:
    """The settings of scripts/cluster.env, once the REST catalog and its S3 store answer."""
    # The catalog keeps its tables in the local PostgreSQL: without it, it answers every request with a 500.
    require_service("PostgreSQL (the REST catalog's backend)", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    url = f"{CLUSTER_ENV['PYICEBERG_CATALOG__CHIMERA__URI']}/v1/namespaces"  # answers only with its database
    up = [_answers(url), _answers(f"{CLUSTER_ENV['PYICEBERG_CATALOG__CHIMERA__S3__ENDPOINT']}/moto-api/")]
    if not all(up):
        done = _script("start")
        if done.returncode != 0:
            pytest.fail(
                f"the Iceberg REST catalog or its S3 store does not answer and `bash scripts/catalog.sh start` failed "
                f"(it needs `make services` for PostgreSQL; `make cluster` starts both):\n{done.stdout}{done.stderr}"
            )
    yield CLUSTER_ENV
    if not any(up):  # it was all ours
        _script("stop")


@pytest.fixture
def cluster_catalog(rest_catalog, tmp_path, monkeypatch):
    """Chimera configured for the REST catalog only by ``PYICEBERG_CATALOG__CHIMERA__*``; its catalog."""
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.writer import chimera_catalog

    for name, value in rest_catalog.items():
        if name.startswith("PYICEBERG_CATALOG__CHIMERA__"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW__CHIMERA__CATALOG_NAME", "chimera")
    # The embedded catalog's place: nothing may land there.
    monkeypatch.setenv("AIRFLOW__CHIMERA__WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    return chimera_catalog(load_settings())


@pytest.fixture
def cluster_table(cluster_catalog):
    """A fresh table name in namespace ``qa``; the table and its quarantine are purged after the test."""
    name = f"cl_{uuid.uuid4().hex[:10]}"
    yield name
    for identifier in (f"qa.{name}", f"qa.{name}__quarantine"):
        if cluster_catalog.table_exists(identifier):
            cluster_catalog.purge_table(identifier)
