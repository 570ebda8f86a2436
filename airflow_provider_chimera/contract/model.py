"""The intent contract as typed Pydantic models.

Field names are the user-facing contract (``docs/intent-contract.md``); do not rename them.
Everything downstream (factory, operators, sources, writer) receives these models, never dicts.
The shipped JSON Schema (``intent.schema.json``) states the same rules for editors and CI;
``tests/unit/contract/test_schema_agreement.py`` keeps the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from airflow_provider_chimera.contract import hints
from airflow_provider_chimera.contract.limits import (
    COLUMN_MAX,
    DAG_ID_MAX,
    EMAIL_MAX,
    NAME_MAX,
    OBJECT_MAX,
    TAG_MAX,
    URI_BREAKING,
    Identifier,
    bounded,
    event_problem,
    host_problem,
    identifier,
)
from airflow_provider_chimera.contract.naming import pipeline_id
from airflow_provider_chimera.contract.timing import duration_problem, schedule_problem

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
Text = Annotated[str, Field(min_length=1)]
Column = bounded(COLUMN_MAX)  # a column name
ObjectName = bounded(OBJECT_MAX)
TagName = bounded(TAG_MAX)  # team names become tags of every DAG
# The source types built into Chimera; packages register more (``sources.registry``), and a
# source's ``type`` is any of either. What each type needs of its objects is its plugin's
# ``capabilities``.
BuiltinSourceType = Literal["postgres", "mysql", "snowflake", "mongodb", "kafka", "file", "pdf"]
BUILTIN_SOURCE_TYPES: tuple[str, ...] = get_args(BuiltinSourceType)
Options = dict[str, Any]  # a source's own config, validated by its plugin
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


def ruled(problem_of: Callable[[str], str | None], hint: str) -> AfterValidator:
    """A field rule: ``problem_of(value)`` says why the value is refused (``None``: accepted)."""

    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise rule_error(problem, hint)
        return value

    return AfterValidator(check)


def _expression_problem(value: str) -> str | None:
    from airflow_provider_chimera.contract.expressions import expression_problem  # sqlglot: imported when used

    return expression_problem(value)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Team(_Model):
    name: TagName
    support_email: Annotated[EmailStr, Field(max_length=EMAIL_MAX)]


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
    name: Column
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
    schedule: Annotated[str, Field(min_length=1), ruled(schedule_problem, hints.SCHEDULE)]


class EventTrigger(_Model):
    type: Literal["event"]
    on: Annotated[str, Field(min_length=1), ruled(event_problem, hints.EVENT)]  # a Kafka topic or an asset URI


class AdhocTrigger(_Model):
    type: Literal["adhoc"]


Trigger = Annotated[Union[TimedTrigger, EventTrigger, AdhocTrigger], Field(discriminator="type")]


class FullMode(_Model):
    type: Literal["full"]


class IncrementalMode(_Model):
    type: Literal["incremental"]
    cursor: Column | None = None


class PartitionedMode(_Model):
    type: Literal["partitioned"]
    column: Column
    granularity: Literal["hour", "day", "month", "year"] = "day"


class StreamMode(_Model):
    type: Literal["stream"]


Mode = Annotated[
    Union[FullMode, IncrementalMode, PartitionedMode, StreamMode], Field(discriminator="type")
]


class PartitionField(_Model):
    column: Column
    transform: str = Field(default="identity", pattern=TRANSFORM_PATTERN)


TargetKind = Literal["append", "partitioned", "mdm", "reference"]


class Target(_Model):
    namespace: Identifier | None = None
    table: Identifier
    kind: TargetKind = "append"
    partition_by: list[PartitionField] = Field(default_factory=list)
    keys: list[Column] = Field(default_factory=list)
    format: Literal["iceberg"] = "iceberg"

    @model_validator(mode="after")
    def _keys_for_history(self) -> Target:
        if self.kind in ("mdm", "reference") and not self.keys:
            raise reject("Target", [(("keys",), f"a '{self.kind}' target needs 'keys'", hints.KEYS)])
        return self


class TargetDefaults(_Model):
    """A source's ``defaults.target``: any target field, merged field by field into each object's."""

    namespace: Identifier | None = None
    table: Identifier | None = None
    kind: TargetKind | None = None
    partition_by: list[PartitionField] | None = None
    keys: list[Column] | None = None
    format: Literal["iceberg"] | None = None


class Dedup(_Model):
    keys: list[Column] = Field(min_length=1)
    order_by: Column | None = None


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


# --- quality: extra checks run on every load before it is published (docs/intent-contract.md) ---

QualityCheckType = Literal["missing", "invalid", "duplicate", "row_count", "failed_rows", "aggregate", "freshness"]
QUALITY_CHECK_TYPES: tuple[str, ...] = get_args(QualityCheckType)
Number = Annotated[float, Field(strict=True)]  # a JSON number; true, false and "1" are not numbers
Severity = Literal["fail", "warn"]
Metric = Literal["count", "percent"]
AggregateFunction = Literal["avg", "sum", "min", "max", "avg_length", "min_length", "max_length"]
LOWER_BOUNDS = ("must_be_greater_than", "must_be_greater_than_or_equal")
UPPER_BOUNDS = ("must_be_less_than", "must_be_less_than_or_equal")
THRESHOLD_KEYS = ("must_be", "must_not_be", *LOWER_BOUNDS, *UPPER_BOUNDS)
VALIDITY_KEYS = ("valid_values", "valid_min", "valid_max", "valid_regex", "valid_min_length", "valid_max_length")
# Columns a history target adds to the source's (writer.history); quality checks may name them.
MANAGED_COLUMNS: dict[str, tuple[str, ...]] = {
    "mdm": ("effective_from", "effective_to", "is_current"),
    "reference": ("valid_from", "valid_to"),
}


class _QualityCheck(_Model):
    name: Column | None = None  # how results and logs call the check; default: the check and its column
    severity: Severity = "fail"  # fail: a failing check stops the load; warn: it is recorded and logged only


class _Threshold(_Model):
    """A check's bound on its value: one of ``must_be``/``must_not_be``, or a lower bound, an upper
    bound, or both (a range)."""

    must_be: Number | None = None
    must_not_be: Number | None = None
    must_be_greater_than: Number | None = None
    must_be_greater_than_or_equal: Number | None = None
    must_be_less_than: Number | None = None
    must_be_less_than_or_equal: Number | None = None

    @model_validator(mode="after")
    def _one_comparison(self) -> _Threshold:
        given = self.threshold()
        lower = [k for k in LOWER_BOUNDS if k in given]
        upper = [k for k in UPPER_BOUNDS if k in given]
        exact = [k for k in ("must_be", "must_not_be") if k in given]
        if len(lower) > 1 or len(upper) > 1 or (exact and len(given) > 1):
            raise rule_error(f"conflicting bounds {', '.join(given)}", hints.QUALITY_THRESHOLD)
        if lower and upper and given[lower[0]] >= given[upper[0]]:
            raise rule_error(
                f"{lower[0]} {given[lower[0]]:g} is not below {upper[0]} {given[upper[0]]:g}", hints.QUALITY_THRESHOLD
            )
        return self

    def threshold(self) -> dict[str, float]:
        """The bounds given, by name."""
        return {key: getattr(self, key) for key in THRESHOLD_KEYS if getattr(self, key) is not None}


class MissingCheck(_QualityCheck, _Threshold):
    """Values of ``column`` that are null (or one of ``missing_values``); by default none may be."""

    check: Literal["missing"]
    column: Column
    metric: Metric = "count"
    missing_values: list[str | Number] | None = Field(default=None, min_length=1)


class InvalidCheck(_QualityCheck, _Threshold):
    """Values of ``column`` outside what is valid; by default none may be. Nulls are not invalid."""

    check: Literal["invalid"]
    column: Column
    metric: Metric = "count"
    valid_values: list[str | Number] | None = Field(default=None, min_length=1)
    valid_min: Number | None = None
    valid_max: Number | None = None
    valid_regex: Text | None = None
    valid_min_length: int | None = Field(default=None, ge=0)
    valid_max_length: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _says_what_is_valid(self) -> InvalidCheck:
        if all(getattr(self, key) is None for key in VALIDITY_KEYS):
            raise rule_error("an 'invalid' check needs at least one of " + ", ".join(VALIDITY_KEYS), hints.QUALITY_VALIDITY)
        return self


class DuplicateCheck(_QualityCheck, _Threshold):
    """Values of ``column`` (or combinations of ``columns``) that occur more than once; by default none may."""

    check: Literal["duplicate"]
    column: Column | None = None
    columns: list[Column] | None = Field(default=None, min_length=1)
    metric: Metric = "count"

    @model_validator(mode="after")
    def _one_of_column_or_columns(self) -> DuplicateCheck:
        if (self.column is None) == (self.columns is None):
            raise rule_error("a 'duplicate' check needs exactly one of 'column' or 'columns'", hints.QUALITY_DUPLICATE)
        return self


class RowCountCheck(_QualityCheck, _Threshold):
    """The number of rows the load adds; by default it must be greater than 0."""

    check: Literal["row_count"]


class FailedRowsCheck(_QualityCheck, _Threshold):
    """Rows for which the SQL ``expression`` (DuckDB dialect) is true; by default none may be."""

    check: Literal["failed_rows"]
    expression: Annotated[str, Field(min_length=1), ruled(_expression_problem, hints.EXPRESSION)]
    metric: Metric = "count"


class AggregateCheck(_QualityCheck, _Threshold):
    """``function`` of ``column`` over the rows the load adds, held to the bounds given."""

    check: Literal["aggregate"]
    column: Column
    function: AggregateFunction

    @model_validator(mode="after")
    def _has_bounds(self) -> AggregateCheck:
        if not self.threshold():
            raise rule_error("an 'aggregate' check needs a bound, e.g. must_be_less_than", hints.QUALITY_THRESHOLD)
        return self


class FreshnessCheck(_QualityCheck):
    """The newest value of ``column`` in the table is at most ``fresh_within`` (ISO-8601) old."""

    check: Literal["freshness"]
    column: Column
    fresh_within: str

    @field_validator("fresh_within")
    @classmethod
    def _duration(cls, value: str) -> str:
        problem = duration_problem(value)
        if problem:
            raise rule_error(problem, hints.DURATION)
        return value


QualityCheck = Annotated[
    Union[MissingCheck, InvalidCheck, DuplicateCheck, RowCountCheck, FailedRowsCheck, AggregateCheck, FreshnessCheck],
    Field(discriminator="check"),
]
RowCountTolerance = Annotated[float, Field(ge=0, le=1, strict=True)]


Classification = Literal["public", "internal", "pii", "secret"]
QuarantineThreshold = Annotated[float, Field(ge=0, le=1, strict=True)]
Priority = Literal["critical", "high", "medium", "low"]


class Ingestion(_Model):
    trigger: Trigger
    mode: Mode
    target: Target
    dedup: Dedup | None = None
    schema_evolution: Literal["evolve", "fail"] = "evolve"
    sla: Sla | None = None
    classification: dict[Column, Classification] = Field(default_factory=dict)
    # The largest share (0..1) of the records read that may go to quarantine without failing the run.
    quarantine_threshold: QuarantineThreshold = 0.0
    priority: Priority = "medium"
    retention: Retention | None = None
    quality: list[QualityCheck] = Field(default_factory=list)
    # The share (0..1) by which the rows a load adds may differ from the rows read, less those
    # quarantined and dropped as duplicates, before the row count check fails the load.
    row_count_tolerance: RowCountTolerance = 0.0


class IngestionDefaults(_Model):
    """A source's ``defaults``: any ingestion field, applied where an object does not set it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger: Trigger | None = None
    mode: Mode | None = None
    target: TargetDefaults | None = None
    dedup: Dedup | None = None
    schema_evolution: Literal["evolve", "fail"] | None = None
    sla: Sla | None = None
    classification: dict[Column, Classification] | None = None
    quarantine_threshold: QuarantineThreshold | None = None
    priority: Priority | None = None
    retention: Retention | None = None
    quality: list[QualityCheck] | None = None
    row_count_tolerance: RowCountTolerance | None = None


