"""``chimera catalog``: what DataHub (or the embedded DataHub Lite) knows about a dataset or pipeline."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

catalog_app = typer.Typer(help="Metadata and lineage in DataHub (or the embedded DataHub Lite).", no_args_is_help=True)
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


@catalog_app.command("show")
def show(
    urn: Annotated[str, typer.Argument(help="The entity's URN, e.g. urn:li:dataset:(urn:li:dataPlatform:iceberg,sales.customers,PROD).")],
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Print an entity's aspects from the destination metadata goes to."""
    from airflow_provider_chimera.metadata.destination import select_destination

    destination = select_destination()
    try:
        aspects = destination.get(urn)
    except Exception as exc:
        err.print(f"{destination}: cannot be read: {type(exc).__name__}: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if not aspects:
        err.print(f"{urn}: not in {destination}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if fmt == "json":
        print(json.dumps({"urn": urn, "aspects": aspects}, indent=2, sort_keys=True, default=str))
        return
    out.print(f"{urn}  ({destination})", markup=False, highlight=False)
    for name in sorted(aspects):
        out.print(f"\n[bold]{name}[/bold]")
        out.print(json.dumps(aspects[name], indent=2, sort_keys=True, default=str), markup=False, highlight=False)


@catalog_app.command("harvest")
def harvest(
    intent_file: Annotated[str, typer.Argument(help="The intent file whose objects and targets to describe.")],
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Describe an intent's objects and Iceberg targets in DataHub: fields, owner, domain, tags, documentation.

    For DataHub Lite the metadata is queued in the registry and written by the chimera_metadata DAG
    (or `chimera catalog write`)."""
    from pathlib import Path

    from airflow_provider_chimera.contract import IntentError, load_intent
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.metadata.harvest import harvest_intent

    try:
        loaded = load_intent(Path(intent_file))
    except IntentError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    report = harvest_intent(loaded.intent, intent_file, pipelines_of(loaded.intent, intent_file, loaded.content_hash))
    if fmt == "json":
        print(json.dumps({
            "destination": report.destination,
            "datasets": {f"{s}/{o}": urn for (s, o), urn in report.datasets.items()},
            "targets": {f"{s}/{o}": urn for (s, o), urn in report.targets.items()},
            "problems": report.problems,
            "queued": report.emitted if report.queued else 0,
        }, indent=2))
    else:
        for (source, obj), urn in report.datasets.items():
            target = report.targets.get((source, obj))
            out.print(f"{source}/{obj}: {urn}" + (f" -> {target}" if target else ""), markup=False, highlight=False)
        if report.queued:
            out.print(f"{report.emitted} metadata proposal(s) queued in the registry for {report.destination}: "
                      "the chimera_metadata DAG writes them (or `chimera catalog write`)", markup=False, highlight=False)
        for problem in report.problems:
            err.print(problem, markup=False, highlight=False, soft_wrap=True)
    if report.problems:
        raise typer.Exit(1)


@catalog_app.command("write")
def write() -> None:
    """Write the metadata queued in the registry to DataHub Lite now, as the chimera_metadata DAG does."""
    from airflow_provider_chimera.metadata.destination import lite_destination
    from airflow_provider_chimera.metadata.queue import write_queued
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.settings import load_settings

    settings = load_settings()
    try:
        with open_registry(settings) as registry:
            report = write_queued(registry, lite_destination(settings))
    except Exception as exc:  # what was not written stays queued
        err.print(f"{lite_destination(settings)}: not written: {type(exc).__name__}: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    out.print(f"{report.written} metadata proposal(s) written to {report.destination}; {report.left} queued", markup=False, highlight=False)
