"""Table maintenance, run daily by the ``chimera_maintenance`` DAG: retention, compaction, snapshot expiry.

Each action commits its own Iceberg snapshot on ``main`` with the summary property
``chimera.maintenance`` naming it (``retention``, ``compaction``) and never ``chimera.pipeline``:
a maintenance snapshot carries no position and is not a pipeline's load, so freshness and the
run statistics never take it for one, and a pipeline's next run walks past it to the position of
its own newest snapshot (:meth:`~airflow_provider_chimera.writer.iceberg.IcebergWriter.last_position`).
Snapshot expiry keeps that positioned snapshot and every snapshot between it and ``main``'s head,
so the walk always reaches it (``docs/decisions/0018-table-maintenance.md``).
"""

MAINTENANCE = "chimera.maintenance"
