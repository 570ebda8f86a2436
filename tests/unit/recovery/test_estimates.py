"""Estimating a pipeline's cores, peak memory and duration from its recent successful runs in the registry."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.recovery.estimates import (
    DEFAULT_CPU,
    DEFAULT_DURATION_S,
    DEFAULT_MEMORY_GIB,
    MIN_CPU,
    Estimate,
    estimate,
    percentile,
)
from airflow_provider_chimera.registry.runs import record_run
from airflow_provider_chimera.pipelines.sync import sync_registry
from tests.unit.registry.conftest import (  # noqa: F401 (fixtures: chimera_home, intents_dir, registry)
    INTENT,
    chimera_home,
    intents_dir,
    registry,
    write_intent,
)

ORDERS = "sales_crm_crm_public_orders"
CUSTOMERS = "sales_crm_crm_public_customers"
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def synced(registry, intents_dir):  # noqa: F811 (the imported fixtures)
    """The registry (a fresh SQLite one) knowing the sales_crm intent's two pipelines."""
    write_intent(intents_dir, INTENT)
    sync_registry(registry, intents_dir, actor="test")
    return registry


def run(session, n: int, seconds: float, *, state: str = "success", cpu_seconds: float | None = None, peak_rss_kib: int | None = None) -> None:
    """Run ``n`` of the orders pipeline, started ``n`` hours after START, lasting ``seconds``."""
    started = START + dt.timedelta(hours=n)
    record_run(
        session, ORDERS, f"run_{n:02d}", state, started_at=started, ended_at=started + dt.timedelta(seconds=seconds), cpu_seconds=cpu_seconds, peak_rss_kib=peak_rss_kib
    )


def test_percentile_is_the_nearest_rank():
    assert percentile([float(v) for v in range(1, 11)], 0.9) == 9.0
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0


def test_p90_of_the_recent_successful_runs(synced):
    with synced.session() as session:
        for n in range(1, 11):  # 60 s .. 600 s, using 1..10 cores' worth of CPU time and 1..10 GiB
            run(session, n, 60.0 * n, cpu_seconds=60.0 * n * n / 2, peak_rss_kib=n * 1024**2)
        run(session, 11, 9999.0, state="failed", cpu_seconds=1e6, peak_rss_kib=100 * 1024**2)  # failures do not count
    with synced.session() as session:
        found = estimate(session, [ORDERS])
    assert found == {ORDERS: Estimate(cpu=4.5, memory_gib=9.0, duration_s=540.0, runs=10)}


def test_only_the_last_runs_count(synced):
    with synced.session() as session:
        for n in range(1, 11):
            run(session, n, 60.0 * n, cpu_seconds=30.0 * n, peak_rss_kib=1024**2 // 2)
    with synced.session() as session:
        found = estimate(session, [ORDERS], recent=3)[ORDERS]
    assert (found.duration_s, found.runs) == (600.0, 3)  # runs 8, 9, 10: 480, 540, 600 s
    assert (found.cpu, found.memory_gib) == (0.5, 0.5)


def test_a_pipeline_never_run_gets_the_defaults_and_missing_figures_too(synced):
    with synced.session() as session:
        run(session, 1, 120.0, cpu_seconds=1.0)  # 1 CPU second over 120 s: below the floor; no peak RSS recorded
    with synced.session() as session:
        found = estimate(session, [ORDERS, CUSTOMERS])
    assert found[CUSTOMERS] == Estimate(cpu=DEFAULT_CPU, memory_gib=DEFAULT_MEMORY_GIB, duration_s=DEFAULT_DURATION_S, runs=0)
    assert found[ORDERS] == Estimate(cpu=MIN_CPU, memory_gib=DEFAULT_MEMORY_GIB, duration_s=120.0, runs=1)
