"""``chimera pools``: Airflow pools sized from team shares and source limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from airflow_provider_chimera.factory.pipelines import discover
from airflow_provider_chimera.factory.resources import POOL_PREFIX, Allocation, Shares, allocate, maintenance_pool
from airflow_provider_chimera.settings import load_settings

pools_app = typer.Typer(help="Airflow pools: per team and source system, so no team or source is starved.", no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True)


def plan(intents: Path | None = None, config: Path | None = None) -> Allocation:
    settings = load_settings()
    pipelines = discover(intents or settings.intents_dir).pipelines
    shares = Shares.load(config or settings.pools_config, settings.team_slots, settings.source_slots)
    allocation = allocate(pipelines, shares)
    allocation.pools.append(maintenance_pool(settings.maintenance_slots))  # the chimera_maintenance DAG's
    return allocation


def apply(allocation: Allocation, prune: bool = True) -> dict[str, list[str]]:
    """Create or resize every planned pool in Airflow; delete Chimera pools no pipeline uses."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    changes: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
    wanted = {pool.name: pool for pool in allocation.pools}
    with create_session() as session:
        existing = {pool.pool: pool for pool in Pool.get_pools(session=session)}
        for name, pool in wanted.items():
            current = existing.get(name)
            if current is not None and current.slots == pool.slots and current.description == pool.description:
                changes["unchanged"].append(name)
                continue
            Pool.create_or_update_pool(name, pool.slots, pool.description, include_deferred=False, session=session)
            changes["created" if current is None else "updated"].append(name)
        if prune:
            for name in sorted(set(existing) - set(wanted)):
                if name.startswith(POOL_PREFIX):
                    Pool.delete_pool(name, session=session)
                    changes["deleted"].append(name)
    return changes


@pools_app.command("sync")
def sync(
    intents: Annotated[Optional[Path], typer.Option("--intents", help="Intents folder (default: \\[chimera] intents_dir).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="Shares file (default: \\[chimera] pools_config).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Create or resize one Airflow pool per (team, source system); idempotent."""
    allocation = plan(intents, config)
    changes = {} if dry_run else apply(allocation)
    status = {name: kind for kind, names in changes.items() for name in names}
    if output == "json":
        rows = [{**pool.model_dump(), "change": status.get(pool.name, "planned")} for pool in allocation.pools]
        out.print_json(json.dumps({"pools": rows, "deleted": changes.get("deleted", []), "warnings": allocation.warnings}))
    else:
        table = Table("pool", "slots", "team", "source", "change")
        for pool in allocation.pools:
            table.add_row(pool.name, str(pool.slots), pool.team, pool.source, status.get(pool.name, "planned"))
        for name in changes.get("deleted", []):
            table.add_row(name, "", "", "", "deleted")
        out.print(table)
        for warning in allocation.warnings:
            err.print(f"[yellow]warning[/yellow] {warning}")
