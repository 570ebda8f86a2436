"""Shared test fixtures: the local services' addresses, and an isolated Iceberg warehouse."""

from __future__ import annotations

import os
import time
import socket
from pathlib import Path

import pytest

from tests.superset_server import superset_server  # noqa: F401  (fixture: one Superset for the whole session)

REPO = Path(__file__).resolve().parents[1]
SERVICES_ENV = REPO / "scripts" / "services.env"


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


SERVICES = _read_env(SERVICES_ENV)


def require_service(name: str, host: str, port: int | str) -> None:
    """Fail (never skip) when a service the test needs is not answering."""
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return
    except OSError as exc:
        pytest.fail(f"{name} is not answering on {host}:{port} ({exc.strerror}); start the services with `make services`")


@pytest.fixture(autouse=True)
def _forget_remembered_secrets():
    """Secrets resolved by one test (the services' password is "chimera") must not mask another's output."""
    yield
    from airflow_provider_chimera.secrets import forget_secrets

    forget_secrets()


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    return SERVICES


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Chimera settings with an embedded catalog in a fresh warehouse under ``tmp_path``."""
    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv("AIRFLOW__CHIMERA__WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__CATALOG_NAME", "chimera_test")
    monkeypatch.setenv("CHIMERA_SAMPLE_DATA", str(REPO / "samples"))
    return load_settings()


@pytest.fixture
def catalog(settings):
    from airflow_provider_chimera.writer import chimera_catalog

    return chimera_catalog(settings)


# The test tiers (README "Testing"), by folder: tests/unit needs nothing running; tests/e2e runs
# Airflow DAGs end to end; every other folder (integration, security, any new one) is integration.
TIERS = ("unit", "integration", "e2e")


def _tier(path: Path) -> str:
    folder = path.parts[len((REPO / "tests").parts)] if path.is_relative_to(REPO / "tests") else ""
    return folder if folder in ("unit", "e2e") else "integration"


def pytest_collection_modifyitems(config, items):
    """Mark each test with its tier and run the tiers in order: unit, then integration, then e2e."""
    for item in items:
        item.add_marker(_tier(item.path))
    items.sort(key=lambda item: TIERS.index(_tier(item.path)))  # stable: a module's tests stay together


# Wall time of each tier in this session (first test's start to last test's end; the tiers run one
# after the other), printed at the end so that CI's output says how long each tier takes.
_TIER_CLOCK: dict[str, list[float]] = {}


def _tier_of(location: tuple) -> str:
    return _tier(REPO / location[0])


def pytest_runtest_logstart(nodeid, location):
    _TIER_CLOCK.setdefault(_tier_of(location), [time.monotonic(), time.monotonic()])


def pytest_runtest_logfinish(nodeid, location):
    _TIER_CLOCK[_tier_of(location)][1] = time.monotonic()


def pytest_terminal_summary(terminalreporter):
    if _TIER_CLOCK:
        times = ", ".join(f"{tier} {end - start:.0f} s" for tier in TIERS if tier in _TIER_CLOCK for start, end in [_TIER_CLOCK[tier]])
        terminalreporter.write_line(f"tier wall times: {times}")


def pytest_configure(config):
    import tempfile

    # The CLI audits every command: keep the test session's entries out of ~/airflow.
    state = Path(tempfile.mkdtemp(prefix="chimera-test-state-"))
    os.environ.setdefault("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{state / 'registry.db'}")
    os.environ.setdefault("AIRFLOW__CHIMERA__STATE_DIR", str(state))
    # Each run's lineage goes to DataHub Lite: a file of this session's, not one in ~/airflow.
    os.environ.setdefault("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", str(state / "datahub-lite.duckdb"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
