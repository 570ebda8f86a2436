"""A transaction's metadata is computed once per state: repeated reads do not deep-copy the table's
metadata again, a staged update or a refreshed table gives the new state, and commits are unchanged."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyiceberg.table import Transaction

import airflow_provider_chimera.writer  # noqa: F401  (installs the cached property)
from airflow_provider_chimera.writer import txn_metadata
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer.iceberg import CommitInfo, IcebergWriter

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])


def _table(catalog, rows: int = 3):
    writer = IcebergWriter(catalog, "qa", "people")
    batch = pa.RecordBatch.from_pydict({"id": list(range(rows)), "name": [f"n{i}" for i in range(rows)]}, schema=SCHEMA)
    info = CommitInfo(pipeline="people", run_id="run_1", source="db/people", position=Position())
    writer.write(SCHEMA, iter([batch]), "append", lambda: info)
    return writer.load()


@pytest.fixture
def replays(monkeypatch):
    """How many times a transaction replayed its updates onto the table's metadata."""
    calls = []
    original = txn_metadata.update_table_metadata

    def counting(base, updates, *args, **kwargs):
        calls.append(len(updates))
        return original(base, updates, *args, **kwargs)

    monkeypatch.setattr(txn_metadata, "update_table_metadata", counting)
    return calls


def test_the_cached_property_is_installed_on_pyiceberg_0_12():
    assert txn_metadata.INSTALLED
    assert Transaction.table_metadata.fget is txn_metadata._cached_table_metadata


def test_repeated_reads_of_one_state_replay_once_and_a_staged_update_replays_again(catalog, replays):
    table = _table(catalog)
    replays.clear()  # the writer's own commit
    txn = table.transaction()
    first = txn.table_metadata
    assert all(txn.table_metadata is first for _ in range(10))
    assert replays == [0]
    assert first == table.metadata  # the same content as the table's, a copy of it
    txn.set_properties({"team": "qa"})
    staged = txn.table_metadata
    assert replays == [0, 1]
    assert staged.properties["team"] == "qa" and "team" not in first.properties
    assert txn.table_metadata is staged


def test_a_refreshed_table_is_a_new_state(catalog, replays):
    table = _table(catalog)
    replays.clear()
    txn = table.transaction()
    before = txn.table_metadata
    other = catalog.load_table("qa.people")
    other.transaction().set_properties({"owner": "someone else"}).commit_transaction()
    table.refresh()
    replayed = len(replays)
    after = txn.table_metadata
    assert after is not before and len(replays) == replayed + 1
    assert after.properties["owner"] == "someone else"
    assert txn.table_metadata is after


def test_commits_through_the_cached_property_keep_every_row(catalog):
    table = _table(catalog, rows=5)
    with table.transaction() as txn:
        txn.append(pa.Table.from_pydict({"id": [10, 11], "name": ["a", "b"]}, schema=SCHEMA))
        txn.set_properties({"stage": "two"})
    with table.transaction() as txn:
        txn.delete("id < 2")
    table = catalog.load_table("qa.people")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [2, 3, 4, 10, 11]
    assert table.properties["stage"] == "two"
    assert len(table.metadata.snapshots) == 3


def test_install_leaves_a_pyiceberg_whose_property_changed_alone(monkeypatch):
    fixed = property(lambda self: None)  # a release that caches on its own
    monkeypatch.setattr(Transaction, "table_metadata", fixed)
    assert txn_metadata.install() is False
    assert Transaction.__dict__["table_metadata"] is fixed
