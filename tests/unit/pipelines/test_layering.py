"""The contract and the domain model sit below the DAG factory: they never import it, the
operators or Airflow (docs/decisions/0033-pipelines-domain-layer.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airflow_provider_chimera

PACKAGE = Path(airflow_provider_chimera.__file__).parent
FORBIDDEN = ("airflow", "airflow_provider_chimera.factory", "airflow_provider_chimera.operators")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", ["contract", "pipelines"])
def test_the_lower_layers_import_neither_the_factory_the_operators_nor_airflow(layer):
    wrong = {
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for module in _imports(path)
        if any(module == forbidden or module.startswith(forbidden + ".") for forbidden in FORBIDDEN)
    }
    assert not wrong
