"""The intent contract as typed Pydantic models.

Field names are the user-facing contract (``docs/intent-contract.md``); do not rename them.
Everything downstream (factory, operators, sources, writer) receives these models, never dicts.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
SourceType = Literal["postgres", "mysql", "snowflake", "mongodb", "kafka", "file", "pdf"]
FieldType = str  # validated by FIELD_TYPE_PATTERN below
FIELD_TYPE_PATTERN = re.compile(
    r"^(string|int|long|double|boolean|date|timestamp|timestamptz|binary|json|decimal\(\d+,\s*\d+\))$"
)
# A literal credential in a URI: user:password@ where the password is not a placeholder.
_INLINE_SECRET = re.compile(r"://[^/:@]+:(?!\$\{(secret|env):[A-Za-z0-9_.-]+\}@)[^@/]+@")
_SECRET_QUERY = re.compile(r"[?&](password|token|secret|access_key|private_key)=(?!\$\{)", re.I)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Team(_Model):
    name: str
    support_email: EmailStr


class Declaration(_Model):
    declared_by: str
    statement: str
    declared_at: str


class Connection(_Model):
    """Either an Airflow connection id or a URI whose secrets are ``${secret:NAME}``/``${env:NAME}``."""

    conn_id: str | None = None
    uri: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Connection:
        if (self.conn_id is None) == (self.uri is None):
            raise ValueError("give exactly one of 'conn_id' or 'uri'")
        return self

    @field_validator("uri")
    @classmethod
    def _no_inline_secret(cls, uri: str | None) -> str | None:
        if uri and (_INLINE_SECRET.search(uri) or _SECRET_QUERY.search(uri)):
            raise ValueError(
                "the uri carries a literal password or token; use ${secret:NAME} or ${env:NAME} instead"
            )
        return uri


class SchemaField(_Model):
    name: str
    type: FieldType
    nullable: bool = True

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if not FIELD_TYPE_PATTERN.match(value):
            raise ValueError(
                f"unknown type {value!r}; use string, int, long, double, decimal(p,s), boolean, "
                "date, timestamp, timestamptz, binary or json"
            )
        return value


class ObjectSchema(_Model):
    fields: list[SchemaField] = Field(min_length=1)


class TimedTrigger(_Model):
    type: Literal["timed"]
    schedule: str


class EventTrigger(_Model):
    type: Literal["event"]
    on: str


class AdhocTrigger(_Model):
    type: Literal["adhoc"]


Trigger = Annotated[Union[TimedTrigger, EventTrigger, AdhocTrigger], Field(discriminator="type")]


class FullMode(_Model):
    type: Literal["full"]


class IncrementalMode(_Model):
    type: Literal["incremental"]
    cursor: str | None = None


class PartitionedMode(_Model):
    type: Literal["partitioned"]
    column: str
    granularity: Literal["hour", "day", "month", "year"] = "day"


class StreamMode(_Model):
    type: Literal["stream"]


Mode = Annotated[
    Union[FullMode, IncrementalMode, PartitionedMode, StreamMode], Field(discriminator="type")
]


class PartitionField(_Model):
    column: str
    transform: str = "identity"


class Target(_Model):
    namespace: str | None = None
    table: str
    kind: Literal["append", "partitioned", "mdm", "reference"] = "append"
    partition_by: list[PartitionField] = Field(default_factory=list)
    keys: list[str] = Field(default_factory=list)
    format: Literal["iceberg"] = "iceberg"

    @model_validator(mode="after")
    def _keys_for_history(self) -> Target:
        if self.kind in ("mdm", "reference") and not self.keys:
            raise ValueError(f"a '{self.kind}' target needs 'keys'")
        return self


class Dedup(_Model):
    keys: list[str] = Field(min_length=1)
    order_by: str | None = None


class Sla(_Model):
    fresh_within: str
    warn_after: str | None = None


class Retention(_Model):
    days: int = Field(gt=0)


Classification = Literal["public", "internal", "pii", "secret"]
Priority = Literal["critical", "high", "medium", "low"]


class Ingestion(_Model):
    trigger: Trigger
    mode: Mode
    target: Target
    dedup: Dedup | None = None
    schema_evolution: Literal["evolve", "fail"] = "evolve"
    sla: Sla | None = None
    classification: dict[str, Classification] = Field(default_factory=dict)
    priority: Priority = "medium"
    retention: Retention | None = None
    quality: list[dict] = Field(default_factory=list)


class IngestionDefaults(_Model):
    """A source's ``defaults``: any ingestion field, applied where an object does not set it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger: Trigger | None = None
    mode: Mode | None = None
    target: dict | None = None
    dedup: Dedup | None = None
    schema_evolution: Literal["evolve", "fail"] | None = None
    sla: Sla | None = None
    classification: dict[str, Classification] | None = None
    priority: Priority | None = None
    retention: Retention | None = None
    quality: list[dict] | None = None


class SourceObject(_Model):
    name: str
    path: str | None = None
    format: Literal["csv", "json", "parquet"] | None = None
    columns: list[str] | None = None
    schema_: ObjectSchema | None = Field(default=None, alias="schema")
    ingestion: Ingestion | None = None


class Source(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    type: SourceType
    connection: Connection
    objects: Literal["all"] | list[SourceObject]
    defaults: IngestionDefaults | None = None

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: object) -> object:
        """Fill each object's ``ingestion`` from the source's ``defaults``, field by field."""
        if not isinstance(data, dict) or not isinstance(data.get("defaults"), dict):
            return data
        if not isinstance(data.get("objects"), list):
            return data
        defaults = data["defaults"]
        objects = []
        for obj in data["objects"]:
            if isinstance(obj, dict) and isinstance(obj.get("ingestion"), dict):
                merged = {**defaults, **obj["ingestion"]}
                if isinstance(defaults.get("target"), dict) and isinstance(obj["ingestion"].get("target"), dict):
                    merged["target"] = {**defaults["target"], **obj["ingestion"]["target"]}
                obj = {**obj, "ingestion": merged}
            objects.append(obj)
        return {**data, "objects": objects}

    @model_validator(mode="after")
    def _object_rules(self) -> Source:
        if self.objects == "all":
            return self
        seen: set[str] = set()
        for obj in self.objects:
            if obj.name in seen:
                raise ValueError(f"object {obj.name!r} appears twice in source {self.name!r}")
            seen.add(obj.name)
            if self.type in ("file", "mongodb", "kafka") and obj.schema_ is None:
                raise ValueError(f"object {obj.name!r}: a '{self.type}' object needs a 'schema'")
            if self.type in ("file", "pdf") and not obj.path:
                raise ValueError(f"object {obj.name!r}: a '{self.type}' object needs a 'path'")
            if self.type == "file" and obj.format is None:
                raise ValueError(f"object {obj.name!r}: a 'file' object needs a 'format'")
            mode = obj.ingestion.mode if obj.ingestion else None
            if (
                isinstance(mode, IncrementalMode)
                and mode.cursor is None
                and self.type not in ("kafka", "file", "pdf")
            ):
                raise ValueError(f"object {obj.name!r}: 'incremental' mode needs a 'cursor'")
        return self


class Intent(_Model):
    schema_ref: str | None = Field(default=None, alias="$schema")
    version: Literal[1]
    name: str = Field(pattern=NAME_PATTERN)
    team: Team
    project: str
    declaration: Declaration
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_sources(self) -> Intent:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source {source.name!r} appears twice")
            seen.add(source.name)
        return self
