"""The intent contract as typed Pydantic models.

Field names are the user-facing contract (``docs/intent-contract.md``); do not rename them.
Everything downstream (factory, operators, sources, writer) receives these models, never dicts.
The shipped JSON Schema (``intent.schema.json``) states the same rules for editors and CI;
``tests/unit/contract/test_schema_agreement.py`` keeps the two in step.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from airflow_provider_chimera.contract import hints
from airflow_provider_chimera.contract.timing import duration_problem, schedule_problem

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
Text = Annotated[str, Field(min_length=1)]
# The ``format`` values each source type reads (others take no ``format``).
FORMATS: dict[str, tuple[str, ...]] = {"file": ("csv", "json", "parquet"), "kafka": ("json", "avro")}

SourceType = Literal["postgres", "mysql", "snowflake", "mongodb", "kafka", "file", "pdf"]
# Sources whose incremental reads need no cursor column: Kafka keeps offsets, files and PDFs new files.
INCREMENTAL_WITHOUT_CURSOR = ("kafka", "file", "pdf")
FieldType = str  # validated by FIELD_TYPE_PATTERN below
FIELD_TYPE_PATTERN = re.compile(
    r"^(string|int|long|double|boolean|date|timestamp|timestamptz|binary|json|decimal\(\d+,\s*\d+\))$"
)
# A literal credential in a URI: user:password@ where the password is not a placeholder, or a
# secret query parameter. The same patterns are in the JSON Schema (portable: no inline flags).
INLINE_SECRET_PATTERN = r"://[^/:@]*:(?!\$\{(secret|env):[A-Za-z0-9_.-]+\}@)[^@/]+@"
SECRET_QUERY_PATTERN = (
    r"[?&]([Pp][Aa][Ss][Ss][Ww]([Oo][Rr])?[Dd]|[Pp][Ww][Dd]|[Tt][Oo][Kk][Ee][Nn]|[Ss][Ee][Cc][Rr][Ee][Tt]"
    r"|[Aa][Pp][Ii]_?[Kk][Ee][Yy]|[Aa][Cc][Cc][Ee][Ss][Ss]_[Kk][Ee][Yy]|[Pp][Rr][Ii][Vv][Aa][Tt][Ee]_[Kk][Ee][Yy])"
    r"=(?!\$\{(secret|env):)"
)
_INLINE_SECRET = re.compile(INLINE_SECRET_PATTERN)
_SECRET_QUERY = re.compile(SECRET_QUERY_PATTERN)
TRANSFORM_PATTERN = r"^(identity|void|year|month|day|hour|bucket\[[1-9][0-9]*\]|truncate\[[1-9][0-9]*\])$"


def rule_error(message: str, hint: str) -> PydanticCustomError:
    """A contract rule's error; ``load`` reports its hint next to the message."""
    return PydanticCustomError("intent_rule", message, {hints.CTX_KEY: hint})


