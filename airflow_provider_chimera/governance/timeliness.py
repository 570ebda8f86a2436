"""Timeliness: is a pipeline's data on time, in early warning, or late?

A pipeline's ``sla`` (``fresh_within``, optional ``warn_after``, ISO-8601 durations) is measured
from the last snapshot the pipeline itself published on the target table's ``main`` branch
(the ``chimera.pipeline`` snapshot summary property names it, so compaction or retention commits
do not count as fresh data). Until a pipeline has published anything, its age is measured from
the moment the registry first recorded it: ``unknown`` at first, then ``warning`` and ``late``
once the same durations have passed.

Everything here is a pure function of its inputs (``now`` included), so the rules can be tested
without a clock, a catalog or a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from airflow_provider_chimera.contract.model import Sla

# ``error``: the pipeline's SLA could not be assessed (the check records why and goes on with the others).
State = Literal["on_time", "warning", "late", "unknown", "error"]
STATES: tuple[State, ...] = ("on_time", "warning", "late", "unknown", "error")
LABELS: dict[str, str] = {"on_time": "on time", "warning": "early warning", "late": "late", "unknown": "unknown", "error": "error"}
# States worth a notice on a pipeline's very first check (a new pipeline on time, or not yet
# published within its SLA, is no news).
ALARMING: frozenset[str] = frozenset({"warning", "late"})


@dataclass(frozen=True)
class Verdict:
    """A pipeline's timeliness at one moment."""

    state: State
    # When this state began: the publication that made the data fresh, or the moment a
    # threshold was crossed (the reference time plus ``warn_after`` or ``fresh_within``).
    since: dt.datetime
    last_published_at: dt.datetime | None
    reason: str | None = None  # why the state is ``error``


def after(moment: dt.datetime, duration: str) -> dt.datetime:
    """``moment`` plus the ISO-8601 ``duration`` (months and years on the calendar: P1M after
    31 January is 28 or 29 February)."""
    import pendulum

    parsed = pendulum.parse(duration)
    if not isinstance(parsed, pendulum.Duration):
        raise ValueError(f"{duration!r} is not an ISO-8601 duration")
    later = pendulum.instance(_aware(moment)) + parsed
    return dt.datetime.fromtimestamp(later.timestamp(), dt.UTC)


def assess(now: dt.datetime, sla: Sla, last_published_at: dt.datetime | None, created_at: dt.datetime | None = None) -> Verdict:
    """The state of a pipeline with ``sla`` at ``now``.

    ``late`` once more than ``fresh_within`` has passed since the last publication; ``warning``
    once more than ``warn_after`` has (a ``warn_after`` not shorter than ``fresh_within`` never
    warns); otherwise ``on_time``. Never published: the same thresholds count from
    ``created_at`` (when the pipeline was first recorded), and before them the state is
    ``unknown``; without ``created_at`` either, ``unknown``.
    """
    now = _aware(now)
    last_published_at = _aware(last_published_at) if last_published_at is not None else None
    reference = last_published_at or (_aware(created_at) if created_at is not None else None)
    if reference is None:
        return Verdict("unknown", now, None)
    late_at = after(reference, sla.fresh_within)
    warn_at = after(reference, sla.warn_after) if sla.warn_after else None
    if now > late_at:
        return Verdict("late", late_at, last_published_at)
    if warn_at is not None and warn_at < late_at and now > warn_at:
        return Verdict("warning", warn_at, last_published_at)
    if last_published_at is None:
        return Verdict("unknown", min(reference, now), None)
    return Verdict("on_time", min(last_published_at, now), last_published_at)


@dataclass(frozen=True)
class Transition:
    """What one check means for the registry and the team: record a change, and send a notice?"""

    changed: bool
    notify: bool


def transition(previous: str | None, current: str) -> Transition:
    """A change of state is recorded and notified; the first check of a pipeline is recorded, and
    notified only when it is already a warning or late."""
    if previous is None:
        return Transition(changed=True, notify=current in ALARMING)
    if previous == current:
        return Transition(changed=False, notify=False)
    return Transition(changed=True, notify=True)


def last_published_at(table, pipeline_id: str) -> dt.datetime | None:
    """When ``pipeline_id`` last published to ``table`` (a pyiceberg ``Table``): the commit time of
    the newest snapshot on ``main``, walking back through its ancestors, whose summary names the
    pipeline. ``None`` when no such snapshot is left (a new table, or snapshots since expired)."""
    from pyiceberg.table.snapshots import ancestors_of

    from airflow_provider_chimera.writer.iceberg import PIPELINE

    for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
        props = snapshot.summary.additional_properties if snapshot.summary else {}
        if props.get(PIPELINE) == pipeline_id:
            return dt.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, dt.UTC)
    return None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
