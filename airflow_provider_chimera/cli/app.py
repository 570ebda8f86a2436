"""``chimera``: validate intents, list the pipelines they make, show what was ingested."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from airflow_provider_chimera import __version__
from airflow_provider_chimera.cli import connectivity
from airflow_provider_chimera.cli.catalog import catalog_app
from airflow_provider_chimera.cli.intent import intent_app
from airflow_provider_chimera.cli.onboard import register as register_onboard_command
from airflow_provider_chimera.cli.pools import pools_app
from airflow_provider_chimera.cli.recover import register as register_recover_command
from airflow_provider_chimera.cli.registry import register_intent_commands, register_registry_commands
from airflow_provider_chimera.cli.report import report_command
from airflow_provider_chimera.cli.sample import register as register_sample_command
from airflow_provider_chimera.cli.status import register as register_status_command
from airflow_provider_chimera.cli.teams import teams_app
from airflow_provider_chimera.pipelines import discover
from airflow_provider_chimera.settings import load_settings

app = typer.Typer(help="Chimera: declarative, governed ingestion into Apache Iceberg.", no_args_is_help=True)
dags_app = typer.Typer(help="The pipelines (Airflow DAGs) the intents make.", no_args_is_help=True)
connectivity.register(intent_app)  # chimera intent test
register_intent_commands(intent_app)  # chimera intent diff, chimera intent onboard
app.add_typer(intent_app, name="intent")
app.add_typer(dags_app, name="dags")
app.add_typer(pools_app, name="pools")
app.add_typer(catalog_app, name="catalog")  # chimera catalog show
app.add_typer(teams_app, name="teams")  # chimera teams validate, chimera teams show
register_registry_commands(app)  # chimera audit, chimera registry ...
register_sample_command(app)  # chimera sample
app.command("report")(report_command)  # chimera report
register_status_command(app)  # chimera status
register_onboard_command(app)  # chimera onboard
register_recover_command(app)  # chimera recover

# Commands that write their own, more specific audit entries.
_SELF_AUDITED = ("audit", "registry", "intent diff", "intent onboard", "onboard")


@app.callback()
def _audit_every_command(ctx: typer.Context) -> None:
    """Chimera: declarative, governed ingestion into Apache Iceberg."""
    args = [a for a in sys.argv[1:] if a]
    command = " ".join(a for a in args[:2] if not a.startswith("-"))
    if ctx.resilient_parsing or "--help" in args:
        return
    _logs_to_stderr()
    if command.startswith(_SELF_AUDITED):
        return
    ctx.call_on_close(lambda: _audit(command, args))


def _logs_to_stderr() -> None:
    """Log lines go to stderr, so that stdout carries only the command's output (``--format json`` is
    piped into other tools). Airflow's logging config, set up when Airflow is first imported (every
    command but ``--help`` imports it anyway), points its root handler at stdout."""
    import logging

    import airflow  # noqa: F401  (configures logging)

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (sys.stdout, sys.__stdout__):
            handler.setStream(sys.stderr)


def _audit(command: str, args: list[str]) -> None:
    """One audit entry per CLI action; an unreachable registry warns, it never fails the command."""
    try:
        from airflow_provider_chimera.registry.audit import record
        from airflow_provider_chimera.registry.db import open_registry

        record(open_registry(), None, "cli." + command.replace(" ", "."), details={"argv": args})
    except Exception as exc:  # the command's own result stands; say why nothing was recorded
        err.print(f"[yellow]warning[/yellow] audit entry not recorded: {type(exc).__name__}", highlight=False)

# Piped output (CI logs, `| less`) gets wide tables instead of truncated cells.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

IntentsOption = Annotated[
    Optional[Path], typer.Option("--intents", help="Intents folder (default: the intents_dir option of the chimera config section).")
]
FormatOption = Annotated[str, typer.Option("--format", help="table, json, or ids (one id a line).")]


def _folder(intents: Path | None) -> Path:
    return intents or load_settings().intents_dir


@app.command()
def version() -> None:
    """Print Chimera's version."""
    out.print(__version__)


@dags_app.command("list")
def dags_list(
    intents: IntentsOption = None,
    fmt: FormatOption = "table",
    errors: Annotated[bool, typer.Option("--errors", help="List the rejected intent files instead.")] = False,
) -> None:
    """List the pipelines the factory builds, without a running Airflow."""
    found = discover(_folder(intents))
    if errors:
        rows = [p.as_dict() for e in found.errors for p in e.problems]
        if fmt == "json":
            out.print_json(json.dumps({"rejected": rows, "pending_onboarding": found.pending}))
        else:
            for row in rows:
                hint = f" ({row['hint']})" if row["hint"] else ""
                out.print(f"{row['file']}: {row['path']}: {row['message']}{hint}", markup=False, highlight=False, soft_wrap=True)
            for line in found.pending:
                out.print(line, markup=False, highlight=False, soft_wrap=True)
        if rows:
            raise typer.Exit(2)
        return
    rows = [
        {
            "dag_id": p.id,
            "team": p.team.name,
            "source": f"{p.source.type}:{p.source.name}",
            "object": p.object.name,
            "target": p.target_table,
            "mode": p.ingestion.mode.type,
            "trigger": p.ingestion.trigger.type,
        }
        for p in found.pipelines
    ]
    if fmt == "json":
        out.print_json(json.dumps(rows))
        return
    if fmt == "ids":
        for row in rows:
            print(row["dag_id"])
        return
    table = Table("dag_id", "team", "source", "object", "target", "mode", "trigger")
    for row in rows:
        table.add_row(*row.values())
    out.print(table)


@app.command()
def tables(intents: IntentsOption = None, fmt: FormatOption = "table") -> None:
    """Show each pipeline's target table: rows and current snapshot."""
    from airflow_provider_chimera.writer import IcebergWriter, chimera_catalog

    settings = load_settings()
    catalog = chimera_catalog(settings)
    rows = []
    for p in discover(_folder(intents)).pipelines:
        table = IcebergWriter(catalog, p.target_namespace, p.ingestion.target.table).load()
        snapshot = table.current_snapshot() if table is not None else None
        total = int(snapshot.summary.additional_properties.get("total-records", 0)) if snapshot and snapshot.summary else 0
        rows.append(
            {
                "pipeline": p.id,
                "target": p.target_table,
                "rows": total,
                "snapshot_id": snapshot.snapshot_id if snapshot else None,
            }
        )
    if fmt == "json":
        out.print_json(json.dumps(rows))
        return
    view = Table("pipeline", "target table", "rows", "snapshot id", title="Ingested into Iceberg")
    for row in rows:
        view.add_row(row["pipeline"], row["target"], str(row["rows"]), str(row["snapshot_id"] or "-"))
    out.print(view)


def main() -> None:
    app()
