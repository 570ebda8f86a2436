"""``airflow_provider_chimera.preload``: what a task imports, imported once in the process Airflow forks tasks from."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PROBE = """
import json, os, sys, threading
import airflow_provider_chimera.preload as preload
from airflow_provider_chimera.registry.models import RunRow
print(json.dumps({
    "imported": [m for m in ("pyarrow", "pyiceberg.catalog.sql", "airflow_provider_chimera.ingest.run",
                             "airflow_provider_chimera.operators.ingest", "airflow.sdk.execution_time.task_runner",
                             "duckdb", "soda_core.contracts.contract_verification", "soda_duckdb") if m in sys.modules],
    "soda_env": [os.environ.get("SODA_CORE_TELEMETRY_ENABLED"), os.environ.get("PYTHON_DOTENV_DISABLED")],
    "threads": [t.name for t in threading.enumerate()],
    "mappers_configured": RunRow.__mapper__.configured,
    "celery_imports": preload.CELERY_CONFIG["imports"],
    "broker": "broker_url" in preload.CELERY_CONFIG,
}))
"""


def test_preloading_imports_the_ingest_path_configures_mappers_and_starts_no_thread(tmp_path):
    """Safe to fork after: only the main thread runs; what a run imports is imported (Soda Core and
    DuckDB too, which a run that commits rows checks them with)."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path), "PYTHONPATH": ":".join(sys.path)})
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["imported"] == ["pyarrow", "pyiceberg.catalog.sql", "airflow_provider_chimera.ingest.run",
                                 "airflow_provider_chimera.operators.ingest", "airflow.sdk.execution_time.task_runner",
                                 "duckdb", "soda_core.contracts.contract_verification", "soda_duckdb"]
    # Soda imported as the checks import it: telemetry off, no .env read, the environment otherwise as it was.
    assert found["soda_env"] == ["false", None]
    assert found["threads"] == ["MainThread"]
    assert found["mappers_configured"] is True
    # Celery workers: Airflow's own configuration, plus this module imported before the pool forks.
    assert found["celery_imports"][-1] == "airflow_provider_chimera.preload" and found["broker"]


def test_a_module_that_cannot_be_imported_is_reported_not_raised():
    from airflow_provider_chimera.preload import preload

    assert preload(("json", "no_such_driver_for_chimera")) == ["no_such_driver_for_chimera"]
