"""Quality gates with write-audit-publish, through the ingest task on real data.

Every load is staged on the run's audit branch, checked with Soda Core and published to ``main``
only if its checks pass. For each automatic check a load that breaks it is shown to stay off
``main`` (its snapshot and rows as they were, read through pyiceberg), to fail the task naming the
check, and to wait on its branch; clean loads are published in one commit and leave no branch.
Check results land in the registry's ``check_results`` table.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select

from airflow_provider_chimera.governance.wap import PublishError, QualityGateError
from airflow_provider_chimera.registry.db import open_registry
from airflow_provider_chimera.registry.models import CheckResultRow
from airflow_provider_chimera.pipelines.sync import sync_registry
from airflow_provider_chimera.writer import IcebergWriter
from tests.helpers import intent_with, pipeline_for, run_pipeline, run_task, single_object_source

HOURS_72 = 72 * 3_600_000


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """``registry(source)``: a registry of its own that knows the pipeline of ``source``."""
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'state' / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))

    def sync(source: dict) -> None:
        intents = tmp_path / "intents"
        intents.mkdir(exist_ok=True)
        (intents / "qa_intent.json").write_text(json.dumps(intent_with(source)))
        with open_registry() as opened:
            sync_registry(opened, intents, actor="qa")

    return sync


def _results(run_id: str) -> list[CheckResultRow]:
    with open_registry() as opened, opened.session() as session:
        return list(session.scalars(select(CheckResultRow).where(CheckResultRow.run_id == run_id).order_by(CheckResultRow.id)))


def _main(catalog, identifier: str) -> tuple[int | None, int]:
    """Main's snapshot id and rows, as a reader of the table sees them."""
    table = catalog.load_table(identifier)
    snapshot = table.current_snapshot()
    return (snapshot.snapshot_id if snapshot else None), table.scan().to_arrow().num_rows


def _branch(catalog, identifier: str, name: str) -> pa.Table:
    table = catalog.load_table(identifier)
    return table.scan(snapshot_id=table.snapshot_by_name(name).snapshot_id).to_arrow()


def _refs(catalog, identifier: str) -> dict:
    return dict(catalog.load_table(identifier).metadata.refs)


# --- files --------------------------------------------------------------------------------------


def _file_source(folder: Path, amount: str = "decimal(12,2)", quality: list | None = None, **ingestion) -> dict:
    fields = [{"name": "id", "type": "long", "nullable": False}, {"name": "amount", "type": amount}]
    source = single_object_source(
        "file", {"uri": folder.as_uri()}, "drops", {"type": "incremental"}, "orders",
        path="*.jsonl", format="json", schema={"fields": fields},
    )
    source["objects"][0]["ingestion"].update(quality=quality or [], **ingestion)
    return source


