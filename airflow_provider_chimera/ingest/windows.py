"""Which window a ``partitioned`` run loads, from what its Airflow run holds (no Airflow import).

The task passes in plain values (:class:`RunFacts`); the first of these that applies gives the
window, and :attr:`RunWindow.basis` says which (the task logs it):

1. ``run conf``: ``{"window": {"start": ..., "end": ...}}``, or ``{"window": "<date>"}`` meaning
   the ``granularity`` period holding that date or time;
2. ``data interval``: the run's data interval, when it has a non-zero length (scheduled runs of a
   timed pipeline, whose DAG has a data-interval timetable; backfills; manual runs with a logical
   date, to which Airflow gives the last full schedule period before it; REST triggers giving
   ``data_interval_start``/``end``);
3. ``asset event``: the triggering asset event's explicit window (``extra["window"]``, which
   Chimera's own ``partitioned`` pipelines put on their target's events), else the period holding
   its timestamp; a run triggered by several events loads the span of all their windows;
4. ``logical date``: the period holding the run's logical date (a run given one without an
   interval: a manual run of an ``adhoc`` or ``event`` pipeline, an old run of a zero-interval timetable);
5. ``schedule``: the last full period before the run's ``run_after`` (a run with nothing of the
   above: a manual or REST run without a logical date).

Periods are in UTC. A run never fails merely because it has no logical date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_chimera.contract.model import PartitionedMode
from airflow_provider_chimera.ingest.runconf import RunConf, WindowSpan, parse_window
from airflow_provider_chimera.sources.window import Window
from airflow_provider_chimera.writer.partitions import floor, following, preceding

WINDOW_KEY = "window"


@dataclass(frozen=True)
class AssetEventFacts:
    """One triggering asset event: when it happened and its ``extra``."""

    timestamp: dt.datetime
    extra: Mapping[str, Any] | None = None
    asset: str = ""


@dataclass(frozen=True)
class RunFacts:
    """What an Airflow run holds that a window can come from (``None``: the run has none)."""

    data_interval_start: dt.datetime | None = None
    data_interval_end: dt.datetime | None = None
    logical_date: dt.datetime | None = None
    run_after: dt.datetime | None = None
    asset_events: Sequence[AssetEventFacts] = field(default_factory=tuple)


@dataclass(frozen=True)
class RunWindow:
    window: Window
    basis: str  # "run conf", "data interval", "asset event(s)", "logical date" or "schedule"
    detail: str = ""

    def __str__(self) -> str:
        detail = f", {self.detail}" if self.detail else ""
        return f"loads {self.window} (window from the {self.basis}{detail})"


def derive_window(mode: PartitionedMode, conf: RunConf, facts: RunFacts, *, now: dt.datetime | None = None, where: str = "") -> RunWindow:
    """The window a run of a ``partitioned`` pipeline loads, and where it comes from (module doc)."""
    if conf.window is not None:
        return RunWindow(_window_of(mode, conf.window), "run conf")
    start, end = facts.data_interval_start, facts.data_interval_end
    if start is not None and end is not None and end > start:
        return RunWindow(Window(mode.column, start, end), "data interval")
    if facts.asset_events:
        return _from_events(mode, facts.asset_events, where)
    if facts.logical_date is not None:
        return RunWindow(_period(mode, facts.logical_date), "logical date", f"the {mode.granularity} holding {facts.logical_date.isoformat()}")
    after = facts.run_after or now or dt.datetime.now(dt.UTC)
    first = preceding(floor(after, mode.granularity), mode.granularity)
    return RunWindow(
        Window(mode.column, first, following(first, mode.granularity)),
        "schedule",
        f"the last full {mode.granularity} before the run's run_after {after.isoformat()}",
    )


def _from_events(mode: PartitionedMode, events: Sequence[AssetEventFacts], where: str) -> RunWindow:
    """The window of a run triggered by ``events``: each event's explicit window (``extra["window"]``)
    or the period holding its timestamp; several events (Airflow queues the events that arrive before
    the run is created into one run) give the span from the earliest start to the latest end, so no
    event's window is left unloaded (a gap between them is reloaded too: a replace, never a duplicate)."""
    windows, explicit = [], 0
    for event in sorted(events, key=lambda event: event.timestamp):
        named = f"{event.asset} at {event.timestamp.isoformat()}" if event.asset else event.timestamp.isoformat()
        value = (event.extra or {}).get(WINDOW_KEY)
        if value is not None:
            explicit += 1
            windows.append(_window_of(mode, parse_window(value, f"{where}: asset event {named}: extra window")))
        else:
            windows.append(_period(mode, event.timestamp))
    span = Window(mode.column, min(w.start for w in windows), max(w.end for w in windows))
    if len(windows) == 1:
        how = "its extra window" if explicit else f"the {mode.granularity} of its timestamp"
        return RunWindow(span, "asset event", f"{how}; one event, {named}")
    return RunWindow(span, "asset events", f"the span of {len(windows)} events' windows ({explicit} explicit, the others the {mode.granularity} of their timestamps)")


def _window_of(mode: PartitionedMode, value: WindowSpan | dt.datetime) -> Window:
    if isinstance(value, WindowSpan):
        return Window(mode.column, value.start, value.end)
    return _period(mode, value)


def _period(mode: PartitionedMode, instant: dt.datetime) -> Window:
    first = floor(instant, mode.granularity)
    return Window(mode.column, first, following(first, mode.granularity))


def window_extra(window: Window) -> dict[str, Any]:
    """The ``extra`` a ``partitioned`` run puts on its target's asset event, so that a pipeline it
    triggers loads the same window (step 3 above)."""
    return {WINDOW_KEY: {"start": window.start.isoformat(), "end": window.end.isoformat()}}


def incremental_note(mode_type: str) -> str:
    """What an ``incremental`` or ``stream`` run loads, whatever its date: said in its log, so
    that a cleared old run does not look like a reload of its interval."""
    return (
        f"{mode_type} run: continues from the newest position the table records, whatever this run's "
        "logical date or data interval (clearing an old run does not reload its interval; docs/run-windows.md)"
    )
