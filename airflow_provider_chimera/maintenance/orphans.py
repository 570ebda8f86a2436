"""Delete the files under a table's location that no snapshot references: the orphans.

A write that fails cleanly deletes its own data files (:mod:`airflow_provider_chimera.writer.attempt`),
but a killed worker, a commit whose outcome was unknown, or the manifests of an attempt that never
committed leave files behind that nothing reads and nothing would ever delete. The daily
``chimera_maintenance`` sweeps them: every file under the table's location is compared with what
the table's metadata references, i.e. the current metadata file and those in its metadata log,
statistics files, and for every snapshot (of every branch and tag) its manifest list, manifests
and the data and delete files they list (deleted entries included). A file referenced by none of
them and older than ``[chimera] orphan_file_age_hours`` is deleted; a younger one may belong to
a write still in progress and is kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlparse

from pyarrow import fs as pafs
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.table import Table

log = logging.getLogger(__name__)

# How many removed paths an audit entry lists (the count is always complete).
LISTED = 50


@dataclass(frozen=True)
class OrphanResult:
    removed: tuple[str, ...]
    young: int  # unreferenced, but younger than the age limit: kept
    referenced: int

    def details(self) -> dict[str, object]:
        return {
            "orphan_files_removed": len(self.removed),
            "orphan_files": list(self.removed[:LISTED]),
            "orphan_files_too_young": self.young,
            "files_referenced": self.referenced,
        }


def _filesystem(table: Table, location: str) -> tuple[pafs.FileSystem, str]:
    """The table's own file system (with the catalog's credentials) and ``location``'s path in it."""
    io = table.io
    scheme, netloc, path = PyArrowFileIO.parse_location(location, getattr(io, "properties", {}))
    if isinstance(io, PyArrowFileIO):
        return io.fs_by_scheme(scheme, netloc), path
    filesystem, path = pafs.FileSystem.from_uri(location if urlparse(location).scheme else f"file://{path}")
    return filesystem, path


def _key(location: str) -> str:
    """A location as compared: the path the file system lists (scheme and netloc handled alike)."""
    return PyArrowFileIO.parse_location(location)[2].rstrip("/")


def referenced_files(table: Table) -> set[str]:
    """Every file the table's metadata references (as :func:`_key` paths)."""
    metadata = table.metadata
    io = table.io
    found = {table.metadata_location}
    found.update(entry.metadata_file for entry in metadata.metadata_log)
    found.update(stats.statistics_path for stats in metadata.statistics)
    found.update(stats.statistics_path for stats in metadata.partition_statistics)
    for snapshot in metadata.snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            found.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
                found.add(entry.data_file.file_path)
    return {_key(location) for location in found if location}


def remove_orphan_files(table: Table, older_than: dt.timedelta, now: dt.datetime | None = None) -> OrphanResult:
    """Delete the files under ``table``'s location that it does not reference and that were last
    modified more than ``older_than`` before ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    table = table.refresh()
    referenced = referenced_files(table)
    filesystem, root = _filesystem(table, table.location())
    selector = pafs.FileSelector(root.rstrip("/"), recursive=True, allow_not_found=True)
    removed, young = [], 0
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File or info.path.rstrip("/") in referenced:
            continue
        modified = info.mtime
        if modified is not None and modified.tzinfo is None:
            modified = modified.replace(tzinfo=dt.UTC)
        if modified is None or now - modified < older_than:
            young += 1
            continue
        try:
            filesystem.delete_file(info.path)
        except FileNotFoundError:
            continue
        removed.append(info.path)
    if removed:
        log.info("%s: deleted %d orphan file(s)", ".".join(table.name()), len(removed))
    return OrphanResult(tuple(sorted(removed)), young, len(referenced))
