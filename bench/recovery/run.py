"""``make bench-recovery``: the recovery planner against FIFO and Airflow's priority_weight order.

Generated scenarios (fixed seed), each 1,000 pipelines across 10 teams of equal weight, with
durations, cores and memory from skewed distributions (docs/benchmarks.md, docs/recovery.md).
Prints a markdown table, writes it and a JSON file to ``.bench/results/``, and exits 1 when the
planner misses a target: makespan ≤ 1.03× the lower bound, critical pipelines finishing on average
at least 2× sooner than under FIFO, Jain's fairness index ≥ 0.9. In the flood scenario the
critical target is for the teams other than the flooding one: FIFO serves the flood's own
critical pipelines first only by making every other team wait, which FAIR sharing exists to
prevent. Every plan is also checked to stay within the budget at every instant.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

from airflow_provider_chimera.recovery.model import PRIORITIES, Scenario
from airflow_provider_chimera.recovery.planner import schedule
from airflow_provider_chimera.recovery.simulate import (
    fifo,
    measure,
    priority_weight_order,
)

ROOT = Path(__file__).resolve().parents[2]
TEAMS = [f"team-{i:02d}" for i in range(10)]
# A general-purpose machine shape, 4 GiB per core; --memory-gib 64 makes memory as tight as CPU.
BUDGET = {"cpu": 32, "memory_gib": 128}
# Share of each priority class in a team's pipelines, before each team's own variation.
CLASS_MIX = {"critical": 0.1, "high": 0.2, "medium": 0.4, "low": 0.3}
TARGETS = {"makespan_ratio": 1.03, "critical_speedup": 2.0, "fairness": 0.9}


def _pipeline(rng: random.Random, index: int, team: str, mix: dict[str, float]) -> dict:
    """Durations lognormal (median 5 min, long tail to 4 h), cores Pareto (most under 1, a few up to 8),
    memory lognormal (median 2 GiB, up to 48 GiB)."""
    return {
        "id": f"{team}_p{index:04d}",
        "team": team,
        "priority": rng.choices(list(mix), weights=list(mix.values()))[0],
        "cpu": min(8.0, math.ceil(0.5 * rng.paretovariate(1.5) * 2) / 2),
        "memory_gib": min(48.0, max(0.25, round(rng.lognormvariate(math.log(2), 0.9) * 4) / 4)),
        "duration_s": float(min(14_400, max(30, round(rng.lognormvariate(math.log(300), 1.0))))),
    }


def _mix(rng: random.Random) -> dict[str, float]:
    """A team's own priority mix: some teams mark more pipelines critical than others."""
    drawn = {name: rng.gammavariate(share * 8, 1) for name, share in CLASS_MIX.items()}
    total = sum(drawn.values())
    return {name: value / total for name, value in drawn.items()}


