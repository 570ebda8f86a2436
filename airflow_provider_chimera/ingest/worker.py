"""Where a run ran: the worker's name, read inside the task.

On a cluster several Celery workers may share one host name (here, one machine; in Kubernetes, a
pod's name is not the worker's role), so the worker's own name comes first: ``CHIMERA_WORKER``,
set in each worker's environment (``scripts/cluster.sh`` sets ``<queue>-worker``), else the host
name. Recorded in the run's XCom (:class:`~.result.IngestResult`) and its audit entry.
"""

from __future__ import annotations

import os
import socket

WORKER_ENV = "CHIMERA_WORKER"


def worker_name() -> str:
    """``$CHIMERA_WORKER``, else this host's name."""
    return os.environ.get(WORKER_ENV) or socket.gethostname()
