"""Per-task limits of a pipeline's ``ingest`` task: its execution timeout and its memory cap.

A misbehaving pipeline (a hung read, a memory blow-up) must end alone, before it holds its worker
slot for hours or drives the machine into the kernel's out-of-memory killer, which may pick a
neighbour. Two limits, both per task (docs/limits.md says how each executor adds its own):

* :func:`execution_timeout`: Airflow's own task limit, set on the ``ingest`` task by the DAG
  factory. Airflow raises ``AirflowTaskTimeout`` in the task when it expires.
* :class:`TaskWatchdog`: ``[chimera] task_memory_limit_mib``, enforced inside the task. A daemon
  thread samples the process's resident set size every ``interval`` seconds; over the cap, it
  makes the task's main thread raise :class:`TaskMemoryLimitExceeded` (by ``SIGUSR1``, which also
  interrupts a blocking wait). Like a timeout, the error may land anywhere in the run: an Iceberg
  commit is all or nothing and a retry resumes from the last committed snapshot, so nothing is
  committed twice or half.

Both errors are raised in Python; a read blocked in native code (a database driver waiting on its
socket) does not see them. So the watchdog is also the backstop: a task that has not stopped
``grace`` seconds after its memory error or its ``execution_timeout``, or whose memory reaches
``hard_factor`` times the cap first, ends its own process (exit code 1, retried by Airflow like any
failed attempt).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Self

from airflow_provider_chimera.contract.model import StreamMode

if TYPE_CHECKING:
    from airflow_provider_chimera.pipelines import Pipeline
    from airflow_provider_chimera.settings import ChimeraSettings

log = logging.getLogger(__name__)

# A stream run stops starting micro-batches after ``stream_run_seconds``; the last one still reads,
# checks and publishes.
STREAM_MARGIN = timedelta(minutes=10)
SIGNAL = signal.SIGUSR1  # free in Airflow's task process (SIGALRM: timeouts, SIGTERM: kill, SIGUSR2: dumps)
EXIT_CODE = 1
GRACE_SECONDS = 15.0  # how long a task may take to stop after its error, before its process ends


def execution_timeout(pipeline: Pipeline, settings: ChimeraSettings) -> timedelta | None:
    """The ``ingest`` task's ``execution_timeout``: a ``stream`` pipeline's run length plus
    :data:`STREAM_MARGIN`; otherwise ``[chimera] task_timeout_minutes`` (``0``: none)."""
    if isinstance(pipeline.ingestion.mode, StreamMode):
        return timedelta(seconds=settings.stream_run_seconds) + STREAM_MARGIN
    return timedelta(minutes=settings.task_timeout_minutes) if settings.task_timeout_minutes > 0 else None


class TaskMemoryLimitExceeded(BaseException):
    """The task's memory went over its cap. A ``BaseException``, like Airflow's ``AirflowTaskTimeout``,
    so that no ``except Exception`` on the way swallows it."""

    def __init__(self, pipeline_id: str, limit_mib: int, rss_mib: int):
        super().__init__(
            f"{pipeline_id}: the ingest task's memory reached {rss_mib} MiB (resident set size), over its "
            f"cap of {limit_mib} MiB ([chimera] task_memory_limit_mib); the run was stopped and the table "
            f"keeps its last committed snapshot"
        )
        self.pipeline_id, self.limit_mib, self.rss_mib = pipeline_id, limit_mib, rss_mib


def rss_mib() -> int:
    """This process's resident set size, in MiB."""
    import psutil  # installed with Airflow; imported here to keep DAG parsing light

    return psutil.Process().memory_info().rss >> 20


_firing: TaskWatchdog | None = None  # the watchdog whose error the signal handler raises
_previous_handler = None
_installed = False


def _on_signal(signum, frame) -> None:
    global _firing
    watchdog, _firing = _firing, None
    if watchdog is not None and watchdog.error is not None and not watchdog.closing:
        raise watchdog.error
    if callable(_previous_handler):  # someone else's SIGUSR1
        _previous_handler(signum, frame)


