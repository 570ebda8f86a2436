"""History targets: mdm versions per key, reference bitemporal corrections, one commit per run."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo
from airflow_provider_chimera.writer.history import HistoryError, HistoryWriter, as_of

CUSTOMERS = pa.schema([("id", pa.int64()), ("name", pa.string()), ("updated", pa.int64())])
PRICES = pa.schema(
    [
        ("sku", pa.string()),
        ("effective_from", pa.date32()),
        ("effective_to", pa.date32()),
        ("price", pa.decimal128(10, 2)),
    ]
)


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


class Clock:
    """The run times a test sets, one per run."""

    def __init__(self):
        self.now = at(1)

    def __call__(self) -> dt.datetime:
        return self.now


def _info(cursor: str | None = None, run_id: str = "r1"):
    return lambda: CommitInfo(pipeline="p1", run_id=run_id, source="crm/customers", position=Position(cursor=cursor))


def _rows(schema: pa.Schema, rows: list[dict]):
    return iter([pa.RecordBatch.from_pylist(rows, schema=schema)])


def _customers(*rows: tuple[int, str], updated: int = 1) -> list[dict]:
    return [{"id": i, "name": name, "updated": updated} for i, name in rows]


def _by_version(table: pa.Table, start: str = "effective_from") -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: (r.get("id", r.get("sku")), r[start]))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def mdm(catalog, clock):
    return HistoryWriter(catalog, "qa", "customers", kind="mdm", keys=["id"], order_by="updated", clock=clock)


def _load(mdm, clock) -> None:
    mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "ann"), (2, "bob"), (3, "cy"))), "overwrite", _info("1"))
    clock.now = at(2)


def test_mdm_first_load_opens_one_current_version_per_key(mdm, clock):
    result = mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "ann"), (2, "bob"), (3, "cy"))), "append", _info("1"))
    assert (result.rows, result.closed, result.unchanged, result.committed) == (3, 0, 0, True)
    table = mdm.load()
    assert table.schema().column_names == [
        "id",
        "name",
        "updated",
        "effective_from",
        "effective_to",
        "is_current",
        "_chimera_row_hash",
    ]
    rows = _by_version(table.scan().to_arrow())
    assert [(r["id"], r["name"], r["effective_from"], r["effective_to"], r["is_current"]) for r in rows] == [
        (1, "ann", at(1), None, True),
        (2, "bob", at(1), None, True),
        (3, "cy", at(1), None, True),
    ]
    summary = table.snapshot_by_id(result.snapshot_id).summary.additional_properties
    assert summary["chimera.pipeline"] == "p1"
    assert summary["chimera.run-id"] == "r1"
    assert summary["chimera.source"] == "crm/customers"
    assert json.loads(summary["chimera.position"]) == {"cursor": "1"}
    assert (summary["chimera.rows"], summary["chimera.versions-closed"]) == ("3", "0")


def test_mdm_unchanged_rerun_opens_and_commits_nothing(mdm, clock):
    _load(mdm, clock)
    before = mdm.load().current_snapshot().snapshot_id
    again = mdm.write(
        CUSTOMERS, _rows(CUSTOMERS, _customers((1, "ann"), (2, "bob"), (3, "cy"))), "overwrite", _info("1")
    )
    assert (again.rows, again.closed, again.unchanged, again.committed) == (0, 0, 3, False)
    table = mdm.load()
    assert table.current_snapshot().snapshot_id == before
    assert table.scan().to_arrow().num_rows == 3


def test_mdm_unchanged_rows_past_the_position_record_it_without_new_versions(mdm, clock):
    _load(mdm, clock)
    files = {task.file.file_path for task in mdm.load().scan().plan_files()}
    result = mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((2, "bob"))), "append", _info("7"))
    assert (result.rows, result.closed, result.unchanged, result.committed) == (0, 0, 1, True)
    assert mdm.last_position("p1") == Position(cursor="7")
    table = mdm.load()
    assert {task.file.file_path for task in table.scan().plan_files()} == files
    assert table.scan().to_arrow().num_rows == 3


def test_mdm_changed_row_closes_its_version_and_opens_a_new_one(mdm, clock):
    _load(mdm, clock)
    snapshots = len(mdm.load().snapshots())
    result = mdm.write(
        CUSTOMERS, _rows(CUSTOMERS, _customers((2, "bobby"), updated=2)), "append", _info("2", run_id="r2")
    )
    assert (result.rows, result.closed, result.unchanged) == (1, 1, 0)
    table = mdm.load()
    assert len(table.snapshots()) == snapshots + 1  # the close and the open are one commit
    summary = table.current_snapshot().summary.additional_properties
    assert (summary["chimera.run-id"], summary["chimera.rows"], summary["chimera.versions-closed"]) == ("r2", "1", "1")
    rows = _by_version(table.scan().to_arrow())
    assert [(r["id"], r["name"], r["effective_from"], r["effective_to"], r["is_current"]) for r in rows] == [
        (1, "ann", at(1), None, True),
        (2, "bob", at(1), at(2), False),
        (2, "bobby", at(2), None, True),
        (3, "cy", at(1), None, True),
    ]


def test_key_absent_from_a_batch_stays_current(mdm, clock):
    _load(mdm, clock)
    result = mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((3, "cyd"), (4, "dee"), updated=2)), "append", _info("2"))
    assert (result.rows, result.closed) == (2, 1)
    current = mdm.load().scan(row_filter="is_current == true").to_arrow()
    assert sorted(zip(current["id"].to_pylist(), current["name"].to_pylist())) == [
        (1, "ann"),
        (2, "bob"),
        (3, "cyd"),
        (4, "dee"),
    ]
    assert mdm.load().scan().to_arrow().num_rows == 5


def test_only_data_files_holding_a_closed_version_are_rewritten(catalog, clock):
    writer = HistoryWriter(catalog, "qa", "many", kind="mdm", keys=["region", "id"], clock=clock)
    schema = pa.schema([("region", pa.string()), ("id", pa.int64()), ("score", pa.float64())])
    rows = [{"region": r, "id": i, "score": float(i)} for r in ("eu", "us") for i in range(500)]
    writer.write(schema, _rows(schema, rows), "append", _info("1"), chunk_bytes=4_000)
    files = len(list(writer.load().scan().plan_files()))
    assert files >= 4
    clock.now = at(2)
    changed = [{"region": "us", "id": 7, "score": -1.0}, {"region": "eu", "id": 7, "score": 7.0}]  # 1 change, 1 same
    result = writer.write(schema, _rows(schema, changed), "append", _info("2"))
    assert (result.rows, result.closed, result.unchanged) == (1, 1, 1)
    summary = writer.load().current_snapshot().summary
    assert (summary["deleted-data-files"], summary["added-data-files"]) == ("1", "2")  # rewritten file + new version
    table = writer.load().scan().to_arrow()
    assert table.num_rows == 1001
    us7 = sorted((r["score"], r["is_current"]) for r in table.to_pylist() if (r["region"], r["id"]) == ("us", 7))
    assert us7 == [(-1.0, True), (7.0, False)]


def test_repeated_keys_keep_the_last_by_cursor(mdm, clock):
    batch = [
        {"id": 1, "name": "late", "updated": 9},
        {"id": 1, "name": "early", "updated": 3},
        {"id": 2, "name": "b", "updated": 1},
    ]
    result = mdm.write(CUSTOMERS, _rows(CUSTOMERS, batch), "append", _info("9"))
    assert result.rows == 2
    table = mdm.load().scan().to_arrow()
    assert sorted(zip(table["id"].to_pylist(), table["name"].to_pylist())) == [(1, "late"), (2, "b")]


def test_repeated_keys_without_a_cursor_are_named(catalog, clock):
    writer = HistoryWriter(catalog, "qa", "customers", kind="mdm", keys=["id"], clock=clock)
    identical = _customers((1, "ann"), (1, "ann"), (2, "bob"))
    assert writer.write(CUSTOMERS, _rows(CUSTOMERS, identical), "overwrite", _info()).rows == 2
    clock.now = at(2)
    differing = _customers((1, "ann"), (5, "eve"), (5, "eva"))
    with pytest.raises(
        HistoryError, match=r"^qa\.customers: keys \(id=5\) appear more than once in one run with different values; "
    ):
        writer.write(CUSTOMERS, _rows(CUSTOMERS, differing), "overwrite", _info())
    assert writer.load().scan().to_arrow().num_rows == 2


def test_missing_key_column_is_named(catalog, clock):
    writer = HistoryWriter(catalog, "qa", "customers", kind="mdm", keys=["id", "tenant"], clock=clock)
    with pytest.raises(
        HistoryError,
        match=r"^qa\.customers: target keys \['tenant'\] are not columns of the source \(its columns: \['id', 'name', 'updated'\]\)$",
    ):
        writer.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "ann"))), "append", _info())
    assert writer.load() is None


def test_source_columns_the_target_fills_are_named(catalog, clock):
    schema = CUSTOMERS.append(pa.field("is_current", pa.bool_()))
    writer = HistoryWriter(catalog, "qa", "customers", kind="mdm", keys=["id"], clock=clock)
    with pytest.raises(
        HistoryError, match=r"^qa\.customers: the source has columns \['is_current'\] that an 'mdm' target fills itself"
    ):
        writer.write(schema, iter(()), "append", _info())


def test_rows_without_a_key_are_refused_by_column(mdm, clock):
    with pytest.raises(
        HistoryError,
        match=r"^qa\.customers: rows without a value in identifying columns \(column: rows\): \{'id': 2\}$",
    ):
        mdm.write(
            CUSTOMERS,
            _rows(CUSTOMERS, [{"id": None, "name": "x"}, {"id": None, "name": "y"}, {"id": 3, "name": "z"}]),
            "append",
            _info(),
        )
    assert mdm.load().current_snapshot() is None


def test_a_run_that_fails_commits_nothing_and_keeps_the_position(mdm, clock):
    _load(mdm, clock)
    before = mdm.load().current_snapshot().snapshot_id
    clock.now = at(1) - dt.timedelta(hours=1)  # a clock behind the versions it would close
    with pytest.raises(
        HistoryError, match=r"^qa\.customers: a version to close began at 2026-11-01T00:00:00\+00:00, not before"
    ):
        mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "changed"), (9, "new"), updated=5)), "append", _info("5"))
    assert mdm.load().current_snapshot().snapshot_id == before
    assert mdm.last_position("p1") == Position(cursor="1")
    assert mdm.load().scan().to_arrow().num_rows == 3


def _another_commit_while_planning(monkeypatch, commit) -> list[int]:
    """Run ``commit`` (another writer's whole commit) while the next write plans, once: that write's
    commit then loses the race. Returns the planning count, for the test to see the re-plan."""
    planned = []
    original = HistoryWriter._close_changed

    def planning(self, *args):
        planned.append(1)
        if len(planned) == 1:
            commit()
        return original(self, *args)

    monkeypatch.setattr(HistoryWriter, "_close_changed", planning)
    return planned


def test_mdm_commit_that_loses_a_race_is_planned_again_from_the_versions_then(mdm, clock, catalog, monkeypatch):
    from airflow_provider_chimera.writer.history import NO_CATALOG_RETRIES

    _load(mdm, clock)
    other = HistoryWriter(catalog, "qa", "customers", kind="mdm", keys=["id"], clock=clock)

    def other_run():  # another worker's run of the pipeline changes ann first, at day 2
        other.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "anna"))), "overwrite", _info(run_id="other"))
        clock.now = at(3)

    planned = _another_commit_while_planning(monkeypatch, other_run)
    result = mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "annie"))), "overwrite", _info(run_id="r2"))

    assert len(planned) == 3  # the other run's plan, this one's, and this one's again after the conflict
    assert (result.rows, result.closed, result.committed) == (1, 1, True)
    rows = [(r["id"], r["name"], r["effective_from"], r["effective_to"], r["is_current"]) for r in _by_version(mdm.load().scan().to_arrow())]
    assert [row for row in rows if row[0] == 1] == [
        (1, "ann", at(1), at(2), False),
        (1, "anna", at(2), at(3), False),  # the other run's version, closed by this one's: not lost
        (1, "annie", at(3), None, True),
    ]
    assert all(mdm.load().properties[k] == v for k, v in NO_CATALOG_RETRIES.items())  # pyiceberg's own retry off


def test_a_history_table_created_before_chimera_turned_pyiceberg_retries_off_gets_it_on_its_next_write(mdm, clock):
    from airflow_provider_chimera.writer.history import NO_CATALOG_RETRIES

    _load(mdm, clock)
    with mdm.load().transaction() as txn:
        txn.remove_properties(*NO_CATALOG_RETRIES)
    assert not set(NO_CATALOG_RETRIES) & set(mdm.load().properties)
    mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "annie"))), "overwrite", _info(run_id="r2"))
    assert {k: mdm.load().properties.get(k) for k in NO_CATALOG_RETRIES} == NO_CATALOG_RETRIES


def test_mdm_incremental_run_another_run_read_past_is_not_committed(mdm, clock, catalog, monkeypatch):
    from airflow_provider_chimera.writer.conflicts import PositionMovedError

    _load(mdm, clock)
    other = HistoryWriter(catalog, "qa", "customers", kind="mdm", keys=["id"], clock=clock)
    files = []

    def other_run():  # another run of the pipeline reads past this run's start and commits first
        other.write(CUSTOMERS, _rows(CUSTOMERS, _customers((2, "rob"), updated=3)), "append", _info("3", run_id="r3"))
        clock.now = at(3)
        files.extend(task.file.file_path for task in mdm.load().scan().plan_files())

    _another_commit_while_planning(monkeypatch, other_run)
    with pytest.raises(PositionMovedError, match="run r3 of pipeline p1 committed position"):
        mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((2, "bobby"), updated=2)), "append", _info("2", run_id="r2"))
    table = mdm.load()
    assert mdm.last_position("p1") == Position(cursor="3")
    assert {task.file.file_path for task in table.scan().plan_files()} == set(files)
    assert sorted(r["name"] for r in table.scan().to_arrow().to_pylist() if r["is_current"]) == ["ann", "cy", "rob"]


# --- reference ---------------------------------------------------------------------------------


def _price(sku: str, start: dt.date, end: dt.date | None, price: str) -> dict:
    import decimal

    return {"sku": sku, "effective_from": start, "effective_to": end, "price": decimal.Decimal(price)}


@pytest.fixture
def reference(catalog, clock):
    return HistoryWriter(catalog, "qa", "prices", kind="reference", keys=["sku"], clock=clock)


def test_reference_correction_keeps_the_superseded_version_as_of_its_time(reference, clock):
    jan, feb = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    first = [_price("a", jan, feb, "1.00"), _price("a", feb, None, "1.20"), _price("b", jan, None, "5.00")]
    assert reference.write(PRICES, _rows(PRICES, first), "overwrite", _info()).rows == 3
    clock.now = at(3)
    # The February price of "a" was wrong; "b" is re-sent unchanged; "a" gets a new March price.
    second = [
        _price("a", feb, None, "1.25"),
        _price("b", jan, None, "5.00"),
        _price("a", dt.date(2026, 3, 1), None, "1.30"),
    ]
    result = reference.write(PRICES, _rows(PRICES, second), "overwrite", _info())
    assert (result.rows, result.closed, result.unchanged) == (2, 1, 1)
    table = reference.load()
    assert table.schema().column_names == [
        "sku",
        "effective_from",
        "effective_to",
        "price",
        "valid_from",
        "valid_to",
        "_chimera_row_hash",
    ]

    def view(rows: pa.Table) -> list[tuple]:
        return sorted(
            (r["sku"], r["effective_from"].isoformat(), str(r["price"]), r["valid_from"], r["valid_to"])
            for r in rows.to_pylist()
        )

    assert view(table.scan().to_arrow()) == [
        ("a", "2026-01-01", "1.00", at(1), None),
        ("a", "2026-02-01", "1.20", at(1), at(3)),
        ("a", "2026-02-01", "1.25", at(3), None),
        ("a", "2026-03-01", "1.30", at(3), None),
        ("b", "2026-01-01", "5.00", at(1), None),
    ]
    assert view(as_of(table, at(2))) == [
        ("a", "2026-01-01", "1.00", at(1), None),
        ("a", "2026-02-01", "1.20", at(1), at(3)),
        ("b", "2026-01-01", "5.00", at(1), None),
    ]
    assert [r[2] for r in view(as_of(table, at(3)))] == ["1.00", "1.25", "1.30", "5.00"]
    assert as_of(table, at(1) - dt.timedelta(microseconds=1)).num_rows == 0


def test_reference_needs_business_validity_columns(reference):
    schema = pa.schema([("sku", pa.string()), ("effective_from", pa.date32()), ("price", pa.int64())])
    with pytest.raises(
        HistoryError,
        match=r"^qa\.prices: a 'reference' target needs the business validity columns \['effective_from', 'effective_to'\] "
        r"from the source; missing: \['effective_to'\]$",
    ):
        reference.write(schema, iter(()), "append", _info())


def test_as_of_on_mdm_returns_the_versions_current_then(mdm, clock):
    _load(mdm, clock)
    mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "anna"), updated=2)), "append", _info("2"))
    table = mdm.load()
    assert sorted(as_of(table, at(1, 12))["name"].to_pylist()) == ["ann", "bob", "cy"]
    assert sorted(as_of(table, at(2))["name"].to_pylist()) == ["anna", "bob", "cy"]
    with pytest.raises(ValueError, match="time-zone-aware"):
        as_of(table, dt.datetime(2026, 11, 2))


def test_a_new_source_column_versions_only_the_rows_that_fill_it(mdm, clock):
    _load(mdm, clock)
    wider = CUSTOMERS.append(pa.field("tier", pa.string()))
    batch = [
        dict(row, tier="gold" if row["id"] == 2 else None) for row in _customers((1, "ann"), (2, "bob"), (3, "cy"))
    ]
    result = mdm.write(wider, _rows(wider, batch), "append", _info("2"))
    assert (result.rows, result.closed, result.unchanged) == (1, 1, 2)
    current = mdm.load().scan(row_filter="is_current == true").to_arrow().sort_by("id")
    assert current["tier"].to_pylist() == [None, "gold", None]
    assert current["effective_from"].to_pylist() == [at(1), at(2), at(1)]


def test_a_failure_before_the_commit_leaves_table_and_position(mdm, clock, monkeypatch):
    from airflow_provider_chimera.faults import InjectedFailure

    _load(mdm, clock)
    before = mdm.load().current_snapshot().snapshot_id
    monkeypatch.setenv("CHIMERA_FAIL_AT", "after_files")
    with pytest.raises(InjectedFailure):
        mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "changed"), updated=5)), "append", _info("5"))
    monkeypatch.delenv("CHIMERA_FAIL_AT")
    assert mdm.load().current_snapshot().snapshot_id == before
    assert mdm.last_position("p1") == Position(cursor="1")
    retry = mdm.write(CUSTOMERS, _rows(CUSTOMERS, _customers((1, "changed"), updated=5)), "append", _info("5"))
    assert (retry.rows, retry.closed) == (1, 1)
    assert mdm.load().scan().to_arrow().num_rows == 4


def test_full_mode_through_the_ingest_task_keeps_keys_missing_from_the_snapshot(tmp_path, catalog):
    from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source

    data = tmp_path / "data"
    data.mkdir()
    schema = {"fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}
    source = single_object_source(
        "file", {"uri": data.as_uri()}, "people", {"type": "full"}, "people", path="*.jsonl", format="json", schema=schema
    )
    source["objects"][0]["ingestion"]["target"].update(kind="mdm", keys=["id"])

    def snapshot(*rows: tuple[int, str]) -> None:
        (data / "people.jsonl").write_text("".join(json.dumps({"id": i, "name": n}) + "\n" for i, n in rows))

    snapshot((1, "ann"), (2, "bob"), (3, "cy"))
    assert run_pipeline(pipeline_for(source))["rows"] == 3
    snapshot((1, "ann"), (2, "bobby"))  # 2 changed, 3 left out of the snapshot
    assert run_pipeline(pipeline_for(source))["rows"] == 1
    table = read_table(catalog, "qa.people")
    assert sorted((r["id"], r["name"], r["is_current"]) for r in table.to_pylist()) == [
        (1, "ann", True),
        (2, "bob", False),
        (2, "bobby", True),
        (3, "cy", True),
    ]
