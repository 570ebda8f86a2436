"""What an ingest run returns: counts, the snapshot, the checks and the run's statistics; never a value of the data."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from airflow_provider_chimera.ingest.runstats import RunStats


class IngestResult(BaseModel):
    """One run of a pipeline (for ``stream``, its micro-batches together)."""

    model_config = ConfigDict(frozen=True)

    pipeline: str
    target: str  # the table's ``namespace.table``
    rows: int  # rows written (for a history target: versions opened)
    snapshot_id: int | None  # the snapshot the run (``stream``: its last micro-batch) committed; None: nothing committed
    committed: bool  # False: nothing new since the last commit
    published: bool  # staged on the audit branch, checked, and published to ``main``
    quarantined: int  # records sent to the quarantine table (``stream``: by its last micro-batch)
    checks: dict[str, Any] | None  # counts per outcome and what did not pass; None when nothing was checked
    stats: RunStats
    worker: str  # where the run ran (``ingest.worker``: $CHIMERA_WORKER, else the host name)
    micro_batches: int | None = None  # ``stream`` only: the commits the run made

    def as_xcom(self) -> dict[str, Any]:
        """The task's XCom value: the fields above with the statistics flattened in, JSON-ready."""
        value = self.model_dump(exclude={"stats", "micro_batches"}) | self.stats.as_dict()
        if self.micro_batches is not None:
            value["micro_batches"] = self.micro_batches
        return value
