"""The recovery planner's input (a scenario) and output (a plan), as ``chimera recover`` reads and prints them.

Scenario::

    {"budget": {"cpu": 8, "memory_gib": 16},
     "teams": {"sales": {"weight": 2}},
     "pipelines": [{"id": "sales_crm_orders", "team": "sales", "priority": "critical",
                    "cpu": 2, "memory_gib": 4, "duration_s": 600}]}

A team missing from ``teams`` has weight 1, so by default every team gets an equal share.

Plan::

    {"plan": [{"id": "sales_crm_orders", "start_s": 0, "finish_s": 600, "reason": "..."}],
     "makespan_s": 600, "lower_bound_s": 600}

An item may name in ``after`` another item that must finish before it starts: one pipeline's runs
of several intervals are items of their own, each after the run of the interval before, so they
run in date order. An ``after`` naming no item of the scenario counts as finished (in a re-plan:
as finished, or running until its remaining time).

Times are seconds from the moment the plan is made.
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from airflow_provider_chimera.contract.model import Priority

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")  # highest first


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Model):
    """The production budget recovery may use at any instant: CPU cores and memory (GiB)."""

    cpu: Positive
    memory_gib: Positive


class Team(_Model):
    """A team's weight in the FAIR share: a team of weight 2 is entitled to twice a weight-1 team's share."""

    weight: Positive = 1.0


class PipelineNeed(_Model):
    """One pipeline that needs a run: what it needs (cores, peak memory) and for how long."""

    id: Annotated[str, Field(min_length=1)]
    team: Annotated[str, Field(min_length=1)]
    priority: Priority = "medium"
    cpu: Positive
    memory_gib: Positive
    duration_s: Positive
    after: str | None = None
    """The id of the item that must finish before this one starts (the same pipeline's earlier interval)."""


class Scenario(_Model):
    """The pipelines to recover, the budget, and the teams' weights."""

    budget: Budget
    teams: dict[str, Team] = Field(default_factory=dict)
    pipelines: list[PipelineNeed]

    @model_validator(mode="after")
    def _each_fits_and_is_named_once(self) -> Scenario:
        seen: set[str] = set()
        for index, p in enumerate(self.pipelines):
            where = f"/pipelines/{index} ({p.id})"
            if p.id in seen:
                raise ValueError(f"{where}/id: {p.id!r} is listed twice")
            seen.add(p.id)
            if p.after == p.id:
                raise ValueError(f"{where}/after: an item cannot wait for itself")
            if p.cpu > self.budget.cpu:
                raise ValueError(f"{where}/cpu: {p.cpu:g} exceeds the whole CPU budget of {self.budget.cpu:g}; it could never start")
            if p.memory_gib > self.budget.memory_gib:
                raise ValueError(
                    f"{where}/memory_gib: {p.memory_gib:g} exceeds the whole memory budget of {self.budget.memory_gib:g} GiB; it could never start"
                )
        after = {p.id: p.after for p in self.pipelines}
        for index, p in enumerate(self.pipelines):
            chain, at = {p.id}, p.after
            while at in after:
                if at in chain:
                    raise ValueError(f"/pipelines/{index} ({p.id})/after: waits in a circle ({' -> '.join(sorted(chain))}); it could never start")
                chain.add(at)
                at = after[at]
        return self

    def weight(self, team: str) -> float:
        return self.teams[team].weight if team in self.teams else 1.0


class PlanEntry(_Model):
    """When a pipeline starts and is expected to finish, and why it sits there."""

    id: str
    start_s: float
    finish_s: float
    reason: str


class Plan(_Model):
    """The plan: entries in start order, its makespan and the lower bound no plan can beat."""

    plan: list[PlanEntry]
    makespan_s: float
    lower_bound_s: float


class ScenarioError(ValueError):
    """A scenario that cannot be planned; each line names the file, the JSON path (with the pipeline's id) and the problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def parse_scenario(raw: str | bytes, file: str = "<scenario>", *, default_budget: Budget | None = None) -> Scenario:
    """The scenario in ``raw`` (JSON), or :class:`ScenarioError` naming every problem. A scenario
    without ``budget`` takes ``default_budget`` (``chimera recover``: the ``[chimera] recovery_*`` options)."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ScenarioError([f"{file}: not JSON: {exc}"]) from None
    if isinstance(data, dict) and "budget" not in data and default_budget is not None:
        data = {**data, "budget": default_budget.model_dump()}
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([_problem(file, data, error) for error in exc.errors()]) from None


def _problem(file: str, data: object, error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    return f"{file}: {_where(data, error['loc'])}: {message}" if error["loc"] else f"{file}: {message}"


def _where(data: object, loc: tuple) -> str:
    """``/pipelines/3 (sales_crm_orders)/cpu``: the JSON path, with a pipeline's id after its index."""
    parts = []
    for index, key in enumerate(loc):
        parts.append(str(key))
        if index == 1 and loc[0] == "pipelines" and isinstance(key, int) and isinstance(data, dict):
            pipelines = data.get("pipelines")
            item = pipelines[key] if isinstance(pipelines, list) and key < len(pipelines) else None
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                parts[-1] += f" ({item['id']})"
    return "/" + "/".join(parts)
