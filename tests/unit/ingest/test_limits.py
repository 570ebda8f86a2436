"""The ingest task's watchdog: over its memory cap the task stops with an error naming pipeline, cap and
memory; under it nothing happens; a task that does not stop (or outlives its execution_timeout) ends."""

from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from airflow_provider_chimera.ingest.limits import (
    TaskMemoryLimitExceeded,
    TaskWatchdog,
    rss_mib,
)
from tests.conftest import REPO

CHUNK = 8 << 20  # bytes allocated (and written) per step
# In-process tests must never reach the watchdog's last resort (ending the process): wide margins.
SAFE = {"interval": 0.05, "grace": 120.0, "hard_factor": 100.0}


def _message(pipeline: str, cap: int, seen: int) -> str:
    return (
        f"{pipeline}: the ingest task's memory reached {seen} MiB (resident set size), over its cap of "
        f"{cap} MiB ([chimera] task_memory_limit_mib); the run was stopped and the table keeps its last "
        f"committed snapshot"
    )


def test_allocating_past_the_cap_stops_the_task_with_the_exact_error():
    cap = rss_mib() + 64
    held: list[bytes] = []
    with pytest.raises(TaskMemoryLimitExceeded) as raised, TaskWatchdog("qa_intent_src_big", cap, **SAFE):
        for _ in range(200):  # up to 1.6 GiB: the cap must stop it long before
            held.append(b"x" * CHUNK)
            time.sleep(0.005)
    error = raised.value
    assert str(error) == _message("qa_intent_src_big", cap, error.rss_mib)
    assert (error.pipeline_id, error.limit_mib) == ("qa_intent_src_big", cap)
    assert cap < error.rss_mib < cap + 64
    assert len(held) * CHUNK >> 20 < 64 + 64  # stopped within a few samples of crossing the cap


def test_a_main_thread_blocked_on_a_queue_is_interrupted_while_another_thread_allocates():
    """As in the ingest task: the read-ahead thread reads (and allocates), the main thread waits for batches."""
    cap = rss_mib() + 64
    stop = threading.Event()
    held: list[bytes] = []

    def reader():
        while not stop.is_set() and len(held) < 200:
            held.append(b"x" * CHUNK)
            time.sleep(0.005)

    thread = threading.Thread(target=reader, daemon=True)
    started = time.monotonic()
    expected = rf"^qa_pipe: the ingest task's memory reached \d+ MiB .* cap of {cap} MiB"
    with pytest.raises(TaskMemoryLimitExceeded, match=expected), TaskWatchdog("qa_pipe", cap, **SAFE):
        thread.start()
        queue.Queue().get()  # blocks forever unless interrupted
    stop.set()
    thread.join()
    assert time.monotonic() - started < 10


def test_under_the_cap_nothing_happens():
    cap = rss_mib() + 1024
    with TaskWatchdog("qa_pipe", cap, **SAFE) as watchdog:
        held = [b"x" * CHUNK for _ in range(4)]
        time.sleep(0.3)  # several samples
    assert watchdog.error is None and len(held) == 4
    assert not watchdog._thread.is_alive()  # the watchdog stops with its block


def test_already_over_the_cap_fails_before_anything_runs():
    ran = []
    with pytest.raises(TaskMemoryLimitExceeded) as raised, TaskWatchdog("qa_pipe", 1, **SAFE):
        ran.append(True)
    assert ran == []
    assert str(raised.value) == _message("qa_pipe", 1, raised.value.rss_mib)


def test_no_cap_and_no_timeout_start_no_thread():
    with TaskWatchdog("qa_pipe", 0, None) as watchdog:
        pass
    assert watchdog._thread is None


def _run(script: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    return done, time.monotonic() - started


def test_a_task_swallowing_the_error_is_ended_after_the_grace_period():
    done, _ = _run(
        """
        import time
        from airflow_provider_chimera.ingest.limits import TaskWatchdog, rss_mib
        held = []
        with TaskWatchdog("qa_pipe", rss_mib() + 32, interval=0.05, grace=1.0, hard_factor=100):
            held.append(b"x" * (64 << 20))
            while True:
                try:
                    time.sleep(0.05)
                except BaseException:  # a careless `except BaseException` keeps the task going
                    pass
        print("NOT REACHED")
        """
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "NOT REACHED" not in done.stdout
    assert "; the task did not stop within 1 s; the process ends (exit code 1), nothing more is committed" in done.stderr
    assert "qa_pipe: the ingest task's memory reached" in done.stderr


def test_memory_racing_past_the_hard_limit_ends_the_process_at_once():
    done, elapsed = _run(
        """
        import time
        from airflow_provider_chimera.ingest.limits import TaskWatchdog, rss_mib
        held, cap = [], rss_mib() + 32
        with TaskWatchdog("qa_pipe", cap, interval=0.05, grace=60, hard_factor=1.2):
            while True:
                try:
                    held.append(b"x" * (8 << 20))
                    time.sleep(0.01)
                except BaseException:
                    pass
        """
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "before it stopped; the process ends (exit code 1)" in done.stderr
    assert elapsed < 30  # not the 60 s grace


def test_a_task_outliving_its_execution_timeout_is_ended():
    """Airflow's timeout is a signal handled in Python: a call blocked in native code outlives it."""
    done, elapsed = _run(
        """
        import time
        from datetime import timedelta
        from airflow_provider_chimera.ingest.limits import TaskWatchdog
        with TaskWatchdog("qa_pipe", 0, timedelta(seconds=0.5), interval=0.05, grace=0.5):
            time.sleep(60)
        """
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert (
        "qa_pipe: the ingest task is still running 0.5 s after its execution_timeout of 0.5 s (a read blocked "
        "in native code does not see Airflow's timeout signal); the process ends (exit code 1)"
    ) in done.stderr
    assert elapsed < 30
