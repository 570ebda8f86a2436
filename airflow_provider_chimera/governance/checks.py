"""The quality checks of a pipeline's loads, generated from its intent.

Every load is checked before it is published (:mod:`.wap`). The automatic checks:

``schema``
    the load's columns are the contract's: the object's declared ``schema`` fields (names and
    types) or ``columns`` (names), plus the columns a history target adds; columns the table keeps
    from earlier versions of the intent are allowed. An object that declares neither is held to
    the target table's own columns and types.
``row_count_reconciles``
    the rows the load added equal the rows read, less those quarantined and those dropped as
    duplicates (for ``mdm``/``reference``: repeats within the run and rows equal to their current
    version); exact unless the ingestion sets ``row_count_tolerance``.
``key_not_null.<key>``, ``keys_unique``
    ``mdm`` and ``reference`` targets only: among the table's current rows (``is_current``; an open
    ``valid_to``) every key column has a value and each identity (the keys, plus
    ``effective_from`` for ``reference``) occurs once.
``cursor_fresh``
    with an ``sla`` and a date or timestamp cursor: the table's newest cursor value is at most
    ``sla.fresh_within`` old. A warning, not a gate: a stale source is late, not wrong, and holding
    back its rows would only leave the table staler (``docs/decisions/0015-...``).

The intent's ``quality`` items follow. Checks of the ``load`` dataset see the rows the load adds
(for ``full`` and ``partitioned`` runs the replacement rows, for history targets the versions it
opens); checks of the ``table`` dataset see the table as it would be published.

This module is pure (no Soda, DuckDB or catalog): :func:`pipeline_checks` gives what an intent
asks for, :func:`for_load` completes it with one load's facts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from airflow_provider_chimera.contract.model import (
    LOWER_BOUNDS,
    MANAGED_COLUMNS,
    UPPER_BOUNDS,
    AggregateCheck,
    DuplicateCheck,
    FailedRowsCheck,
    FreshnessCheck,
    IncrementalMode,
    InvalidCheck,
    MissingCheck,
    QualityCheck,
    RowCountCheck,
    Severity,
)
from airflow_provider_chimera.pipelines import Pipeline

Dataset = Literal["load", "table"]
SCHEMA = "schema"
ROW_COUNT = "row_count_reconciles"
KEYS_UNIQUE = "keys_unique"
CURSOR_FRESH = "cursor_fresh"
_NAME_LIMIT = 250  # check_results.check_name


@dataclass(frozen=True)
class Column:
    """A column the ``schema`` check expects: its name and, when the contract says, its type as
    DuckDB names it (``bigint``, ``decimal(12,2)``, ``timestamp with time zone``)."""

    name: str
    type: str | None = None


@dataclass(frozen=True)
class Check:
    """One check of a load, in the terms of a Soda data contract."""

    name: str  # unique within the pipeline; the name in logs, XCom and the registry
    type: str  # the Soda check type: schema, row_count, missing, invalid, duplicate, failed_rows, aggregate, freshness
    dataset: Dataset
    automatic: bool
    column: str | None = None
    severity: Severity = "fail"
    # The Soda check's body (threshold, filter, validity...), without name and qualifier.
    body: dict[str, Any] = field(default_factory=dict)
    # schema: the columns expected (empty: the table's own, filled in by for_load).
    columns: tuple[Column, ...] = ()
    # Columns the check reads, beside ``column`` (a multi-column duplicate check's).
    reads: tuple[str, ...] = ()
    # Figures that explain the check's outcome, reported with Soda's diagnostics.
    context: dict[str, Any] = field(default_factory=dict)
    # freshness: the check applies only when this column is a date or timestamp.
    temporal: str | None = None
    # The check's value is a value of a classified column (an aggregate's min or max): not reported.
    conceal: bool = False


@dataclass(frozen=True)
class LoadCounts:
    """What one load read and set aside, for ``row_count_reconciles``."""

    rows_read: int  # records the source delivered, those quarantined included
    quarantined: int
    dropped: int  # rows read but not written as duplicates (see the module documentation)

    @property
    def expected(self) -> int:
        return self.rows_read - self.quarantined - self.dropped


def pipeline_checks(pipeline: Pipeline) -> list[Check]:
    """Every check of the pipeline's loads: the automatic ones, then the intent's ``quality`` items."""
    ingestion = pipeline.ingestion
    target = ingestion.target
    checks = [_schema_check(pipeline), Check(ROW_COUNT, "row_count", "load", automatic=True)]
    if target.kind in MANAGED_COLUMNS:
        identity = [*target.keys, "effective_from"] if target.kind == "reference" else list(target.keys)
        current = '"is_current" IS TRUE' if target.kind == "mdm" else '"valid_to" IS NULL'
        checks += [
            Check(f"key_not_null.{key}", "missing", "table", True, column=key, body={"filter": current})
            for key in target.keys
        ]
        checks.append(
            Check(KEYS_UNIQUE, "duplicate", "table", True, body={"columns": identity, "filter": current}, reads=tuple(identity))
        )
    cursor = ingestion.mode.cursor if isinstance(ingestion.mode, IncrementalMode) else None
    if ingestion.sla is not None and cursor:
        checks.append(
            Check(
                CURSOR_FRESH, "freshness", "table", True, severity="warn", temporal=cursor,
                body=_freshness(cursor, ingestion.sla.fresh_within, "warn"),
                context={"fresh_within": ingestion.sla.fresh_within},
            )
        )
    taken = {check.name for check in checks}
    for item in ingestion.quality:
        check = _quality_check(item)
        sensitive = check.type == "aggregate" and ingestion.classification.get(check.column or "") in ("pii", "secret")
        check = replace(check, name=_unique(check.name, taken), conceal=sensitive)
        taken.add(check.name)
        checks.append(check)
    return checks


def for_load(
    checks: list[Check], counts: LoadCounts, table_columns: dict[str, str | None], tolerance: float = 0.0
) -> list[Check]:
    """The checks of one load: the row count's expected value, and the table's own columns where
    the contract declares none. ``table_columns`` maps each column of the staged table to its DuckDB
    type (``None``: a type the schema check does not compare, such as a nested one)."""
    out = []
    for check in checks:
        if check.name == ROW_COUNT:
            check = replace(check, body={"threshold": _around(counts.expected, tolerance)}, context=_counted(counts, tolerance))
        elif check.name == SCHEMA and not check.columns:
            declared = tuple(Column(name, kind) for name, kind in table_columns.items())
            check = replace(check, columns=declared, body={"allow_extra_columns": False, "allow_other_column_order": True})
        elif check.automatic and check.temporal and not _is_temporal(table_columns.get(check.temporal)):
            continue  # the cursor is no date or time (a version number): nothing to be fresh
        out.append(check)
    return out


def duckdb_type(contract_type: str) -> str:
    """The DuckDB type a contract field type is stored as (through Arrow and Parquet)."""
    if contract_type.startswith("decimal"):
        return contract_type.replace(" ", "")
    return _CONTRACT_TYPES[contract_type]


def iceberg_duckdb_type(iceberg_type) -> str | None:
    """The DuckDB type of a pyiceberg type's Parquet column; ``None`` for types not compared."""
    from pyiceberg import types as t

    simple = {
        t.BooleanType: "boolean",
        t.IntegerType: "integer",
        t.LongType: "bigint",
        t.FloatType: "float",
        t.DoubleType: "double",
        t.DateType: "date",
        t.TimeType: "time",
        t.TimestampType: "timestamp",
        t.TimestamptzType: "timestamp with time zone",
        t.StringType: "varchar",
        t.BinaryType: "blob",
    }
    if isinstance(iceberg_type, t.DecimalType):
        return f"decimal({iceberg_type.precision},{iceberg_type.scale})"
    return simple.get(type(iceberg_type))


