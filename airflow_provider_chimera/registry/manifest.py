"""The onboarded version of each intent: recorded by one function, read by one.

The registry's ``onboarded_versions`` table holds, per intent, the exact bytes of the version that
was onboarded; it is the record of "version X of intent Y is onboarded", the same for every host
(decision 0042). :func:`write_onboarded` is its only writer (and stamps the registry's
``intent_versions.onboarded_at``, shown to people, in the same transaction); :func:`read_onboarded`
and :func:`onboarded_versions` its readers: the DAG factory, the registry sync and the onboarding
workflow all ask them. Parsed versions are cached by content hash, so a read is one small query
and a parse only when the version changed.

While Airflow parses DAG files, :func:`onboarded_at_parse_time` reads them all in one read-only
query, without migrating the registry; a registry it cannot read leaves every intent at its full
scope (as before any onboarding; each ingest task still holds back what is not
onboarded) and logs why. The onboarding state (``onboarding/state.py``) records a different fact,
which onboarded version completed its onboarding, by content hash only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_chimera.contract.diff import effective_intent
from airflow_provider_chimera.contract.load import parse_intent
from airflow_provider_chimera.contract.model import Intent

if TYPE_CHECKING:  # the factory reads this module while parsing: no ORM mapper loaded for it
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from airflow_provider_chimera.registry.db import Registry
    from airflow_provider_chimera.registry.models import IntentVersionRow
    from airflow_provider_chimera.settings import ChimeraSettings

log = logging.getLogger(__name__)
# How long the DAG processor waits for a registry server before parsing without onboarded versions.
PARSE_CONNECT_TIMEOUT_S = 3


@dataclass(frozen=True)
class OnboardedVersion:
    """The onboarded version of one intent: its content hash and parsed intent."""

    name: str
    content_hash: str
    intent: Intent


# (intent, content hash) -> the parsed version: parsed once per process and version.
_CACHE: dict[tuple[str, str], OnboardedVersion] = {}


def _table():
    from airflow_provider_chimera.registry.models import OnboardedVersionRow

    return OnboardedVersionRow.__table__  # Core, not the ORM: no mapper configuration per parse


def write_onboarded(session: Session, intent_name: str, raw: bytes, version: IntentVersionRow | None = None) -> None:
    """Record ``raw`` as the onboarded version of ``intent_name`` in ``session``'s transaction.

    ``version``: the registry's row of that version, stamped ``onboarded_at`` now. Both change in
    the caller's transaction: they never disagree, and readers see the old version or the new one.
    """
    from airflow_provider_chimera.registry.models import OnboardedVersionRow

    now = dt.datetime.now(dt.UTC)
    if version is not None:
        version.onboarded_at = now
    row = session.get(OnboardedVersionRow, intent_name) or OnboardedVersionRow(intent=intent_name)
    row.content_hash, row.content, row.onboarded_at = hashlib.sha256(raw).hexdigest(), bytes(raw), now
    session.add(row)
    session.flush()


def read_onboarded(db: Session | Connection, intent_name: str) -> OnboardedVersion | None:
    """The onboarded version of ``intent_name``, or ``None`` if it was never onboarded.

    Raises :class:`~airflow_provider_chimera.contract.IntentError` (naming the registry's record)
    when the stored version no longer validates.
    """
    from sqlalchemy import select

    table = _table()
    found = db.execute(select(table.c.content_hash).where(table.c.intent == intent_name)).first()
    if found is None:
        return None
    return _parsed(db, intent_name, found[0])


def onboarded_versions(db: Session | Connection) -> dict[str, OnboardedVersion | Exception]:
    """Every onboarded version by intent name; a stored version that no longer validates maps to
    its :class:`IntentError` (raised by whoever uses it). One query, plus one per changed version."""
    from sqlalchemy import select

    table = _table()
    out: dict[str, OnboardedVersion | Exception] = {}
    for name, content_hash in db.execute(select(table.c.intent, table.c.content_hash)):
        try:
            out[name] = _parsed(db, name, content_hash)
        except ValueError as exc:  # IntentError: this one intent's problem, not the caller's
            out[name] = exc
    return out


def where_stored(intent_name: str) -> str:
    """How problems name a stored onboarded version (its stem is the intent's name)."""
    return f"registry:onboarded/{intent_name}.json"


def _parsed(db: Any, name: str, content_hash: str) -> OnboardedVersion:
    from sqlalchemy import select

    cached = _CACHE.get((name, content_hash))
    if cached is not None:
        return cached
    table = _table()
    raw = db.execute(select(table.c.content).where(table.c.intent == name)).scalar_one()
    version = OnboardedVersion(name=name, content_hash=content_hash,
                               intent=parse_intent(bytes(raw), where_stored(name), stem=name))
    _CACHE[(name, content_hash)] = version
    return version


def onboarded_in(registry: Registry) -> dict[str, OnboardedVersion | Exception]:
    """:func:`onboarded_versions` of ``registry``, in a read-only session of its own."""
    with registry.session(read_only=True) as session:
        return onboarded_versions(session)


def onboarded_at_parse_time(settings: ChimeraSettings) -> dict[str, OnboardedVersion | Exception]:
    """The onboarded versions for a DAG file being parsed: one read-only query of the registry.

    Never raises and never migrates or creates the registry: a registry that cannot be read (down,
    not created yet, not migrated yet) gives ``{}`` — every intent at its full scope, as before any
    onboarding — and a warning naming it (password hidden).
    """
    from sqlalchemy.engine import make_url

    from airflow_provider_chimera.registry.db import _engine

    url = settings.sql_alchemy_conn.strip()
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            from pathlib import Path

            if parsed.database and parsed.database != ":memory:" and not Path(parsed.database).expanduser().exists():
                return {}  # no registry yet: nothing was onboarded
        engine = _engine(url, PARSE_CONNECT_TIMEOUT_S)
    except Exception as exc:
        log.warning("Chimera registry URL not usable (%s): DAGs parsed without onboarded versions", type(exc).__name__)
        return {}
    try:
        with engine.connect() as conn:
            return onboarded_versions(conn)
    except Exception as exc:
        from airflow_provider_chimera.secrets import scrub

        where = engine.url.render_as_string(hide_password=True)
        reason = scrub((str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0])
        log.warning("Chimera registry %s not readable (%s): DAGs parsed without onboarded versions; "
                    "each ingest task still waits for onboarding", where, reason)
        return {}
    finally:
        engine.dispose()


def version_in(versions: dict[str, OnboardedVersion | Exception], intent_name: str) -> OnboardedVersion | None:
    """The onboarded version of ``intent_name`` in ``versions``; raises the version's
    :class:`IntentError` when it no longer validates."""
    version = versions.get(intent_name)
    if isinstance(version, Exception):
        raise version
    return version


def onboarded_scope(db: Session | Connection, intent: Intent) -> Intent:
    """``intent`` cut down to its onboarded version (:func:`~..contract.diff.effective_intent`).

    An intent that was never onboarded is returned whole: submitting it onboards it, until an
    onboarding step records a version.
    """
    onboarded = read_onboarded(db, intent.name)
    return intent if onboarded is None else effective_intent(onboarded.intent, intent)


def incumbent_files(intents: dict, versions: dict[str, OnboardedVersion | Exception]) -> frozenset:
    """The files whose intent was onboarded by the team that declares it now: on a clash of
    names or tables with a newer file, these keep what they hold (``contract.validate.check_folder``).
    ``versions``: :func:`onboarded_versions`."""
    held = set()
    for path, intent in intents.items():
        version = versions.get(intent.name)
        # An onboarded version that no longer validates holds nothing.
        if isinstance(version, OnboardedVersion) and version.intent.team.name == intent.team.name:
            held.add(path)
    return frozenset(held)
