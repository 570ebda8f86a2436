"""The budget as it is used over time: what runs, what is free, and when the next pipeline finishes.

The planner and the baselines it is measured against (:mod:`.simulate`) place pipelines on the
same :class:`Cluster`, so they differ only in the order in which they pick what to start.

Time is kept in whole milliseconds (:func:`ms`): a duration is rounded to the millisecond once,
and every start and finish is an integer sum, so a pipeline started when another finishes starts
at exactly that finish. Seconds are derived from them only for output (``ms / 1000``), which
gives the same float for the same instant: a consumer comparing a printed start with a printed
finish sees them equal, never 10⁻¹³ s apart.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from airflow_provider_chimera.recovery.model import Budget, PipelineNeed

# Resources are floats (0.5 CPU, 1.5 GiB): sums drift by a few ulps, never by this much.
EPSILON = 1e-9


def ms(seconds: float) -> int:
    """``seconds`` in whole milliseconds, at least 1 (a pipeline takes some time)."""
    return max(round(seconds * 1000), 1)


def seconds(milliseconds: int) -> float:
    return milliseconds / 1000


@dataclass(frozen=True)
class Placement:
    """A pipeline placed in a schedule: when it starts and finishes, and why there."""

    need: PipelineNeed
    start_s: float
    finish_s: float
    reason: str = ""


@dataclass(frozen=True)
class Running:
    """A pipeline already running when a plan is made, with the time it still needs."""

    need: PipelineNeed
    remaining_s: float


class Cluster:
    """Free CPU and memory at the current time, the running pipelines, and each team's holdings."""

    def __init__(self, budget: Budget, running: tuple[Running, ...] | list[Running] = ()):
        self.budget = budget
        self.now_ms = 0
        self.free_cpu = budget.cpu
        self.free_memory = budget.memory_gib
        self._heap: list[tuple[int, int, PipelineNeed, str]] = []  # (finish in ms, start order, ...)
        self._started = 0  # ties in finish time release in start order
        self.held: dict[str, tuple[float, float]] = {}  # team -> (cpu, memory) running now
        for item in running:
            self._occupy(item.need, ms(item.remaining_s))

    @property
    def now(self) -> float:
        """The current time in seconds from the start of the plan."""
        return seconds(self.now_ms)

    def fits(self, need: PipelineNeed) -> bool:
        return need.cpu <= self.free_cpu + EPSILON and need.memory_gib <= self.free_memory + EPSILON

    def start(self, need: PipelineNeed, holder: str | None = None) -> Placement:
        """Start ``need`` now (the caller checked that it fits), its resources counted as held by
        ``holder`` (default: its team)."""
        duration = ms(need.duration_s)
        self._occupy(need, duration, holder)
        return Placement(need, seconds(self.now_ms), seconds(self.now_ms + duration))

    def _occupy(self, need: PipelineNeed, duration: int, holder: str | None = None) -> None:
        holder = need.team if holder is None else holder
        self.free_cpu -= need.cpu
        self.free_memory -= need.memory_gib
        cpu, memory = self.held.get(holder, (0.0, 0.0))
        self.held[holder] = (cpu + need.cpu, memory + need.memory_gib)
        self._started += 1
        heapq.heappush(self._heap, (self.now_ms + duration, self._started, need, holder))

    @property
    def busy(self) -> bool:
        return bool(self._heap)

    @property
    def next_finish_ms(self) -> int:
        """When (ms) the next running pipeline finishes (the caller checked :attr:`busy`)."""
        return self._heap[0][0]

    def advance(self) -> list[PipelineNeed]:
        """Move to the next finish time and release every pipeline that ends then; those pipelines."""
        finish = self._heap[0][0]
        self.now_ms = finish
        done = []
        while self._heap and self._heap[0][0] == finish:
            _, _, need, holder = heapq.heappop(self._heap)
            self.free_cpu += need.cpu
            self.free_memory += need.memory_gib
            cpu, memory = self.held[holder]
            self.held[holder] = (cpu - need.cpu, memory - need.memory_gib)
            done.append(need)
        return done

    def share(self, team: str) -> float:
        """The team's dominant share now: the larger of its CPU and memory fractions of the budget."""
        cpu, memory = self.held.get(team, (0.0, 0.0))
        return max(cpu / self.budget.cpu, memory / self.budget.memory_gib)

    def earliest(self, need: PipelineNeed) -> tuple[int, float, float]:
        """When (ms) ``need`` could start if nothing else started, and the CPU and memory left beside it then."""
        cpu, memory = self.free_cpu, self.free_memory
        at = self.now_ms
        ending = sorted(self._heap)
        index = 0
        while not (need.cpu <= cpu + EPSILON and need.memory_gib <= memory + EPSILON) and index < len(ending):
            at = ending[index][0]
            while index < len(ending) and ending[index][0] == at:
                cpu += ending[index][2].cpu
                memory += ending[index][2].memory_gib
                index += 1
        return at, cpu - need.cpu, memory - need.memory_gib
