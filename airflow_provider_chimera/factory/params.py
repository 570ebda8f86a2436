"""The run-conf options of a pipeline's DAG as Airflow ``Param``s, so the UI's trigger form shows
and validates them (what they mean and how a run reads them: ``ingest.runconf``).

Each DAG declares the options its mode uses: ``window`` for ``partitioned`` pipelines,
``adopt_from`` for ``incremental`` and ``stream`` ones, ``adopt_table`` for every pipeline. Every
default is empty (``None`` or ``false``), which a run reads as "not given".
"""

from __future__ import annotations

from airflow.sdk import Param

from airflow_provider_chimera.contract.model import IncrementalMode, PartitionedMode, StreamMode
from airflow_provider_chimera.ingest.runconf import DESCRIPTIONS
from airflow_provider_chimera.pipelines import Pipeline

_BOUND = {"type": "string", "minLength": 1}
WINDOW_SCHEMA = {
    "type": ["null", "string", "object"],
    "properties": {"start": _BOUND, "end": _BOUND},
    "required": ["start", "end"],
    "additionalProperties": False,
}


def run_params(pipeline: Pipeline) -> dict[str, Param]:
    """The ``params`` of ``pipeline``'s DAG."""
    mode = pipeline.ingestion.mode
    params: dict[str, Param] = {}
    if isinstance(mode, PartitionedMode):
        params["window"] = Param(None, description=DESCRIPTIONS["window"], title="Window to load", **WINDOW_SCHEMA)
    if isinstance(mode, (IncrementalMode, StreamMode)):
        params["adopt_from"] = Param(
            None,
            description=DESCRIPTIONS["adopt_from"],
            title="Adopt from (first run on an existing table)",
            type=["null", "string", "number", "array", "object"],
        )
    params["adopt_table"] = Param(False, description=DESCRIPTIONS["adopt_table"], title="Adopt the target table", type="boolean")
    return params
