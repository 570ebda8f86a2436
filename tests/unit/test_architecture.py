"""The package's layering (docs/architecture.md): each module imports only from its own package or
from a lower layer, and the layers that must run without Airflow never import it.

Every import counts, at a module's top or inside a function, except those under
``if TYPE_CHECKING:`` (annotations only, never executed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airflow_provider_chimera

PACKAGE = Path(airflow_provider_chimera.__file__).parent
ROOT = "airflow_provider_chimera"

# Lowest first. A module belongs to the longest prefix listed; docs/architecture.md has this table.
LAYERS: list[tuple[str, ...]] = [
    ("provider_info", "errors", "faults"),
    ("__init__", "settings", "tenancy.model"),
    ("airflow_api", "secrets", "hooks"),
    ("contract",),
    ("tenancy",),
    ("registry",),
    ("pipelines",),
    ("sources",),
    ("writer", "notify", "metadata"),
    ("governance", "maintenance"),
    ("ingest", "onboarding", "recovery"),
    ("operators",),
    ("factory", "ui"),
    ("cli", "preload"),
]
# What must run where Airflow is not imported: validating intents, discovering pipelines, the
# ingest run itself (tests and the benchmark call it), and recovery planning.
WITHOUT_AIRFLOW = ("contract", "pipelines", "ingest", "recovery", "tenancy", "registry")


def _unit(module: str) -> str:
    """``airflow_provider_chimera.a.b.c`` → the longest prefix listed in LAYERS (``a.b`` or ``a``)."""
    parts = module.split(".")[1:] or ["__init__"]
    names = {name for layer in LAYERS for name in layer}
    for size in range(len(parts), 0, -1):
        if ".".join(parts[:size]) in names:
            return ".".join(parts[:size])
    raise AssertionError(f"{module} is in no layer of docs/architecture.md: add its package to LAYERS and the table")


def _level(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _package(unit: str) -> str:
    return unit.split(".")[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path`` that is executed (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == ROOT:  # from airflow_provider_chimera import settings
                found.extend((node.lineno, f"{ROOT}.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append((".".join((ROOT, *parts)), path))
    return out


def test_every_import_goes_down_the_layers_or_stays_in_its_package():
    wrong = []
    for module, path in _modules():
        mine = _unit(module)
        for line, target in _imports(path):
            if not target.startswith(ROOT + ".") or target.split(".")[1] == "__version__":
                continue
            theirs = _unit(target)
            if _package(theirs) == _package(mine):
                continue
            if _level(theirs) >= _level(mine):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line}: {mine} (layer {_level(mine)}) imports {target} (layer {_level(theirs)})")
    assert not wrong, "imports against docs/architecture.md's layering:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", WITHOUT_AIRFLOW)
def test_the_layers_that_run_without_airflow_never_import_it(package):
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}: {target}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for line, target in _imports(path)
        if target == "airflow" or target.startswith("airflow.")
    ]
    assert not wrong


def test_the_layering_check_sees_an_upward_import(tmp_path):
    """The check itself: an import from a higher layer is reported (it cannot pass vacuously)."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from airflow_provider_chimera.factory.dags import build_dags\n")
    ((line, target),) = _imports(source)
    assert (line, target) == (2, "airflow_provider_chimera.factory.dags")
    assert _level(_unit(target)) > _level(_unit("airflow_provider_chimera.contract.model"))
    guarded = tmp_path / "guarded.py"
    guarded.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import airflow_provider_chimera.cli\n")
    assert [t for _, t in _imports(guarded) if t.startswith(ROOT)] == []


def test_docs_architecture_lists_the_same_layers():
    """docs/architecture.md's table of layers is this test's LAYERS, row for row."""
    import re

    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", text, re.M)
    documented = [tuple(re.findall(r"`([a-z_.]+)`", names)) for _, names in rows]
    assert [int(n) for n, _ in rows] == list(range(len(LAYERS)))
    assert [tuple(sorted(d)) for d in documented] == [tuple(sorted(n for n in layer if n != "__init__")) for layer in LAYERS]
