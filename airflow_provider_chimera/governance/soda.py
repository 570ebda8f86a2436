"""Running a load's checks with Soda Core, over DuckDB views of the staged snapshot's Parquet files.

Two views, in a DuckDB database of the task's own (in memory): ``<namespace>.<table>``, every data
file of the staged snapshot (the table as it would be published), and
``<namespace>.<table>__load``, only the data files the load added. DuckDB reads the Parquet files
where they lie, column by column, so memory stays bounded by what a check aggregates, not by the
table; a view is created only when a check needs it. Each dataset becomes one Soda data contract,
verified through soda-duckdb on that connection.

A check that cannot run (a column the table lacks, an expression DuckDB cannot bind) is reported
as an ``error`` before Soda sees it, so that it cannot take the other checks of its dataset down
with it. User text is never resolved as a Soda variable (``${...}`` is refused), and once the views
exist the database may read no file outside the table's folder.

Soda and DuckDB are imported when checks run, never when a DAG file is parsed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

from airflow_provider_chimera.governance.checks import Check

log = logging.getLogger(__name__)

Outcome = Literal["passed", "failed", "warned", "error"]
DATA_SOURCE = "chimera"
LOAD_SUFFIX = "__load"
_SODA_OUTCOMES = {"PASSED": "passed", "FAILED": "failed", "WARN": "warned"}
_TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome on one staged load, and the figures that explain it."""

    check: Check
    outcome: Outcome
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """Whether this result keeps the load from being published."""
        return self.check.severity == "fail" and self.outcome in ("failed", "error")

    def describe(self) -> str:
        """``name (type on column): outcome; key=value, ...`` for logs and errors."""
        where = f" on {self.check.column}" if self.check.column else ""
        figures = "; ".join(f"{key}={_shown(value)}" for key, value in self.diagnostics.items())
        return f"{self.check.name} ({self.check.type}{where}): {self.outcome}" + (f"; {figures}" if figures else "")


def run_checks(table, snapshot_id: int, load_files: Sequence[str], checks: list[Check]) -> list[CheckResult]:
    """Run ``checks`` on the snapshot ``snapshot_id`` of the pyiceberg ``table`` (a branch's head),
    whose load added the data files ``load_files``; one result per check, in order."""
    if not checks:
        return []
    namespace, name = ".".join(table.name()[:-1]), table.name()[-1]
    views = {"table": name, "load": name + LOAD_SUFFIX}
    with _duckdb() as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(namespace)}")  # "main" exists already
        settled: dict[int, CheckResult] = {}
        wanted = {check.dataset for check in checks}
        files = {"load": list(load_files)}
        if "table" in wanted:
            files["table"], deletes = _snapshot_files(table, snapshot_id)
            if deletes:
                for i, check in enumerate(checks):
                    if check.dataset == "table":
                        settled[i] = CheckResult(check, "error", {"error": "the snapshot has delete files; reading them is not supported"})
                wanted.discard("table")
        arrow_schema = table.schemas()[table.snapshot_by_id(snapshot_id).schema_id].as_arrow()
        columns: dict[str, dict[str, str]] = {}
        for dataset in wanted:
            columns[dataset] = _create_view(con, namespace, views[dataset], files[dataset], arrow_schema, table.io)
        _lock(con, [*files.get("table", []), *files["load"]])
        for i, check in enumerate(checks):
            if i not in settled:
                problem = _problem(con, check, f"{_quote(namespace)}.{_quote(views[check.dataset])}", columns[check.dataset])
                if problem:
                    settled[i] = CheckResult(check, "error", {"error": problem})
        runnable = {i: check for i, check in enumerate(checks) if i not in settled}
        settled.update(_verify(con, namespace, views, runnable))
    return [settled[i] for i in range(len(checks))]


# --- DuckDB -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _duckdb() -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")  # timestamps without zone are UTC, as the writer stores them
        yield con
    finally:
        con.close()


def _snapshot_files(table, snapshot_id: int) -> tuple[list[str], bool]:
    """The data files of a snapshot, and whether any carries delete files."""
    tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
    return [task.file.file_path for task in tasks], any(task.delete_files for task in tasks)


