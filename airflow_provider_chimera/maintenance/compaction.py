"""Small-file compaction: many small data files of one partition become one.

Hand-written because pyiceberg (0.12) has no ``rewrite_data_files``, and frequent small loads
(hourly increments, stream micro-batches) leave many small files that slow every scan. A file
smaller than ``[chimera] compaction_small_file_mb`` is small; where one partition (of the table's
current partition spec) holds at least ``compaction_min_files`` small files, they are read with
pyarrow and written again as one file, a group at a time: a group holds at most
``target_file_size_mb`` of files, so memory holds one group's rows, never the table's.

All replacements of one run are committed in ONE transaction and snapshot (an ``overwrite`` that
deletes the old files and adds the new ones, ``chimera.maintenance: compaction``), which pyiceberg
validates against concurrent commits: a pipeline that deleted one of the files meanwhile makes
the compaction fail, never the pipeline. The rows are the same before and after; only files change.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table

from airflow_provider_chimera.maintenance import MAINTENANCE


@dataclass(frozen=True)
class CompactionResult:
    partitions: int
    files_removed: int
    files_added: int
    rows: int
    snapshot_id: int | None

    def details(self) -> dict[str, object]:
        return {
            "partitions": self.partitions,
            "files_removed": self.files_removed,
            "files_added": self.files_added,
            "rows": self.rows,
            "snapshot_id": self.snapshot_id,
        }


def groups(tasks: list[FileScanTask], spec_id: int, small_bytes: int, min_files: int, group_bytes: int) -> list[list[FileScanTask]]:
    """The groups of small files to rewrite: per partition of spec ``spec_id``, small files (no
    delete files attached) in path order, cut at ``group_bytes``; a group of fewer than
    ``min_files`` files is left alone."""
    by_partition: dict[object, list[FileScanTask]] = defaultdict(list)
    for task in tasks:
        data_file = task.file
        if data_file.spec_id == spec_id and not task.delete_files and data_file.file_size_in_bytes < small_bytes:
            by_partition[data_file.partition].append(task)
    chosen = []
    for members in by_partition.values():
        group: list[FileScanTask] = []
        size = 0
        for task in sorted(members, key=lambda t: t.file.file_path):
            if group and size + task.file.file_size_in_bytes > group_bytes:
                if len(group) >= min_files:
                    chosen.append(group)
                group, size = [], 0
            group.append(task)
            size += task.file.file_size_in_bytes
        if len(group) >= min_files:
            chosen.append(group)
    return chosen


def compact(table: Table, small_bytes: int, min_files: int, group_bytes: int) -> CompactionResult:
    """Rewrite each group of small files (:func:`groups`) as one file, all in one commit."""
    if table.current_snapshot() is None:
        return CompactionResult(0, 0, 0, 0, None)
    min_files = max(2, min_files)  # one file rewritten as one file gains nothing
    metadata = table.metadata
    chosen = groups(list(table.scan().plan_files()), metadata.default_spec_id, small_bytes, min_files, group_bytes)
    if not chosen:
        return CompactionResult(0, 0, 0, 0, None)
    reader = ArrowScan(metadata, table.io, metadata.schema(), AlwaysTrue())
    removed: list[DataFile] = []
    added: list[DataFile] = []
    rows = 0
    for group in chosen:
        data = reader.to_table(group)  # one group in memory at a time
        rows += data.num_rows
        added.extend(_dataframe_to_data_files(table_metadata=metadata, df=data, io=table.io, write_uuid=uuid.uuid4()))
        removed.extend(task.file for task in group)
        del data
    properties = {MAINTENANCE: "compaction", "chimera.compacted-files": str(len(removed))}
    try:
        with table.transaction() as txn:
            with txn.update_snapshot(snapshot_properties=properties).overwrite() as rewrite:
                for data_file in removed:
                    rewrite.delete_data_file(data_file)
                for data_file in added:
                    rewrite.append_data_file(data_file)
    except (CommitFailedException, ValidationException):
        for data_file in added:  # the commit surely did not happen: no snapshot references these files
            table.io.delete(data_file.file_path)
        raise
    snapshot = table.refresh().current_snapshot()
    return CompactionResult(
        partitions=len({task.file.partition for group in chosen for task in group}),
        files_removed=len(removed),
        files_added=len(added),
        rows=rows,
        snapshot_id=snapshot.snapshot_id if snapshot else None,
    )
