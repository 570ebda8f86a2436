"""``chimera report``: per pipeline runs, rows, bytes, DQ pass rate, SLA state and CPU-seconds."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    html = "html"


def parse_since(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """An ISO-8601 date or time (UTC unless it says), or an ISO-8601 duration back from ``now`` (``P7D``)."""
    if not value:
        return None
    if value.startswith("P"):
        import pendulum

        try:
            duration = pendulum.parse(value)
        except ValueError:
            duration = None
        if not isinstance(duration, pendulum.Duration):
            raise typer.BadParameter(f"{value!r} is not an ISO-8601 duration such as P7D or PT12H", param_hint="--since")
        return now - dt.timedelta(seconds=duration.total_seconds())
    try:
        since = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 date, time or duration (P7D)", param_hint="--since") from None
    return since if since.tzinfo else since.replace(tzinfo=dt.UTC)


def report_command(
    team: Annotated[Optional[str], typer.Option("--team", help="Only this team's pipelines.")] = None,
    since: Annotated[
        Optional[str], typer.Option("--since", help="Only runs and checks from this ISO-8601 date or time, or this long ago (P7D).")
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="table, json, or html (a page with charts).")] = ReportFormat.table,
    output: Annotated[Optional[Path], typer.Option("--output", help="Write the report to this file instead of stdout.")] = None,
) -> None:
    """Report per pipeline: runs, rows, bytes, DQ pass rate, SLA state, CPU-seconds (from the registry)."""
    from airflow_provider_chimera.cli.registry import _open
    from airflow_provider_chimera.governance.report import collect, totals

    now = dt.datetime.now(dt.UTC)
    start = parse_since(since, now)
    registry = _open()
    with registry.session() as session:
        reports = collect(session, team=team, since=start)
    registry.close()
    summary = totals(reports)
    if fmt is ReportFormat.table:
        if output is None:
            out.print(_table(reports, summary, team, start))
        else:
            with output.open("w", encoding="utf-8") as file:
                Console(file=file, width=200).print(_table(reports, summary, team, start))
            err.print(f"report written to {output}", markup=False, highlight=False)
        return
    if fmt is ReportFormat.html:
        from airflow_provider_chimera.governance.report_html import render

        scope = " · ".join(part for part in (f"team {team}" if team else "", f"since {start:%Y-%m-%d %H:%M} UTC" if start else "") if part)
        text = render(reports, summary, "Chimera report" + (f" ({scope})" if scope else ""), now)
    else:
        document = {
            "generated_at": now.isoformat(),
            "team": team,
            "since": start.isoformat() if start else None,
            "totals": summary,
            "pipelines": [r.as_dict() for r in reports],
        }
        text = json.dumps(document, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"report written to {output}", markup=False, highlight=False)


def _table(reports, summary, team, start) -> Table:
    from airflow_provider_chimera.governance.report_html import COLUMNS, DASH, cells, number, percent, size

    title = "Chimera report" + (f", team {team}" if team else "") + (f", since {start:%Y-%m-%d %H:%M} UTC" if start else "")
    table = Table(title=title)
    for name in (*COLUMNS, "last run (UTC)"):
        table.add_column(name, justify="left" if name in ("pipeline", "team", "SLA", "last run (UTC)") else "right")
    for r in reports:
        table.add_row(*cells(r), r.last_run_at.strftime("%Y-%m-%d %H:%M") if r.last_run_at else DASH)
    table.add_row(
        "all", "", number(summary["runs"]), number(summary["failed"]), number(summary["rows"]),
        size(summary["bytes_written"]), percent(summary["dq_pass_rate"]), "", number(summary["cpu_seconds"], 1), "",
        style="bold",
    )
    return table
