"""Commits that stay fast as a table ages: merged manifests, a bounded snapshot list, bounded metadata.

Every commit pyiceberg makes costs time in proportion to what the table's metadata holds. A stream
pipeline committing a micro-batch every few seconds would otherwise grow, without bound:

- the manifest list: a fast append adds one manifest per commit, and every later commit reads and
  rewrites the whole list (and every scan opens every manifest);
- the metadata JSON: one snapshot and one snapshot-log entry per commit, and pyiceberg copies the
  whole metadata several times per commit;
- the metadata log and the old metadata files: one per commit.

Chimera's tables therefore carry :data:`AGING_PROPERTIES` (set when a table is created, and added
to an existing table on its next write: :func:`ensure_properties`):

- ``commit.manifest-merge.enabled`` with ``commit.manifest.min-count-to-merge``: the writer commits
  with pyiceberg's ``merge_append``, which merges the table's small manifests into one once there
  are that many, so the manifest list stays short;
- ``write.metadata.delete-after-commit.enabled`` with ``write.metadata.previous-versions-max``: the
  metadata log keeps that many previous metadata files, older ones are deleted by the commit;
- ``chimera.snapshot-max-count``: each publication to ``main`` also expires the oldest snapshots of
  ``main``'s history beyond that many (:func:`expire_oldest`), in the same commit. Never a branch
  or tag head, and never a snapshot between ``main``'s head and the newest snapshot recording a
  pipeline's read position (:func:`position_chain`): exactly-once resumes from it. The expired
  snapshots' manifest lists are deleted right after the commit (:func:`delete_manifest_lists`);
  manifests and data files they alone referenced are left to ``chimera_maintenance`` (snapshot
  expiry and the orphan-file sweep), which also compacts the small data files.

``snapshot_retention_days`` still bounds time travel by age in the daily maintenance; the count
bounds it for tables committing more often than the count per retention period (a stream's
micro-batches): ``docs/decisions/0066-commits-stay-fast-as-a-table-ages.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pyiceberg.io import FileIO
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Snapshot, ancestors_of
from pyiceberg.table.update import RemoveSnapshotsUpdate

log = logging.getLogger(__name__)

MAX_SNAPSHOTS = "chimera.snapshot-max-count"
MERGE_ENABLED = "commit.manifest-merge.enabled"
MERGE_MIN_COUNT = "commit.manifest.min-count-to-merge"
DELETE_OLD_METADATA = "write.metadata.delete-after-commit.enabled"
PREVIOUS_METADATA = "write.metadata.previous-versions-max"

# Chimera's defaults (the ``[chimera] snapshot_max_count`` setting overrides the snapshot count).
DEFAULT_MAX_SNAPSHOTS = 20
AGING_PROPERTIES: dict[str, str] = {
    MERGE_ENABLED: "true",
    MERGE_MIN_COUNT: "20",
    DELETE_OLD_METADATA: "true",
    PREVIOUS_METADATA: "20",
    MAX_SNAPSHOTS: str(DEFAULT_MAX_SNAPSHOTS),
}
# The summary keys of a snapshot that recorded a pipeline's read position (writer.iceberg's).
_POSITIONED = ("chimera.pipeline", "chimera.position")


def aging_properties(max_snapshots: int | None = None) -> dict[str, str]:
    """:data:`AGING_PROPERTIES`, with ``max_snapshots`` (0: no count limit) when given."""
    if max_snapshots is None:
        return dict(AGING_PROPERTIES)
    return {**AGING_PROPERTIES, MAX_SNAPSHOTS: str(max(0, max_snapshots))}


def ensure_properties(table: Table, wanted: dict[str, str]) -> Table:
    """``table`` with the :data:`AGING_PROPERTIES` keys of ``wanted`` it lacks added, and its snapshot
    count set to ``wanted``'s (``[chimera] snapshot_max_count`` is the knob); one commit, only when
    something changes. Another manifest or metadata setting the table has (set by hand) is kept."""
    missing = {
        k: v for k, v in wanted.items()
        if k in AGING_PROPERTIES and (k not in table.properties or (k == MAX_SNAPSHOTS and table.properties[k] != v))
    }
    if not missing:
        return table
    try:
        with table.transaction() as txn:
            txn.set_properties(missing)
    except Exception as exc:  # another writer set them meanwhile, or the catalog refused: next write again
        log.info("%s: table properties %s not added now: %s", ".".join(table.name()), sorted(missing), exc)
        return table
    return table.refresh()


def max_snapshots(metadata: TableMetadata) -> int:
    """The table's snapshot count limit (0: none; never below 2)."""
    try:
        count = int(metadata.properties.get(MAX_SNAPSHOTS, "0"))
    except ValueError:
        return 0
    # At least main's head and its parent: a run measures what it added back to the head it started on.
    return 0 if count <= 0 else max(2, count)


def position_chain(metadata: TableMetadata, head: Snapshot | None) -> list[int]:
    """Ids from ``head`` back to the newest snapshot recording a pipeline's read position, both
    included (empty when no ancestor records one): the walk a pipeline's next run makes."""
    chain: list[int] = []
    if head is None:
        return chain
    for snapshot in ancestors_of(head, metadata):
        chain.append(snapshot.snapshot_id)
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        if any(key in summary for key in _POSITIONED):
            return chain
    return []


def oldest_beyond(metadata: TableMetadata, keep: int) -> list[Snapshot]:
    """``main``'s ancestors beyond its newest ``keep``, except ref heads and :func:`position_chain`."""
    main = metadata.refs.get(MAIN_BRANCH)
    if keep <= 0 or main is None:
        return []
    keep = max(keep, main.min_snapshots_to_keep or 0)  # a minimum set on main itself is honoured
    head = metadata.snapshot_by_id(main.snapshot_id)
    history = list(ancestors_of(head, metadata)) if head is not None else []
    if len(history) <= keep:
        return []
    protected = {ref.snapshot_id for ref in metadata.refs.values()} | set(position_chain(metadata, head))
    return [s for s in history[keep:] if s.snapshot_id not in protected]


def expire_oldest(txn: Transaction, keep: int | None = None) -> list[Snapshot]:
    """Stage, in ``txn``, the expiry of :func:`oldest_beyond` the table's limit (or ``keep``) on the
    metadata as the transaction leaves it; the snapshots staged for expiry."""
    metadata = txn.table_metadata
    expired = oldest_beyond(metadata, max_snapshots(metadata) if keep is None else keep)
    if expired:
        # One update for all (pyiceberg's ExpireSnapshots.by_ids copies the metadata once per id).
        txn._stage((RemoveSnapshotsUpdate(snapshot_ids=[s.snapshot_id for s in expired]),))
    return expired


def delete_manifest_lists(io: FileIO, snapshots: Iterable[Snapshot], name: str) -> int:
    """Delete the manifest lists of expired ``snapshots`` (each snapshot has its own); how many."""
    deleted = 0
    for snapshot in snapshots:
        if not snapshot.manifest_list:
            continue
        try:
            io.delete(snapshot.manifest_list)
            deleted += 1
        except FileNotFoundError:
            continue
        except OSError as exc:  # a leftover file only costs storage; the orphan sweep removes it
            log.warning("%s: could not delete %s: %s", name, snapshot.manifest_list, exc)
    return deleted
