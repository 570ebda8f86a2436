"""Commit conflicts: the bounds of the retry loop (tries, total time), its error, re-validation."""

from __future__ import annotations

import pytest
from pyiceberg.exceptions import BadRequestError, CommitFailedException

from airflow_provider_chimera.errors import Transient
from airflow_provider_chimera.writer.conflicts import Backoff, CommitConflictError, is_conflict, retry_commits


class Clock:
    """Time that passes only when the loop sleeps."""

    def __init__(self):
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def _losing(tries: list[int]):
    def commit(tried: int):
        tries.append(tried)
        raise CommitFailedException("Table has been updated by another process: qa.t")

    return commit


def test_a_commit_that_keeps_losing_stops_after_the_attempts_cap_as_transient():
    clock, tries = Clock(), []
    with pytest.raises(CommitConflictError) as raised:
        retry_commits("qa.t", _losing(tries), backoff=Backoff(attempts=4, seconds=600), sleep=clock.sleep, clock=clock)
    assert tries == [1, 2, 3, 4] and len(clock.waits) == 3
    assert isinstance(raised.value, Transient)
    message = str(raised.value)
    assert message.startswith("qa.t: the commit lost to concurrent commits to the table 4 time(s)")
    assert "commit_retry_attempts=4" in message and "commit_retry_seconds=600" in message
    assert "Table has been updated by another process" in message
    assert isinstance(raised.value.__cause__, CommitFailedException)


def test_waits_grow_exponentially_with_jitter_up_to_the_longest_wait():
    clock, tries = Clock(), []
    backoff = Backoff(attempts=12, seconds=10_000, first_wait=0.1, longest_wait=1.0)
    with pytest.raises(CommitConflictError):
        retry_commits("qa.t", _losing(tries), backoff=backoff, sleep=clock.sleep, clock=clock)
    ceilings = [min(1.0, 0.1 * 2**n) for n in range(11)]
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(clock.waits, ceilings, strict=True))
    assert max(clock.waits) <= 1.0


def test_the_total_time_cap_stops_before_the_attempts_cap():
    clock, tries = Clock(), []
    backoff = Backoff(attempts=1000, seconds=3.0, first_wait=1.0, longest_wait=1.0)
    with pytest.raises(CommitConflictError, match=r"commit_retry_seconds=3\b"):
        retry_commits("qa.t", _losing(tries), backoff=backoff, sleep=clock.sleep, clock=clock)
    assert clock.now <= 3.0 and len(tries) < 1000


def test_a_commit_that_wins_on_a_later_try_returns_its_result_after_revalidating():
    clock, revalidated = Clock(), []

    def commit(tried: int) -> str:
        if tried < 3:
            raise CommitFailedException("Requirement failed: branch main has changed")
        return f"committed on try {tried}"

    result = retry_commits(
        "qa.t", commit, revalidate=lambda: revalidated.append(1), backoff=Backoff(attempts=5), sleep=clock.sleep, clock=clock
    )
    assert result == "committed on try 3" and len(revalidated) == 2


def test_revalidation_that_finds_the_commit_landed_does_not_commit_again():
    clock, tries = Clock(), []
    result = retry_commits(
        "qa.t", _losing(tries), revalidate=lambda: "snapshot 42", backoff=Backoff(attempts=5), sleep=clock.sleep, clock=clock
    )
    assert (result, tries) == ("snapshot 42", [1])


def test_other_errors_are_not_retried():
    tries = []

    def commit(tried: int):
        tries.append(tried)
        raise OSError("disk full")

    with pytest.raises(OSError):
        retry_commits("qa.t", commit, backoff=Backoff(attempts=5))
    assert tries == [1]


def test_what_counts_as_a_conflict():
    assert is_conflict(CommitFailedException("x"))
    assert is_conflict(ValueError("Cannot add snapshot with sequence number 5 older than last sequence number 6"))
    assert not is_conflict(ValueError("bad value"))
    # Iceberg's REST catalog: two runs committing to their audit branches at once (seen on `make cluster`).
    stale = "ValidationException: Cannot add snapshot with sequence number 2 older than last sequence number 2"
    assert is_conflict(BadRequestError(stale))
    # ...and a new table's first load (staged with no parent) built on metadata that moved
    # (seen on `make cluster`: a backfill's eight runs at once on a loaded machine).
    parentless = "ValidationException: Invalid snapshot with sequence number 3 greater than last sequence number 2"
    assert is_conflict(BadRequestError(parentless))
    assert not is_conflict(BadRequestError("ValidationException: Cannot set current snapshot to unknown snapshot id 7"))


def test_the_caps_come_from_the_chimera_options(settings, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__COMMIT_RETRY_ATTEMPTS", "3")
    monkeypatch.setenv("AIRFLOW__CHIMERA__COMMIT_RETRY_SECONDS", "45")
    assert (Backoff.configured().attempts, Backoff.configured().seconds) == (3, 45.0)


# --- re-validating main's positions before a retry ------------------------------------------------


def test_revalidation_reads_main_since_the_load_started(catalog):
    import pyarrow as pa

    from airflow_provider_chimera.sources.base import Position
    from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
    from airflow_provider_chimera.writer.conflicts import PositionMovedError
    from airflow_provider_chimera.writer.iceberg import settled

    schema = pa.schema([pa.field("id", pa.int64())])
    writer = IcebergWriter(catalog, "qa", "t")

    def info(run: str, cursor: str) -> CommitInfo:
        return CommitInfo(pipeline="p1", run_id=run, source="s/o", position=Position(cursor=cursor))

    def write(run: str, cursor: str, ids: list[int]):
        return writer.write(schema, iter([pa.RecordBatch.from_pydict({"id": ids}, schema=schema)]), "append", lambda: info(run, cursor))

    base = write("r0", "1", [1]).snapshot_id
    ours = write("r1", "3", [2, 3])
    table = writer.load()
    # The load is on main already (its answer was lost): found, not committed twice.
    assert settled(table, base, info("r1", "3"), True, "qa.t").snapshot_id == ours.snapshot_id
    # Nothing of the pipeline since the base: go ahead.
    assert settled(table, ours.snapshot_id, info("r2", "5"), True, "qa.t") is None
    # Another run moved the position past the one r2 read from: refuse, naming both.
    with pytest.raises(PositionMovedError, match=r"qa.t: run r1 of pipeline p1 committed position .*while run r2 was loading"):
        settled(table, base, info("r2", "5"), True, "qa.t")
    # A replace (partitioned, full) has no read position to protect.
    assert settled(table, base, info("r2", "5"), False, "qa.t") is None
