"""Point 7 (registry part): one intent cannot block the registry sync, and nothing it names
overflows a registry column.

Against the real PostgreSQL of ``make services`` (which refuses a value longer than its column,
failing the whole transaction, where SQLite would keep it): an intent with a team name longer than
``teams.name`` and one whose object name PostgreSQL cannot store at all (a NUL character) sit
between two good intents; the sync records the good ones, records the bad ones as rejected with
the reason, and audits it. On SQLite, two writers that both read first no longer deadlock: every
writing session takes the write lock when it begins (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
import threading
import uuid
from functools import partial

import psycopg
import pytest
from sqlalchemy import func, select

from tests.conftest import SERVICES, require_service
from tests.helpers import postgres_uri
from tests.security.corpus import good_intent

COVERS = ("7",)


@pytest.fixture
def pg_registry(tmp_path, monkeypatch):
    """A registry in a fresh schema of the services' PostgreSQL, dropped afterwards."""
    from airflow_provider_chimera.registry.db import open_registry

    require_service("PostgreSQL", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    schema = f"chimera_limits_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(postgres_uri(SERVICES), autocommit=True)
    admin.execute(f"CREATE SCHEMA {schema}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    registry = open_registry(url=f"{postgres_uri(SERVICES)}?options=-csearch_path%3D{schema}")
    yield registry
    registry.close()
    admin.execute(f"DROP SCHEMA {schema} CASCADE")
    admin.close()


def _intent(name: str, team: str = "team-a") -> dict:
    data = good_intent()
    data["name"] = name
    data["team"]["name"] = team
    data["sources"][0]["objects"][0]["ingestion"]["target"]["table"] = name
    return data


def _write(folder, data: dict, stem: str | None = None):
    path = folder / f"{stem or data['name']}.json"
    path.write_text(json.dumps(data))
    return path


def test_a_too_long_value_is_named_by_its_json_path_and_the_columns_limit():
    from airflow_provider_chimera.contract.load import parse_intent
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.registry.limits import RegistryLimitError, check_intent, check_row, column_limit
    from airflow_provider_chimera.registry.models import CheckResultRow, TeamRow

    intent = parse_intent(json.dumps(good_intent()).encode(), "good.json", stem="good")
    check_intent(intent, "good.json", pipelines_of(intent, "good.json", ""))  # a good intent fits
    # Built past the contract, as an older onboarded version or a future contract gap would be.
    source = intent.sources[0]
    obj = source.objects[0].model_copy(update={"name": "o" * 501})
    long = intent.model_copy(update={"team": intent.team.model_copy(update={"name": "t" * 201}),
                                     "sources": [source.model_copy(update={"objects": [obj]})]})

    with pytest.raises(RegistryLimitError) as raised:
        check_intent(long, "long.json", pipelines_of(long, "long.json", ""))

    assert column_limit(TeamRow, "name") == 200
    by_path = {(p.path, p.message.split(" is ")[0]) for p in raised.value.problems}
    assert by_path == {
        ("/team/name", "the team name"),
        ("/sources/0/objects/0/name", "the object name"),
        ("/sources/0/objects/0/name", f"the pipeline id {long.name + '_files_' + 'o' * 29!r}..."),
    }
    team = next(p for p in raised.value.problems if p.path == "/team/name")
    assert str(team) == ("long.json: /team/name: the team name is 201 characters long; the registry's teams.name holds at "
                         "most 200 (shorten it: the registry keeps at most 200 characters here)")
    with pytest.raises(RegistryLimitError, match="check_results.check_name holds at most 250"):
        check_row(CheckResultRow, {"check_name": "c" * 251, "outcome": "passed"}, what="p1: check 'c...'")
    check_row(CheckResultRow, {"check_name": "c" * 250, "diagnostics": {"x": "y" * 1000}}, what="fits")


def test_one_bad_intent_cannot_block_the_sync_on_postgres(pg_registry, tmp_path, monkeypatch):
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.models import IntentRow, PipelineRow, TeamRow
    from airflow_provider_chimera.pipelines.sync import sync_registry

    folder = tmp_path / "intents"
    folder.mkdir()
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(folder))
    monkeypatch.delenv("AIRFLOW__CHIMERA__TENANCY_FILE", raising=False)
    _write(folder, _intent("alpha"))
    _write(folder, _intent("bravo", team="t" * 300))  # longer than teams.name
    charlie = _intent("charlie")
    # The contract refuses control characters in names, not in a file source's base: PostgreSQL
    # refuses the NUL of the stored connection, so this intent fails mid-intent, in a flush.
    charlie["sources"][0]["connection"]["uri"] += "/nul\u0000dir"
    _write(folder, charlie)
    _write(folder, _intent("delta"))

    report = sync_registry(pg_registry, folder, actor="qa")

    assert sorted(report.rejected) == ["bravo", "charlie"]
    assert sorted(report.created) == ["alpha_files_customers", "delta_files_customers"]
    with pg_registry.session(read_only=True) as session:
        status = dict(session.execute(select(IntentRow.name, IntentRow.status)).all())
        assert status == {"alpha": "valid", "bravo": "rejected", "charlie": "rejected", "delta": "valid"}
        assert session.scalars(select(TeamRow.name)).all() == ["team-a"]
        assert sorted(session.scalars(select(PipelineRow.pipeline_id))) == ["alpha_files_customers", "delta_files_customers"]
        rejected = {e.intent: e.details["problems"] for e in entries(session, action="intent.rejected", limit=None)}
    assert set(rejected) == {"bravo", "charlie"}
    (bravo,) = rejected["bravo"]
    assert bravo.startswith(f"{folder / 'bravo.json'}: /team/name: ") and "at most 100" in bravo  # a DAG tag
    assert any(str(folder / "charlie.json") in problem and "NUL" in problem for problem in rejected["charlie"])

    # Unchanged files, a second sync: nothing new is recorded or audited.
    again = sync_registry(pg_registry, folder, actor="qa")
    assert again.counts() == dict.fromkeys(again.counts(), 0)


def test_a_file_name_too_long_for_the_registry_is_recorded_under_a_name_that_fits(tmp_path, monkeypatch):
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import IntentRow
    from airflow_provider_chimera.pipelines.sync import sync_registry

    folder = tmp_path / "intents"
    folder.mkdir()
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AIRFLOW__CHIMERA__TENANCY_FILE", raising=False)
    stem = "x" * 240
    (folder / f"{stem}.json").write_text("{ not json")
    _write(folder, _intent("alpha"))
    with open_registry(url=f"sqlite:///{tmp_path / 'registry.db'}") as registry:
        report = sync_registry(registry, folder, actor="qa")
        with registry.session(read_only=True) as session:
            names = sorted(session.scalars(select(IntentRow.name)))
    assert report.created == ["alpha_files_customers"]
    assert len(names) == 2 and names[0] == "alpha"
    assert names[1].startswith("x" * 183 + "~") and len(names[1]) == 200


def _together(*targets) -> None:
    """Run ``targets`` in threads at once; wait for all (two minutes at most)."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_sqlite_writers_that_read_first_do_not_deadlock(tmp_path):
    """Two sessions that each read, then write: with deferred transactions SQLite makes one fail
    at once ("database is locked"); with the write lock taken up front the second simply waits."""
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import TeamRow

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    open_registry(url=url).close()
    read = threading.Barrier(2, timeout=1.0)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with open_registry(url=url) as registry, registry.session() as session:
                session.scalar(select(func.count()).select_from(TeamRow))
                try:
                    read.wait()  # both have read before either writes, when the lock allows it
                except threading.BrokenBarrierError:
                    pass  # the other waits for our lock: exactly what must happen
                session.add(TeamRow(name=name))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    _together(*(partial(writer, f"team-{i}") for i in range(2)))
    assert errors == []
    with open_registry(url=url) as registry, registry.session(read_only=True) as session:
        assert sorted(session.scalars(select(TeamRow.name))) == ["team-0", "team-1"]


def test_concurrent_syncs_of_one_sqlite_registry_all_succeed(tmp_path, monkeypatch):
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import PipelineRow
    from airflow_provider_chimera.pipelines.sync import sync_registry

    folder = tmp_path / "intents"
    folder.mkdir()
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AIRFLOW__CHIMERA__TENANCY_FILE", raising=False)
    for name in ("alpha", "bravo", "charlie"):
        _write(folder, _intent(name))
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    open_registry(url=url).close()
    errors: list[BaseException] = []

    def sync() -> None:
        try:
            with open_registry(url=url) as registry:
                sync_registry(registry, folder, actor="qa")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    _together(*[sync] * 4)
    assert errors == []
    with open_registry(url=url) as registry, registry.session(read_only=True) as session:
        assert sorted(session.scalars(select(PipelineRow.pipeline_id))) == [
            "alpha_files_customers", "bravo_files_customers", "charlie_files_customers"]
