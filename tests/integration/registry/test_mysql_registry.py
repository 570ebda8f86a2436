"""The registry on MariaDB (a MySQL/MariaDB Airflow metadata server): migrations, and registry-wide
locks held on the server (``GET_LOCK``), so processes on several hosts take turns (issue 16)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from airflow_provider_chimera.registry.audit import entries, record
from airflow_provider_chimera.registry.db import head_revision, mysql_lock_name, open_registry
from tests.integration.registry.test_postgres_registry import TABLES

REPO = Path(__file__).resolve().parents[3]
# A process that takes the lock ``sys.argv[1]`` and says when, on stdout; with "hold", it keeps
# the lock until a line arrives on stdin and says when it lets go.
LOCKER = """
import sys, time
from airflow_provider_chimera.registry.db import open_registry
registry = open_registry()
print("waiting", time.time(), flush=True)
with registry.exclusive(sys.argv[1]):
    print("held", time.time(), flush=True)
    if sys.argv[2:] == ["hold"]:
        sys.stdin.readline()
        print("releasing", time.time(), flush=True)
print("released", time.time(), flush=True)
"""


def _event(proc: subprocess.Popen, expected: str) -> float:
    """The time of ``proc``'s next event, which must be ``expected``."""
    line = proc.stdout.readline()
    assert line.split()[:1] == [expected], line + proc.stderr.read()
    return float(line.split()[1])


def _locker(url: str, name: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN": url, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", LOCKER, name, *args], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _waiting_on(admin, lock: str) -> int:
    """How many server connections are waiting in GET_LOCK for ``lock``."""
    cur = admin.cursor()
    cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'User lock' AND INFO LIKE %s", [f"%GET_LOCK('{lock}'%"])
    return cur.fetchone()[0]


def test_migrations_and_audit_round_trip(mysql_url, monkeypatch):
    url, _ = mysql_url
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", url)
    registry = open_registry()
    again = open_registry()  # already at head: nothing to do, no error
    try:
        assert registry.engine.dialect.name in ("mysql", "mariadb")
        assert set(inspect(registry.engine).get_table_names()) == TABLES
        with registry.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
        record(registry, "jane", "intent.onboarded", intent="sales_crm", intent_hash="cd" * 32,
               details={"uri": "mysql://reader:My5ecret@crm/crm", "keys": ["id"]})
        with again.session() as session:
            (entry,) = entries(session, intent="sales_crm", since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        assert (entry.actor, entry.action, entry.details) == ("jane", "intent.onboarded", {"uri": "mysql://reader:***@crm/crm", "keys": ["id"]})
    finally:
        registry.close()
        again.close()


def test_a_second_process_waits_for_the_lock_until_the_first_releases_it(mysql_url):
    url, admin = mysql_url
    open_registry(url=url).close()  # migrated up front: the processes below only lock
    lock = mysql_lock_name(url.rsplit("/", 1)[1], "sync")
    first = _locker(url, "sync", "hold")
    second = None
    try:
        _event(first, "waiting")
        first_held = _event(first, "held")
        second = _locker(url, "sync")
        second_asked = _event(second, "waiting")
        # The server shows the second process blocked in GET_LOCK on the lock the first holds.
        deadline = time.monotonic() + 60
        while not _waiting_on(admin, lock):
            assert time.monotonic() < deadline, "the second process never waited for the lock"
            assert second.poll() is None, second.stdout.read() + second.stderr.read()
            time.sleep(0.1)
        first.stdin.write("release\n")
        first.stdin.flush()
        first_releasing = _event(first, "releasing")
        second_held = _event(second, "held")
        assert first_held < second_asked < first_releasing <= second_held
        assert second.wait(timeout=60) == 0 and first.wait(timeout=60) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()


def test_a_lock_held_elsewhere_times_out_with_a_transient_error(mysql_url, services):
    import MySQLdb

    from airflow_provider_chimera.errors import Transient
    from airflow_provider_chimera.registry.db import RegistryLockTimeout

    url, _ = mysql_url
    registry = open_registry(url=url)
    other = MySQLdb.connect(host=services["CHIMERA_MYSQL_HOST"], port=int(services["CHIMERA_MYSQL_PORT"]),
                            user=services["CHIMERA_MYSQL_USER"], password=services["CHIMERA_MYSQL_PASSWORD"], autocommit=True)
    lock = mysql_lock_name(url.rsplit("/", 1)[1], "datahub-lite-writer")
    try:
        cur = other.cursor()
        cur.execute("SELECT GET_LOCK(%s, 0)", [lock])  # another host's writer holds it
        assert cur.fetchone()[0] == 1
        started = time.monotonic()
        with pytest.raises(RegistryLockTimeout) as raised, registry.exclusive("datahub-lite-writer", timeout=1):
            pytest.fail("entered a lock another connection holds")
        assert 0.9 < time.monotonic() - started < 10
        assert isinstance(raised.value, Transient)
        message = str(raised.value)
        assert "'datahub-lite-writer'" in message and "not obtained within 1 s" in message
        assert ":***@" in message and f":{services['CHIMERA_MYSQL_PASSWORD']}@" not in message
        cur.execute("SELECT RELEASE_LOCK(%s)", [lock])
        with registry.exclusive("datahub-lite-writer", timeout=1):  # free again: taken at once
            cur.execute("SELECT IS_FREE_LOCK(%s)", [lock])
            assert cur.fetchone()[0] == 0
        cur.execute("SELECT IS_FREE_LOCK(%s)", [lock])
        assert cur.fetchone()[0] == 1
    finally:
        registry.close()
        other.close()


def _open(url: str) -> str:
    try:
        open_registry(url=url).close()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported to the test, which names it
        return f"{type(exc).__name__}: {exc}"


def test_processes_opening_a_fresh_registry_at_once_all_succeed(mysql_url):
    """MySQL's DDL is not transactional: only the "migrate" lock keeps racing processes from
    creating the same tables twice."""
    import multiprocessing

    url, _ = mysql_url
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        assert pool.map(_open, [url] * 3, chunksize=1) == ["ok"] * 3
    registry = open_registry(url=url)
    try:
        assert set(inspect(registry.engine).get_table_names()) == TABLES
    finally:
        registry.close()
