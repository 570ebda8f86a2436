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
there, as a lost worker or the out-of-memory killer would. Left unset (production) each point
costs one environment lookup and does nothing.
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
    spec = os.environ.get(VARIABLE)
    if not spec:
        return
    point, _, how = spec.partition(":")
    if point not in POINTS or how not in ("", "kill"):
        raise ValueError(f"{VARIABLE}={spec!r}: expected one of {list(POINTS)}, optionally followed by ':kill'")
    if point != name:
        return
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFailure(f"failure injected at {name} ({VARIABLE}={spec})")
