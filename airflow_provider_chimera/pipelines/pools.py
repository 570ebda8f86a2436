"""Creating and resizing the pipelines' pools in Airflow (:mod:`.resources` sizes them).

Two ways in, one rule: ``chimera pools sync`` on a host with the metadata database writes through
Airflow's ``Pool`` model (``cli.pools.MetadataDbPools``); the ``chimera_registry_sync`` task, which in
Airflow 3 has no database access, goes through the REST API (:class:`ApiPools`), so the pools of a
newly dropped intent exist before its first run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from airflow_provider_chimera.pipelines import discover
from airflow_provider_chimera.pipelines.resources import (
    POOL_PREFIX,
    Allocation,
    Shares,
    allocate,
    maintenance_pool,
)
from airflow_provider_chimera.settings import ChimeraSettings, load_settings


class PoolStore(Protocol):
    def existing(self) -> dict[str, tuple[int, str | None]]: ...  # name -> (slots, description)
    def upsert(self, name: str, slots: int, description: str, exists: bool) -> None: ...
    def delete(self, name: str) -> None: ...


def plan_pools(intents: Path | None = None, config: Path | None = None, settings: ChimeraSettings | None = None) -> Allocation:
    """The pools the intents folder's pipelines need, plus the table-maintenance pool."""
    settings = settings or load_settings()
    pipelines = discover(intents or settings.intents_dir).pipelines
    shares = Shares.load(config or settings.pools_config, settings.team_slots, settings.source_slots)
    allocation = allocate(pipelines, shares)
    allocation.pools.append(maintenance_pool(settings.maintenance_slots))  # the chimera_maintenance DAG's
    return allocation


def apply_pools(allocation: Allocation, store: PoolStore, prune: bool = True) -> dict[str, list[str]]:
    """Create or resize every planned pool; delete Chimera pools no pipeline uses (``prune``)."""
    changes: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
    wanted = {pool.name: pool for pool in allocation.pools}
    existing = store.existing()
    for name, pool in wanted.items():
        current = existing.get(name)
        if current == (pool.slots, pool.description):
            changes["unchanged"].append(name)
            continue
        store.upsert(name, pool.slots, pool.description, exists=current is not None)
        changes["created" if current is None else "updated"].append(name)
    if prune:
        for name in sorted(set(existing) - set(wanted)):
            if name.startswith(POOL_PREFIX):
                store.delete(name)
                changes["deleted"].append(name)
    return changes


class ApiPools:
    """Pools through Airflow's REST API v2 (``/pools``), as a task must in Airflow 3."""

    def __init__(self, api):
        self.api = api

    def existing(self) -> dict[str, tuple[int, str | None]]:
        found, offset = {}, 0
        while True:
            page = self.api.get("/pools", limit=100, offset=offset)
            for pool in page["pools"]:
                found[pool["name"]] = (pool["slots"], pool.get("description"))
            offset += len(page["pools"])
            if not page["pools"] or offset >= page["total_entries"]:
                return found

    def upsert(self, name: str, slots: int, description: str, exists: bool) -> None:
        from airflow_provider_chimera.airflow_api import AirflowApiError

        body = {"name": name, "slots": slots, "description": description, "include_deferred": False}
        if exists:
            self.api.patch(f"/pools/{name}", body)
            return
        try:
            self.api.post("/pools", body)
        except AirflowApiError as exc:
            if exc.status != 409:
                raise
            # Created meanwhile by the other writer (`chimera pools sync`, or another sync task):
            # the plan is the same, so setting its slots is all that is left.
            self.api.patch(f"/pools/{name}", body)

    def delete(self, name: str) -> None:
        self.api.delete(f"/pools/{name}")
