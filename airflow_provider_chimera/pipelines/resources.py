"""Worker slots and ordering: the pool and ``priority_weight`` of each pipeline's tasks.

Two limits hold at once: a source system never sees more concurrent extracts than its limit,
and a team never holds more worker slots than its share. Airflow gives a task exactly one pool,
so Chimera gives every (team, source system) pair its own pool, ``chimera__<team>__<source>``,
and sizes the pools (:func:`allocate`) so that the pools of one source add up to at most the
source's limit and the pools of one team add up to at most the team's share. Both limits then
hold by construction, whatever runs. The price: a team cannot borrow another team's idle slots
on a shared source. ``chimera pools sync`` creates and resizes the pools.

Priority is absolute (``weight_rule="absolute"``): a task's priority is its intent's
``priority`` weight, never summed over downstream tasks, so within a team critical > high >
medium > low whatever each DAG's shape.

Routing (``[chimera] team_queue``): on the CeleryExecutor each team's tasks go to the team's own
queue (:func:`team_queue`), served by the team's workers; the team's share (``team_slots``) is
sized to those workers' concurrency, so a flood of runs queues in Airflow's pools, never in the
broker, and one team's flood never takes another team's worker.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_chimera.contract.naming import normalise
from airflow_provider_chimera.pipelines.model import Pipeline

PRIORITY_WEIGHTS = {"low": 1, "medium": 10, "high": 100, "critical": 1000}
POOL_PREFIX = "chimera__"
# Table maintenance (retention, compaction, snapshot expiry) runs apart from every team's pools.
MAINTENANCE_POOL = f"{POOL_PREFIX}maintenance"


def source_system(pipeline: Pipeline) -> str:
    """The source system a pipeline reads: its Airflow connection id, or its URI's scheme and host."""
    connection = pipeline.source.connection
    if connection.conn_id is not None:
        return normalise(connection.conn_id)
    url = urlsplit(connection.uri or "")
    if "${" in url.netloc.rpartition("@")[2]:
        return normalise(url.scheme)  # a host from a placeholder is not known while parsing
    return normalise("_".join(part for part in (url.scheme, url.hostname or "", str(url.port or "")) if part))


def pool_name(pipeline: Pipeline) -> str:
    return f"{POOL_PREFIX}{normalise(pipeline.team.name)}__{source_system(pipeline)}"


def team_queue(team: str, template: str) -> str | None:
    """The queue of ``team``'s tasks from the ``[chimera] team_queue`` template (``chimera_{team}``,
    the team's name normalised); ``None`` for an empty template: Airflow's default queue."""
    return template.format(team=normalise(team)) if template else None


def queue_args(team: str, template: str) -> dict[str, str]:
    """``{"queue": ...}`` for a DAG's ``default_args``, or nothing (Airflow's default queue)."""
    queue = team_queue(team, template)
    return {"queue": queue} if queue else {}


def priority_weight(pipeline: Pipeline) -> int:
    return PRIORITY_WEIGHTS[pipeline.ingestion.priority]


class Shares(BaseModel):
    """Per-team worker-slot shares and per-source concurrency limits (``[chimera] pools_config``)."""

    model_config = ConfigDict(extra="forbid")

    teams: dict[str, int] = Field(default_factory=dict)
    sources: dict[str, int] = Field(default_factory=dict)
    default_team_slots: int = Field(default=8, gt=0)
    default_source_slots: int = Field(default=4, gt=0)

    @classmethod
    def load(cls, path: Path | None, team_slots: int, source_slots: int) -> Shares:
        data = json.loads(path.read_text()) if path else {}
        data.setdefault("default_team_slots", team_slots)
        data.setdefault("default_source_slots", source_slots)
        return cls.model_validate(data)

    def team(self, name: str) -> int:
        return self.teams.get(name, self.teams.get(normalise(name), self.default_team_slots))

    def source(self, key: str) -> int:
        return self.sources.get(key, self.default_source_slots)


class PoolPlan(BaseModel):
    name: str
    slots: int
    team: str
    source: str
    description: str


class Allocation(BaseModel):
    pools: list[PoolPlan]
    warnings: list[str]


def maintenance_pool(slots: int) -> PoolPlan:
    """The pool of the ``chimera_maintenance`` DAG's tasks (``[chimera] maintenance_slots``)."""
    return PoolPlan(
        name=MAINTENANCE_POOL,
        slots=max(1, slots),
        team="chimera",
        source="iceberg tables",
        description=f"Chimera: table maintenance (retention, compaction, snapshot expiry), {max(1, slots)} at a time",
    )


def allocate(pipelines: list[Pipeline], shares: Shares) -> Allocation:
    """Pool sizes that keep every source within its limit and every team within its share.

    Each team's share is split evenly over the source systems it reads, each source's limit
    evenly over the teams reading it, and a pool gets the smaller of the two parts (at least 1:
    a pool of 0 slots would block its tasks forever; that case is reported as a warning).
    """
    pairs: dict[tuple[str, str], str] = {}
    team_names: dict[str, str] = {}
    for p in pipelines:
        key = (normalise(p.team.name), source_system(p))
        pairs[key] = pool_name(p)
        team_names[key[0]] = p.team.name
    sources_of: dict[str, set[str]] = defaultdict(set)
    teams_of: dict[str, set[str]] = defaultdict(set)
    for team, source in pairs:
        sources_of[team].add(source)
        teams_of[source].add(team)
    pools, warnings = [], []
    for (team, source), name in sorted(pairs.items(), key=lambda item: item[1]):
        team_share, source_limit = shares.team(team_names[team]), shares.source(source)
        slots = min(team_share // len(sources_of[team]), source_limit // len(teams_of[source]))
        if slots < 1:
            warnings.append(
                f"pool {name}: team {team_names[team]!r} (share {team_share}, {len(sources_of[team])} sources) or "
                f"source {source!r} (limit {source_limit}, {len(teams_of[source])} teams) is too small to give it "
                "a slot; it gets 1, so that limit can be exceeded"
            )
            slots = 1
        pools.append(
            PoolPlan(
                name=name,
                slots=slots,
                team=team_names[team],
                source=source,
                description=f"Chimera: team {team_names[team]} reading {source} "
                f"(team share {team_share}, source limit {source_limit})",
            )
        )
    return Allocation(pools=pools, warnings=warnings)
