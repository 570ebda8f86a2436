"""``chimera report --format html``: one self-contained page, a chart of rows and duration per pipeline.

The charts are inline SVG written here: a report must open offline, from a mail attachment or a
CI artefact, with no script or stylesheet fetched, and no plotting library is a dependency. Each
pipeline gets two small panels over one time axis, rows written per run above and run duration
below, one point per run (hover for its run id, time and values); failed runs are red.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from airflow_provider_chimera.governance.report import PipelineReport, RunPoint

WIDTH, PANEL, GAP, LEFT, RIGHT, TOP = 640, 80, 34, 64, 12, 14
DASH = "—"

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
h2 { font-size: 1.1em; margin-top: 2em; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
.rows { fill: #2f6db5; } .duration { fill: #d07a1f; } .failed { fill: #c62828; }
.line-rows { stroke: #2f6db5; fill: none; } .line-duration { stroke: #d07a1f; fill: none; }
.axis { stroke: #999; }
"""


def number(value: Any, digits: int = 0) -> str:
    if value is None:
        return DASH
    return f"{value:,.{digits}f}" if isinstance(value, float) or digits else f"{value:,}"


def size(value: int | None) -> str:
    if value is None:
        return DASH
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{amount:,.0f} {unit}" if unit == "B" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return DASH


def percent(rate: float | None) -> str:
    return DASH if rate is None else f"{rate * 100:.1f}%"


COLUMNS = ["pipeline", "team", "runs", "failed", "rows", "bytes", "DQ pass", "SLA", "CPU s"]


def cells(r: PipelineReport) -> list[str]:
    """A pipeline's figures as displayed, in :data:`COLUMNS` order (the table and the page share them)."""
    return [
        r.pipeline,
        r.team or DASH,
        number(r.runs),
        number(r.failed),
        number(r.rows),
        size(r.bytes_written),
        percent(r.dq_pass_rate),
        r.sla_state or DASH,
        number(r.cpu_seconds, 1),
    ]


def render(reports: list[PipelineReport], totals: dict[str, Any], title: str, generated_at: dt.datetime) -> str:
    """The whole page."""
    head = [*COLUMNS, "mean duration s"]
    body = [[*cells(r), number(r.mean_duration_seconds, 1)] for r in reports]
    total_row = [
        "all",
        "",
        number(totals["runs"]),
        number(totals["failed"]),
        number(totals["rows"]),
        size(totals["bytes_written"]),
        percent(totals["dq_pass_rate"]),
        "",
        number(totals["cpu_seconds"], 1),
        "",
    ]
    sections = "\n".join(_section(r) for r in reports)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>\n<p>Generated {escape(generated_at.isoformat(timespec='seconds'))}. "
        "Figures from Chimera's registry; — where nothing was recorded.</p>\n"
        f"{_table(head, [*body, total_row])}\n{sections}\n</body></html>\n"
    )


def _table(head: list[str], rows: list[list[str]]) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    lines = []
    for row in rows:
        cells = "".join(
            f"<td class=\"text\">{escape(c)}</td>" if i in (1, 7) else f"<td>{escape(c)}</td>" for i, c in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _section(report: PipelineReport) -> str:
    facts = (
        f"{escape(report.target_table)} · team {escape(report.team or DASH)} · {report.runs} run{'' if report.runs == 1 else 's'} · "
        f"DQ pass {percent(report.dq_pass_rate)} · SLA {escape(report.sla_state or DASH)}"
    )
    return f"<section><h2>{escape(report.pipeline)}</h2><p>{facts}</p>\n{chart(report.points)}</section>"


def chart(points: list[RunPoint]) -> str:
    """Two panels over one time axis: rows per run, then duration per run (seconds)."""
    timed = sorted((p for p in points if p.at is not None), key=lambda p: p.at)
    height = TOP + 2 * PANEL + GAP + 24
    if not timed:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="40"><text x="0" y="20">no runs in this period</text></svg>'
    first, last = timed[0].at, timed[-1].at
    span = (last - first).total_seconds() or 1.0
    plot = WIDTH - LEFT - RIGHT

    def x(point: RunPoint) -> float:
        return LEFT + (plot / 2 if last == first else (point.at - first).total_seconds() / span * plot)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">']
    # A failed run wrote nothing: its rows point sits on the axis, in red.
    panels = (
        ("rows", "rows written", lambda p: 0 if p.rows is None and p.state == "failed" else p.rows),
        ("duration", "duration (s)", lambda p: p.duration_seconds),
    )
    for index, (name, label, value_of) in enumerate(panels):
        top = TOP + index * (PANEL + GAP)
        bottom = top + PANEL
        values = [value_of(p) for p in timed if value_of(p) is not None]
        peak = max(values, default=0) or 1
        parts.append(f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>')
        parts.append(f'<line class="axis" x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{bottom}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{top + 4}" text-anchor="end">{escape(number(peak, 0))}</text>')
        parts.append(f'<text x="{LEFT - 6}" y="{bottom}" text-anchor="end">0</text>')
        parts.append(f'<text x="{LEFT + 4}" y="{top - 3}">{escape(label)}</text>')
        drawn = [(point, x(point), bottom - value_of(point) / peak * PANEL) for point in timed if value_of(point) is not None]
        if len(drawn) > 1:
            coords = " ".join(f"{cx:.1f},{cy:.1f}" for _, cx, cy in drawn)
            parts.append(f'<polyline class="line-{name}" points="{coords}"/>')
        for point, cx, cy in drawn:
            css = f"{name} failed" if point.state == "failed" else name
            tip = (
                f"{point.run_id} · {point.at.isoformat(timespec='seconds')} · {point.state} · "
                f"rows {number(point.rows)} · {number(point.duration_seconds, 1)} s"
            )
            parts.append(f'<circle class="{css}" cx="{cx:.1f}" cy="{cy:.1f}" r="3"><title>{escape(tip)}</title></circle>')
    axis_y = TOP + 2 * PANEL + GAP + 16
    parts.append(f'<text x="{LEFT}" y="{axis_y}">{escape(first.strftime("%Y-%m-%d %H:%M"))}</text>')
    if last != first:
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{axis_y}" text-anchor="end">{escape(last.strftime("%Y-%m-%d %H:%M"))} UTC</text>')
    parts.append("</svg>")
    return "\n".join(parts)
