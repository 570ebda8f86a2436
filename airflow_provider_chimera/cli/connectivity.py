"""``chimera intent test``: connect to every source of intent files and look their objects up."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from airflow_provider_chimera.contract import IntentError, intent_files, load_intent
from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.tenancy.authorize import AuthorizationError, authorize_or_raise
from airflow_provider_chimera.onboarding.connectivity import (
    DEFAULT_TIMEOUT_S,
    describe,
    test_intent,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def register(intent_app: typer.Typer) -> None:
    """Add the ``test`` command to the ``chimera intent`` command group."""
    intent_app.command("test")(intent_test)


def _result(report) -> Text:
    if not report.ok:
        return Text("failed", style="red")
    return Text("ok, warning", style="yellow") if report.warnings else Text("ok", style="green")


def intent_test(
    paths: Annotated[list[Path], typer.Argument(help="Intent files or folders of them.")],
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds each source may take before it is reported as timed out.")
    ] = DEFAULT_TIMEOUT_S,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text (a table per intent) or json.")] = OutputFormat.text,
) -> None:
    """Connect to every source of the intents and check that their objects and columns exist.

    Sources are tested at the same time, each within --timeout seconds. A declared file set whose
    landing folder has no file yet is ok, with a warning.

    Exit 0 if every source is ok, 2 if any failed, 1 if an intent file cannot be read or is invalid.
    """
    out = Console(width=None if sys.stdout.isatty() else 200)
    err = Console(stderr=True)
    files: list[Path] = []
    for path in paths:
        files.extend(intent_files(path) if path.is_dir() else [path])
    if not files:
        err.print(f"no intent files in {', '.join(map(str, paths))}", markup=False, highlight=False)
        raise typer.Exit(1)
    invalid = False
    rows = []
    for file in files:
        try:
            intent = load_intent(file).intent
            # The team's grant: its placeholders resolve and its files are read only within it.
            authorized = authorize_or_raise(intent, file, load_settings())
        except (IntentError, AuthorizationError) as exc:
            invalid = True
            for problem in exc.problems:
                err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
            continue
        reports = test_intent(authorized.intent, timeout, grant=authorized.grant)
        rows.extend({"file": str(file), **report.model_dump()} for report in reports)
        if fmt is OutputFormat.text:
            table = Table("source", "type", "result", "reason", "seconds", title=str(file))
            for report in reports:
                table.add_row(
                    report.source,
                    report.type,
                    _result(report),
                    Text("\n".join(describe(report))),
                    f"{report.elapsed_s:.1f}",
                )
            out.print(table)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(rows, indent=2))
    raise typer.Exit(1 if invalid else 0 if all(row["ok"] for row in rows) else 2)
