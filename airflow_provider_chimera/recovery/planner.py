"""The recovery planner: when each pipeline that needs a run starts, within the CPU and memory budget.

Event-driven list scheduling (``docs/recovery.md`` gives the measurements behind each rule):

- **Budget.** A pipeline starts only when its cores and memory are free: running + starting
  pipelines never hold more than the budget at any instant.
- **FAIR between teams.** Whenever resources free up, the team furthest behind its entitlement
  goes first: the dominant share of the budget (the larger of its CPU and memory fractions) it has
  held while it had pipelines waiting, integrated over that time, divided by the share its weight
  entitled it to over the same time, both looking :data:`FAIR_HORIZON` of the lower bound ahead
  with what it holds now. A team short-changed earlier (its next pipeline was large and waited)
  catches up, rather than only the current holdings being compared.
- **Priority within a team.** A team starts its pipelines critical, high, medium, low; within
  a class the shortest first, which finishes the most pipelines per unit of time.
- **No waiting pipeline is overtaken within its team.** A team whose next pipeline does not fit
  waits for it. The first such team in FAIR order gets a reservation at the earliest time that
  pipeline fits; until then other teams' next pipelines, and the reserved team's later ones, start
  only if they finish before that time or fit beside it (backfilling), so they never delay it.
- **Long pipelines early.** The first pass follows the rules above without exception. If it
  ends pipelines at least :data:`LONG_FRACTION` of the lower bound long after :data:`STRETCH`
  times the lower bound, those move up in their teams: first to the front of their own priority
  class (longest first), then, if still too late, right after the team's critical pipelines
  (never before them); the plan is made again each time (at most :data:`PASSES` passes, the
  shortest plan kept). Started late, such a pipeline alone stretches the whole recovery. Its
  resources count in its team's share.

- **One pipeline's runs in date order.** An item naming another in ``after`` (the same pipeline's
  run of the interval before) waits outside its team's queue until that one has finished.

The plan is deterministic: ties are broken by pipeline id and team name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from airflow_provider_chimera.recovery.cluster import (
    EPSILON,
    Cluster,
    Placement,
    Running,
    ms,
    seconds,
)
from airflow_provider_chimera.recovery.model import (
    PRIORITIES,
    Budget,
    PipelineNeed,
    Plan,
    PlanEntry,
    Scenario,
)

# A pipeline at least LONG_FRACTION of the lower bound long that a pass ends after STRETCH times
# the lower bound moves up in its team; PASSES bounds the re-planning this takes. Chosen on the
# benchmark scenarios (docs/recovery.md).
LONG_FRACTION = 0.02
STRETCH = 1.0
PASSES = 8
# How far ahead (a fraction of the lower bound) the FAIR order weighs what a team holds now
# against what it held before: 0 would compare only the past, a large value only the present.
FAIR_HORIZON = 0.1
PROMOTED = ""  # holds promoted pipelines' resources when not charged to their team (team names are not empty)

__all__ = ["FAIR_HORIZON", "LONG_FRACTION", "PASSES", "STRETCH", "Running", "lower_bound", "plan", "replan", "schedule"]


def lower_bound(budget: Budget, pending: Sequence[PipelineNeed], running: Sequence[Running] = ()) -> float:
    """No plan finishes sooner: max(Σ cpu·duration / CPU, Σ memory·duration / memory, longest chain),
    a chain being an item and the items it waits for (``after``), one after the other; a single
    item is a chain of one.

    Pipelines already running count with the time they still need."""
    work = [(p.cpu, p.memory_gib, p.duration_s) for p in pending] + [(r.need.cpu, r.need.memory_gib, r.remaining_s) for r in running]
    if not work:
        return 0.0
    return max(
        sum(cpu * seconds for cpu, _, seconds in work) / budget.cpu,
        sum(memory * seconds for _, memory, seconds in work) / budget.memory_gib,
        _longest_chain(pending, running),
    )


def _longest_chain(pending: Sequence[PipelineNeed], running: Sequence[Running]) -> float:
    own = {r.need.id: r.remaining_s for r in running} | {p.id: p.duration_s for p in pending}
    after = {p.id: p.after for p in pending}
    total: dict[str, float] = {}
    for start in own:
        path, at = [], start
        while at in own and at not in total:  # the model rejects circles
            path.append(at)
            at = after.get(at)
        base = total.get(at, 0.0) if at is not None else 0.0
        for item in reversed(path):
            base += own[item]
            total[item] = base
    return max(total.values(), default=0.0)


def plan(scenario: Scenario) -> Plan:
    """The plan for every pipeline of ``scenario``, all waiting to start now."""
    return replan(scenario)


def replan(scenario: Scenario, running: Sequence[Running] = ()) -> Plan:
    """The plan from now: ``scenario.pipelines`` wait to start, ``running`` hold their resources
    for their remaining time (they are not in the plan's entries but count in its makespan and
    lower bound, which assumes they fit the budget). Call it again as pipelines finish, with
    their real durations known."""
    placements = schedule(scenario, running)
    # Starts and finishes are whole milliseconds already (cluster.ms): printed as they are, a start
    # placed at another pipeline's finish is the same float as that finish.
    finishes = [p.finish_s for p in placements] + [seconds(ms(r.remaining_s)) for r in running]
    return Plan(
        plan=[PlanEntry(id=p.need.id, start_s=p.start_s, finish_s=p.finish_s, reason=p.reason) for p in placements],
        makespan_s=max(finishes, default=0.0),
        lower_bound_s=round(lower_bound(scenario.budget, scenario.pipelines, running), 3),
    )


def schedule(
    scenario: Scenario,
    running: Sequence[Running] = (),
    *,
    long_fraction: float = LONG_FRACTION,
    stretch: float = STRETCH,
    shortest_first: bool = True,
    passes: int = PASSES,
    reserve: bool = True,
    charge_promoted: bool = True,
    fair_horizon: float | None = FAIR_HORIZON,
) -> list[Placement]:
    """The placements of the plan, in start order (the benchmark varies the keyword options).

    The first pass follows the rules without exception. Pipelines at least ``long_fraction`` of
    the lower bound long that a pass ends after ``stretch`` times the lower bound move up in their
    teams (to the front of their class, then right after the critical class) and the plan is made
    again; the plan with the smallest makespan is kept (the earliest pass on a tie).
    ``shortest_first=False``, ``reserve=False``, ``charge_promoted=False`` and ``fair_horizon=None``
    (FAIR by the current share alone) are the variants docs/recovery.md measures."""
    bound = lower_bound(scenario.budget, scenario.pipelines, running)
    promoted: dict[str, _Promotion] = {}
    best: list[Placement] | None = None
    for _ in range(max(passes, 1)):
        queues = _team_queues(scenario.pipelines, promoted, shortest_first)
        horizon = None if fair_horizon is None else max(fair_horizon * bound, 1.0)
        placed = _Planner(scenario, running, queues, bound, dict(promoted), bound * stretch, reserve, charge_promoted, horizon).run()
        if best is None or _makespan(placed) < _makespan(best) - EPSILON:
            best = placed
        late = [p for p in placed if p.finish_s > bound * stretch + EPSILON and p.need.duration_s >= bound * long_fraction]
        raised = [p for p in late if promoted.get(p.need.id, _Promotion(0, 0)).level < 2]
        if not raised:
            break
        for p in raised:
            promoted[p.need.id] = _Promotion(p.finish_s, promoted[p.need.id].level + 1 if p.need.id in promoted else 1)
    assert best is not None
    return best


@dataclass(frozen=True)
class _Promotion:
    """A long pipeline moved ahead in its team: level 1 to the front of its priority class, level 2
    right after the team's critical pipelines; ``finish`` is where the pass before put its end."""

    finish: float
    level: int


