"""The onboarding package has no import cycle: the steps' modules never import the workflow."""

from __future__ import annotations

import ast
from pathlib import Path

import airflow_provider_chimera.onboarding as package

FOLDER = Path(package.__file__).parent


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_no_onboarding_module_imports_the_workflow():
    importers = [p.name for p in FOLDER.glob("*.py") if "airflow_provider_chimera.onboarding.workflow" in _imported(p)]
    assert importers == []


def test_step_errors_come_from_a_leaf_module():
    assert {m for m in _imported(FOLDER / "errors.py") if m.startswith("airflow_provider_chimera")} == {"airflow_provider_chimera.errors"}