def _create_view(con, namespace: str, view: str, paths: list[str], arrow_schema, io) -> dict[str, str]:
    """``namespace.view`` over the Parquet files ``paths``; its columns and their DuckDB types."""
    target = f"{_quote(namespace)}.{_quote(view)}"
    if not paths:
        import pyarrow as pa

        con.register(f"_empty_{view}", pa.Table.from_batches([], schema=arrow_schema))
        con.execute(f"CREATE VIEW {target} AS SELECT * FROM {_quote('_empty_' + view)}")
    elif all(_local(path) for path in paths):
        listed = ", ".join(_literal(_local(path)) for path in paths)
        # Files of older schemas lack columns added since: union_by_name reads them as nulls. The
        # partition folders (ts_day=2026-11-01/) are Iceberg's layout, not columns.
        con.execute(
            f"CREATE VIEW {target} AS SELECT * FROM read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
        )
    else:  # an object store: Arrow reads the files through the table's own file system
        con.register(f"_files_{view}", _arrow_dataset(paths, arrow_schema, io))
        con.execute(f"CREATE VIEW {target} AS SELECT * FROM {_quote('_files_' + view)}")
    described = con.execute(f"DESCRIBE {target}").fetchall()
    return {row[0]: row[1] for row in described}


def _arrow_dataset(paths: list[str], arrow_schema, io):
    """A pyarrow dataset of ``paths`` read through pyiceberg's file system for their scheme."""
    import pyarrow.dataset as ds
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    parsed = urlparse(paths[0])
    if hasattr(io, "fs_by_scheme"):  # PyArrowFileIO
        filesystem = io.fs_by_scheme(parsed.scheme, parsed.netloc)
        located = [urlparse(p).netloc + urlparse(p).path if parsed.scheme != "file" else urlparse(p).path for p in paths]
    else:  # FsspecFileIO
        filesystem = PyFileSystem(FSSpecHandler(io.get_fs(parsed.scheme)))
        located = paths
    return ds.dataset(located, schema=arrow_schema, format="parquet", filesystem=filesystem)


