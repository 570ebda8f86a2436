"""Carrying a plan out wave by wave, on a simulated clock.

Airflow's side is a small in-memory stand-in (runs end after their real duration on the simulated
clock); the real scheduler is exercised by tests/e2e/test_recovery_in_airflow.py.
"""

from __future__ import annotations

from airflow_provider_chimera.recovery.execute import carry_out
from airflow_provider_chimera.recovery.model import Budget, PipelineNeed
from airflow_provider_chimera.recovery.needs import Recovery


class _Airflow:
    def __init__(self, clock, real_durations):
        self.clock, self.real, self.ends, self.calls = clock, real_durations, {}, []

    def post(self, path, body):
        dag_id = path.split("/")[2]
        self.calls.append((path.rsplit("/", 1)[1], dag_id, body.get("dag_run_id")))
        self.ends[dag_id] = self.clock.now + self.real[dag_id]
        return {"dag_run_id": f"manual__{dag_id}"}

    def get(self, path):
        dag_id = path.split("/")[2]
        return {"state": "success" if self.clock.now >= self.ends[dag_id] else "running"}


class _Clock:
    now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _recovery(name, team, priority, cpu, duration, action="clear"):
    need = PipelineNeed(id=name, team=team, priority=priority, cpu=cpu, memory_gib=1, duration_s=duration)
    return Recovery(need, action, f"scheduled__{name}" if action == "clear" else None, "run failed")


def test_waves_keep_the_budget_replan_on_real_durations_and_audit_each_decision():
    clock = _Clock()
    recoveries = [
        _recovery("a_crit", "a", "critical", 2, 10), _recovery("a_low", "a", "low", 2, 10),
        _recovery("b_high", "b", "high", 2, 10), _recovery("b_low", "b", "low", 2, 10, action="trigger"),
    ]
    # a_crit really takes 30 s, three times its estimate: the rest of the plan waits for it.
    airflow = _Airflow(clock, {"a_crit": 30, "a_low": 10, "b_high": 10, "b_low": 10})
    audited = []

    outcome = carry_out(airflow, recoveries, Budget(cpu=4, memory_gib=8), audit=lambda a, d: audited.append((a, d)),
                        poll_s=1, clock=clock, sleep=clock.sleep)

    started = [(d["pipeline"], d["wave"]) for a, d in audited if a == "recovery.started"]
    assert started == [("a_crit", 1), ("b_high", 1), ("b_low", 2), ("a_low", 3)]
    assert [c[0] for c in airflow.calls] == ["clearTaskInstances", "clearTaskInstances", "dagRuns", "clearTaskInstances"]
    assert airflow.calls[0][2] == "scheduled__a_crit"  # the failed run itself is cleared
    assert {r["id"]: r["state"] for r in outcome.runs} == dict.fromkeys(["a_crit", "a_low", "b_high", "b_low"], "success")
    # Never more than 4 CPU: a_low waited for a_crit's real end at 30 s, not its 10 s estimate.
    finished = {r["id"]: r for r in outcome.runs}
    assert finished["a_crit"]["duration_s"] >= 30
    assert [a for a, _ in audited].count("recovery.wave") == outcome.waves == 3


class _Conflicting:
    """Airflow that already holds the missed run: its POST answers 409, as the REST API does."""

    def __init__(self, state):
        self.state, self.calls = state, []

    def post(self, path, body):
        from airflow_provider_chimera.airflow_api import AirflowApiError

        self.calls.append((path, body))
        if path.endswith("/dagRuns"):
            raise AirflowApiError(f"Airflow API POST {path}: HTTP 409: already exists", 409)
        return {}

    def get(self, path, **params):
        assert params["logical_date_gte"] == params["logical_date_lte"] == "2026-12-05T00:00:00+00:00"
        return {"dag_runs": [{"dag_run_id": "scheduled__2026-12-05T00:00:00+00:00", "state": self.state}]}


def test_a_missed_run_the_scheduler_created_meanwhile_is_followed_and_cleared_if_it_failed():
    import datetime as dt

    from airflow_provider_chimera.recovery.execute import start

    need = PipelineNeed(id="p@2026-12-05", team="a", priority="high", cpu=1, memory_gib=1, duration_s=10)
    when = dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)
    missed = Recovery(need, "trigger", None, "missed", "p", when)
    for state, cleared in (("running", False), ("failed", True)):
        airflow = _Conflicting(state)
        assert start(airflow, missed) == "scheduled__2026-12-05T00:00:00+00:00"
        assert [path for path, _ in airflow.calls] == ["/dags/p/dagRuns"] + (["/dags/p/clearTaskInstances"] if cleared else [])
