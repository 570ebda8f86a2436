"""Blast radius on `make cluster`: one team's flood of 200 runs does not starve another team.

Each team has its own Celery worker on its own queue, pinned to a CPU of its own (``taskset``), as
separate hosts would be: the noisy team's (concurrency 2: its pool holds 2 slots, a core's worth)
on CPU 0, the quiet team's on CPU 1. The scheduler, api-server, PostgreSQL, the S3 store and the
REST catalog, which have hosts of their own in a deployment, float over both CPUs. The noisy team
has eight pipelines at ``critical`` priority, the quiet team one at ``low``.

1. Baseline: nothing else runs; the quiet pipeline is triggered ``SAMPLES`` times, one run after
   the other, and each run's queued-to-success latency (the run's ``end_date`` minus its
   ``queued_at``: every step a flood could slow, from leaving the queue to the last task's end) is
   measured.
2. Flood: ``FLOOD`` runs of the noisy pipelines are triggered through the REST API (one active run
   per pipeline, the rest queued) and, while they run, the quiet pipeline is measured again.

The quiet team is not starved: every one of its runs succeeds while the flood runs, and its median
latency under the flood stays within ``STARVED`` (3x) of its baseline; the noisy team's pool is
busy all along and never holds more than its slots (sampled from Airflow's pool while measuring,
and computed from its task instances' real start and end times). A quiet run queued behind the
flood would take many times its baseline.

How close the two medians are is a measurement, printed on every run and recorded in
docs/recovery.md ("Blast radius"): the 10% target there is not asserted here (decision 0077). A
noisy team given 8 slots on its one CPU (two workers of 4) pushes the shared processes' load up
enough to slow the quiet team by about 18% on this 2-CPU machine.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time

import pytest

from tests.e2e.cluster_stack import Cluster, onboard, start_cluster, stop_cluster, two_cpus
from tests.helpers import DECLARATION

NOISY, QUIET = "br-noisy", "br-quiet"
CPUS = two_cpus()
TEAMS = f"{NOISY}=2@{CPUS[0]} {QUIET}=2@{CPUS[1]}"
NOISY_SLOTS = 2
NOISY_POOL = "chimera__br_noisy__file"
NOISY_DAGS = [f"br_noisy_bulk_n{n}" for n in range(8)]
QUIET_DAG = "br_quiet_share_q0"
FLOOD = 200
SAMPLES = 8  # quiet runs before and during the flood (docs/recovery.md measured 20 for the 10% figure)
# The quiet team's median latency under the flood, against its baseline, that says it was starved:
# a quiet (``low``) run that had to wait for the noisy team's slots would queue behind 200 runs
# of ``critical`` ones and take minutes. Contention for the shared services' CPU measured 1.12 to
# 1.73 on this 2-CPU machine (docs/recovery.md).
STARVED = 3.0
TARGET = 1.10  # docs/recovery.md's target for the same ratio: measured and printed, not asserted (decision 0077)
FIELDS = [{"name": "id", "type": "long", "nullable": False}, {"name": "name", "type": "string"}, {"name": "amount", "type": "double"}]


def _csv(rows: int) -> str:
    return "id,name,amount\n" + "".join(f"{i},row {i},{i * 0.5}\n" for i in range(rows))


def _intent(team: str, source: str, objects: list[str], priority: str) -> dict:
    name = team.replace("-", "_")
    return {
        "version": 1, "name": name, "team": {"name": team, "support_email": f"{team}@example.com"},
        "project": "blast", "declaration": DECLARATION,
        "sources": [{
            "name": source, "type": "file", "connection": {"uri": "file://${env:CHIMERA_E2E_DATA}/" + name},
            "objects": [{
                "name": obj, "path": f"{obj}.csv", "format": "csv", "schema": {"fields": FIELDS},
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": f"{name}_{obj}"}, "priority": priority},
            } for obj in objects],
        }],
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blast-cluster")
    data = folder / "data"
    (data / "br_noisy").mkdir(parents=True)
    (data / "br_quiet").mkdir()
    for n in range(len(NOISY_DAGS)):
        # Each noisy run loads 200,000 rows, a few seconds of work on its worker's CPU. With 20,000
        # rows a run took well under a second once tasks started from a preloaded process, and the
        # flood became a stream of tiny tasks whose churn loaded the shared scheduler instead.
        (data / "br_noisy" / f"n{n}.csv").write_text(_csv(200_000))
    (data / "br_quiet" / "q0.csv").write_text(_csv(200))
    cluster = start_cluster(folder, TEAMS, CLUSTER_SOURCE_SLOTS="16", CHIMERA_E2E_DATA=str(data))
    try:
        onboard(cluster, {
            "br_noisy": _intent(NOISY, "bulk", [f"n{n}" for n in range(len(NOISY_DAGS))], "critical"),
            "br_quiet": _intent(QUIET, "share", ["q0"], "low"),
        }, {QUIET_DAG, *NOISY_DAGS})
        for dag_id in (QUIET_DAG, *NOISY_DAGS):
            cluster.unpause(dag_id)
        yield cluster
    finally:
        stop_cluster(cluster)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _quiet_run(cluster: Cluster) -> tuple[float, dt.datetime, dt.datetime]:
    """Trigger the quiet pipeline and wait for it: its queued-to-success latency, queued_at, end_date."""
    run_id = cluster.trigger(QUIET_DAG)
    path = f"/dags/{QUIET_DAG}/dagRuns/{run_id}"
    run = cluster.wait(lambda: (r := cluster.get(path))["state"] in ("success", "failed") and r, 180, f"{QUIET_DAG} {run_id}", every=0.25)
    assert run["state"] == "success", (run, cluster.logs())
    queued, end = _time(run["queued_at"]), _time(run["end_date"])
    return (end - queued).total_seconds(), queued, end


class PoolSampler(threading.Thread):
    """Samples the noisy pool's occupied slots (running + queued) until stopped."""

    def __init__(self, cluster: Cluster):
        super().__init__(daemon=True)
        self.cluster, self.samples, self.done = cluster, [], threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            pool = self.cluster._get(f"/pools/{NOISY_POOL}")
            if pool:
                self.samples.append(pool["occupied_slots"])