class SourceObject(_Model):
    name: ObjectName
    path: Text | None = None
    format: Literal["csv", "json", "parquet", "avro"] | None = None  # file: csv/json/parquet; kafka: json/avro
    columns: list[Column] | None = Field(default=None, min_length=1)
    schema_: ObjectSchema | None = Field(default=None, alias="schema")
    # The object's own config for its source type (e.g. an HTTP source's ``records_path``).
    options: Options | None = None
    ingestion: Ingestion | None = None

    @model_validator(mode="after")
    def _quality_columns_exist(self) -> SourceObject:
        """A quality check may only name columns the object has, where its columns are declared."""
        if self.ingestion is None or not self.ingestion.quality:
            return self
        known = self.columns or ([f.name for f in self.schema_.fields] if self.schema_ else None)
        if known is None:
            return self  # all of a database table's columns: checked against the table at run time
        known = [*known, *MANAGED_COLUMNS.get(self.ingestion.target.kind, ())]
        errors = []
        for index, item in enumerate(self.ingestion.quality):
            at = ("ingestion", "quality", index)
            named = [((*at, "column"), getattr(item, "column", None))]
            named += [((*at, "columns", i), c) for i, c in enumerate(getattr(item, "columns", None) or [])]
            for loc, column in named:
                if column is not None and column not in known:
                    errors.append((loc, f"column {column!r} is not a column of object {self.name!r}", hints.quality_column(known)))
        if errors:
            raise reject("SourceObject", errors)
        return self