def generate(kind: str, pipelines: int, seed: int, budget: dict | None = None) -> Scenario:
    """``skewed``: teams interleaved in the queue. ``long``: the same plus 5 very long low-priority
    pipelines. ``flood``: one team holds half of the pipelines and queued them first."""
    rng = random.Random(f"{kind}-{seed}")
    mixes = {team: _mix(rng) for team in TEAMS}
    if kind == "flood":
        flood = [_pipeline(rng, i, TEAMS[0], mixes[TEAMS[0]]) for i in range(pipelines // 2)]
        rest = [_pipeline(rng, i, team, mixes[team]) for i in range(pipelines - len(flood)) for team in [rng.choice(TEAMS[1:])]]
        return Scenario.model_validate({"budget": budget or BUDGET, "pipelines": flood + rest})
    items = [_pipeline(rng, i, team, mixes[team]) for i in range(pipelines) for team in [rng.choice(TEAMS)]]
    if kind == "long":
        area = sum(p["cpu"] * p["duration_s"] for p in items) / (budget or BUDGET)["cpu"]
        for i in range(5):
            long = _pipeline(rng, pipelines + i, TEAMS[2 * i], mixes[TEAMS[2 * i]])
            long.update(priority="low", duration_s=float(round(area * rng.uniform(0.6, 0.9))))
            items.insert(rng.randrange(len(items)), long)
    return Scenario.model_validate({"budget": budget or BUDGET, "pipelines": items})


POLICIES = {
    "planner": lambda s: schedule(s),
    "FIFO": fifo,
    "priority_weight": priority_weight_order,
}
# Planner variants measured when choosing its rules (--variants; docs/recovery.md).
VARIANTS = {
    "no promotion of long pipelines": lambda s: schedule(s, passes=1),
    "longest first within a class": lambda s: schedule(s, shortest_first=False),
    "promotion threshold 0.05": lambda s: schedule(s, long_fraction=0.05),
    "promotion threshold 0.25": lambda s: schedule(s, long_fraction=0.25),
    "no reservations (greedy in FAIR order)": lambda s: schedule(s, reserve=False),
    "FAIR by the current share only": lambda s: schedule(s, fair_horizon=None),
    "promotion as before (0.05 of the bound, past 1.05×, 3 passes)": lambda s: schedule(s, long_fraction=0.05, stretch=1.05, passes=3),
    "promoted pipelines not in their team's share": lambda s: schedule(s, charge_promoted=False),
}
FLOODING = {"flood": TEAMS[0]}


def _critical_mean(placed, exclude: str | None) -> float | None:
    finishes = [p.finish_s for p in placed if p.need.priority == "critical" and p.need.team != exclude]
    return sum(finishes) / len(finishes) if finishes else None


def run(kinds: list[str], pipelines: int, seed: int, variants: bool, budget: dict) -> list[dict]:
    rows = []
    for kind in kinds:
        scenario = generate(kind, pipelines, seed, budget)
        policies = POLICIES | (VARIANTS if variants else {})
        results = {}
        for name, policy in policies.items():
            started = time.perf_counter()
            placed = policy(scenario)
            seconds = time.perf_counter() - started
            m = measure(scenario, placed)
            if m.peak_cpu > scenario.budget.cpu + 1e-6 or m.peak_memory_gib > scenario.budget.memory_gib + 1e-6:
                raise SystemExit(f"{kind}/{name}: budget exceeded: {m.peak_cpu} CPU, {m.peak_memory_gib} GiB")
            if len(placed) != len(scenario.pipelines):
                raise SystemExit(f"{kind}/{name}: placed {len(placed)} of {len(scenario.pipelines)} pipelines")
            results[name] = (m, seconds, _critical_mean(placed, FLOODING.get(kind)))
        fifo_critical = results["FIFO"][2]
        for name, (m, seconds, critical) in results.items():
            rows.append(
                {
                    "scenario": kind,
                    "policy": name,
                    "makespan_s": m.makespan_s,
                    "lower_bound_s": m.lower_bound_s,
                    "makespan_ratio": m.makespan_ratio,
                    "mean_completion_s": m.mean_completion_s,
                    "critical_speedup": fifo_critical / critical if critical else None,
                    "critical_speedup_all_teams": results["FIFO"][0].mean_completion_s["critical"] / m.mean_completion_s["critical"],
                    "fairness": m.fairness,
                    "share_ratios": m.share_ratios,
                    "plan_seconds": seconds,
                }
            )
    return rows


def misses(rows: list[dict]) -> list[str]:
    found = []
    for row in rows:
        if row["policy"] != "planner":
            continue
        for name, target in TARGETS.items():
            value = row[name]
            ok = value <= target if name == "makespan_ratio" else value >= target
            if not ok:
                found.append(f"{row['scenario']}: {name} {value:.3f} misses the target {target}")
    return found


def markdown(rows: list[dict]) -> str:
    head = [
        "scenario",
        "policy",
        "makespan ÷ bound",
        *(f"mean completion {p} (min)" for p in PRIORITIES),
        "critical speed-up vs FIFO",
        "Jain's index",
        "plan time (s)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        completions = [f"{v / 60:.0f}" if v is not None else "-" for v in row["mean_completion_s"].values()]
        lines.append(
            "| "
            + " | ".join(
                [row["scenario"], row["policy"], f"{row['makespan_ratio']:.3f}", *completions, _speedup(row), f"{row['fairness']:.3f}", f"{row['plan_seconds']:.2f}"]
            )
            + " |"
        )
    return "\n".join(lines)


def _speedup(row: dict) -> str:
    if row["scenario"] not in FLOODING:
        return f"{row['critical_speedup']:.2f}×"
    return f"{row['critical_speedup']:.2f}× other teams ({row['critical_speedup_all_teams']:.2f}× all)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--scenarios", default="skewed,long,flood", help="comma-separated: skewed, long, flood")
    parser.add_argument("--variants", action="store_true", help="also measure the planner variants considered when choosing its rules")
    parser.add_argument("--cpu", type=float, default=BUDGET["cpu"], help="CPU budget (cores)")
    parser.add_argument("--memory-gib", type=float, default=BUDGET["memory_gib"], help="memory budget (GiB)")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "results")
    args = parser.parse_args()
    budget = {"cpu": args.cpu, "memory_gib": args.memory_gib}
    rows = run(args.scenarios.split(","), args.pipelines, args.seed, args.variants, budget)
    table = markdown(rows)
    failed = misses(rows)
    verdict = "\n".join(failed) if failed else (
        f"all targets met: makespan ≤ {TARGETS['makespan_ratio']}× the lower bound, critical ≥ {TARGETS['critical_speedup']:g}× sooner than FIFO, "
        f"Jain's index ≥ {TARGETS['fairness']}"
    )
    print(table)
    print()
    print(verdict)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "recovery.md").write_text(table + "\n\n" + verdict + "\n")
    (args.out / "recovery.json").write_text(json.dumps({"seed": args.seed, "pipelines": args.pipelines, "budget": budget, "targets": TARGETS, "rows": rows, "misses": failed}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