_CONTRACT_TYPES = {
    "string": "varchar",
    "json": "varchar",  # kept as its JSON text
    "int": "integer",
    "long": "bigint",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamp with time zone",
    "binary": "blob",
}
_MANAGED_TYPES = {
    "effective_from": "timestamp with time zone",
    "effective_to": "timestamp with time zone",
    "is_current": "boolean",
    "valid_from": "timestamp with time zone",
    "valid_to": "timestamp with time zone",
    "_chimera_row_hash": "varchar",
}


def _schema_check(pipeline: Pipeline) -> Check:
    obj, target = pipeline.object, pipeline.ingestion.target
    if obj.schema_ is not None:
        fields = {f.name: duckdb_type(f.type) for f in obj.schema_.fields}
        names = obj.columns or list(fields)
        columns = [Column(name, fields.get(name)) for name in names]
    elif obj.columns:
        columns = [Column(name) for name in obj.columns]
    else:
        return Check(SCHEMA, "schema", "load", True)  # the table's own columns, at load time
    from airflow_provider_chimera.governance.protect import as_stored

    columns = as_stored(pipeline, columns)  # classified columns as stored: dropped, or as text
    if target.kind in MANAGED_COLUMNS:
        managed = [*MANAGED_COLUMNS[target.kind], "_chimera_row_hash"]
        columns += [Column(name, _MANAGED_TYPES[name]) for name in managed if name not in {c.name for c in columns}]
    # Columns an earlier version of the intent brought stay in the table (scope may shrink).
    return Check(SCHEMA, "schema", "load", True, columns=tuple(columns),
                 body={"allow_extra_columns": True, "allow_other_column_order": True})


