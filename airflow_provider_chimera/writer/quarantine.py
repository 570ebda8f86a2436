"""The quarantine table: source records that could not be ingested, with the reason.

``<table>__quarantine`` sits beside its target, in the same namespace. Each rejected record is
one row: pipeline, run id, source, where the record is in the source (file path, partition and
offset, document id), the reason, and the raw value when there is one (protected as the
pipeline's classification policy says, :mod:`~airflow_provider_chimera.governance.protect`).
Rows are committed before the target's own commit, so a record is never dropped unseen: a crash
in between can only repeat rows in quarantine (the same run id and position), never lose them.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from airflow_provider_chimera.sources.base import Rejected

SUFFIX = "__quarantine"
SCHEMA = pa.schema(
    [
        pa.field("pipeline", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("position", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def quarantine(
    catalog: Catalog, namespace: str, table: str, *, pipeline: str, run_id: str, source: str, rejected: list[Rejected]
) -> int:
    """Append ``rejected`` to ``<namespace>.<table>__quarantine`` (created on first use); rows written."""
    if not rejected:
        return 0
    identifier = (namespace, table + SUFFIX)
    try:
        target = catalog.load_table(identifier)
    except NoSuchTableError:
        target = catalog.create_table_if_not_exists(identifier, schema=SCHEMA)
    now = dt.datetime.now(dt.timezone.utc)
    rows = [
        {"pipeline": pipeline, "run_id": run_id, "source": source, "position": r.position, "reason": r.reason, "raw": r.raw, "quarantined_at": now}
        for r in rejected
    ]
    target.append(pa.Table.from_pylist(rows, schema=SCHEMA))
    return len(rows)
