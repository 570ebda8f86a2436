"""Expire old snapshots, and delete the files only they referenced.

A snapshot older than ``[chimera] snapshot_retention_days`` is expired unless something still needs it:

- the head of every branch and tag (pyiceberg refuses to expire those anyway);
- ``min-snapshots-to-keep`` ancestors of a branch that sets it, and a branch's ancestors younger
  than its ``max-snapshot-age-ms``;
- the newest snapshot on ``main`` a pipeline committed (``chimera.pipeline``, with its read
  position ``chimera.position``) and every snapshot between it and ``main``'s head. A pipeline
  finds its position by walking back from the head through the parents, and timeliness finds
  the pipeline's last publication the same way; after a retention or compaction the head is a
  maintenance snapshot, and cutting the walk short would lose the position and stop the pipeline
  (:mod:`airflow_provider_chimera.ingest.resume`). The price: files that snapshot reads stay
  in storage until the pipeline commits again and it can expire.

However young, ``main``'s oldest snapshots beyond the table's ``chimera.snapshot-max-count``
(``[chimera] snapshot_max_count``) are expired too, under the same protections: each publication
already does this for its table (:mod:`airflow_provider_chimera.writer.aging`); here it also
trims a table written before it had the count, or whose count was lowered.

A branch or tag whose ``max-ref-age-ms`` has passed (an abandoned write-audit-publish branch) is
removed first, as Iceberg's own expiry does; a ref that has not expired is never touched.

After the commit, the manifest lists, manifests and data files of the expired snapshots that no
remaining snapshot reads are deleted, so rows deleted by retention leave storage too once the
snapshots that could still read them have expired. Files of a write still in progress are
referenced by no snapshot, expired or not, and are never candidates.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pyiceberg.io import FileIO
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import Snapshot, ancestors_of
from pyiceberg.table.update import RemoveSnapshotsUpdate
from pyiceberg.table.update.snapshot import ManageSnapshots

from airflow_provider_chimera.writer.aging import max_snapshots, oldest_beyond, position_chain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpiryResult:
    expired: tuple[int, ...]
    kept: int
    refs_removed: tuple[str, ...]
    files_deleted: int

    def details(self) -> dict[str, object]:
        return {
            "snapshots_expired": len(self.expired),
            "snapshot_ids": list(self.expired),
            "snapshots_kept": self.kept,
            "refs_removed": list(self.refs_removed),
            "files_deleted": self.files_deleted,
        }


def _millis(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def stale_refs(metadata: TableMetadata, now: dt.datetime) -> list[str]:
    """Branches and tags (never ``main``) whose ``max-ref-age-ms`` has passed."""
    stale = []
    for name, ref in metadata.refs.items():
        if name == MAIN_BRANCH or ref.max_ref_age_ms is None:
            continue
        snapshot = metadata.snapshot_by_id(ref.snapshot_id)
        if snapshot is None or _millis(now) - snapshot.timestamp_ms > ref.max_ref_age_ms:
            stale.append(name)
    return sorted(stale)


def protected(metadata: TableMetadata, now: dt.datetime) -> set[int]:
    """Ids of the snapshots that must survive whatever their age (see the module documentation)."""
    keep: set[int] = set()
    for name, ref in metadata.refs.items():
        head = metadata.snapshot_by_id(ref.snapshot_id)
        keep.add(ref.snapshot_id)
        if ref.snapshot_ref_type != SnapshotRefType.BRANCH or head is None:
            continue
        young_ms = _millis(now) - ref.max_snapshot_age_ms if ref.max_snapshot_age_ms is not None else None
        for count, snapshot in enumerate(ancestors_of(head, metadata)):
            if count < (ref.min_snapshots_to_keep or 1) or (young_ms is not None and snapshot.timestamp_ms >= young_ms):
                keep.add(snapshot.snapshot_id)
            else:
                break
        if name == MAIN_BRANCH:
            keep.update(position_chain(metadata, head))
    return keep


def expire_snapshots(table: Table, keep_days: int, now: dt.datetime) -> ExpiryResult:
    """Expire what the module documentation allows in one commit, then delete the files only it referenced."""
    keep_after_ms = _millis(now - dt.timedelta(days=keep_days))
    refs = stale_refs(table.metadata, now)
    with table.transaction() as txn:
        if refs:
            with ManageSnapshots(txn) as manage:
                for name in refs:
                    if txn.table_metadata.refs[name].snapshot_ref_type == SnapshotRefType.TAG:
                        manage.remove_tag(name)
                    else:
                        manage.remove_branch(name)
        metadata = txn.table_metadata
        keep = protected(metadata, now)
        expired = [s for s in metadata.snapshots if s.timestamp_ms < keep_after_ms and s.snapshot_id not in keep]
        # And, however young, main's oldest beyond the table's snapshot count (writer.aging): a table
        # written before it had one, or whose count was lowered, is trimmed here at once.
        old = {s.snapshot_id for s in expired}
        expired += [s for s in oldest_beyond(metadata, max_snapshots(metadata)) if s.snapshot_id not in old | keep]
        if expired:
            # One update for all (ExpireSnapshots.by_ids copies the whole metadata once per id).
            txn._stage((RemoveSnapshotsUpdate(snapshot_ids=[s.snapshot_id for s in expired]),))
    table.refresh()
    deleted = _delete_unreachable(table, expired) if expired else 0
    return ExpiryResult(
        expired=tuple(s.snapshot_id for s in expired),
        kept=len(table.metadata.snapshots),
        refs_removed=tuple(refs),
        files_deleted=deleted,
    )


def _delete_unreachable(table: Table, expired: list[Snapshot]) -> int:
    """Delete the files the ``expired`` snapshots referenced that no remaining snapshot reads."""
    everything = _reachable(expired, table.io, live_only=False)
    candidates = everything - _reachable(table.metadata.snapshots, table.io, live_only=True)
    deleted = 0
    for path in sorted(candidates):
        try:
            table.io.delete(path)
            deleted += 1
        except FileNotFoundError:
            continue
        except OSError as exc:  # the table is consistent either way; a leftover file only costs storage
            log.warning("%s: could not delete %s: %s", ".".join(table.name()), path, exc)
    return deleted


def _reachable(snapshots: Iterable[Snapshot], io: FileIO, live_only: bool) -> set[str]:
    """The files the snapshots reference: manifest lists, manifests, and their data and delete files
    (``live_only``: only those a snapshot reads, not the entries recording a file's removal)."""
    paths: set[str] = set()
    entries: dict[str, set[str]] = {}
    for snapshot in snapshots:
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            paths.add(manifest.manifest_path)
            if manifest.manifest_path not in entries:
                entries[manifest.manifest_path] = {
                    entry.data_file.file_path for entry in manifest.fetch_manifest_entry(io, discard_deleted=live_only)
                }
            paths |= entries[manifest.manifest_path]
    return paths
