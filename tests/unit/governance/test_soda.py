"""Running checks with Soda Core over DuckDB views of a staged snapshot's files."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_chimera.governance.checks import Check, Column
from airflow_provider_chimera.governance.soda import _arrow_dataset, run_checks
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("amount", pa.float64()), pa.field("note", pa.string())])


def _write(writer: IcebergWriter, rows: list[dict]):
    info = lambda: CommitInfo(pipeline="p", run_id="r", source="s/o", position=Position())
    return writer.write(SCHEMA, iter([pa.RecordBatch.from_pylist(rows, schema=SCHEMA)]), "append", info)


@pytest.fixture
def staged(catalog):
    """A table of two loads: ids 1-3, then 4-5 with a negative amount; the second load's result."""
    writer = IcebergWriter(catalog, "qa", "orders")
    _write(writer, [{"id": i, "amount": 10.0 * i, "note": "a"} for i in (1, 2, 3)])
    second = _write(writer, [{"id": 4, "amount": -1.0, "note": None}, {"id": 5, "amount": 5.0, "note": "b"}])
    return writer.load(), second


def _outcomes(results) -> dict[str, tuple]:
    return {r.check.name: (r.outcome, r.diagnostics) for r in results}


def test_load_checks_see_the_loads_files_and_table_checks_every_file(staged):
    table, load = staged
    checks = [
        Check("rows of the load", "row_count", "load", False, body={"threshold": {"must_be": 2}}),
        Check("rows of the table", "row_count", "table", False, body={"threshold": {"must_be": 5}}),
        Check("no negative", "failed_rows", "load", False, body={"expression": "amount < 0", "threshold": {"must_be": 0}}),
        Check("note present", "missing", "load", False, column="note", severity="warn", body={"threshold": {"must_be": 0, "level": "warn"}}),
    ]
    results = run_checks(table, load.snapshot_id, load.data_files, checks)
    assert [r.check for r in results] == checks
    outcomes = _outcomes(results)
    assert outcomes["rows of the load"][0] == "passed"
    assert outcomes["rows of the table"] == ("passed", {"check_rows_tested": 5})
    assert outcomes["no negative"][0] == "failed"
    assert outcomes["no negative"][1]["failed_rows_count"] == 1
    assert outcomes["note present"][0] == "warned"
    assert [r.blocking for r in results] == [False, False, True, False]
    assert results[2].describe() == (
        "no negative (failed_rows): failed; failed_rows_count=1; failed_rows_percent=50.0; check_rows_tested=2"
    )


def test_a_check_that_cannot_run_is_an_error_and_the_others_still_run(staged):
    table, load = staged
    checks = [
        Check("typo", "missing", "load", False, column="amout"),
        Check("bad sql", "failed_rows", "load", False, body={"expression": "amount <<< 0"}),
        Check("unbound", "failed_rows", "load", False, body={"expression": "price < 0"}),
        Check("variable", "failed_rows", "load", False, body={"expression": "note = '${env.HOME}'"}),
        Check("other files", "failed_rows", "load", False, body={"expression": "(SELECT count(*) FROM read_text('/etc/hostname')) > 0"}),
        Check("fine", "row_count", "load", False, body={"threshold": {"must_be": 2}}),
    ]
    outcomes = _outcomes(run_checks(table, load.snapshot_id, load.data_files, checks))
    assert outcomes["typo"] == ("error", {"error": "no column 'amout' in the table (its columns: id, amount, note)"})
    assert outcomes["bad sql"][0] == outcomes["unbound"][0] == outcomes["other files"][0] == "error"
    assert outcomes["unbound"][1]["error"].startswith('the expression does not run: Binder Error: Referenced column "price" not found')
    assert "holds a query" in outcomes["other files"][1]["error"]  # refused before DuckDB sees it
    assert outcomes["variable"] == ("error", {"error": "'${' is not allowed in a check: Soda would read it as a variable"})
    assert outcomes["fine"][0] == "passed"


def test_the_schema_check_names_missing_columns_and_type_mismatches(staged):
    table, load = staged
    # Soda compares types by family: integer, bigint and smallint are one; varchar and double are not.
    expected = (Column("id", "integer"), Column("amount", "varchar"), Column("gone", "varchar"))
    schema = Check("schema", "schema", "load", True, columns=expected, body={"allow_extra_columns": False})
    [result] = run_checks(table, load.snapshot_id, load.data_files, [schema])
    assert (result.outcome, result.diagnostics) == (
        "failed",
        {"missing_columns": ["gone"], "unexpected_columns": ["note"], "type_mismatches": ["amount: expected varchar, found double"]},
    )


def test_a_load_that_added_no_file_is_an_empty_view_of_the_tables_columns(staged):
    table, load = staged
    checks = [
        Check("rows", "row_count", "load", True, body={"threshold": {"must_be": 0}}),
        Check("schema", "schema", "load", True, columns=(Column("id", "bigint"), Column("amount", "double"), Column("note", "varchar"))),
    ]
    assert [r.outcome for r in run_checks(table, load.snapshot_id, [], checks)] == ["passed", "passed"]


def test_files_outside_the_local_disk_are_read_through_the_tables_file_system(staged):
    """The path for object stores, taken here with file:// paths: Arrow reads them through pyiceberg's file system."""
    import duckdb

    table, load = staged
    dataset = _arrow_dataset(list(load.data_files), table.schema().as_arrow(), table.io)
    con = duckdb.connect()
    con.register("files", dataset)
    assert con.execute("SELECT count(*), min(id), sum(amount) FROM files").fetchone() == (2, 4, 4.0)


def test_partition_folders_are_not_read_as_columns(catalog):
    from airflow_provider_chimera.contract.model import PartitionField

    schema = pa.schema([pa.field("id", pa.int64()), pa.field("day", pa.string())])
    writer = IcebergWriter(catalog, "qa", "parts", partition_by=[PartitionField(column="day")])
    info = lambda: CommitInfo(pipeline="p", run_id="r", source="s/o", position=Position())
    rows = [{"id": 1, "day": "2026-11-01"}, {"id": 2, "day": "2026-11-02"}]
    load = writer.write(schema, iter([pa.RecordBatch.from_pylist(rows, schema=schema)]), "append", info)
    assert all("/day_identity=2026-11-0" in path for path in load.data_files)  # hive-style folders
    exact = Check("schema", "schema", "table", True, columns=(Column("id", "bigint"), Column("day", "varchar")),
                  body={"allow_extra_columns": False})
    [result] = run_checks(writer.load(), load.snapshot_id, load.data_files, [exact])
    assert (result.outcome, result.diagnostics) == ("passed", {"columns": 2})


def test_a_concealed_aggregate_reports_its_outcome_not_its_value(staged):
    table, load = staged
    body = {"function": "max", "threshold": {"must_be_less_than": 5}}
    shown = Check("max shown", "aggregate", "load", False, column="amount", body=body)
    hidden = Check("max hidden", "aggregate", "load", False, column="amount", body=body, conceal=True)
    outcomes = _outcomes(run_checks(table, load.snapshot_id, load.data_files, [shown, hidden]))
    assert outcomes["max shown"] == ("failed", {"max": 5.0, "check_rows_tested": 2})
    assert outcomes["max hidden"] == ("failed", {"check_rows_tested": 2, "value": "not shown: the column is classified"})
