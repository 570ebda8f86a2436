"""Injected failures: CHIMERA_FAIL_AT names a point; the task raises or is killed there, nowhere else."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from airflow_provider_chimera.faults import InjectedFailure, fault_point


def test_nothing_happens_without_the_variable(monkeypatch):
    monkeypatch.delenv("CHIMERA_FAIL_AT", raising=False)
    for point in ("after_read", "after_files", "after_commit"):
        fault_point(point)


def test_only_the_named_point_fails(monkeypatch):
    monkeypatch.setenv("CHIMERA_FAIL_AT", "after_files")
    fault_point("after_read")
    fault_point("after_commit")
    with pytest.raises(InjectedFailure, match=r"^failure injected at after_files \(CHIMERA_FAIL_AT=after_files\)$"):
        fault_point("after_files")


@pytest.mark.parametrize("spec", ["after_reed", "after_read:explode"])
def test_a_misspelt_point_is_an_error(monkeypatch, spec):
    monkeypatch.setenv("CHIMERA_FAIL_AT", spec)
    with pytest.raises(ValueError, match=rf"CHIMERA_FAIL_AT='{spec}': expected one of \['after_read', 'after_files', 'after_commit'\]"):
        fault_point("after_read")


def test_kill_ends_the_process_with_sigkill():
    code = "from airflow_provider_chimera.faults import fault_point; fault_point('after_read'); print('survived')"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"CHIMERA_FAIL_AT": "after_read:kill"}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL
    assert "survived" not in done.stdout


def test_a_scoped_failure_hits_only_its_dag_and_try(monkeypatch):
    """``<point>@<dag_id>[#<try>]``, comma-separated: what an end-to-end test injects into one
    pipeline of a whole Airflow stack, or into its first try only."""
    monkeypatch.setenv("CHIMERA_FAIL_AT", "after_read@dag_a, after_files@dag_b#1")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "dag_c")
    fault_point("after_read")
    fault_point("after_files")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "dag_a")
    with pytest.raises(InjectedFailure):
        fault_point("after_read")
    fault_point("after_files")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "dag_b")
    monkeypatch.setenv("AIRFLOW_CTX_TRY_NUMBER", "2")
    fault_point("after_files")  # the retry passes
    monkeypatch.setenv("AIRFLOW_CTX_TRY_NUMBER", "1")
    with pytest.raises(InjectedFailure, match=r"failure injected at after_files"):
        fault_point("after_files")
