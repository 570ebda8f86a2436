"""``chimera onboard PATH``: the onboarding workflow's steps, in order, in this process.

The same step functions the onboarding DAG runs as tasks (:mod:`~airflow_provider_chimera.onboarding.workflow`),
with the same audit entries and the same idempotency: onboarding an unchanged intent again
changes nothing. ``--from-step`` resumes after a failure once its cause is fixed.

Before any step runs, the preflight (:mod:`~airflow_provider_chimera.onboarding.preflight`)
checks what the platform must provide; its problems, all of them, stop the command with what to
create and how, and nothing is run or recorded; its warnings are printed and onboarding goes on.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from airflow_provider_chimera.onboarding.workflow import STEPS

Step = Enum("Step", {step: step for step in STEPS}, type=str)  # type: ignore[misc]

_MARKS = {"done": ("✓", "green"), "already done": ("=", "cyan"), "unchanged": ("=", "cyan"), "skipped": ("-", "yellow")}


def onboard_command(
    path: Annotated[Path, typer.Argument(help="The intent file to onboard.")],
    from_step: Annotated[
        Step | None, typer.Option("--from-step", help="Resume at this step (the earlier ones must be done for this version).")
    ] = None,
) -> None:
    """Onboard an intent: validate, test connectivity, register, harvest metadata, publish the
    onboarding events, prepare the targets, make it discoverable and notify the team.

    First, before any step, a preflight checks what the platform must provide: the event
    connection, the mail connection (a warning when missing), the keys the intent's classified
    columns need and the Iceberg catalog. Every problem is listed with what to create and how.

    Exit 0 when every step completed (or had nothing to do), 2 when the preflight found a problem
    (nothing ran) or a step failed: the team is notified, the audit log has the step and the
    reason, and the message says how to retry.
    """
    from airflow_provider_chimera.cli.registry import _open
    from airflow_provider_chimera.onboarding.workflow import OnboardingFailed, run_all
    from airflow_provider_chimera.settings import load_settings

    out = Console(width=None if sys.stdout.isatty() else 200)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

    def show(outcome) -> None:
        mark, style = _MARKS.get(outcome.outcome, ("✓", "green"))
        line = Text(f"{mark} ", style=style)
        line.append(f"{outcome.step}", style="bold")
        line.append(f": {outcome.summary()}")
        out.print(line, soft_wrap=True)
        for warning in outcome.details.get("warnings") or []:
            if warning not in shown:
                out.print(Text(f"  ⚠ {warning}", style="yellow"), soft_wrap=True)
                shown.add(warning)

    settings = load_settings()
    shown: set[str] = set()  # warnings printed already
    checked = _preflight(path, settings)
    if checked is not None and not checked.ok:
        head = Text("✗ ", style="red")
        head.append("preflight", style="bold")
        head.append(f": {len(checked.problems)} problem(s) to fix before onboarding {checked.intent}; no step has run")
        err.print(head, soft_wrap=True)
        for i, finding in enumerate(checked.problems, 1):
            err.print(Text(f"  {i}. {finding.check}: {finding.problem}", style="red"), soft_wrap=True)
            err.print(Text(f"     to fix: {finding.fix}"), soft_wrap=True)
        for finding in checked.warnings:
            err.print(Text(f"  ⚠ {finding.check}: {finding.problem}", style="yellow"), soft_wrap=True)
            err.print(Text(f"     to fix: {finding.fix}"), soft_wrap=True)
        err.print(Text(f"then run `chimera onboard {path}` again"), soft_wrap=True)
        raise typer.Exit(2)
    if checked is not None:
        out.print(Text("preflight: ready: " + ", ".join(checked.passed), style="dim"), soft_wrap=True)
        for finding in checked.warnings:
            out.print(Text(f"⚠ {finding.check}: {finding.problem}", style="yellow"), soft_wrap=True)
            out.print(Text(f"   to fix: {finding.fix}"), soft_wrap=True)
            shown.add(str(finding))

    registry = _open()
    try:
        outcomes = run_all(path, from_step=from_step.value if from_step else None, registry=registry, settings=settings, on_step=show)
    except OnboardingFailed as exc:
        line = Text("✗ ", style="red")
        line.append(exc.step, style="bold")
        line.append(f": {exc.reason}")
        err.print(line, soft_wrap=True)
        err.print(Text(f"to retry: {exc.retry}"), soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        registry.close()
    last = outcomes[-1] if outcomes else None
    if last is not None:
        out.print(Text(f"{last.intent} version {last.intent_hash[:12]}: onboarding completed", style="bold green"), soft_wrap=True)


def _preflight(path: Path, settings):
    """The preflight of the intent file, or ``None`` when it does not load or is not authorized
    (step ``validate`` then reports why, audited and told to the team)."""
    from airflow_provider_chimera.contract import IntentError, load_intent
    from airflow_provider_chimera.onboarding.preflight import preflight
    from airflow_provider_chimera.tenancy.authorize import AuthorizationError, authorize_or_raise

    try:
        authorized = authorize_or_raise(load_intent(path).intent, path, settings)
    except (IntentError, AuthorizationError, OSError):
        return None
    return preflight(authorized.intent, settings)


def register(app: typer.Typer) -> None:
    """Add ``onboard`` to the ``chimera`` command."""
    app.command("onboard")(onboard_command)