class Source(_Model):
    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX)
    type: Annotated[str, Field(min_length=1)]
    connection: Connection
    # The source type's own config, validated by the model its plugin gives (``sources.registry``).
    options: Options | None = None
    objects: Literal["all"] | list[SourceObject]
    defaults: IngestionDefaults | None = None

    @field_validator("type")
    @classmethod
    def _installed_type(cls, value: str) -> str:
        from airflow_provider_chimera.sources.registry import source_plugin  # entry points: looked up when used

        try:
            source_plugin(value)
        except LookupError as exc:
            raise rule_error(str(exc), hints.SOURCE_TYPE) from None
        return value

    def plugin(self):
        """The :class:`~airflow_provider_chimera.sources.registry.SourcePlugin` of this source's type."""
        from airflow_provider_chimera.sources.registry import source_plugin

        return source_plugin(self.type)

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
    def _host(self) -> Source:
        problem = host_problem(self.connection.uri, self.type) if self.connection.uri else None
        if problem:
            raise reject("Source", [(("connection", "uri"), problem, hints.HOST)])
        return self

    @model_validator(mode="after")
    def _object_rules(self) -> Source:
        plugin = self.plugin()
        capabilities = plugin.capabilities
        errors: list[tuple[tuple, str, str]] = [
            (("options", *loc), message, hints.OPTIONS) for loc, message in plugin.option_problems(self.options)
        ]
        if self.objects == "all":
            if errors:
                raise reject("Source", errors)
            return self
        first: dict[str, int] = {}
        for index, obj in enumerate(self.objects):
            at = ("objects", index)
            if self.type not in ("file", "pdf") and any(ch in obj.name for ch in URI_BREAKING):
                errors.append(((*at, "name"), f"object name {obj.name[:80]!r} holds '/', '?' or '#'", hints.OBJECT_URI))
            if obj.name in first:
                errors.append(
                    (
                        (*at, "name"),
                        f"object {obj.name!r} appears twice in source {self.name!r} (first at objects/{first[obj.name]})",
                        hints.DUPLICATE_OBJECT,
                    )
                )
            first.setdefault(obj.name, index)
            if capabilities.needs_schema and obj.schema_ is None:
                errors.append(((*at, "schema"), f"a '{self.type}' object needs a 'schema'", hints.SCHEMA))
            if capabilities.needs_path and not obj.path:
                errors.append(((*at, "path"), f"a '{self.type}' object needs a 'path'", hints.PATH))
            if self.type == "file" and obj.format is None:
                errors.append(((*at, "format"), "a 'file' object needs a 'format'", hints.FORMAT))
            allowed = capabilities.formats
            if obj.format is not None and allowed and obj.format not in allowed:
                errors.append(
                    ((*at, "format"), f"a '{self.type}' object's format is one of {', '.join(allowed)}", hints.FORMAT)
                )
            errors.extend(
                ((*at, "options", *loc), message, hints.OPTIONS)
                for loc, message in plugin.option_problems(obj.options, "object")
            )
            errors.extend(_classification_problems(self, obj, at))
            mode = obj.ingestion.mode if obj.ingestion else None
            if mode is not None and mode.type not in capabilities.modes:
                errors.append(
                    (
                        (*at, "ingestion", "mode", "type"),
                        f"a '{self.type}' source reads in mode {', '.join(capabilities.modes)}, not {mode.type!r}",
                        hints.one_of(capabilities.modes),
                    )
                )
            if isinstance(mode, IncrementalMode) and mode.cursor is None and capabilities.incremental_needs_cursor:
                errors.append(
                    (
                        (*at, "ingestion", "mode", "cursor"),
                        f"'incremental' mode needs a 'cursor' for a '{self.type}' source",
                        hints.CURSOR,
                    )
                )
            if obj.ingestion is not None and obj.ingestion.retention is not None:
                from airflow_provider_chimera.contract.retention import age_column

                if age_column(obj.ingestion) is None:
                    errors.append(
                        (
                            (*at, "ingestion", "retention"),
                            "'retention' needs a column that dates each row, and this ingestion has none",
                            hints.RETENTION,
                        )
                    )
        if errors:
            raise reject("Source", errors)
        return self


