"""Opening the registry: engine, sessions, and migrations applied up to the newest revision.

``open_registry`` may run in several processes at once (the CLI, a task, a second CLI): the
upgrade runs under the registry-wide lock ``migrate`` (below) and is skipped when the database is already at the newest revision.

A registry server that does not answer raises :class:`RegistryUnreachable` within
:data:`CONNECT_TIMEOUT_S` seconds (``open_registry(connect_timeout=...)``), never hangs a task.
On SQLite every session that may write takes the database's write lock when it begins (``BEGIN
IMMEDIATE``), so two writers never both read first and then deadlock upgrading their locks;
read-only sessions (``session(read_only=True)``) do not wait for writers.

Registry-wide locks (:meth:`Registry.exclusive`; ``migrate``, ``sync``, ``onboarding-events``,
``datahub-lite-writer``) are held in the database on PostgreSQL, session advisory locks
(``pg_advisory_lock`` on a connection of their own, released when the block ends or the process
dies), so processes on every host that share the registry take turns. On MySQL and MariaDB they
are user-level locks (``GET_LOCK``/``RELEASE_LOCK``, see :func:`mysql_lock_name`), likewise on a
connection of their own; a lock not obtained within ``timeout`` seconds (:data:`LOCK_WAIT_S`)
raises :class:`RegistryLockTimeout`. On SQLite, which one host uses by definition, they are
``fcntl`` lock files beside the database file (``registry.db.<name>.lock``). The registry runs on
no other database: a lock there raises :class:`~airflow_provider_chimera.errors.FixRequired`
rather than letting two processes in at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from airflow_provider_chimera.errors import FixRequired, Transient
from airflow_provider_chimera.settings import ChimeraSettings, load_settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision, so that opening a current registry needs one query and no
# Alembic import (~0.15 s per task); a unit test holds it equal to Alembic's head.
HEAD_REVISION = "0007"
SQLITE_BUSY_TIMEOUT_S = 30
# How long connecting to a registry server may take before RegistryUnreachable.
CONNECT_TIMEOUT_S = 10
# How long a process waits for a registry-wide lock on MySQL/MariaDB before RegistryLockTimeout:
# longer than a sync or a DataHub Lite write holds one, short of hanging a task for good.
LOCK_WAIT_S = 300
# The databases the registry runs on (SQLAlchemy backend names), as error messages name them.
SUPPORTED_DATABASES = "PostgreSQL, MySQL/MariaDB or SQLite"
# The execution option that makes a SQLite transaction begin with BEGIN IMMEDIATE.
_IMMEDIATE = "chimera_sqlite_immediate"


class RegistryUnreachable(Transient, ConnectionError):
    """The registry's database did not answer (within the connect timeout); the message names it,
    password hidden. Transient: retry once the database is back."""


class RegistryLockTimeout(Transient, TimeoutError):
    """Another process held a registry-wide lock for longer than the wait allowed; the message
    names the lock and the registry. Transient: retry once that process is done."""


class Registry:
    """An open registry: its engine and sessions."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine.execution_options(**{_IMMEDIATE: True}), expire_on_commit=False)
        self._readers = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error. On SQLite it
        holds the write lock from its first statement on, unless ``read_only``."""
        with (self._readers if read_only else self._sessions).begin() as session:
            yield session

    @contextlib.contextmanager
    def exclusive(self, name: str, *, timeout: float = LOCK_WAIT_S) -> Iterator[None]:
        """Hold the registry-wide lock ``name`` (across processes, and hosts on PostgreSQL and
        MySQL/MariaDB) for the duration of the block. On MySQL/MariaDB waiting longer than
        ``timeout`` seconds raises :class:`RegistryLockTimeout`."""
        with _lock(self.engine, name, timeout=timeout):
            yield

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_registry(
    settings: ChimeraSettings | None = None, *, url: str | None = None, connect_timeout: float = CONNECT_TIMEOUT_S
) -> Registry:
    """Connect to the registry of ``settings`` (or ``url``) and migrate it to the newest revision;
    :class:`RegistryUnreachable` when its server does not answer within ``connect_timeout`` seconds."""
    settings = settings or load_settings()
    url = (url or settings.sql_alchemy_conn).strip()
    engine = _shared_engine(url, connect_timeout)
    _reach(engine, connect_timeout)
    if url not in _MIGRATED:
        # Once per process and database: a task opens the registry several times, and the
        # migration check (Alembic, a lock) is the expensive part of opening it.
        upgrade(engine)
        _MIGRATED.add(url)
    return Registry(engine)


_MIGRATED: set[str] = set()
# One engine per database and timeout in a process (an in-memory SQLite database excepted): a task
# opens the registry three or four times, and a new engine compiles every statement again (its
# compiled-statement cache is the engine's). Closing a registry still closes its connections
# (Engine.dispose), so no connection stays open between opens; a forked child starts afresh.
_ENGINES: dict[tuple[str, float], Engine] = {}


def _shared_engine(url: str, connect_timeout: float) -> Engine:
    if _in_memory(url):
        return _engine(url, connect_timeout)
    key = (url, connect_timeout)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = _engine(url, connect_timeout)
    return engine


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _forget_engines() -> None:
    """In a forked child: the parent's engines (and any connection they hold) are the parent's."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