def reject(title: str, errors: list[tuple[tuple, str, str]]) -> ValidationError:
    """Every ``(location, message, hint)`` at once, each located below the model being validated."""
    return ValidationError.from_exception_data(
        title, [InitErrorDetails(type=rule_error(message, hint), loc=loc, input=None) for loc, message, hint in errors]
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Team(_Model):
    name: Text
    support_email: EmailStr


class Declaration(_Model):
    declared_by: Text
    statement: Text
    declared_at: Text


class Connection(_Model):
    """Either an Airflow connection id or a URI whose secrets are ``${secret:NAME}``/``${env:NAME}``."""

    conn_id: Text | None = None
    uri: Text | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Connection:
        if (self.conn_id is None) == (self.uri is None):
            raise ValueError("give exactly one of 'conn_id' or 'uri'")
        return self

    @field_validator("uri")
    @classmethod
    def _no_inline_secret(cls, uri: str | None) -> str | None:
        if uri and (_INLINE_SECRET.search(uri) or _SECRET_QUERY.search(uri)):
            raise rule_error("the uri carries a literal password or token", hints.URI_SECRET)
        return uri


class SchemaField(_Model):
    name: Text
    type: FieldType
    nullable: bool = True

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if not FIELD_TYPE_PATTERN.match(value):
            raise rule_error(f"unknown field type {value!r}", hints.FIELD_TYPE)
        if value.startswith("decimal"):
            precision, scale = (int(part) for part in value[len("decimal(") : -1].split(","))
            if not 1 <= precision <= 38 or scale > precision:
                # Iceberg decimals hold at most 38 digits; wider values can be declared ``string``.
                raise rule_error(
                    f"field type {value!r}: a decimal's precision is 1 to 38 and its scale at most its precision",
                    hints.FIELD_TYPE,
                )
        return value


class ObjectSchema(_Model):
    fields: list[SchemaField] = Field(min_length=1)


class TimedTrigger(_Model):
    type: Literal["timed"]
    schedule: Text

    @field_validator("schedule")
    @classmethod
    def _schedulable(cls, value: str) -> str:
        problem = schedule_problem(value)
        if problem:
            raise rule_error(problem, hints.SCHEDULE)
        return value


class EventTrigger(_Model):
    type: Literal["event"]
    on: Text


class AdhocTrigger(_Model):
    type: Literal["adhoc"]


Trigger = Annotated[Union[TimedTrigger, EventTrigger, AdhocTrigger], Field(discriminator="type")]


class FullMode(_Model):
    type: Literal["full"]


class IncrementalMode(_Model):
    type: Literal["incremental"]
    cursor: Text | None = None


class PartitionedMode(_Model):
    type: Literal["partitioned"]
    column: Text
    granularity: Literal["hour", "day", "month", "year"] = "day"


class StreamMode(_Model):
    type: Literal["stream"]


Mode = Annotated[
    Union[FullMode, IncrementalMode, PartitionedMode, StreamMode], Field(discriminator="type")
]


class PartitionField(_Model):
    column: Text
    transform: str = Field(default="identity", pattern=TRANSFORM_PATTERN)


TargetKind = Literal["append", "partitioned", "mdm", "reference"]


class Target(_Model):
    namespace: Text | None = None
    table: Text
    kind: TargetKind = "append"
    partition_by: list[PartitionField] = Field(default_factory=list)
    keys: list[Text] = Field(default_factory=list)
    format: Literal["iceberg"] = "iceberg"

    @model_validator(mode="after")
    def _keys_for_history(self) -> Target:
        if self.kind in ("mdm", "reference") and not self.keys:
            raise reject("Target", [(("keys",), f"a '{self.kind}' target needs 'keys'", hints.KEYS)])
        return self


class TargetDefaults(_Model):
    """A source's ``defaults.target``: any target field, merged field by field into each object's."""

    namespace: Text | None = None
    table: Text | None = None
    kind: TargetKind | None = None
    partition_by: list[PartitionField] | None = None
    keys: list[Text] | None = None
    format: Literal["iceberg"] | None = None


class Dedup(_Model):
    keys: list[Text] = Field(min_length=1)
    order_by: Text | None = None


class Sla(_Model):
    fresh_within: str
    warn_after: str | None = None

    @field_validator("fresh_within", "warn_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        problem = duration_problem(value) if value is not None else None
        if problem:
            raise rule_error(problem, hints.DURATION)
        return value


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
    target: TargetDefaults | None = None
    dedup: Dedup | None = None
    schema_evolution: Literal["evolve", "fail"] | None = None
    sla: Sla | None = None
    classification: dict[str, Classification] | None = None
    priority: Priority | None = None
    retention: Retention | None = None
    quality: list[dict] | None = None


class SourceObject(_Model):
    name: Text
    path: Text | None = None
    format: Literal["csv", "json", "parquet", "avro"] | None = None  # file: csv/json/parquet; kafka: json/avro
    columns: list[Text] | None = Field(default=None, min_length=1)
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
        errors: list[tuple[tuple, str, str]] = []
        first: dict[str, int] = {}
        for index, obj in enumerate(self.objects):
            at = ("objects", index)
            if obj.name in first:
                errors.append(
                    (
                        (*at, "name"),
                        f"object {obj.name!r} appears twice in source {self.name!r} (first at objects/{first[obj.name]})",
                        hints.DUPLICATE_OBJECT,
                    )
                )
            first.setdefault(obj.name, index)
            if self.type in ("file", "mongodb", "kafka") and obj.schema_ is None:
                errors.append(((*at, "schema"), f"a '{self.type}' object needs a 'schema'", hints.SCHEMA))
            if self.type in ("file", "pdf") and not obj.path:
                errors.append(((*at, "path"), f"a '{self.type}' object needs a 'path'", hints.PATH))
            if self.type == "file" and obj.format is None:
                errors.append(((*at, "format"), "a 'file' object needs a 'format'", hints.FORMAT))
            allowed = FORMATS.get(self.type)
            if obj.format is not None and allowed is not None and obj.format not in allowed:
                errors.append(
                    ((*at, "format"), f"a '{self.type}' object's format is one of {', '.join(allowed)}", hints.FORMAT)
                )
            mode = obj.ingestion.mode if obj.ingestion else None
            if isinstance(mode, IncrementalMode) and mode.cursor is None and self.type not in INCREMENTAL_WITHOUT_CURSOR:
                errors.append(
                    (
                        (*at, "ingestion", "mode", "cursor"),
                        f"'incremental' mode needs a 'cursor' for a '{self.type}' source",
                        hints.CURSOR,
                    )
                )
        if errors:
            raise reject("Source", errors)
        return self


class Intent(_Model):
    schema_ref: str | None = Field(default=None, alias="$schema")
    version: Literal[1]
    name: str = Field(pattern=NAME_PATTERN)
    team: Team
    project: Text
    declaration: Declaration
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_sources(self) -> Intent:
        first: dict[str, int] = {}
        errors = []
        for index, source in enumerate(self.sources):
            if source.name in first:
                errors.append(
                    (
                        ("sources", index, "name"),
                        f"source {source.name!r} appears twice (first at sources/{first[source.name]})",
                        hints.DUPLICATE_SOURCE,
                    )
                )
            first.setdefault(source.name, index)
        if errors:
            raise reject("Intent", errors)
        return self
