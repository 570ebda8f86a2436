"""Concurrent commits to one ``mdm`` table, across processes sharing one catalog (``writer.history``).

Two processes each commit several times to one history table at once: each its own keys, and one
key both change on every commit. A commit that loses the race is planned again from the table as
it is then, so every version adds up: each own key has one version per round, the shared key one
per commit of either process, chained without gaps or overlaps, and exactly one current version
per key. Once through the pipeline (each load staged on its audit branch, checked and published:
a load whose publish finds main moved is planned again on main's new snapshot), once through the
writer alone (commits to main).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.helpers import pipeline_for, read_table, record_schema, single_object_source
from tests.integration.writer.test_concurrent_commits import _Counter, at_once, shared_catalog  # noqa: F401 (a fixture)

PROCESSES = 2
ROUNDS = 6
OWN_KEYS = 20
SHARED = 0  # the key every commit of both processes changes


def _people(process: int, round_: int) -> list[dict]:
    name = f"p{process}-r{round_}"
    return [{"id": SHARED, "name": name}] + [{"id": process * 100 + k, "name": name} for k in range(1, OWN_KEYS + 1)]


def _source(folder: Path) -> dict:
    return single_object_source(
        "file", {"uri": folder.as_uri()}, "people", {"type": "full"}, "people",
        path="people.csv", format="csv", schema=record_schema(["id"], id="long", name="string"),
    )


def _with_history_target(source: dict) -> dict:
    source["objects"][0]["ingestion"]["target"].update(kind="mdm", keys=["id"])
    return source


def _commits(process: int, how: str, folder: str, start, results) -> None:
    """A worker process: wait for the other, then commit ``ROUNDS`` times."""
    counter = _Counter()
    logging.getLogger("airflow_provider_chimera.writer.conflicts").addHandler(counter)
    outcomes = []
    try:
        if how == "pipeline":
            from tests.helpers import run_pipeline

            pipeline = pipeline_for(_with_history_target(_source(Path(folder))))
            start.wait(timeout=120)
            for round_ in range(ROUNDS):
                rows = _people(process, round_)
                (Path(folder) / "people.csv").write_text("id,name\n" + "".join(f"{r['id']},{r['name']}\n" for r in rows))
                result = run_pipeline(pipeline, run_id=f"p{process}-r{round_}")
                outcomes.append((result["rows"], result["published"]))
        else:
            import pyarrow as pa

            from airflow_provider_chimera.settings import load_settings
            from airflow_provider_chimera.sources.base import Position
            from airflow_provider_chimera.writer import CommitInfo, chimera_catalog
            from airflow_provider_chimera.writer.history import HistoryWriter

            schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
            writer = HistoryWriter(chimera_catalog(load_settings()), "qa", "people", kind="mdm", keys=["id"])
            start.wait(timeout=120)
            for round_ in range(ROUNDS):
                batch = pa.RecordBatch.from_pylist(_people(process, round_), schema=schema)
                info = CommitInfo(pipeline="qa_people", run_id=f"p{process}-r{round_}", source="qa/people", position=Position())
                result = writer.write(schema, iter([batch]), "overwrite", lambda info=info: info)
                outcomes.append((result.rows, result.committed))
        results.put((process, outcomes, counter.conflicts, None))
    except BaseException as exc:
        import traceback

        results.put((process, outcomes, counter.conflicts, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


@pytest.mark.parametrize("how", ["pipeline", "writer"])
def test_two_processes_commit_to_one_mdm_table_at_once_and_every_version_adds_up(shared_catalog, how, tmp_path):  # noqa: F811
    catalog, _ = shared_catalog
    folders = [tmp_path / f"process-{p}" for p in range(PROCESSES)]
    for folder in folders:
        folder.mkdir()
    outcomes = at_once(_commits, [(p, how, str(folders[p])) for p in range(PROCESSES)])

    assert [error for *_, error in outcomes if error] == []
    # Every commit of both processes opened a version of each of its rows' keys.
    assert [commits for _, commits, _, _ in outcomes] == [[(OWN_KEYS + 1, True)] * ROUNDS] * PROCESSES
    retried = sum(conflicts for _, _, conflicts, _ in outcomes)
    assert retried > 0, "two processes committing at once: some commits must have lost a race and been retried"
    print(f"conflict retries per process: {[conflicts for _, _, conflicts, _ in outcomes]}")

    rows = read_table(catalog, "qa.people").to_pylist()
    assert len(rows) == PROCESSES * ROUNDS * (OWN_KEYS + 1)
    by_key: dict[int, list[dict]] = {}
    for row in rows:
        by_key.setdefault(row["id"], []).append(row)
    assert len(by_key) == PROCESSES * OWN_KEYS + 1
    for key, versions in by_key.items():
        versions.sort(key=lambda r: r["effective_from"])
        expected = PROCESSES * ROUNDS if key == SHARED else ROUNDS
        assert len(versions) == expected, (key, versions)
        assert [v["is_current"] for v in versions] == [False] * (expected - 1) + [True], (key, versions)
        # Each version ends where the next begins; the current one is open.
        assert [v["effective_to"] for v in versions] == [v["effective_from"] for v in versions[1:]] + [None], (key, versions)
        if key != SHARED:
            assert [v["name"] for v in versions] == [f"p{key // 100}-r{r}" for r in range(ROUNDS)]
    # The shared key went through every commit of both processes, each process's in its order.
    shared = [v["name"] for v in by_key[SHARED]]
    assert sorted(shared) == sorted(f"p{p}-r{r}" for p in range(PROCESSES) for r in range(ROUNDS))
    for process in range(PROCESSES):
        assert [n for n in shared if n.startswith(f"p{process}-")] == [f"p{process}-r{r}" for r in range(ROUNDS)]