def _classification_problems(source: Source, obj: SourceObject, at: tuple) -> list[tuple[tuple, str, str]]:
    """Classified columns an object does not have (when its ``columns`` or ``schema`` say which it
    has), and a classified ``pii``/``secret`` cursor, whose values would be recorded in clear.

    A classification inherited from the source's ``defaults`` applies to the objects that have
    the column and is not checked against each object's columns.
    """
    ingestion = obj.ingestion
    if ingestion is None or not ingestion.classification:
        return []
    defaults = source.defaults
    inherited = defaults is not None and defaults.classification == ingestion.classification
    place = ("defaults", "classification") if inherited else (*at, "ingestion", "classification")
    known = obj.columns or ([f.name for f in obj.schema_.fields] if obj.schema_ is not None else None)
    problems = []
    if known is not None and not inherited:
        names = {name.lower() for name in known}
        for column in ingestion.classification:
            if column.lower() not in names:
                problems.append(
                    (
                        (*place, column),
                        f"column {column!r} is classified, but the object has no such column (its columns: {', '.join(known)})",
                        hints.CLASSIFIED_COLUMN,
                    )
                )
    cursor = ingestion.mode.cursor if isinstance(ingestion.mode, IncrementalMode) else None
    cls = ingestion.classification.get(cursor) if cursor else None
    if cls in ("pii", "secret"):
        problems.append(
            (
                (*place, cursor),
                f"the cursor column {cursor!r} cannot be classified {cls!r}: its last value is the pipeline's recorded read position",
                hints.CLASSIFIED_CURSOR,
            )
        )
    return problems


class Intent(_Model):
    schema_ref: str | None = Field(default=None, alias="$schema")
    version: Literal[1]
    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX)
    team: Team
    # The default namespace of its targets, and a tag of every DAG.
    project: Annotated[str, Field(min_length=1, max_length=TAG_MAX), AfterValidator(identifier)]
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
            for j, obj in enumerate(source.objects if source.objects != "all" else []):
                pid = pipeline_id(self.name, source.name, obj.name)
                if len(pid) > DAG_ID_MAX:
                    errors.append(
                        (
                            ("sources", index, "objects", j, "name"),
                            f"the pipeline id {pid[:40]}... has {len(pid)} characters, more than Airflow's {DAG_ID_MAX}",
                            hints.PIPELINE_ID_LENGTH,
                        )
                    )
        if errors:
            raise reject("Intent", errors)
        return self