def _makespan(placed: list[Placement]) -> float:
    return max((p.finish_s for p in placed), default=0.0)


def _team_queues(pending: Sequence[PipelineNeed], promoted: dict[str, _Promotion], shortest_first: bool) -> dict[str, list[PipelineNeed]]:
    """Each team's pipelines in the order it starts them: by priority class, within a class the
    shortest first; promoted ones (longest first) at the front of their class (level 1) or right
    after the critical class (level 2)."""
    rank = {name: index for index, name in enumerate(PRIORITIES)}
    sign = 1 if shortest_first else -1

    def key(p: PipelineNeed):
        if p.id in promoted:
            return (0.5 if promoted[p.id].level == 2 else rank[p.priority] - 0.5, -p.duration_s, p.id)
        return (float(rank[p.priority]), sign * p.duration_s, p.id)

    queues: dict[str, list[PipelineNeed]] = {}
    for p in pending:
        queues.setdefault(p.team, []).append(p)
    return {team: sorted(queue, key=key) for team, queue in sorted(queues.items())}


@dataclass
class _Reservation:
    need: PipelineNeed
    at: int  # ms
    spare_cpu: float
    spare_memory: float


@dataclass
class _Planner:
    scenario: Scenario
    running: Sequence[Running]
    queues: dict[str, list[PipelineNeed]]
    bound: float
    promoted: dict[str, _Promotion]
    target: float
    reserve: bool
    charge_promoted: bool
    fair_horizon: float | None  # seconds; None: FAIR by the current share alone
    placed: list[Placement] = field(default_factory=list)
    reservation: _Reservation | None = None

    def run(self) -> list[Placement]:
        self.cluster = Cluster(self.scenario.budget, list(self.running))
        self.freed = ""
        # Items not finished yet: one whose ``after`` is among them waits (the model: ``after``).
        self.unfinished = {p.id for queue in self.queues.values() for p in queue} | {r.need.id for r in self.running}
        self.held_s = dict.fromkeys(self.queues, 0.0)  # dominant share x seconds held while waiting
        self.entitled_s = dict.fromkeys(self.queues, 0.0)  # entitled share x seconds while waiting
        while True:
            self._dispatch()
            if not self.cluster.busy:
                break
            self._account(seconds(self.cluster.next_finish_ms) - self.cluster.now)
            done = self.cluster.advance()
            self.unfinished.difference_update(p.id for p in done)
            self.freed = _freed(done)
        left = [p.id for queue in self.queues.values() for p in queue]
        if left:  # the model rejects pipelines larger than the budget, so this is a planner bug
            raise RuntimeError(f"could not place {', '.join(left)}")
        return self.placed

    def _account(self, interval: float) -> None:
        """Add ``interval`` seconds of each waiting team's holdings and entitlement."""
        for team, share, entitled in self._shares():
            self.held_s[team] += share * interval
            self.entitled_s[team] += entitled * interval

    def _shares(self) -> list[tuple[str, float, float]]:
        """(team, dominant share held now, share its weight entitles it to now) of each team with pipelines waiting."""
        weight = self.scenario.weight
        waiting = [t for t, q in self.queues.items() if q]
        total = sum(weight(t) for t in waiting)
        return [(t, self.cluster.share(t), weight(t) / total) for t in waiting]

    def _fair_order(self) -> list[str]:
        horizon = self.fair_horizon
        if horizon is None:
            weight = self.scenario.weight
            return sorted((t for t, q in self.queues.items() if q), key=lambda t: (self.cluster.share(t) / weight(t), t))
        ratio = {t: (self.held_s[t] + share * horizon) / (self.entitled_s[t] + entitled * horizon) for t, share, entitled in self._shares()}
        return sorted(ratio, key=lambda t: (ratio[t], t))

    def _dispatch(self) -> None:
        """Start everything the rules allow now."""
        while True:
            if self.reservation is not None and self.cluster.fits(self.reservation.need):
                need = self.reservation.need
                self.reservation = None
                self._start(need, "reserved")
                continue
            if not self._start_one():
                return

    def _start_one(self) -> bool:
        """Start one pipeline (the first allowed in FAIR order); ``False`` when none may start now."""
        order = self._fair_order()
        reserved = self.reservation.need if self.reservation is not None else None
        for team in order:
            ready = self._ready(team)
            if not ready:
                continue  # its next items wait for their earlier intervals to finish
            head = ready[0]
            if head is not reserved and self.cluster.fits(head) and self._spares_reservation(head):
                self._start(head, "head" if reserved is None else "backfill", order=order)
                return True
            if reserved is None and not self.cluster.fits(head) and self.reserve:
                at, cpu, memory = self.cluster.earliest(head)
                self.reservation = _Reservation(head, at, cpu, memory)
                return True  # look again, now keeping clear of the reservation
        # Behind a waiting head only the reserved team's pipelines may start: its head is protected
        # by the reservation, the other teams' heads are not. Without reservations (a benchmark
        # variant), any team's pipelines may overtake its head.
        for team in [reserved.team] if reserved is not None else [] if self.reserve else order:
            for need in self._ready(team)[1:]:
                if self.cluster.fits(need) and self._spares_reservation(need):
                    self._start(need, "backfill" if reserved is not None else "overtake", order=order)
                    return True
        return False

    def _ready(self, team: str) -> list[PipelineNeed]:
        """The team's queue without the items still waiting for an unfinished one (``after``)."""
        return [p for p in self.queues[team] if p.after not in self.unfinished]

    def _spares_reservation(self, need: PipelineNeed) -> bool:
        r = self.reservation
        if r is None:
            return True
        if self.cluster.now_ms + ms(need.duration_s) <= r.at:
            return True
        return need.cpu <= r.spare_cpu + EPSILON and need.memory_gib <= r.spare_memory + EPSILON

    def _start(self, need: PipelineNeed, how: str, order: list[str] | None = None) -> None:
        reason = self._reason(need, how, order or [])
        r = self.reservation
        if r is not None and self.cluster.now_ms + ms(need.duration_s) > r.at:
            r.spare_cpu -= need.cpu
            r.spare_memory -= need.memory_gib
        self.queues[need.team].remove(need)
        # A benchmark variant leaves promoted pipelines out of their team's share (docs/recovery.md).
        placed = self.cluster.start(need, PROMOTED if need.id in self.promoted and not self.charge_promoted else None)
        self.placed.append(Placement(need, placed.start_s, placed.finish_s, reason))

    def _reason(self, need: PipelineNeed, how: str, order: list[str]) -> str:
        parts = [f"{need.priority} in {need.team}"]
        if need.after is not None:
            parts.append(f"after {need.after} (its interval before) finished")
        cluster = self.cluster
        promoted = need.id in self.promoted and how != "backfill"
        if promoted:
            promotion = self.promoted[need.id]
            front = f"first among {need.team}'s {need.priority} pipelines"
            after_critical = f"right after {need.team}'s critical pipelines"
            placed_as, place = ("placed by priority", front) if promotion.level == 1 else (front, after_critical)
            parts.append(
                f"long-running ({_seconds(need.duration_s)}): {placed_as} it would finish at "
                f"{_seconds(promotion.finish)}, past {_seconds(self.target)}, so it goes {place}"
            )
        if how == "reserved":
            parts.append(("" if promoted else f"next in {need.team} by priority; ") + f"waited for {_resources(need)} to free up, reserved so nothing smaller delayed it")
        elif how == "backfill":
            r = self.reservation
            assert r is not None
            ends_first = cluster.now_ms + ms(need.duration_s) <= r.at
            parts.append(
                f"backfilled ahead of {r.need.id} (reserved from {_seconds(seconds(r.at))}): "
                + ("finishes before that" if ends_first else "fits beside it")
                + ", so it delays nothing placed before it"
            )
        elif how == "overtake":
            head = self._ready(need.team)[0]
            parts.append(f"ahead of {head.id}, which needs {_resources(head)} and does not fit yet")
        elif not promoted:
            parts.append(f"next in {need.team} by priority" + (", shortest first" if self._has_peer(need) else ""))
        if cluster.now_ms == 0 and not self.running:
            parts.append("started at once within the budget")
        elif how != "reserved":
            when = f"started when {self.freed} freed" if self.freed else "started within the budget"
            if len(order) > 1 and order[0] == need.team and how == "head":
                when += (f"; {need.team} held the smallest share of the budget for its weight" if self.fair_horizon is None
                         else f"; {need.team} was furthest behind its fair share of the budget")
            parts.append(when)
        return "; ".join(parts)

    def _has_peer(self, need: PipelineNeed) -> bool:
        return any(p.priority == need.priority for p in self.queues[need.team] if p is not need)


def _freed(done: list[PipelineNeed]) -> str:
    return f"{_number(sum(p.cpu for p in done))} CPU and {_number(sum(p.memory_gib for p in done))} GiB"


def _resources(need: PipelineNeed) -> str:
    return f"{_number(need.cpu)} CPU and {_number(need.memory_gib)} GiB"


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _seconds(value: float) -> str:
    return f"{_number(value)} s"