def _install_handler() -> bool:
    """Install the SIGUSR1 handler once (it stays: restoring the default could let a late signal kill the process)."""
    global _installed, _previous_handler
    if not _installed:
        if threading.current_thread() is not threading.main_thread():
            return False
        _previous_handler = signal.signal(SIGNAL, _on_signal)
        _installed = True
    return True


class TaskWatchdog:
    """``with TaskWatchdog(pipeline_id, memory_limit_mib, timeout):`` runs its block under the task's limits.

    ``memory_limit_mib`` (``0``: none): the block raises :class:`TaskMemoryLimitExceeded` once the
    process's RSS exceeds it, at once if it already does, else within ``interval`` seconds (from the
    main thread only; entered in another thread, the cap is kept by ending the process). ``timeout``
    (the task's ``execution_timeout``, ``None``: none): Airflow raises its timeout error at the deadline;
    a task still running ``grace`` seconds (:data:`GRACE_SECONDS`) after it, because a native call
    ignores that signal, ends.
    """

    def __init__(
        self,
        pipeline_id: str,
        memory_limit_mib: int,
        timeout: timedelta | None = None,
        *,
        interval: float = 0.5,
        grace: float | None = None,
        hard_factor: float = 1.5,
    ):
        self.pipeline_id, self.limit_mib = pipeline_id, memory_limit_mib
        self.timeout = timeout.total_seconds() if timeout else None
        self.interval, self.hard_factor = interval, hard_factor
        self.grace = GRACE_SECONDS if grace is None else grace
        self.error: TaskMemoryLimitExceeded | None = None
        self.closing = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._main: int | None = None

    def __enter__(self) -> Self:
        if self.limit_mib > 0:
            seen = rss_mib()
            if seen > self.limit_mib:  # already over: fail before reading anything
                raise TaskMemoryLimitExceeded(self.pipeline_id, self.limit_mib, seen)
            self._main = threading.main_thread().ident if _install_handler() else None
            if self._main is None:
                log.warning("%s: memory cap kept from a thread other than the main one: over it, the process ends", self.pipeline_id)
        if self.limit_mib > 0 or self.timeout is not None:
            self._thread = threading.Thread(target=self._watch, name="chimera-task-watchdog", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        global _firing
        with self._lock:  # no signal is sent after this
            self.closing = True
        self._done.set()
        if _firing is self:
            _firing = None
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        started = time.monotonic()
        stop_by = started + self.timeout + self.grace if self.timeout is not None else None
        while not self._done.wait(self.interval):
            seen = rss_mib() if self.limit_mib > 0 else 0
            if self.error is None and seen > self.limit_mib > 0:
                self._raise_in_task(seen)
                stop_by = min(stop_by or float("inf"), time.monotonic() + self.grace)
            if self.error is not None and seen >= self.limit_mib * self.hard_factor:
                self._end(f"{self.error}; its memory reached {seen} MiB before it stopped")
            if stop_by is not None and time.monotonic() >= stop_by:
                if self.error is not None:
                    self._end(f"{self.error}; the task did not stop within {self.grace:g} s")
                self._end(
                    f"{self.pipeline_id}: the ingest task is still running {self.grace:g} s after its "
                    f"execution_timeout of {self.timeout:g} s (a read blocked in native code does not see "
                    f"Airflow's timeout signal)"
                )

    def _raise_in_task(self, seen: int) -> None:
        global _firing
        self.error = TaskMemoryLimitExceeded(self.pipeline_id, self.limit_mib, seen)
        log.error("%s", self.error)
        with self._lock:
            if not self.closing and self._main is not None:
                _firing = self
                signal.pthread_kill(self._main, SIGNAL)

    def _end(self, reason: str) -> None:
        """End the process: the last resort when the task does not stop."""
        message = f"{reason}; the process ends (exit code {EXIT_CODE}), nothing more is committed"
        log.critical("%s", message)
        print(message, file=sys.stderr, flush=True)
        os._exit(EXIT_CODE)
