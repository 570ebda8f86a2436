"""The registry database: migrations on a fresh SQLite file, repeatable and safe to race."""

from __future__ import annotations

import multiprocessing

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from airflow_provider_chimera.registry.db import HEAD_REVISION, head_revision, open_registry
from airflow_provider_chimera.registry.models import Base
from airflow_provider_chimera.settings import load_settings

TABLES = {"teams", "projects", "intents", "intent_versions", "sources", "objects", "pipelines", "runs", "audit_log",
          "check_results", "sla_status", "sla_events", "onboarded_versions", "onboarding_state", "metadata_queue",
          "alerts"}


def test_default_location_is_under_airflow_home(chimera_home):
    settings = load_settings()
    assert settings.sql_alchemy_conn == f"sqlite:///{chimera_home}/chimera/registry.db"
    assert settings.state_dir == chimera_home / "chimera"


def test_migrations_create_every_table_on_a_fresh_file(registry, chimera_home):
    assert (chimera_home / "chimera" / "registry.db").is_file()
    assert set(inspect(registry.engine).get_table_names()) == TABLES | {"alembic_version"}
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]


def test_models_and_migrations_agree(registry):
    with registry.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_opening_twice_is_fine(registry):
    with registry.session() as session:
        session.execute(text("INSERT INTO teams (name, created_at) VALUES ('kept', '2026-11-25 00:00:00')"))
    again = open_registry()
    with again.session() as session:
        assert session.execute(text("SELECT name FROM teams")).scalars().all() == ["kept"]
    again.close()


def _race(url: str, settings, barrier, results) -> None:
    barrier.wait(timeout=60)  # every process opens the fresh database at the same moment
    try:
        open_registry(settings, url=url).close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_fresh_database_at_once_all_succeed(tmp_path, chimera_home):
    url, racers = f"sqlite:///{tmp_path / 'race' / 'registry.db'}", 4
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(racers), ctx.Queue()
    settings = load_settings()
    procs = [ctx.Process(target=_race, args=(url, settings, barrier, results)) for _ in range(racers)]
    for proc in procs:
        proc.start()
    outcomes = sorted(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    assert outcomes == ["ok"] * racers
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    engine.dispose()


def test_sql_alchemy_conn_option_moves_the_registry(chimera_home, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    reg = open_registry()
    assert reg.url == f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert (tmp_path / "elsewhere.db").is_file()
    reg.close()


def test_the_head_revision_constant_is_alembics_head():
    """Opening a current registry compares with HEAD_REVISION: a new migration must update it."""
    assert HEAD_REVISION == head_revision()


def test_the_state_files_of_earlier_versions_are_imported_once(chimera_home):
    """Migration 0005 imports ``<state_dir>/onboarded`` and ``<state_dir>/onboarding``: upgrading
    forgets no onboarding and holds back no pipeline."""
    import hashlib
    import json

    from airflow_provider_chimera.onboarding.state import load_state
    from airflow_provider_chimera.registry.manifest import read_onboarded
    from tests.unit.registry.conftest import INTENT

    state_dir = chimera_home / "chimera"
    (state_dir / "onboarded").mkdir(parents=True)
    (state_dir / "onboarding").mkdir()
    raw = json.dumps(INTENT).encode()
    (state_dir / "onboarded" / "sales_crm.json").write_bytes(raw)
    state = {"completed": {"hash": hashlib.sha256(raw).hexdigest(), "pipelines": ["sales_crm_crm_public_customers"]}}
    (state_dir / "onboarding" / "sales_crm.json").write_text(json.dumps(state))
    registry = open_registry()
    try:
        with registry.session(read_only=True) as session:
            assert read_onboarded(session, "sales_crm").content_hash == hashlib.sha256(raw).hexdigest()
            assert load_state(session, "sales_crm") == state
    finally:
        registry.close()


def test_a_registry_on_another_database_refuses_to_lock_rather_than_let_everyone_in():
    import pytest

    from airflow_provider_chimera.errors import FixRequired
    from airflow_provider_chimera.registry.db import Registry

    engine = create_engine("snowflake://chimera:S3cret@acme/registry")  # no connection is made
    with pytest.raises(FixRequired) as raised, Registry(engine).exclusive("sync"):
        pytest.fail("entered a lock that locks nothing")
    message = str(raised.value)
    assert "is on snowflake" in message and "PostgreSQL, MySQL/MariaDB or SQLite" in message and "S3cret" not in message


def test_an_in_memory_registry_needs_no_lock():
    from airflow_provider_chimera.registry.db import Registry

    entered = []
    with Registry(create_engine("sqlite://")).exclusive("sync"):
        entered.append(True)
    assert entered == [True]


def test_mysql_lock_names_fit_the_server_and_differ_per_registry_database():
    from airflow_provider_chimera.registry.db import mysql_lock_name

    names = {mysql_lock_name(db, lock) for db in ("registry_a", "registry_b") for lock in ("sync", "x" * 200)}
    assert len(names) == 4 and all(len(name) <= 64 for name in names)
    assert mysql_lock_name("registry_a", "sync").startswith("chimera.sync.")


def test_a_process_reuses_one_engine_per_registry_and_keeps_no_connection_open(tmp_path):
    """A task opens the registry several times: one engine (its compiled statements reused), and
    no connection left open after each close; a forked child builds its own engine."""
    import os

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with open_registry(url=url) as first, first.session(read_only=True) as session:
        session.execute(text("SELECT 1"))
    with open_registry(url=url) as second:
        assert second.engine is first.engine
    assert first.engine.pool.checkedin() == 0  # closed: the pooled connection went with it
    read, write = os.pipe()
    if (pid := os.fork()) == 0:  # the child's registry is its own
        with open_registry(url=url) as child:
            os.write(write, b"own" if child.engine is not first.engine else b"shared")
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == "own"
    with open_registry(url="sqlite://") as a, open_registry(url="sqlite://") as b:
        assert a.engine is not b.engine  # in-memory databases: one each, as before
