"""The ingest run is free of Airflow: tests, the benchmark and any other host call it with plain arguments."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import airflow_provider_chimera.ingest as ingest
from tests.conftest import REPO


def test_no_module_of_the_ingest_package_imports_airflow():
    modules = [m.name for m in pkgutil.iter_modules(ingest.__path__, "airflow_provider_chimera.ingest.")]
    assert {"airflow_provider_chimera.ingest.run", "airflow_provider_chimera.ingest.result"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
