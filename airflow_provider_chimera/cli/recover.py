"""``chimera recover``: the recovery plan, which pipeline reruns when within the CPU and memory budget, and why."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


class RecoverFormat(str, Enum):
    table = "table"
    json = "json"


def recover(
    scenario: Annotated[
        Optional[Path],
        typer.Option("--scenario", help="Scenario JSON file: the pipelines to rerun, team weights, and the budget (default: the recovery_cpu and recovery_memory_gib options). See docs/recovery.md.", dir_okay=False),
    ] = None,
    since: Annotated[
        Optional[str],
        typer.Option("--since", help="Recover the pipelines that failed or missed their schedule since this time (2026-11-25T08:00, UTC) or span back from now (6h, 90m, 2d), found through Airflow's REST API."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --since: only print the plan; start nothing.")] = False,
    fmt: Annotated[RecoverFormat, typer.Option("--format", help="table or json.")] = RecoverFormat.table,
) -> None:
    """Plan the recovery: each pipeline's planned start, expected finish and the reason for its place,
    the plan's makespan and the lower bound no plan can beat. With --scenario it only plans; with
    --since it then carries the plan out through Airflow (clearing failed runs, triggering missed
    ones, wave by wave, re-planned as runs finish) unless --dry-run is given."""
    from airflow_provider_chimera.recovery.model import (
        Budget,
        ScenarioError,
        parse_scenario,
    )
    from airflow_provider_chimera.recovery.planner import plan
    from airflow_provider_chimera.settings import load_settings

    if (scenario is None) == (since is None):
        err.print("give the pipelines to recover: --scenario FILE, or --since TIME to find them in Airflow", markup=False, highlight=False)
        raise typer.Exit(2)
    if since is not None:
        _recover_since(since, dry_run, fmt)
        return
    try:
        settings = load_settings()
        default_budget = Budget(cpu=settings.recovery_cpu, memory_gib=settings.recovery_memory_gib)
        parsed = parse_scenario(scenario.read_bytes(), str(scenario), default_budget=default_budget)
    except OSError as exc:
        err.print(f"{scenario}: cannot read: {exc.strerror}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(problem, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _show(plan(parsed), {p.id: p for p in parsed.pipelines}, parsed.budget, fmt)


def _recover_since(since_text: str, dry_run: bool, fmt: RecoverFormat) -> None:
    import json

    from airflow_provider_chimera.airflow_api import AirflowApiError
    from airflow_provider_chimera.recovery.run import parse_since, recover, report_json
    from airflow_provider_chimera.registry.audit import default_actor
    from airflow_provider_chimera.settings import load_settings

    _progress_to_stderr()
    try:
        since = parse_since(since_text)
    except ValueError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2) from None
    try:
        # JSON: one document, the plan and (when carried out) its runs; a table: the plan first.
        show = None if fmt is RecoverFormat.json else lambda r: _show(r.plan, {x.need.id: x.need for x in r.recoveries}, r.budget, fmt)
        report = recover(since, load_settings(), dry_run=dry_run, actor=default_actor(), on_plan=show)
    except AirflowApiError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    runs = report.outcome.runs if report.outcome else []
    if fmt is RecoverFormat.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        for run in runs:
            out.print(f"wave {run['wave']}: {run['id']} {run['state']} in {run['duration_s']:.0f} s", markup=False, highlight=False)
    if any(run["state"] != "success" for run in runs):
        raise typer.Exit(1)


def _progress_to_stderr() -> None:
    """The waves' progress lines go to stderr, so stdout holds only the plan (and its JSON)."""
    import logging

    progress = logging.getLogger("airflow_provider_chimera.recovery")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    progress.handlers[:] = [handler]
    progress.setLevel(logging.INFO)
    progress.propagate = False


def _show(result, needs: dict, budget, fmt: RecoverFormat) -> None:
    if fmt is RecoverFormat.json:
        print(result.model_dump_json(indent=2))
        return
    view = Table("pipeline", "team", "priority", "start", "finish", "reason", title="Chimera recovery plan")
    for entry in result.plan:
        need = needs[entry.id]
        view.add_row(entry.id, need.team, need.priority, _clock(entry.start_s), _clock(entry.finish_s), entry.reason)
    out.print(view)
    ratio = result.makespan_s / result.lower_bound_s if result.lower_bound_s else 1.0
    out.print(
        f"makespan {_clock(result.makespan_s)}, lower bound {_clock(result.lower_bound_s)} ({ratio:.2f}x); "
        f"budget {budget.cpu:g} CPU, {budget.memory_gib:g} GiB",
        markup=False,
        highlight=False,
    )


def _clock(seconds: float) -> str:
    """``1:02:05``: hours, minutes and seconds from now."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def register(app: typer.Typer) -> None:
    app.command("recover")(recover)
