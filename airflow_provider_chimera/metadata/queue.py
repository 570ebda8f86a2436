"""DataHub Lite's write queue: onboarding and ingest tasks queue, one writer task writes (decisions 0043, 0049).

DataHub Lite is one DuckDB file, which one process at a time may open: on a cluster, workers on
several hosts cannot share it. So when the destination is DataHub Lite, neither an ingest task nor
onboarding's harvest opens the file: :func:`queue_proposals` adds the run's lineage, or the
harvested metadata (DataHub's own sources' included), as metadata change proposals to the
registry's ``metadata_queue`` table (one insert, in the task's own process). The ``chimera_metadata`` DAG's one
task runs :func:`write_queued` every few minutes (``[chimera] datahub_lite_write_schedule``): it
writes the queued proposals to the file in the order they were queued and then deletes them, in
batches. Nothing is lost while no writer runs: rows stay queued until written. A writer that
fails part way leaves the rest queued; a batch written but not yet deleted is written again
(proposals are upserts of whole aspects: writing one twice leaves the same aspect). With a
DataHub server (``datahub_rest_default``) proposals are sent directly and nothing is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_chimera.metadata.destination import Destination
    from airflow_provider_chimera.registry.db import Registry

log = logging.getLogger(__name__)
# Proposals written (and deleted) per transaction by the writer.
BATCH = 500
# The registry-wide lock that keeps two writers from opening the file at once.
WRITER_LOCK = "datahub-lite-writer"


def _table():
    from airflow_provider_chimera.registry.models import MetadataQueueRow

    return MetadataQueueRow.__table__  # Core: an ingest task configures no ORM mapper


def queue_proposals(registry: Registry, proposals: Iterable, *, pipeline_id: str | None = None) -> int:
    """Queue metadata change proposals (``MetadataChangeProposalWrapper``) for DataHub Lite; how many."""
    import json

    from sqlalchemy import insert

    from airflow_provider_chimera.registry.models import utcnow

    now = utcnow()
    # Through JSON text and back: DataHub's ordered dicts become plain ones, as the JSON column stores them.
    rows = [{"queued_at": now, "pipeline_id": pipeline_id, "entity_urn": p.entityUrn, "proposal": json.loads(json.dumps(p.to_obj()))}
            for p in proposals]
    if rows:
        with registry.session() as session:
            session.execute(insert(_table()), rows)
    return len(rows)


def queued_count(registry: Registry) -> int:
    """How many proposals wait for the writer."""
    from sqlalchemy import func, select

    with registry.session(read_only=True) as session:
        return session.execute(select(func.count()).select_from(_table())).scalar_one()


@dataclass
class WriteReport:
    """What one :func:`write_queued` did."""

    destination: str
    written: int = 0
    left: int = 0


def write_queued(registry: Registry, destination: Destination, *, batch: int = BATCH) -> WriteReport:
    """Write every queued proposal to DataHub Lite ``destination``, oldest first, deleting each batch
    once written. Opens the file only when something is queued; one writer at a time (a registry
    lock). A failure raises with the unwritten proposals still queued."""
    from datahub.emitter.mcp import MetadataChangeProposalWrapper
    from sqlalchemy import delete, select

    from airflow_provider_chimera.metadata.destination import LOCK_WAIT_SECONDS

    table = _table()
    report = WriteReport(str(destination))
    with registry.exclusive(WRITER_LOCK):
        if not queued_count(registry):
            return report
        with destination.emitter(lock_timeout=LOCK_WAIT_SECONDS) as emitter:
            while True:
                with registry.session(read_only=True) as session:
                    rows = session.execute(select(table.c.id, table.c.proposal).order_by(table.c.id).limit(batch)).all()
                if not rows:
                    break
                for _, proposal in rows:
                    emitter.emit(MetadataChangeProposalWrapper.from_obj(proposal))
                with registry.session() as session:
                    session.execute(delete(table).where(table.c.id.in_([row_id for row_id, _ in rows])))
                report.written += len(rows)
    report.left = queued_count(registry)
    log.info("%d metadata proposal(s) written to %s; %d queued", report.written, destination, report.left)
    return report