def _quality_check(item: QualityCheck) -> Check:
    threshold = _threshold(item.threshold(), getattr(item, "metric", "count"), item.severity) if hasattr(item, "threshold") else {}
    common = {"automatic": False, "severity": item.severity}
    if isinstance(item, MissingCheck):
        body = {**_present(missing_values=item.missing_values), **_with(threshold, item.severity, must_be=0)}
        return Check(item.name or f"missing.{item.column}", "missing", "load", column=item.column, body=body, **common)
    if isinstance(item, InvalidCheck):
        validity = _present(
            valid_values=item.valid_values, valid_min=item.valid_min, valid_max=item.valid_max,
            valid_min_length=item.valid_min_length, valid_max_length=item.valid_max_length,
        )
        if item.valid_regex is not None:
            validity["valid_format"] = {"regex": item.valid_regex, "name": "valid_regex"}
        body = {**validity, **_with(threshold, item.severity, must_be=0)}
        return Check(item.name or f"invalid.{item.column}", "invalid", "load", column=item.column, body=body, **common)
    if isinstance(item, DuplicateCheck):
        body = _with(threshold, item.severity, must_be=0)
        if item.column is not None:
            return Check(item.name or f"duplicate.{item.column}", "duplicate", "load", column=item.column, body=body, **common)
        return Check(item.name or "duplicate." + "+".join(item.columns), "duplicate", "load",
                     body={"columns": list(item.columns), **body}, reads=tuple(item.columns), **common)
    if isinstance(item, RowCountCheck):
        body = _with(threshold, item.severity, must_be_greater_than=0)
        return Check(item.name or "row_count", "row_count", "load", body=body, **common)
    if isinstance(item, FailedRowsCheck):
        body = {"expression": item.expression, **_with(threshold, item.severity, must_be=0)}
        return Check(item.name or f"failed_rows: {item.expression}"[:_NAME_LIMIT], "failed_rows", "load", body=body, **common)
    if isinstance(item, AggregateCheck):
        body = {"function": item.function, "threshold": threshold}
        return Check(item.name or f"{item.function}.{item.column}", "aggregate", "load", column=item.column, body=body, **common)
    if isinstance(item, FreshnessCheck):
        return Check(item.name or f"freshness.{item.column}", "freshness", "table", temporal=item.column,
                     body=_freshness(item.column, item.fresh_within, item.severity),
                     context={"fresh_within": item.fresh_within}, **common)
    raise TypeError(f"unknown quality check {item!r}")


def _threshold(bounds: dict[str, float], metric: str, severity: Severity) -> dict[str, Any]:
    """A Soda threshold from a quality item's bounds (a lower and an upper one make a range)."""
    lower = next((k for k in LOWER_BOUNDS if k in bounds), None)
    upper = next((k for k in UPPER_BOUNDS if k in bounds), None)
    if lower and upper:
        out: dict[str, Any] = {
            "must_be_between": {lower.removeprefix("must_be_"): bounds[lower], upper.removeprefix("must_be_"): bounds[upper]}
        }
    else:
        out = dict(bounds)
    if out and metric != "count":
        out["metric"] = metric
    if out and severity == "warn":
        out["level"] = "warn"
    return out


def _with(threshold: dict[str, Any], severity: Severity, **default: float) -> dict[str, Any]:
    """``{"threshold": ...}``: the item's own, else ``default`` (what Soda assumes, made explicit
    so that a warning's level has a threshold to sit on)."""
    if threshold:
        return {"threshold": threshold}
    return {"threshold": {**default, **({"level": "warn"} if severity == "warn" else {})}}


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _freshness(column: str, fresh_within: str, severity: Severity) -> dict[str, Any]:
    minutes = _minutes(fresh_within)
    threshold: dict[str, Any] = {"unit": "minute", "must_be_less_than_or_equal": minutes}
    if severity == "warn":
        threshold["level"] = "warn"
    return {"column": column, "threshold": threshold}


def _minutes(duration: str) -> float:
    """An ISO-8601 duration in minutes, months and years counted on the calendar from now."""
    import pendulum

    now = pendulum.now("UTC")
    parsed = pendulum.parse(duration)
    return round(((now + parsed) - now).total_seconds() / 60, 3)


def _around(expected: int, tolerance: float) -> dict[str, Any]:
    """``must_be`` the expected count, or a range ``tolerance`` wide on either side."""
    low, high = math.floor(expected * (1 - tolerance)), math.ceil(expected * (1 + tolerance))
    if low == high:
        return {"must_be": expected}
    return {"must_be_between": {"greater_than_or_equal": low, "less_than_or_equal": high}}


def _counted(counts: LoadCounts, tolerance: float) -> dict[str, Any]:
    return {
        "rows_read": counts.rows_read,
        "quarantined": counts.quarantined,
        "dropped": counts.dropped,
        "expected": counts.expected,
        **({"tolerance": tolerance} if tolerance else {}),
    }


def _is_temporal(duckdb_kind: str | None) -> bool:
    return duckdb_kind in ("date", "timestamp", "timestamp with time zone")


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} #{n}" in taken:
        n += 1
    return f"{name} #{n}"


__all__ = ["Check", "Column", "LoadCounts", "for_load", "pipeline_checks"]
