"""The intent contract: typed model, loading and naming."""

from airflow_provider_chimera.contract.load import (
    IntentError,
    IntentProblem,
    LoadedIntent,
    intent_files,
    load_intent,
    parse_intent,
)
from airflow_provider_chimera.contract.model import Intent, Source, SourceObject
from airflow_provider_chimera.contract.naming import normalise, pipeline_id

__all__ = [
    "Intent",
    "IntentError",
    "IntentProblem",
    "LoadedIntent",
    "Source",
    "SourceObject",
    "intent_files",
    "load_intent",
    "normalise",
    "parse_intent",
    "pipeline_id",
]
