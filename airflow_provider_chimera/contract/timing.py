"""Schedules and durations as the contract accepts them: what Airflow can schedule, nothing else."""

from __future__ import annotations

# Airflow's schedule presets (airflow.sdk's CRON_PRESETS) plus the two it handles itself.
PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@once", "@continuous")

SCHEDULE_HINT = (
    'use a cron expression with five fields ("0 * * * *"), a preset (' + ", ".join(PRESETS) + ") "
    "or an ISO-8601 duration (PT15M, P1D)"
)
DURATION_HINT = "use an ISO-8601 duration such as PT90M, PT2H or P1D"


def duration_problem(value: str) -> str | None:
    """Why ``value`` is no positive ISO-8601 duration, or ``None`` when it is one."""
    import pendulum

    if not value.startswith("P"):
        return f"{value!r} is not an ISO-8601 duration"
    try:
        parsed = pendulum.parse(value)
    except ValueError:  # pendulum's ParserError included
        return f"{value!r} is not an ISO-8601 duration"
    if not isinstance(parsed, pendulum.Duration):
        return f"{value!r} is not an ISO-8601 duration"
    if parsed.total_seconds() <= 0:
        return f"duration {value!r} must be longer than zero"
    return None


def schedule_problem(value: str) -> str | None:
    """Why ``value`` is no cron expression, preset or duration, or ``None`` when it is one."""
    from croniter import croniter

    if value.startswith("@"):
        return None if value in PRESETS else f"unknown schedule preset {value!r}"
    if value.startswith("P"):
        return duration_problem(value)
    if len(value.split()) != 5:
        return f"{value!r} is not a cron expression of five fields (minute hour day month weekday)"
    if not croniter.is_valid(value):
        return f"{value!r} is not a valid cron expression"
    return None
