"""Registering a source plugin from a test, as an installed package would, without installing one.

The ``plugin_site`` fixture gives :func:`install_plugin`, bound to the test's ``tmp_path``: it
writes a tiny distribution (``<dist>-1.0.dist-info`` with ``entry_points.txt`` and, optionally,
the plugin's module) into a folder put first on ``sys.path``, where ``importlib.metadata`` finds
it exactly as it finds a pip-installed package. Import the fixture into a test module or conftest.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_chimera.sources.registry import ENTRY_POINT_GROUP, forget_plugins

HTTP_ENTRY_POINT = {"http": "airflow_provider_chimera.sources.http:plugin"}  # as in setup.cfg


def install_plugin(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    entry_points: dict[str, str],
    modules: dict[str, str] | None = None,
    dist: str = "chimera_test_plugin",
) -> None:
    """Make ``entry_points`` (type -> ``module:attr``) of group ``chimera.sources`` visible, with
    ``modules`` (name -> source text) importable, until ``monkeypatch`` is undone."""
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}\n")
    for name, text in (modules or {}).items():
        (site / f"{name}.py").write_text(textwrap.dedent(text))
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(site))
    forget_plugins()


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``install(entry_points, modules=None, dist=...)``: register plugins for this test only."""
    count = iter(range(1_000))

    def install(entry_points: dict[str, str], modules: dict[str, str] | None = None, dist: str | None = None) -> None:
        install_plugin(tmp_path / f"site{next(count)}", monkeypatch, entry_points, modules, dist or "chimera_test_plugin")

    yield install
    forget_plugins()  # the next lookup, after monkeypatch restores sys.path, starts afresh


@pytest.fixture
def http_source(plugin_site) -> None:
    """The HTTP source of this package registered through its entry point, as once installed."""
    plugin_site(HTTP_ENTRY_POINT, dist="chimera_http_entry")
