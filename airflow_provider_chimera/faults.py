"""Named points at which an ingest task can be made to fail, to prove that its retry is exactly once.

The ingest task passes three dangerous points:

``after_read``
    every source batch has been read, the commit has not happened;
``after_files``
    the data files are written into the table's folder, the snapshot is not committed;
``after_commit``
    the Iceberg snapshot is committed, checked and published to ``main``, the source has not been
    told (Kafka offsets not committed to the consumer group) and the run is not recorded.

Setting the environment variable ``CHIMERA_FAIL_AT`` to a point's name makes the task raise
:class:`InjectedFailure` there; ``<point>:kill`` makes the process kill itself with ``SIGKILL``
there, as a lost worker or the out-of-memory killer would. ``<point>@<dag_id>`` fails only in
the tasks of that DAG, ``<point>@<dag_id>#<n>`` only in their try ``n`` (by the ``AIRFLOW_CTX_*``
variables Airflow sets in a task's process); several specs are separated by commas. Left unset
(production) each point costs one environment lookup and does nothing.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "CHIMERA_FAIL_AT"
POINTS = ("after_read", "after_files", "after_commit")


class InjectedFailure(RuntimeError):
    """The failure ``CHIMERA_FAIL_AT`` asked for."""


def fault_point(name: str) -> None:
    """Fail here if ``CHIMERA_FAIL_AT`` names this point (see the module documentation)."""
    value = os.environ.get(VARIABLE)
    if not value:
        return
    for spec in value.split(","):
        spec, _, scope = spec.strip().partition("@")
        point, _, how = spec.partition(":")
        if point not in POINTS or how not in ("", "kill"):
            raise ValueError(f"{VARIABLE}={value!r}: expected one of {list(POINTS)}, optionally followed by ':kill'")
        if point == name and _in_scope(scope):
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise InjectedFailure(f"failure injected at {name} ({VARIABLE}={value})")


def _in_scope(scope: str) -> bool:
    """``""`` (every task), ``<dag_id>`` or ``<dag_id>#<try>``: whether this task process is meant,
    by the ``AIRFLOW_CTX_DAG_ID`` and ``AIRFLOW_CTX_TRY_NUMBER`` Airflow sets in it."""
    if not scope:
        return True
    dag_id, _, try_number = scope.partition("#")
    if os.environ.get("AIRFLOW_CTX_DAG_ID") != dag_id:
        return False
    return not try_number or os.environ.get("AIRFLOW_CTX_TRY_NUMBER") == try_number
