"""Timeliness states from the last publication, the SLA and the clock; which changes are notified."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from airflow_provider_chimera.contract.model import Sla
from airflow_provider_chimera.governance.timeliness import after, assess, last_published_at, transition

PUBLISHED = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
SLA = Sla(fresh_within="PT2H", warn_after="PT90M")


def at(minutes: float) -> dt.datetime:
    return PUBLISHED + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("minutes", "state", "since"),
    [
        (0, "on_time", PUBLISHED),
        (89, "on_time", PUBLISHED),
        (90, "on_time", PUBLISHED),  # exactly warn_after: not yet past it
        (90.01, "warning", at(90)),
        (120, "warning", at(90)),  # exactly fresh_within: still within it
        (120.01, "late", at(120)),
        (60 * 24 * 30, "late", at(120)),
    ],
)
def test_state_from_the_age_of_the_last_publication(minutes, state, since):
    verdict = assess(at(minutes), SLA, PUBLISHED)
    assert (verdict.state, verdict.since, verdict.last_published_at) == (state, since, PUBLISHED)


def test_without_warn_after_there_is_no_warning():
    sla = Sla(fresh_within="PT2H")
    assert [assess(at(m), sla, PUBLISHED).state for m in (100, 119, 121)] == ["on_time", "on_time", "late"]


def test_warn_after_not_shorter_than_fresh_within_never_warns():
    sla = Sla(fresh_within="PT1H", warn_after="PT1H")
    assert [assess(at(m), sla, PUBLISHED).state for m in (59, 61)] == ["on_time", "late"]
    sla = Sla(fresh_within="PT1H", warn_after="PT3H")
    assert [assess(at(m), sla, PUBLISHED).state for m in (61, 200)] == ["late", "late"]


def test_never_published_counts_from_the_pipeline_creation():
    created = PUBLISHED
    unknown = assess(at(30), SLA, None, created)
    assert (unknown.state, unknown.since, unknown.last_published_at) == ("unknown", created, None)
    warning = assess(at(91), SLA, None, created)
    assert (warning.state, warning.since, warning.last_published_at) == ("warning", at(90), None)
    late = assess(at(121), SLA, None, created)
    assert (late.state, late.since, late.last_published_at) == ("late", at(120), None)


def test_never_published_and_no_creation_time_is_unknown_since_now():
    verdict = assess(at(500), SLA, None, None)
    assert (verdict.state, verdict.since, verdict.last_published_at) == ("unknown", at(500), None)


def test_a_publication_after_the_clock_counts_as_on_time_since_now():
    verdict = assess(at(-5), SLA, PUBLISHED)
    assert (verdict.state, verdict.since) == ("on_time", at(-5))


def test_naive_times_are_utc():
    naive = PUBLISHED.replace(tzinfo=None)
    verdict = assess(naive + dt.timedelta(minutes=121), SLA, naive)
    assert (verdict.state, verdict.since) == ("late", at(120))


def test_other_time_zones_compare_by_instant():
    cet = dt.timezone(dt.timedelta(hours=1))
    assert assess(at(100).astimezone(cet), SLA, PUBLISHED.astimezone(cet)).state == "warning"


def test_durations_of_days_months_and_years_follow_the_calendar():
    jan31 = dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    assert after(jan31, "P1M") == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    assert after(jan31, "P1DT2H30M") == dt.datetime(2026, 2, 1, 14, 30, tzinfo=dt.UTC)
    assert after(jan31, "P1Y") == dt.datetime(2027, 1, 31, 12, tzinfo=dt.UTC)
    sla = Sla(fresh_within="P1M", warn_after="P1W")
    assert assess(dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC), sla, jan31).state == "warning"
    assert assess(dt.datetime(2026, 2, 28, 12, 1, tzinfo=dt.UTC), sla, jan31).state == "late"


def test_after_rejects_a_date():
    with pytest.raises(ValueError, match="'2026-01-01' is not an ISO-8601 duration"):
        after(PUBLISHED, "2026-01-01")


@pytest.mark.parametrize(
    ("previous", "current", "changed", "notify"),
    [
        (None, "on_time", True, False),  # first check: recorded, on time is no news
        (None, "unknown", True, False),
        (None, "warning", True, True),
        (None, "late", True, True),
        ("on_time", "on_time", False, False),
        ("late", "late", False, False),
        ("on_time", "warning", True, True),
        ("warning", "late", True, True),
        ("late", "on_time", True, True),  # back on time is news too
        ("unknown", "on_time", True, True),
    ],
)
def test_transitions(previous, current, changed, notify):
    step = transition(previous, current)
    assert (step.changed, step.notify) == (changed, notify)


# --- the last publication on a table: snapshots as pyiceberg exposes them -------------------------


def _snapshot(snapshot_id: int, parent: int | None, minutes: float, pipeline: str | None) -> SimpleNamespace:
    props = {"chimera.pipeline": pipeline} if pipeline else {"operation-by": "compaction"}
    return SimpleNamespace(
        snapshot_id=snapshot_id,
        parent_snapshot_id=parent,
        timestamp_ms=int(at(minutes).timestamp() * 1000),
        summary=SimpleNamespace(additional_properties=props),
    )


def _table(current: int | None, *snapshots: SimpleNamespace) -> SimpleNamespace:
    by_id = {s.snapshot_id: s for s in snapshots}
    metadata = SimpleNamespace(snapshot_by_id=by_id.get)
    return SimpleNamespace(current_snapshot=lambda: by_id.get(current) if current else None, metadata=metadata)


def test_last_published_is_the_newest_snapshot_of_the_pipeline_not_maintenance():
    table = _table(
        4,
        _snapshot(1, None, 0, "p"),
        _snapshot(2, 1, 10, "p"),
        _snapshot(3, 2, 20, "other_pipeline"),
        _snapshot(4, 3, 30, None),  # compaction or retention: not fresh data
    )
    assert last_published_at(table, "p") == at(10)
    assert last_published_at(table, "other_pipeline") == at(20)
    assert last_published_at(table, "unknown_pipeline") is None


def test_last_published_is_none_without_snapshots_or_when_its_snapshots_expired():
    assert last_published_at(_table(None), "p") is None
    expired_parent = _table(5, _snapshot(5, 4, 50, None))  # snapshot 4 expired
    assert last_published_at(expired_parent, "p") is None
