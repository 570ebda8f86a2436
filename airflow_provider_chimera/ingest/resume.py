"""Where an ``incremental`` run starts reading: its pipeline's last snapshot, or an adoption.

The position recorded in the newest snapshot the pipeline committed always wins. A target table
that holds rows but no position of the pipeline (loaded by another tool, or by Chimera under
another pipeline id) is not guessed at: the run stops and says how to adopt the table, which is
one run with the DAG run conf ``{"adopt_from": ...}`` stating where the table's data ends in the
source. That run commits the stated position (with the rows past it, or alone when there are
none), and later runs continue from their snapshots; the conf is ignored once a position exists,
so a retried or repeated adoption run reads nothing twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.sources.base import Position, SourceReader, cursor_column

log = logging.getLogger(__name__)

ADOPT_KEY = "adopt_from"


class UnadoptedTableError(FixRequired, RuntimeError):
    """An incremental load into a table with rows but no position of its pipeline."""


@dataclass(frozen=True)
class Start:
    position: Position | None
    adopted: bool = False


def start_position(writer, pipeline: Pipeline, hook: SourceReader, conf: dict[str, Any]) -> Start:
    """The position an ``incremental`` run of ``pipeline`` reads past (``None``: from the start)."""
    recorded = writer.last_position(pipeline.id)
    value = conf.get(ADOPT_KEY)
    if recorded is not None:
        if value is not None:
            log.warning(
                "%s: %s already records this pipeline's position; run conf %s is ignored", pipeline.id, writer.name, ADOPT_KEY
            )
        return Start(recorded)
    if value is not None:
        try:
            return Start(hook.adopted_position(pipeline.object, value), adopted=True)
        except ValueError as exc:
            raise ValueError(f"{pipeline.intent_file}: pipeline {pipeline.id}: DAG run conf {exc}") from exc
    rows = row_count(writer.load())
    if rows:
        example = json.dumps({ADOPT_KEY: adopt_example(pipeline)})
        raise UnadoptedTableError(
            f"{pipeline.intent_file}: pipeline {pipeline.id}: table {writer.name} already holds {rows} rows, but none "
            f"of its snapshots records where this pipeline stopped reading, so an incremental load cannot tell which "
            f"source rows it already holds. To adopt the table, trigger the DAG {pipeline.id} once with the run conf "
            f"{example} (airflow dags trigger {pipeline.id} --conf '{example}'); later runs continue from the "
            f"position that run records."
        )
    return Start(None)


def adopt_example(pipeline: Pipeline) -> object:
    """What ``adopt_from`` looks like for the pipeline's source, with placeholders."""
    if pipeline.source.type == "kafka":
        return {"<partition>": "<next offset to read>"}
    if pipeline.source.type in ("file", "pdf"):
        return ["<glob of the files already in the table>"]
    return f"<largest {cursor_column(pipeline.object) or 'cursor'} value already in the table>"


def row_count(table) -> int:
    """Rows in the table's current snapshot (0 for a missing or empty table)."""
    snapshot = table.current_snapshot() if table is not None else None
    if snapshot is None:
        return 0
    summary = snapshot.summary.additional_properties if snapshot.summary else {}
    if "total-records" in summary:
        return int(summary["total-records"])
    return sum(task.file.record_count for task in table.scan().plan_files())
