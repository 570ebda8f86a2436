"""What a pipeline's next run is expected to need: CPU cores, peak memory and duration, from the
registry's statistics of its recent successful runs (the ``runs`` table).

Each figure is a high percentile (:data:`PERCENTILE`, nearest rank) of the pipeline's last
:data:`RECENT_RUNS` successful runs, so a plan rarely underestimates. Per run: duration is
``ended_at - started_at``; cores are ``cpu_seconds`` ÷ duration; memory is ``peak_rss_kib`` in
GiB. A figure no run recorded (a pipeline never run, or runs from before run statistics were
kept) takes its default below.

Read with SQLAlchemy Core, like :mod:`airflow_provider_chimera.registry.runs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_chimera.registry.models import RunRow

_RUNS = RunRow.__table__

RECENT_RUNS = 20
PERCENTILE = 0.9
DEFAULT_CPU = 1.0
"""Cores assumed for a pipeline with no recorded CPU time: one extract-and-write process."""
DEFAULT_MEMORY_GIB = 1.0
"""Peak memory assumed for a pipeline with no recorded peak RSS: a streaming ingest task with Airflow loaded."""
DEFAULT_DURATION_S = 600.0
"""Duration assumed for a pipeline never run successfully: ten minutes."""
MIN_CPU = 0.1
"""Cores a run is never estimated below: a run mostly waiting on its source still holds a process."""
MIN_MEMORY_GIB = 0.1
"""Memory a run is never estimated below."""


@dataclass(frozen=True)
class Estimate:
    """Expected cores, peak memory (GiB) and duration (s) of a pipeline's next run; ``runs`` is how many
    successful runs they come from (0: all defaults)."""

    cpu: float
    memory_gib: float
    duration_s: float
    runs: int


def percentile(values: list[float], fraction: float = PERCENTILE) -> float:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def estimate(session: Session, pipeline_ids: Iterable[str], *, recent: int = RECENT_RUNS, fraction: float = PERCENTILE) -> dict[str, Estimate]:
    """The estimate of each pipeline in ``pipeline_ids`` (defaults for those with no successful run)."""
    wanted = sorted(set(pipeline_ids))
    runs: dict[str, list] = {pipeline: [] for pipeline in wanted}
    query = (
        select(_RUNS.c.pipeline_id, _RUNS.c.started_at, _RUNS.c.ended_at, _RUNS.c.cpu_seconds, _RUNS.c.peak_rss_kib)
        .where(_RUNS.c.pipeline_id.in_(wanted), _RUNS.c.state == "success", _RUNS.c.started_at.is_not(None), _RUNS.c.ended_at.is_not(None))
        .order_by(_RUNS.c.pipeline_id, _RUNS.c.ended_at.desc(), _RUNS.c.id.desc())
    )
    for row in session.execute(query):
        if len(runs[row.pipeline_id]) < recent and row.ended_at > row.started_at:
            runs[row.pipeline_id].append(row)
    return {pipeline: _estimate(rows, fraction) for pipeline, rows in runs.items()}


def _estimate(rows: list, fraction: float) -> Estimate:
    durations = [(row.ended_at - row.started_at).total_seconds() for row in rows]
    cores = [row.cpu_seconds / seconds for row, seconds in zip(rows, durations) if row.cpu_seconds is not None]
    memory = [row.peak_rss_kib / 1024**2 for row in rows if row.peak_rss_kib is not None]
    return Estimate(
        cpu=max(percentile(cores, fraction), MIN_CPU) if cores else DEFAULT_CPU,
        memory_gib=max(percentile(memory, fraction), MIN_MEMORY_GIB) if memory else DEFAULT_MEMORY_GIB,
        duration_s=percentile(durations, fraction) if durations else DEFAULT_DURATION_S,
        runs=len(rows),
    )
