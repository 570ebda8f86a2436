"""The modes an ingest run can load, checked before anything is read.

The intent's validation refuses these combinations first; the run checks them again as a
defence, so a pipeline built around validation still fails with the reason.
"""

from __future__ import annotations

from airflow_provider_chimera.contract.model import FullMode, IncrementalMode, PartitionedMode, StreamMode
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.pipelines import Pipeline


class UnsupportedModeError(FixRequired, NotImplementedError):
    """A mode the pipeline's source or target cannot be loaded with."""


def check_mode(pipeline: Pipeline) -> None:
    """Raise :class:`UnsupportedModeError` unless ``pipeline``'s mode suits its source and target:
    ``stream`` reads Kafka topics only, and ``partitioned`` (which replaces rows) cannot load an
    ``mdm`` or ``reference`` target (which keeps every version)."""
    mode, where = pipeline.ingestion.mode, f"{pipeline.intent_file}: pipeline {pipeline.id}"
    if isinstance(mode, StreamMode) and pipeline.source.type != "kafka":
        raise UnsupportedModeError(
            f"{where}: 'stream' mode reads Kafka topics; a '{pipeline.source.type}' source takes 'incremental'"
        )
    if not isinstance(mode, (FullMode, IncrementalMode, PartitionedMode, StreamMode)):
        raise UnsupportedModeError(f"{where}: mode {mode.type!r} is not supported yet")
    kind = pipeline.ingestion.target.kind
    if isinstance(mode, PartitionedMode) and kind in ("mdm", "reference"):
        raise UnsupportedModeError(
            f"{where}: a 'partitioned' mode replaces rows, a '{kind}' target keeps every version; use 'incremental' or 'full'"
        )
