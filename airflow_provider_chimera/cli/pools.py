"""``chimera pools``: Airflow pools sized from team shares and source limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from airflow_provider_chimera.pipelines.pools import apply_pools, plan_pools
from airflow_provider_chimera.pipelines.resources import Allocation

pools_app = typer.Typer(help="Airflow pools: per team and source system, so no team or source is starved.", no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True)


class MetadataDbPools:
    """Pools through Airflow's ``Pool`` model (needs the metadata database: CLI, scheduler host)."""

    def __init__(self):
        from airflow.utils.session import create_session

        self._session_cm = create_session()
        self.session = self._session_cm.__enter__()

    def close(self) -> None:
        self._session_cm.__exit__(None, None, None)

    def existing(self) -> dict[str, tuple[int, str | None]]:
        from airflow.models.pool import Pool

        return {pool.pool: (pool.slots, pool.description) for pool in Pool.get_pools(session=self.session)}

    def upsert(self, name: str, slots: int, description: str, exists: bool) -> None:
        from airflow.models.pool import Pool
        from sqlalchemy.exc import IntegrityError

        try:
            Pool.create_or_update_pool(name, slots, description, include_deferred=False, session=self.session)
        except IntegrityError:
            # Created meanwhile by the registry sync task (through the REST API): update it instead.
            self.session.rollback()
            Pool.create_or_update_pool(name, slots, description, include_deferred=False, session=self.session)

    def delete(self, name: str) -> None:
        from airflow.models.pool import Pool

        Pool.delete_pool(name, session=self.session)


def plan(intents: Path | None = None, config: Path | None = None) -> Allocation:
    return plan_pools(intents, config)


def apply(allocation: Allocation, prune: bool = True) -> dict[str, list[str]]:
    """Create or resize every planned pool in Airflow's metadata database; delete Chimera pools no pipeline uses."""
    store = MetadataDbPools()
    try:
        return apply_pools(allocation, store, prune)
    finally:
        store.close()


@pools_app.command("sync")
def sync(
    intents: Annotated[Path | None, typer.Option("--intents", help="Intents folder (default: \\[chimera] intents_dir).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Shares file (default: \\[chimera] pools_config).")] = None,
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
