"""Jinja filters of the pages (:data:`FILTERS`): numbers, times and the rows sparkline (all output is escaped text)."""

from __future__ import annotations

import datetime as dt

SPARK_WIDTH, SPARK_HEIGHT = 90, 20


def spark_points(values: list[int | None]) -> str:
    """SVG polyline points of ``values`` (missing ones as 0), scaled into the sparkline's box."""
    numbers = [v or 0 for v in values]
    if not numbers:
        return ""
    top = max(numbers) or 1
    step = SPARK_WIDTH / max(1, len(numbers) - 1)
    return " ".join(
        f"{round(i * step, 1)},{round(SPARK_HEIGHT - 1 - (v / top) * (SPARK_HEIGHT - 2), 1)}" for i, v in enumerate(numbers)
    )


def count(value: int | float | None) -> str:
    """``12,345``; an en dash for nothing."""
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def size(value: int | None) -> str:
    """Bytes as KiB/MiB/GiB."""
    if value is None:
        return "–"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(value)


def when(value: dt.datetime | None) -> str:
    """A UTC time to the minute; an en dash for never."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "–"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


FILTERS = {"spark_points": spark_points, "count": count, "size": size, "when": when, "percent": percent}
