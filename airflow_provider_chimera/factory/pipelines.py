"""From intents to pipelines: one per (intent, source, object) with an ``ingestion`` block."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from airflow_provider_chimera.contract import (
    Intent,
    IntentError,
    Source,
    SourceObject,
    intent_files,
    load_intent,
    pipeline_id,
)
from airflow_provider_chimera.contract.model import Ingestion, Team


class Pipeline(BaseModel):
    """Everything a pipeline's tasks need, taken from its intent."""

    model_config = ConfigDict(frozen=True)

    id: str
    intent: str
    intent_file: str
    intent_hash: str
    team: Team
    project: str
    source: Source
    object: SourceObject

    @property
    def ingestion(self) -> Ingestion:
        assert self.object.ingestion is not None
        return self.object.ingestion

    @property
    def target_namespace(self) -> str:
        return self.ingestion.target.namespace or self.project

    @property
    def target_table(self) -> str:
        return f"{self.target_namespace}.{self.ingestion.target.table}"


def pipelines_of(intent: Intent, file: str, content_hash: str) -> list[Pipeline]:
    out = []
    for source in intent.sources:
        if source.objects == "all":
            continue  # onboarded for metadata only until objects are listed
        for obj in source.objects:
            if obj.ingestion is None:
                continue
            out.append(
                Pipeline(
                    id=pipeline_id(intent.name, source.name, obj.name),
                    intent=intent.name,
                    intent_file=file,
                    intent_hash=content_hash,
                    team=intent.team,
                    project=intent.project,
                    source=source,
                    object=obj,
                )
            )
    return out


@dataclass
class Catalogue:
    """The pipelines of an intents folder, and the files that could not be used."""

    pipelines: list[Pipeline] = field(default_factory=list)
    errors: list[IntentError] = field(default_factory=list)


def discover(folder: Path) -> Catalogue:
    """Load every intent in ``folder``; a bad file is reported, never fatal to the others."""
    result = Catalogue()
    for path in intent_files(folder):
        try:
            loaded = load_intent(path)
        except IntentError as exc:
            result.errors.append(exc)
            continue
        result.pipelines.extend(pipelines_of(loaded.intent, str(path), loaded.content_hash))
    return result
