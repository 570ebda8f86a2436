"""The registry on PostgreSQL: migrations in a schema of its own, and an audit round trip."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, text

from airflow_provider_chimera.registry.audit import entries, record
from airflow_provider_chimera.registry.db import head_revision, open_registry

TABLES = {"teams", "projects", "intents", "intent_versions", "sources", "objects", "pipelines", "runs", "audit_log", "alembic_version",
          "check_results", "sla_status", "sla_events", "onboarded_versions", "onboarding_state", "metadata_queue",
          "alerts"}


def test_migrations_and_audit_round_trip(pg_url, monkeypatch):
    url, schema, admin = pg_url
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", url)
    registry = open_registry()
    again = open_registry()  # already at head: nothing to do, no error
    try:
        assert registry.engine.dialect.name == "postgresql"
        assert "***" in registry.url and ":chimera@" not in registry.url
        assert set(inspect(registry.engine).get_table_names(schema=schema)) == TABLES
        with registry.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]

        record(registry, "jane", "intent.onboarded", intent="sales_crm", intent_hash="cd" * 32,
               details={"uri": "postgresql://reader:Pg5ecret@crm/crm", "token": "t-1234", "keys": ["id"]})
        with again.session() as session:
            (entry,) = entries(session, intent="sales_crm", since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        assert (entry.actor, entry.action, entry.intent_hash) == ("jane", "intent.onboarded", "cd" * 32)
        assert entry.details == {"uri": "postgresql://reader:***@crm/crm", "token": "***", "keys": ["id"]}
        assert entry.at.tzinfo is not None
        stored = admin.execute(f"SELECT details::text FROM {schema}.audit_log").fetchone()[0]
        assert "Pg5ecret" not in stored and "t-1234" not in stored
    finally:
        registry.close()
        again.close()


def test_registry_locks_are_advisory_locks_held_in_the_database(pg_url, services, monkeypatch, tmp_path):
    """Every named lock is a PostgreSQL advisory lock: another connection (another host) cannot take
    it while it is held, and no lock file is written."""
    import psycopg

    from airflow_provider_chimera.registry.db import advisory_key
    from tests.helpers import postgres_uri

    url, _, _ = pg_url
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", url)
    other = psycopg.connect(postgres_uri(services), autocommit=True)
    registry = open_registry()
    try:
        for name in ("migrate", "sync", "onboarding-events", "datahub-lite-writer"):
            with registry.exclusive(name):
                assert other.execute("SELECT pg_try_advisory_lock(%s)", [advisory_key(name)]).fetchone()[0] is False
            assert other.execute("SELECT pg_try_advisory_lock(%s)", [advisory_key(name)]).fetchone()[0] is True
            other.execute("SELECT pg_advisory_unlock(%s)", [advisory_key(name)])
    finally:
        registry.close()
        other.close()
    assert not list(tmp_path.rglob("*.lock"))
