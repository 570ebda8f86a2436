"""What the planner is measured against, and the measures (``make bench-recovery``, docs/recovery.md).

Baselines, under the same budget and the same packing (whenever a pipeline ends, walk the queue
in order and start every pipeline that fits the free CPU and memory):

- **FIFO**: the queue in submission order (the scenario's order).
- **priority_weight**: Airflow's order alone: the intent's priority weight (critical 1000, high
  100, medium 10, low 1), highest first, then submission order; no notion of teams.

Measures:

- **makespan ÷ lower bound** (:func:`.planner.lower_bound`): 1.0 is the best any plan can do.
- **mean completion per priority class**: the mean finish time (every pipeline is waiting at 0).
- **Jain's fairness index across teams** over each team's *share ratio*: the dominant share of
  the budget the team held while it had pipelines waiting, divided by the share its weight
  entitled it to then, both integrated over those times. A team's dominant share is the larger of
  its CPU and memory fractions of the budget; its entitled share at an instant is its weight
  divided by the total weight of the teams with pipelines waiting at that instant. Only time
  spent waiting counts: a team that has nothing left to start cannot be short-changed, and
  capacity it leaves is rightly used by others. A team that never waited (everything started at
  once) is left out. Jain's index, ``(Σx)² / (n·Σx²)``, is 1 when every team got the same ratio
  and 1/n when one team got everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from airflow_provider_chimera.pipelines.resources import PRIORITY_WEIGHTS
from airflow_provider_chimera.recovery.cluster import Cluster, Placement
from airflow_provider_chimera.recovery.model import PRIORITIES, PipelineNeed, Scenario
from airflow_provider_chimera.recovery.planner import lower_bound


def greedy(scenario: Scenario, queue: Sequence[PipelineNeed]) -> list[Placement]:
    """Whenever a pipeline ends, start every queued pipeline that fits (and whose ``after`` finished), in queue order."""
    cluster = Cluster(scenario.budget)
    waiting = list(queue)
    unfinished = {p.id for p in waiting}  # an item waits for its ``after`` to finish
    placed: list[Placement] = []
    while waiting:
        still = []
        for need in waiting:
            if need.after not in unfinished and cluster.fits(need):
                placed.append(cluster.start(need))
            else:
                still.append(need)
        waiting = still
        if waiting:
            unfinished.difference_update(p.id for p in cluster.advance())
    return placed


def fifo(scenario: Scenario) -> list[Placement]:
    return greedy(scenario, scenario.pipelines)


def priority_weight_order(scenario: Scenario) -> list[Placement]:
    return greedy(scenario, sorted(scenario.pipelines, key=lambda p: -PRIORITY_WEIGHTS[p.priority]))


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index ``(Σx)² / (n·Σx²)``: 1 for equal values, 1/n when one value holds everything."""
    squares = sum(x * x for x in values)
    return (sum(values) ** 2) / (len(values) * squares) if squares else 1.0


def _sweep(placements: Sequence[Placement]):
    """``(time, next time, cpu held by team, memory held by team, pipelines waiting by team)`` for each
    interval between consecutive starts and finishes, in time order."""
    starts = sorted(placements, key=lambda p: p.start_s)
    finishes = sorted(placements, key=lambda p: p.finish_s)
    times = sorted({p.start_s for p in placements} | {p.finish_s for p in placements})
    cpu: Counter[str] = Counter()
    memory: Counter[str] = Counter()
    waiting = Counter(p.need.team for p in placements)
    s = f = 0
    for at, following in pairwise(times):
        while f < len(finishes) and finishes[f].finish_s <= at:
            cpu[finishes[f].need.team] -= finishes[f].need.cpu
            memory[finishes[f].need.team] -= finishes[f].need.memory_gib
            f += 1
        while s < len(starts) and starts[s].start_s <= at:
            cpu[starts[s].need.team] += starts[s].need.cpu
            memory[starts[s].need.team] += starts[s].need.memory_gib
            waiting[starts[s].need.team] -= 1
            s += 1
        yield at, following, cpu, memory, waiting


def peak_usage(placements: Sequence[Placement]) -> tuple[float, float]:
    """The most CPU and the most memory held at once (pipelines ending at an instant free their
    resources before those starting then take theirs)."""
    peak_cpu = peak_memory = 0.0
    for _, _, cpu, memory, _ in _sweep(placements):
        peak_cpu = max(peak_cpu, sum(cpu.values()))
        peak_memory = max(peak_memory, sum(memory.values()))
    return peak_cpu, peak_memory


def share_ratios(scenario: Scenario, placements: Sequence[Placement]) -> dict[str, float]:
    """Per team: dominant share held while it had pipelines waiting ÷ the share its weight entitled it to."""
    budget = scenario.budget
    held: Counter[str] = Counter()
    entitled: Counter[str] = Counter()
    for at, following, cpu, memory, waiting in _sweep(placements):
        teams = [team for team, n in waiting.items() if n > 0]
        total = sum(scenario.weight(team) for team in teams)
        for team in teams:
            held[team] += max(cpu[team] / budget.cpu, memory[team] / budget.memory_gib) * (following - at)
            entitled[team] += scenario.weight(team) / total * (following - at)
    return {team: held[team] / entitled[team] for team in sorted(entitled) if entitled[team] > 0}


@dataclass(frozen=True)
class Measures:
    makespan_s: float
    lower_bound_s: float
    mean_completion_s: dict[str, float | None]  # per priority class, highest first; None: no pipeline
    share_ratios: dict[str, float]
    peak_cpu: float
    peak_memory_gib: float

    @property
    def makespan_ratio(self) -> float:
        return self.makespan_s / self.lower_bound_s if self.lower_bound_s else 1.0

    @property
    def fairness(self) -> float:
        return jain(list(self.share_ratios.values()))


def measure(scenario: Scenario, placements: Sequence[Placement]) -> Measures:
    finishes: dict[str, list[float]] = {priority: [] for priority in PRIORITIES}
    for p in placements:
        finishes[p.need.priority].append(p.finish_s)
    peak_cpu, peak_memory = peak_usage(placements)
    return Measures(
        makespan_s=max((p.finish_s for p in placements), default=0.0),
        lower_bound_s=lower_bound(scenario.budget, scenario.pipelines),
        mean_completion_s={priority: sum(values) / len(values) if values else None for priority, values in finishes.items()},
        share_ratios=share_ratios(scenario, placements),
        peak_cpu=peak_cpu,
        peak_memory_gib=peak_memory,
    )
