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
