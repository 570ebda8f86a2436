"""A check expression is one expression, again at run time: an intent that bypassed ``validate``
still cannot run a second statement in DuckDB (the engine Soda runs on), nor change what the
automatic checks of its load read."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from airflow_provider_chimera.contract.model import FailedRowsCheck
from airflow_provider_chimera.governance.checks import ROW_COUNT, Check, LoadCounts, for_load, pipeline_checks
from airflow_provider_chimera.governance.soda import run_checks
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from tests.helpers import pipeline_for

COVERS = ("10",)

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("amount", pa.float64())])
# Ends the WHERE clause, replaces the load's view with one row, and comments out the rest.
REPLACE_VIEW = 'amount < 0); CREATE OR REPLACE VIEW "qa"."orders__load" AS SELECT 1 AS id, 1.0 AS amount; SELECT (1'
HOSTILE = {
    "second statement": REPLACE_VIEW,
    "comment hides the rest": "amount < 0 OR 1=1 --",
    "query of another relation": "id IN (SELECT id FROM qa.orders)",
    "table function": "read_text('/etc/hostname') IS NOT NULL",
}


@pytest.fixture
def staged(catalog):
    """A load of three rows, one with a negative amount, staged on ``qa.orders``."""
    writer = IcebergWriter(catalog, "qa", "orders")
    rows = [{"id": 1, "amount": 1.0}, {"id": 2, "amount": -1.0}, {"id": 3, "amount": 3.0}]
    info = lambda: CommitInfo(pipeline="p", run_id="r", source="s/o", position=Position())  # noqa: E731
    load = writer.write(SCHEMA, iter([pa.RecordBatch.from_pylist(rows, schema=SCHEMA)]), "append", info)
    return writer.load(), load


def test_the_attack_is_real_on_a_bare_duckdb():
    """Without the check, DuckDB runs every statement of the text handed to it."""
    con = duckdb.connect(":memory:")
    con.execute('CREATE SCHEMA qa; CREATE VIEW "qa"."orders__load" AS SELECT 2 AS id, -1.0 AS amount')
    con.execute(f'EXPLAIN SELECT count(*) FROM "qa"."orders__load" WHERE ({REPLACE_VIEW})')
    assert con.execute('SELECT amount FROM "qa"."orders__load"').fetchall() == [(1.0,)]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_expression_that_bypassed_validate_never_runs(staged, name):
    table, load = staged
    # model_construct: no validation, as if the intent had never been through validate.
    item = FailedRowsCheck.model_construct(check="failed_rows", expression=HOSTILE[name], severity="fail")
    pipeline = pipeline_for(
        {"name": "src", "type": "postgres", "connection": {"conn_id": "pg"},
         "objects": [{"name": "public.orders", "columns": ["id", "amount"], "ingestion": {
             "trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": "orders"}}}]}
    )
    ingestion = pipeline.ingestion.model_copy(update={"quality": [item]})
    pipeline = pipeline.model_copy(update={"object": pipeline.object.model_copy(update={"ingestion": ingestion})})
    checks = for_load(pipeline_checks(pipeline), LoadCounts(rows_read=3, quarantined=0, dropped=0),
                      {"id": "BIGINT", "amount": "DOUBLE"})
    checks.append(Check("negative amounts", "failed_rows", "load", False, body={"expression": "amount < 0", "threshold": {"must_be": 0}}))
    results = {r.check.name: r for r in run_checks(table, load.snapshot_id, load.data_files, checks)}
    hostile = next(r for r in results.values() if r.check.type == "failed_rows" and r.check.name != "negative amounts")
    assert hostile.outcome == "error" and hostile.blocking
    assert any(word in hostile.diagnostics["error"] for word in ("';'", "comment", "query", "reads outside")), hostile.diagnostics
    # The automatic checks and the honest one still read the load's own three rows.
    assert results[ROW_COUNT].outcome == "passed", results[ROW_COUNT].describe()
    assert results["negative amounts"].diagnostics["failed_rows_count"] == 1
