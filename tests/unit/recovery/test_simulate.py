"""Baselines (FIFO, priority_weight) and the measures the planner is judged by."""

from __future__ import annotations

import pytest

from airflow_provider_chimera.recovery.cluster import Placement
from airflow_provider_chimera.recovery.model import PipelineNeed, Scenario
from airflow_provider_chimera.recovery.planner import schedule
from airflow_provider_chimera.recovery.simulate import (
    fifo,
    jain,
    measure,
    peak_usage,
    priority_weight_order,
    share_ratios,
)


def scenario(cpu: float, *pipelines: tuple[str, str, str, float, float], teams: dict | None = None) -> Scenario:
    return Scenario.model_validate(
        {
            "budget": {"cpu": cpu, "memory_gib": 100},
            "teams": teams or {},
            "pipelines": [{"id": i, "team": t, "priority": p, "cpu": c, "memory_gib": 1, "duration_s": d} for i, t, p, c, d in pipelines],
        }
    )


TWO_TEAMS = scenario(2, *[(f"{t}{n}", t, "medium", 1, 100) for t in "ab" for n in (1, 2, 3)])


def starts(placements: list[Placement]) -> list[tuple[str, float]]:
    return [(p.need.id, p.start_s) for p in sorted(placements, key=lambda p: (p.start_s, p.need.id))]


@pytest.mark.parametrize(("values", "index"), [([1, 1, 1, 1], 1.0), ([1, 0, 0, 0], 0.25), ([1, 2], 0.9), ([3], 1.0)])
def test_jain_index_of_known_values(values, index):
    assert jain(values) == pytest.approx(index)


def test_fifo_starts_in_submission_order_and_fills_gaps_greedily():
    s = scenario(2, ("low1", "a", "low", 1, 100), ("big", "a", "critical", 2, 50), ("low2", "b", "low", 1, 10), ("crit", "b", "critical", 1, 10))
    assert starts(fifo(s)) == [("low1", 0.0), ("low2", 0.0), ("crit", 10.0), ("big", 100.0)]


def test_priority_weight_orders_by_priority_alone_whatever_the_team():
    s = scenario(2, ("low1", "a", "low", 1, 100), ("big", "a", "critical", 2, 50), ("low2", "b", "low", 1, 10), ("crit", "b", "critical", 1, 10))
    assert starts(priority_weight_order(s)) == [("big", 0.0), ("crit", 50.0), ("low1", 50.0), ("low2", 60.0)]


def test_share_ratios_integrate_held_over_entitled_while_waiting():
    # FIFO runs a1, a2 first: during [0, 100) both teams wait, a holds the whole budget (entitled to half),
    # b nothing; during [100, 200) only b waits, entitled to all, holding half.
    assert share_ratios(TWO_TEAMS, fifo(TWO_TEAMS)) == pytest.approx({"a": 2.0, "b": 1 / 3})
    assert measure(TWO_TEAMS, fifo(TWO_TEAMS)).fairness == pytest.approx(49 / 74)
    # The planner alternates the teams: each holds its half while it waits.
    assert share_ratios(TWO_TEAMS, schedule(TWO_TEAMS)) == pytest.approx({"a": 1.0, "b": 1.0})
    assert measure(TWO_TEAMS, schedule(TWO_TEAMS)).fairness == pytest.approx(1.0)


def test_a_team_that_never_waits_is_left_out_of_the_index():
    s = scenario(4, ("a1", "a", "low", 1, 100), ("b1", "b", "low", 2, 100), ("b2", "b", "low", 2, 100))
    assert share_ratios(s, fifo(s)) == {"b": pytest.approx(0.5 / 1.0)}


def test_measure_reports_makespan_bound_completion_per_class_and_peak_use():
    s = scenario(2, ("c", "a", "critical", 1, 10), ("h", "a", "high", 1, 30), ("l1", "a", "low", 2, 20), ("l2", "b", "low", 1, 40))
    m = measure(s, fifo(s))
    assert (m.makespan_s, m.lower_bound_s) == (70.0, 60.0)  # (10 + 30 + 40 + 40) / 2
    assert m.makespan_ratio == pytest.approx(70 / 60)
    # l2 overtakes l1 at 10 s (1 CPU free, l1 needs 2), so l1 runs 50-70 s.
    assert m.mean_completion_s == {"critical": 10.0, "high": 30.0, "medium": None, "low": 60.0}
    assert (m.peak_cpu, m.peak_memory_gib) == (2.0, 2.0)


def test_peak_usage_frees_what_ends_before_what_starts_at_the_same_instant():
    need = PipelineNeed(id="x", team="a", cpu=2, memory_gib=3, duration_s=10)
    back_to_back = [Placement(need, 0.0, 10.0), Placement(need.model_copy(update={"id": "y"}), 10.0, 20.0)]
    assert peak_usage(back_to_back) == (2.0, 3.0)
    overlapping = [Placement(need, 0.0, 10.0), Placement(need.model_copy(update={"id": "y"}), 5.0, 15.0)]
    assert peak_usage(overlapping) == (4.0, 6.0)