def _lock(con, paths: list[str]) -> None:
    """From here on, the database reads no file outside the folder holding ``paths`` and cannot
    be reconfigured: a check's expression cannot reach other files."""
    local = [_local(path) for path in paths if _local(path)]
    if local:
        folder = os.path.commonpath([os.path.dirname(path) for path in local])
        con.execute(f"SET allowed_directories = [{_literal(folder)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _local(path: str) -> str | None:
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return parsed.path
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return path
    return None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _problem(con, check: Check, relation: str, columns: dict[str, str]) -> str | None:
    """Why ``check`` cannot run on ``relation``, if it cannot."""
    text = json.dumps([check.name, check.body])
    if "${" in text:
        return "'${' is not allowed in a check: Soda would read it as a variable"
    named = [c for c in (check.column, *check.reads, check.temporal) if c]
    missing = [c for c in named if c not in columns]
    if missing:
        return f"no column {', '.join(map(repr, missing))} in the table (its columns: {', '.join(columns)})"
    if check.temporal and not columns[check.temporal].upper().startswith(_TEMPORAL):
        return f"column {check.temporal!r} is {columns[check.temporal]}, not a date or timestamp"
    expression = check.body.get("expression")
    if expression:
        # Again here, before DuckDB sees it: an intent that bypassed validate must not run a second
        # statement (EXPLAIN would run it) nor read anything but the rows checked.
        from airflow_provider_chimera.contract.expressions import expression_problem

        refused = expression_problem(str(expression))
        if refused:
            return refused
        try:
            con.execute(f"EXPLAIN SELECT count(*) FROM {relation} WHERE ({expression})")
        except Exception as exc:  # duckdb.Error: the message names what does not bind
            return f"the expression does not run: {str(exc).splitlines()[0]}"
    return None


# --- Soda -------------------------------------------------------------------------------------


def _verify(con, namespace: str, views: dict[str, str], checks: dict[int, Check]) -> dict[int, CheckResult]:
    """Verify one Soda contract per dataset; a result for every check in ``checks``."""
    if not checks:
        return {}
    with _soda() as (session, source, data_source):
        contracts = []
        for dataset in ("table", "load"):
            mine = {i: c for i, c in checks.items() if c.dataset == dataset}
            if mine:
                document = _contract(f"{DATA_SOURCE}/{namespace}/{views[dataset]}", mine)
                contracts.append(source.from_str(json.dumps(document)))
        outcome = session.execute(contract_yaml_sources=contracts, data_source_impls=[data_source(con)])
    found: dict[int, CheckResult] = {}
    for contract in outcome.contract_verification_results:
        for result in contract.check_results:
            index = int(str(result.check.qualifier or "c-1")[1:])
            if index in checks:
                found[index] = _result(checks[index], result)
    errors = outcome.get_errors_str() if outcome.has_errors else ""
    for index, check in checks.items():
        if index not in found:
            found[index] = CheckResult(check, "error", {"error": _first_lines(errors) or "Soda reported no result"})
    return found


def import_soda() -> tuple[Any, Any, Any]:
    """Soda's session, YAML source and DuckDB data source classes, imported with its anonymous
    usage telemetry off (unless the environment turns it on) and without reading a ``.env`` file.
    ``airflow_provider_chimera.preload`` calls it, so that a forked task finds Soda imported
    (about 1 s otherwise, in every run that checks a load)."""
    os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")
    previous = os.environ.get("PYTHON_DOTENV_DISABLED")
    os.environ["PYTHON_DOTENV_DISABLED"] = "1"
    try:
        with warnings.catch_warnings():  # Soda's own notes to its developers, at import
            warnings.simplefilter("ignore", DeprecationWarning)
            import duckdb  # noqa: F401  (the checks' engine; soda-duckdb imports it too)
            from soda_core.common.yaml import ContractYamlSource
            from soda_core.contracts.contract_verification import (
                ContractVerificationSession,
            )
            from soda_duckdb.common.data_sources.duckdb_data_source import (
                DuckDBDataSourceImpl,
            )
    finally:
        if previous is None:
            os.environ.pop("PYTHON_DOTENV_DISABLED", None)
        else:
            os.environ["PYTHON_DOTENV_DISABLED"] = previous
    return ContractVerificationSession, ContractYamlSource, DuckDBDataSourceImpl


@contextlib.contextmanager
def _soda():
    """Soda's session, YAML source and DuckDB data source (:func:`import_soda`), with its logging
    held to warnings while it runs (its own tables repeat what is logged here)."""
    session, source, data_source = import_soda()
    soda_log = logging.getLogger("soda")
    level = soda_log.level
    soda_log.setLevel(max(level, logging.WARNING))
    try:
        yield session, source, lambda con: data_source.from_existing_cursor(con, DATA_SOURCE)
    finally:
        soda_log.setLevel(level)


def _contract(dataset: str, checks: dict[int, Check]) -> dict[str, Any]:
    """A Soda data contract holding ``checks`` (each with qualifier ``c<index>``)."""
    columns: dict[str, dict[str, Any]] = {}
    dataset_checks = []

    def column(name: str) -> dict[str, Any]:
        return columns.setdefault(name, {"name": name})

    for index, check in checks.items():
        body = {"name": check.name, "qualifier": f"c{index}", **check.body}
        if check.type == "schema":
            for expected in check.columns:
                entry = column(expected.name)
                if expected.type:
                    entry.update(_data_type(expected.type))
        if check.column:
            column(check.column).setdefault("checks", []).append({check.type: body})
        else:
            dataset_checks.append({check.type: body})
    document: dict[str, Any] = {"dataset": dataset, "columns": list(columns.values())}
    if dataset_checks:
        document["checks"] = dataset_checks
    return document


def _data_type(duckdb_type: str) -> dict[str, Any]:
    """Soda's column data type keys for a DuckDB type (``decimal(12,2)``: precision and scale)."""
    if duckdb_type.startswith("decimal("):
        precision, scale = duckdb_type[len("decimal(") : -1].split(",")
        return {"data_type": "decimal", "numeric_precision": int(precision), "numeric_scale": int(scale)}
    return {"data_type": duckdb_type}


def _result(check: Check, soda_result) -> CheckResult:
    outcome = _SODA_OUTCOMES.get(soda_result.outcome.name, "error")
    diagnostics: dict[str, Any] = dict(check.context)
    if check.type == "schema":
        diagnostics.update(
            missing_columns=list(getattr(soda_result, "expected_column_names_not_actual", []) or []),
            unexpected_columns=list(getattr(soda_result, "actual_column_names_not_expected", []) or []),
            type_mismatches=[
                f"{m.column}: expected {m.get_expected()}, found {m.get_actual()}"
                for m in getattr(soda_result, "column_data_type_mismatches", []) or []
            ],
        )
        diagnostics = {key: value for key, value in diagnostics.items() if value} or {"columns": len(check.columns)}
    else:
        for key, value in (soda_result.diagnostic_metric_values or {}).items():
            if value is not None and key != "dataset_rows_tested":
                diagnostics[key] = _plain(value)
        if check.conceal:
            diagnostics.pop(check.body.get("function"), None)
            diagnostics["value"] = "not shown: the column is classified"
    if outcome == "error":
        diagnostics.setdefault("error", "Soda could not evaluate the check")
    return CheckResult(check, outcome, diagnostics)


def _plain(value: Any) -> Any:
    """A JSON value (numbers rounded for reading)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return str(value)


def _shown(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _first_lines(text: str, limit: int = 500) -> str:
    return " ".join(text.split())[:limit]