os.register_at_fork(after_in_child=_forget_engines)


def _engine(url: str, connect_timeout: float = CONNECT_TIMEOUT_S) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what Chimera ships with
    if parsed.get_backend_name() != "sqlite":
        # libpq and the MySQL drivers take whole seconds; at least one (0 would mean "wait forever").
        timeout = max(1, round(connect_timeout))
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": timeout})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # The driver's own transaction handling off: SQLAlchemy emits BEGIN itself (below), so
        # savepoints work and a writing session can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN")

    return engine


def _reach(engine: Engine, timeout: float) -> None:
    """Connect once, so that a registry that does not answer fails here, clearly."""
    if engine.url.get_backend_name() == "sqlite":
        return
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise RegistryUnreachable(f"the Chimera registry {where} cannot be reached (connect timeout {timeout:g} s): {reason}") from None


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with _quiet_alembic(), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _stamped(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version``, or ``None`` (no table yet, or several heads)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    except DBAPIError:
        return None
    return versions[0] if len(versions) == 1 else None


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic reports every connection it inspects at INFO; keep the command line readable."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def upgrade(engine: Engine) -> None:
    """Apply every missing migration; cheap when the database is already current."""
    if _stamped(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    head = head_revision()
    if current_revision(engine) == head:
        return
    with _lock(engine, "migrate"):
        current = current_revision(engine)
        if current == head:  # another process migrated while we waited
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with _quiet_alembic(), engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        log.debug("Chimera registry %s migrated from %s to %s", engine.url.render_as_string(hide_password=True), current, head)


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key of the registry-wide lock ``name`` (a signed 64-bit number)."""
    return int.from_bytes(hashlib.sha256(f"chimera.registry.{name}".encode()).digest()[:8], "big", signed=True)


def mysql_lock_name(database: str | None, name: str) -> str:
    """The MySQL/MariaDB user-level lock name of the registry-wide lock ``name``: readable, unique
    to the registry's database (such locks are server-wide), at most 64 characters."""
    digest = hashlib.sha256(f"chimera.registry.{database or ''}.{name}".encode()).hexdigest()[:16]
    return f"chimera.{name}"[:47] + "." + digest


@contextlib.contextmanager
def _lock(engine: Engine, name: str, *, timeout: float = LOCK_WAIT_S) -> Iterator[None]:
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield  # a private in-memory database has no other process to race
            return
        path = Path(database).expanduser().with_name(Path(database).name + f".{name}.lock")
        with open(path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if backend == "postgresql":
        key = advisory_key(name)
        from sqlalchemy import text

        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
        return
    if backend in ("mysql", "mariadb"):
        with _mysql_lock(engine, name, timeout):
            yield
        return
    where = engine.url.render_as_string(hide_password=True)
    raise FixRequired(
        f"the Chimera registry {where} is on {backend}, where Chimera cannot hold a lock that several processes "
        f"respect: set [chimera] sql_alchemy_conn to a {SUPPORTED_DATABASES} database"
    )


@contextlib.contextmanager
def _mysql_lock(engine: Engine, name: str, timeout: float) -> Iterator[None]:
    """``GET_LOCK`` on a connection of its own: the server releases it when that connection ends,
    so a process that dies holding it does not block the others."""
    from sqlalchemy import text

    lock = mysql_lock_name(engine.url.database, name)
    with engine.connect() as conn:
        # A whole number of seconds: MySQL before 8 rounds fractions; at least 1 (0 = do not wait).
        got = conn.execute(text("SELECT GET_LOCK(:lock, :wait)"), {"lock": lock, "wait": max(1, round(timeout))}).scalar()
        conn.commit()
        if got != 1:
            where = engine.url.render_as_string(hide_password=True)
            raise RegistryLockTimeout(
                f"the registry-wide lock {name!r} ({lock}) of the Chimera registry {where} was not obtained within "
                f"{timeout:g} s: another process holds it; retry once it is done"
            )
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT RELEASE_LOCK(:lock)"), {"lock": lock})
                conn.commit()
            except Exception as exc:  # the connection is gone, and the lock with it; never reuse it
                log.warning("releasing the registry-wide lock %r failed (%s); its connection is dropped", name, type(exc).__name__)
                conn.invalidate()