def _noisy_intervals(cluster: Cluster, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """(start, end) of every noisy-pool task instance that started; a running one ends now."""
    found, offset = [], 0
    while True:
        page = cluster.get("/dags/~/dagRuns/~/taskInstances", pool=NOISY_POOL, limit=100, offset=offset)
        found += page["task_instances"]
        offset += len(page["task_instances"])
        if not page["task_instances"] or offset >= page["total_entries"]:
            break
    return [(_time(ti["start_date"]), _time(ti["end_date"]) or now) for ti in found if ti["start_date"]]


def _peak(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """The most intervals holding one instant (half-open: one ending as another starts is not both)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = live = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, p90 {statistics.quantiles(values, n=10)[-1]:.2f} s, n {len(values)}"


def test_a_flood_on_one_teams_workers_does_not_starve_another_team(cluster):
    assert cluster.get(f"/pools/{NOISY_POOL}")["slots"] == NOISY_SLOTS
    began = time.monotonic()
    _quiet_run(cluster)  # warm-up: the first run of a DAG pays for loading it
    baseline = [_quiet_run(cluster) for _ in range(SAMPLES)]
    print(f"\nbaseline measured in {time.monotonic() - began:.0f} s")

    for i in range(FLOOD):
        cluster.trigger(NOISY_DAGS[i % len(NOISY_DAGS)])
    cluster.wait(lambda: cluster.get(f"/pools/{NOISY_POOL}")["occupied_slots"] >= NOISY_SLOTS, 120, "the flood to fill the noisy pool")
    print(f"flood triggered and the noisy pool full after {time.monotonic() - began:.0f} s")
    sampler = PoolSampler(cluster)
    sampler.start()
    flood = [_quiet_run(cluster) for _ in range(SAMPLES)]
    sampler.done.set()
    sampler.join()
    intervals = _noisy_intervals(cluster, dt.datetime.now(dt.UTC))
    queued = sum(cluster.get(f"/dags/{d}/dagRuns", state="queued", limit=1)["total_entries"] for d in NOISY_DAGS)
    for dag_id in NOISY_DAGS:  # the rest of the flood is not run
        cluster.pause(dag_id)
    print(f"flood measured after {time.monotonic() - began:.0f} s")

    base, loaded = [s[0] for s in baseline], [s[0] for s in flood]
    ratio = statistics.median(loaded) / statistics.median(base)
    print(f"quiet team's queued-to-success latency: baseline {_stats(base)}; under the flood {_stats(loaded)}; "
          f"ratio of medians {ratio:.3f} (target <= {TARGET:.2f}, measured only; starved above {STARVED:.1f})")
    print(f"noisy pool: {NOISY_SLOTS} slots, occupied {min(sampler.samples)}..{max(sampler.samples)} over {len(sampler.samples)} samples; "
          f"{len(intervals)} noisy task instances started, at most {_peak(intervals)} at once; {queued} runs still queued")
    overlapping = sum(any(start < end and stop > queued_at for start, stop in intervals) for _, queued_at, end in flood)
    print(f"quiet runs with a noisy task running during them: {overlapping} of {len(flood)}")
    print(f"baseline {sorted(round(v, 2) for v in base)}\nflood    {sorted(round(v, 2) for v in loaded)}")

    # The flood ran all along: its pool full, noisy tasks running during (nearly) every quiet run, most
    # of it still queued. A quiet run takes 2-3 s now that tasks start at once (decision 0069), so one
    # may fall between two noisy tasks (the scheduler starts the next within a heartbeat or two).
    assert statistics.median(sampler.samples) >= NOISY_SLOTS // 2, sampler.samples
    assert overlapping >= len(flood) * 3 // 4, (overlapping, len(flood))
    assert queued >= FLOOD // 2, queued
    # ...and never more than its pool.
    assert max(sampler.samples) <= NOISY_SLOTS and _peak(intervals) <= NOISY_SLOTS, (sampler.samples, _peak(intervals))
    # The quiet team was not starved: it ran beside the flood, not behind it.
    assert ratio <= STARVED, (base, loaded)