def _drop(folder: Path, name: str, amounts: dict[int, str]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("".join(json.dumps({"id": i, "amount": a}) + "\n" for i, a in amounts.items()))


NO_NEGATIVES = {"check": "failed_rows", "expression": "amount < 0", "name": "no negative amounts"}


def test_a_clean_load_is_published_in_one_commit_and_its_checks_recorded(tmp_path, catalog, registry):
    data = tmp_path / "data"
    source = _file_source(data, quality=[NO_NEGATIVES])
    registry(source)
    _drop(data, "a.jsonl", {1: "1.50", 2: "2.00", 3: "0.00"})
    first = run_pipeline(pipeline_for(source), run_id="scheduled__1")
    assert (first["rows"], first["published"]) == (3, True)
    assert first["checks"] == {"passed": 3, "failed": 0, "warned": 0, "error": 0, "not_passed": []}
    assert _main(catalog, "qa.orders") == (first["snapshot_id"], 3)
    assert set(_refs(catalog, "qa.orders")) == {"main"}  # the audit branch went with the publication

    _drop(data, "b.jsonl", {4: "4.00", 5: "5.25"})
    second = run_pipeline(pipeline_for(source), run_id="scheduled__2")
    table = catalog.load_table("qa.orders")
    assert _main(catalog, "qa.orders") == (second["snapshot_id"], 5)
    # A fast-forward: main's new snapshot is the audited one, its parent main's previous one.
    assert table.current_snapshot().parent_snapshot_id == first["snapshot_id"]
    assert [entry.snapshot_id for entry in table.history()][-2:] == [first["snapshot_id"], second["snapshot_id"]]
    assert set(_refs(catalog, "qa.orders")) == {"main"}

    rows = _results("scheduled__2")
    assert [(r.check_name, r.check_type, r.column, r.automatic, r.outcome, r.published, r.snapshot_id) for r in rows] == [
        ("schema", "schema", None, True, "passed", True, second["snapshot_id"]),
        ("row_count_reconciles", "row_count", None, True, "passed", True, second["snapshot_id"]),
        ("no negative amounts", "failed_rows", None, False, "passed", True, second["snapshot_id"]),
    ]
    assert rows[1].diagnostics == {"rows_read": 2, "quarantined": 0, "dropped": 0, "expected": 2, "check_rows_tested": 2}
    assert {r.pipeline_id for r in rows} == {pipeline_for(source).id}


def test_a_failing_quality_check_keeps_the_load_off_main_until_a_retry_passes(tmp_path, catalog, registry, capsys):
    data = tmp_path / "data"
    source = _file_source(data, quality=[NO_NEGATIVES])
    registry(source)
    pipeline = pipeline_for(source)
    writer = IcebergWriter(catalog, "qa", "orders")
    _drop(data, "a.jsonl", {1: "1.00", 2: "2.00"})
    run_pipeline(pipeline, run_id="scheduled__1")
    main, position = _main(catalog, "qa.orders"), writer.last_position(pipeline.id)

    _drop(data, "b.jsonl", {3: "-3.00", 4: "4.00", 5: "-5.00"})
    with pytest.raises(QualityGateError) as failed:
        run_task(pipeline, run_id="scheduled__2")  # the task, for its log
    message = str(failed.value)
    assert "1 of 3 check(s) failed on the load staged as snapshot" in message
    assert "it was not published (main is unchanged) and stays on branch audit_scheduled__2 for 72 h" in message
    assert "  - no negative amounts (failed_rows): failed; failed_rows_count=2; failed_rows_percent=66.6667; check_rows_tested=3" in message
    assert "check no negative amounts (failed_rows): failed; failed_rows_count=2" in capsys.readouterr().out  # the task log

    assert _main(catalog, "qa.orders") == main  # readers see exactly what they saw
    assert writer.last_position(pipeline.id) == position  # the unpublished load moved nothing
    held = _branch(catalog, "qa.orders", "audit_scheduled__2")
    assert sorted(held.column("id").to_pylist()) == [1, 2, 3, 4, 5]
    assert _refs(catalog, "qa.orders")["audit_scheduled__2"].max_ref_age_ms == HOURS_72
    rows = _results("scheduled__2")
    assert [(r.check_name, r.outcome, r.published) for r in rows] == [
        ("schema", "passed", False), ("row_count_reconciles", "passed", False), ("no negative amounts", "failed", False),
    ]
    assert rows[2].diagnostics == {"failed_rows_count": 2, "failed_rows_percent": 66.6667, "check_rows_tested": 3}

    _drop(data, "b.jsonl", {3: "3.00", 4: "4.00", 5: "5.00"})  # the source corrected: the retry reads it again
    retry = run_pipeline(pipeline, run_id="scheduled__2")
    assert (retry["rows"], retry["published"]) == (3, True)
    assert _main(catalog, "qa.orders") == (retry["snapshot_id"], 5)
    assert set(_refs(catalog, "qa.orders")) == {"main"}
    assert sorted(catalog.load_table("qa.orders").scan().to_arrow().column("amount").to_pylist()) == [
        Decimal(v) for v in ("1.00", "2.00", "3.00", "4.00", "5.00")
    ]


def test_a_schema_that_drifted_from_the_contract_fails_the_schema_check(tmp_path, catalog, registry):
    data = tmp_path / "data"
    wide = _file_source(data, amount="decimal(14,2)")
    registry(wide)
    _drop(data, "a.jsonl", {1: "1.00"})
    run_pipeline(pipeline_for(wide), run_id="scheduled__1")
    main = _main(catalog, "qa.orders")

    narrow = _file_source(data, amount="decimal(12,2)")  # the contract now says (12,2); the table holds (14,2)
    registry(narrow)
    _drop(data, "b.jsonl", {2: "2.00"})
    with pytest.raises(QualityGateError, match=r"  - schema \(schema\): failed; type_mismatches=amount: expected decimal\(12,2\), found decimal\(14,2\)"):
        run_pipeline(pipeline_for(narrow), run_id="scheduled__2")
    assert _main(catalog, "qa.orders") == main
    assert _branch(catalog, "qa.orders", "audit_scheduled__2").num_rows == 2


def _losing_a_row_per_chunk(monkeypatch) -> None:
    """A writer that loses the first row of every chunk it writes (a bug the row count catches):
    of every batch on an unpartitioned table (writer.rolling), of every chunk on a partitioned one."""
    from airflow_provider_chimera.writer import iceberg

    chunks, rolling = iceberg._chunks, iceberg.rolling_data_files
    monkeypatch.setattr(iceberg, "_chunks", lambda *args: (chunk.slice(1) for chunk in chunks(*args)))
    monkeypatch.setattr(iceberg, "rolling_data_files",
                        lambda batches, *args: rolling((batch.slice(1) for batch in batches), *args))


def test_rows_lost_between_reading_and_writing_fail_the_row_count(tmp_path, catalog, registry, monkeypatch):
    data = tmp_path / "data"
    source = _file_source(data)
    registry(source)
    _drop(data, "a.jsonl", {1: "1.00"})
    run_pipeline(pipeline_for(source), run_id="scheduled__1")
    main = _main(catalog, "qa.orders")

    _losing_a_row_per_chunk(monkeypatch)
    _drop(data, "b.jsonl", {2: "2.00", 3: "3.00", 4: "4.00", 5: "5.00"})
    with pytest.raises(QualityGateError) as failed:
        run_pipeline(pipeline_for(source), run_id="scheduled__2")
    assert (
        "  - row_count_reconciles (row_count): failed; rows_read=4; quarantined=0; dropped=0; expected=4; check_rows_tested=3"
        in str(failed.value)
    )
    assert _main(catalog, "qa.orders") == main
    assert sorted(_branch(catalog, "qa.orders", "audit_scheduled__2").column("id").to_pylist()) == [1, 3, 4, 5]


def test_a_row_count_tolerance_lets_a_load_within_it_through(tmp_path, catalog, registry, monkeypatch):
    data = tmp_path / "data"
    source = _file_source(data, row_count_tolerance=0.25)
    registry(source)
    _losing_a_row_per_chunk(monkeypatch)
    _drop(data, "a.jsonl", {1: "1.00", 2: "2.00", 3: "3.00", 4: "4.00"})
    result = run_pipeline(pipeline_for(source), run_id="scheduled__1")
    assert (result["published"], _main(catalog, "qa.orders")[1]) == (True, 3)  # 3 of 4 is within 25 %
    [row] = [r for r in _results("scheduled__1") if r.check_name == "row_count_reconciles"]
    assert (row.outcome, row.diagnostics["tolerance"], row.diagnostics["check_rows_tested"]) == ("passed", 0.25, 3)


def _meanwhile_once(monkeypatch, commit) -> list:
    """Run ``commit`` (another writer moving main) the first time a load is being checked."""
    from airflow_provider_chimera.governance import wap

    checks, calls = wap.run_checks, []

    def meanwhile(*args):
        calls.append(args[1])
        if len(calls) == 1:
            commit()
        return checks(*args)

    monkeypatch.setattr(wap, "run_checks", meanwhile)
    return calls


def test_main_moving_during_the_audit_is_rechecked_and_published(tmp_path, catalog, registry, monkeypatch, caplog):
    data = tmp_path / "data"
    source = _file_source(data, quality=[NO_NEGATIVES])
    registry(source)
    _drop(data, "a.jsonl", {1: "1.00"})
    run_pipeline(pipeline_for(source), run_id="scheduled__1")

    def another_writer():
        table = catalog.load_table("qa.orders")
        table.append(pa.Table.from_pylist([{"id": 99, "amount": Decimal("9.90")}], schema=table.schema().as_arrow()))

    checked = _meanwhile_once(monkeypatch, another_writer)
    _drop(data, "b.jsonl", {2: "2.00"})
    with caplog.at_level("INFO"):
        result = run_pipeline(pipeline_for(source), run_id="scheduled__2")
    # Checked on the first staging, staged again on main's new snapshot, checked again, published.
    assert len(checked) == 2 and checked[0] != checked[1] == result["snapshot_id"]
    assert "main moved; the load is staged again" in caplog.text
    table = catalog.load_table("qa.orders")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [1, 2, 99]  # nothing lost, nothing twice
    assert table.current_snapshot().snapshot_id == result["snapshot_id"]
    assert set(table.metadata.refs) == {"main"}
    assert {(r.published, r.snapshot_id) for r in _results("scheduled__2") if r.published} == {(True, result["snapshot_id"])}


def test_another_run_reading_past_the_position_meanwhile_drops_the_load_and_reads_again(tmp_path, catalog, registry, monkeypatch, caplog):
    data = tmp_path / "data"
    source = _file_source(data)
    registry(source)
    _drop(data, "a.jsonl", {1: "1.00"})
    run_pipeline(pipeline_for(source), run_id="scheduled__1")
    _drop(data, "b.jsonl", {2: "2.00"})
    checked = _meanwhile_once(monkeypatch, lambda: run_pipeline(pipeline_for(source), run_id="manual__x"))
    with caplog.at_level("INFO"):
        result = run_pipeline(pipeline_for(source), run_id="scheduled__2")
    assert "committed position" in caplog.text and "Reading again from the new position" in caplog.text
    assert (result["committed"], result["rows"]) == (False, 0)  # b.jsonl was loaded by manual__x, once
    table = catalog.load_table("qa.orders")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [1, 2]
    assert set(table.metadata.refs) == {"main"}
    # The dropped load's data file is gone: every data file is one main reads.
    location = Path(table.location().removeprefix("file://"))
    on_disk = {f"file://{p.resolve()}" for p in location.rglob("*.parquet")}
    assert on_disk == {task.file.file_path for task in table.scan().plan_files()}
    assert len(checked) == 2


def test_a_rejected_first_load_leaves_the_new_table_empty(tmp_path, catalog, registry):
    data = tmp_path / "data"
    source = _file_source(data, quality=[NO_NEGATIVES])
    registry(source)
    _drop(data, "a.jsonl", {1: "-1.00"})
    with pytest.raises(QualityGateError, match="no negative amounts"):
        run_pipeline(pipeline_for(source), run_id="scheduled__1")
    assert _main(catalog, "qa.orders") == (None, 0)
    assert _branch(catalog, "qa.orders", "audit_scheduled__1").column("id").to_pylist() == [1]
    assert _refs(catalog, "qa.orders")["audit_scheduled__1"].max_ref_age_ms == HOURS_72


def test_a_rejected_branch_is_removed_by_a_load_after_its_retention(tmp_path, catalog, registry, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__AUDIT_RETENTION_HOURS", "0")  # kept for a millisecond
    data = tmp_path / "data"
    source = _file_source(data, quality=[NO_NEGATIVES])
    registry(source)
    _drop(data, "a.jsonl", {1: "1.00"})
    run_pipeline(pipeline_for(source), run_id="scheduled__1")
    _drop(data, "b.jsonl", {2: "-2.00"})
    with pytest.raises(QualityGateError):
        run_pipeline(pipeline_for(source), run_id="scheduled__2")
    assert set(_refs(catalog, "qa.orders")) == {"main", "audit_scheduled__2"}
    (data / "b.jsonl").unlink()
    _drop(data, "c.jsonl", {3: "3.00"})
    assert run_pipeline(pipeline_for(source), run_id="scheduled__3")["published"] is True
    assert set(_refs(catalog, "qa.orders")) == {"main"}


def test_a_quality_item_naming_a_column_the_table_lacks_is_an_error_that_fails_the_load(tmp_path, catalog, registry):
    # An object without declared columns (a database table) is checked at run time.
    data = tmp_path / "data"
    source = _file_source(data, quality=[{"check": "failed_rows", "expression": "price < 0"}])
    registry(source)
    _drop(data, "a.jsonl", {1: "1.00"})
    with pytest.raises(QualityGateError, match=r'failed_rows: price < 0 \(failed_rows\): error; error=the expression does not run: Binder Error: Referenced column "price" not found'):
        run_pipeline(pipeline_for(source), run_id="scheduled__1")
    assert [r.outcome for r in _results("scheduled__1")] == ["passed", "passed", "error"]


def test_the_schema_check_expects_classified_columns_as_the_table_stores_them(tmp_path, catalog, registry):
    data = tmp_path / "data"
    source = _file_source(data)
    obj = source["objects"][0]
    obj["schema"]["fields"].append({"name": "token", "type": "string"})
    obj["ingestion"]["classification"] = {"token": "secret"}  # dropped by the default policy
    registry(source)
    data.mkdir()
    (data / "a.jsonl").write_text(json.dumps({"id": 1, "amount": "1.00", "token": "s3cr3t"}) + "\n")
    assert run_pipeline(pipeline_for(source), run_id="scheduled__1")["published"] is True
    assert catalog.load_table("qa.orders").schema().column_names == ["id", "amount"]
    [schema] = [r for r in _results("scheduled__1") if r.check_name == "schema"]
    assert (schema.outcome, schema.diagnostics) == ("passed", {"columns": 2})


# --- PostgreSQL into mdm: the key checks and freshness -------------------------------------------


@pytest.fixture
def pg(pg_schema):
    conn = pg_schema("qa_gates", conn_id="qa_gates_pg")
    # No primary key: the source may hold what a history target must never show twice.
    conn.execute("CREATE TABLE qa_gates.customers (id bigint, name text, updated_at timestamptz NOT NULL)")
    return conn


def _customers(quality: list | None = None, **ingestion) -> dict:
    source = single_object_source(
        "postgres", {"conn_id": "qa_gates_pg"}, "qa_gates.customers", {"type": "incremental", "cursor": "updated_at"}, "customers"
    )
    source["objects"][0]["ingestion"]["target"].update(kind="mdm", keys=["id"])
    source["objects"][0]["ingestion"].update(quality=quality or [], **ingestion)
    return source


def _insert(pg, *rows: tuple) -> None:
    for row in rows:
        pg.execute("INSERT INTO qa_gates.customers VALUES (%s, %s, %s)", row)


T = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_two_current_versions_of_a_key_fail_keys_unique(pg, catalog, registry, monkeypatch):
    from airflow_provider_chimera.writer.history import HistoryWriter

    source = _customers()
    registry(source)
    _insert(pg, *[(i, f"c{i}", T) for i in range(1, 6)])
    run_pipeline(pipeline_for(source), run_id="scheduled__1")
    main = _main(catalog, "qa.customers")

    # A writer that no longer keeps one row per key of a run (a bug the key check catches).
    monkeypatch.setattr(HistoryWriter, "_one_per_identity", lambda self, incoming: incoming)
    _insert(pg, (6, "first", T + dt.timedelta(hours=1)), (6, "second", T + dt.timedelta(hours=2)))
    with pytest.raises(QualityGateError, match=r"  - keys_unique \(duplicate\): failed; duplicate_count=1"):
        run_pipeline(pipeline_for(source), run_id="scheduled__2")
    assert _main(catalog, "qa.customers") == main
    held = _branch(catalog, "qa.customers", "audit_scheduled__2").to_pylist()
    assert sorted(r["name"] for r in held if r["id"] == 6 and r["is_current"]) == ["first", "second"]
    outcomes = {r.check_name: r.outcome for r in _results("scheduled__2")}
    assert outcomes == {"schema": "passed", "row_count_reconciles": "passed", "key_not_null.id": "passed", "keys_unique": "failed"}


def test_a_current_version_without_a_key_fails_key_not_null(pg, catalog, registry, monkeypatch):
    from airflow_provider_chimera.writer.history import HistoryWriter

    source = _customers()
    registry(source)
    monkeypatch.setattr(HistoryWriter, "_check_identity", lambda self, incoming: None)  # the writer's own guard, gone
    _insert(pg, (1, "one", T), (None, "nobody", T))
    with pytest.raises(QualityGateError, match=r"  - key_not_null.id \(missing on id\): failed; missing_count=1"):
        run_pipeline(pipeline_for(source), run_id="scheduled__1")
    assert _main(catalog, "qa.customers") == (None, 0)  # the first load: the table stays empty
    assert _branch(catalog, "qa.customers", "audit_scheduled__1").num_rows == 2


def test_a_stale_cursor_warns_unless_the_intent_makes_freshness_a_gate(pg, catalog, registry, capsys):
    stale = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    source = _customers(sla={"fresh_within": "PT1H"})
    registry(source)
    _insert(pg, (1, "one", stale))
    result = run_task(pipeline_for(source), run_id="scheduled__1")  # the task, for its log
    assert (result["published"], result["checks"]["warned"]) == (True, 1)  # late, not wrong: published
    [warning] = result["checks"]["not_passed"]
    assert warning.startswith("cursor_fresh (freshness): warned; fresh_within=PT1H; check_rows_tested=1; freshness_in_minutes=")
    assert "check cursor_fresh (freshness): warned" in capsys.readouterr().out
    [row] = [r for r in _results("scheduled__1") if r.check_name == "cursor_fresh"]
    assert (row.outcome, row.published) == ("warned", True)
    assert row.diagnostics["freshness_in_minutes"] > 60 * 24 * 365

    gated = _customers(sla={"fresh_within": "PT1H"}, quality=[{"check": "freshness", "column": "updated_at", "fresh_within": "PT1H"}])
    registry(gated)
    _insert(pg, (2, "two", stale + dt.timedelta(days=1)))
    with pytest.raises(QualityGateError, match=r"  - freshness.updated_at \(freshness\): failed; fresh_within=PT1H"):
        run_pipeline(pipeline_for(gated), run_id="scheduled__2")
    assert _main(catalog, "qa.customers") == (result["snapshot_id"], 1)


# --- Kafka stream: each micro-batch is gated; offsets follow what was published --------------------


def test_a_stream_publishes_the_micro_batches_that_pass_and_acknowledges_only_those(kafka_topic, services, catalog, registry, monkeypatch):
    from confluent_kafka import Consumer, Producer, TopicPartition

    topic = kafka_topic("qa.gates", conn_id="qa_gates_kafka")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STREAM_BATCH_ROWS", "50")
    schema = {"fields": [{"name": "n", "type": "long", "nullable": False}]}
    source = single_object_source("kafka", {"conn_id": "qa_gates_kafka"}, topic, {"type": "stream"}, "stream_events", schema=schema)
    source["objects"][0]["ingestion"]["quality"] = [{"check": "failed_rows", "expression": "n > 75", "name": "small numbers"}]
    registry(source)
    producer = Producer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"]})
    for n in range(1, 101):
        producer.produce(topic, value=json.dumps({"n": n}).encode())
    assert producer.flush(30) == 0

    with pytest.raises(QualityGateError, match="small numbers"):
        run_pipeline(pipeline_for(source), run_id="stream__1")
    published = catalog.load_table("qa.stream_events").scan().to_arrow()
    assert sorted(published.column("n").to_pylist()) == list(range(1, 51))  # the first micro-batch
    assert _branch(catalog, "qa.stream_events", "audit_stream__1").num_rows == 100
    consumer = Consumer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"], "group.id": f"chimera-{pipeline_for(source).id}"})
    try:
        [committed] = consumer.committed([TopicPartition(topic, 0)], timeout=30)
    finally:
        consumer.close()
    assert committed.offset == 50
    assert [r.published for r in _results("stream__1")] == [True] * 3 + [False] * 3
