"""Schedules and durations as the contract accepts them: what Airflow can schedule, nothing else.

Durations are at most :data:`MAX_DURATION_DAYS` long (an SLA of a century is a typo, and a huge
one overflows date arithmetic), and a timed schedule fires at most once every
``[chimera] min_schedule_interval`` (a cron of every minute would starve the workers).
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache

# Airflow's schedule presets (airflow.sdk's CRON_PRESETS) plus the two it handles itself.
PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@once", "@continuous")
MAX_DURATION_DAYS = 366
_MAX_DURATION = timedelta(days=MAX_DURATION_DAYS)

SCHEDULE_HINT = (
    'use a cron expression with five fields ("0 * * * *"), a preset (' + ", ".join(PRESETS) + ") "
    "or an ISO-8601 duration (PT15M, P1D)"
)
DURATION_HINT = "use an ISO-8601 duration such as PT90M, PT2H or P1D, at most P366D"


class _Huge(ValueError):
    """A duration too large for date arithmetic."""


def _parse(value: str) -> timedelta | None:
    """``value`` as a ``timedelta``; ``None`` when it is no ISO-8601 duration; :class:`_Huge`
    raised when it is one too large to compute with."""
    import pendulum

    if not value.startswith("P"):
        return None
    if len(value) > 40:
        raise _Huge(value)
    try:
        parsed = pendulum.parse(value)
    except OverflowError:
        raise _Huge(value) from None
    except ValueError:  # pendulum's ParserError included
        return None
    if not isinstance(parsed, pendulum.Duration):
        return None
    try:
        # Years and months count as 365 and 30 days, as pendulum's total_seconds does.
        return timedelta(seconds=parsed.total_seconds())
    except (OverflowError, ValueError):
        raise _Huge(value) from None


def parse_duration(value: str) -> timedelta | None:
    """The ISO-8601 duration ``value`` as a ``timedelta``; ``None`` when it is none or absurd."""
    try:
        return _parse(value)
    except _Huge:
        return None


def duration_problem(value: str) -> str | None:
    """Why ``value`` is no positive ISO-8601 duration of at most 366 days, or ``None``."""
    try:
        parsed = _parse(value)
    except _Huge:
        return f"duration {value[:40]!r} is longer than {MAX_DURATION_DAYS} days"
    if parsed is None:
        return f"{value!r} is not an ISO-8601 duration"
    if parsed.total_seconds() <= 0:
        return f"duration {value!r} must be longer than zero"
    if parsed > _MAX_DURATION:
        return f"duration {value!r} is longer than {MAX_DURATION_DAYS} days"
    return None


def min_schedule_interval() -> timedelta:
    """``[chimera] min_schedule_interval`` (an ISO-8601 duration; ``PT0S`` for no minimum).

    Its environment variable is read on every call; ``airflow.cfg`` once per process (a DAG
    file parse validates every trigger, and Airflow's configuration lookup is not free)."""
    return _min_interval(os.environ.get("AIRFLOW__CHIMERA__MIN_SCHEDULE_INTERVAL"))


@lru_cache(maxsize=16)
def _min_interval(env: str | None) -> timedelta:
    from airflow_provider_chimera.settings import _option

    value = (env if env is not None else _option("min_schedule_interval")).strip()
    parsed = parse_duration(value) if value not in ("", "0", "PT0S", "P0D") else timedelta(0)
    return parsed if parsed is not None else timedelta(minutes=5)


def schedule_problem(value: str) -> str | None:
    """Why ``value`` is no cron expression, preset or duration Chimera schedules, or ``None``."""
    return _schedule_problem(value, min_schedule_interval())


@lru_cache(maxsize=1024)
def _schedule_problem(value: str, least: timedelta) -> str | None:
    """:func:`schedule_problem` under the minimum interval ``least``: a parse checks every
    pipeline's schedule, and a platform's thousands of pipelines share a few dozen expressions."""
    from croniter import croniter

    if value.startswith("@"):
        return None if value in PRESETS else f"unknown schedule preset {value!r}"
    if value.startswith("P"):
        problem = duration_problem(value)
        return problem or _too_often(parse_duration(value), value, least)  # type: ignore[arg-type]
    if len(value.split()) != 5:
        return f"{value!r} is not a cron expression of five fields (minute hour day month weekday)"
    if not croniter.is_valid(value):
        return f"{value!r} is not a valid cron expression"
    gap = _cron_gap(value, sample=least > _HOUR)
    return f"cron expression {value!r} never fires" if gap is None else _too_often(gap, value, least)


def _too_often(gap: timedelta, value: str, least: timedelta) -> str | None:
    if gap < least:
        minutes = least.total_seconds() / 60
        return (
            f"schedule {value!r} fires more often than every {minutes:g} minutes, "
            "the platform's [chimera] min_schedule_interval"
        )
    return None


_HOUR = timedelta(hours=1)


@lru_cache(maxsize=1024)
def _cron_gap(value: str, sample: bool) -> timedelta | None:
    """The shortest time between two runs of a five-field cron expression.

    From the minute and hour fields: two minutes of one hour, or the last minute of an hour and
    the first of the next when the hours include two consecutive ones; one minute a day at most
    every hour. Without ``sample`` one minute an hour is "an hour"; with it, longer gaps (days
    apart) are measured on the next 500 runs, and ``None`` says it never fires (``0 0 31 2 *``).
    """
    from datetime import datetime

    from croniter import croniter

    minute_field, hour_field = croniter(value).expanded[:2]
    minutes = list(range(60)) if minute_field == ["*"] else sorted(int(x) for x in minute_field)
    hours = list(range(24)) if hour_field == ["*"] else sorted(int(x) for x in hour_field)
    gaps = [b - a for a, b in zip(minutes, minutes[1:])]
    consecutive = any((h + 1) % 24 in hours for h in hours)
    if consecutive:
        gaps.append(60 - minutes[-1] + minutes[0])
    if gaps:
        return timedelta(minutes=min(gaps))
    if not sample:  # one minute of distinct hours: runs are at least an hour apart
        return _HOUR
    from croniter import CroniterBadDateError

    runs = croniter(value, datetime(2026, 1, 1))
    try:
        times = [runs.get_next(datetime) for _ in range(500)]
    except CroniterBadDateError:  # no date matches: February 31st
        return None
    return min((b - a for a, b in zip(times, times[1:])), default=timedelta(days=366))
