"""The onboarded version of each intent: recorded by one function, read by one.

``<state_dir>/onboarded/<intent>.json`` holds the exact bytes of the version that was onboarded;
it is the record of "version X of intent Y is onboarded". :func:`write_onboarded` is its only
writer (and stamps the registry's ``intent_versions.onboarded_at``, shown to people, in the same
call); :func:`read_onboarded` its only reader: the DAG factory, the registry sync and the
onboarding workflow all ask it. Reading is a ``stat`` and, when the file changed, a parse; no
database, no network, so the factory can read it while Airflow parses DAGs (see ``docs/decisions``).
The onboarding state (``onboarding/state.py``) records a different fact, which onboarded version
completed its onboarding, by content hash only; the content of every version is the registry's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_chimera.contract.diff import effective_intent
from airflow_provider_chimera.contract.load import parse_intent
from airflow_provider_chimera.contract.model import Intent

if TYPE_CHECKING:  # the factory reads this module while parsing: no database code loaded for it
    from airflow_provider_chimera.registry.models import IntentVersionRow

FOLDER = "onboarded"


@dataclass(frozen=True)
class OnboardedVersion:
    """The onboarded version of one intent: its content hash and parsed intent."""

    name: str
    content_hash: str
    intent: Intent
    path: Path


# path -> ((mtime_ns, size, inode), version): re-read only when the file changed.
_CACHE: dict[Path, tuple[tuple[int, int, int], OnboardedVersion]] = {}


def onboarded_path(state_dir: Path, intent_name: str) -> Path:
    return Path(state_dir) / FOLDER / f"{intent_name}.json"


def write_onboarded(state_dir: Path, intent_name: str, raw: bytes, version: IntentVersionRow | None = None) -> Path:
    """Record ``raw`` as the onboarded version of ``intent_name``; readers never see a partial file.

    ``version``: the registry's row of that version, stamped ``onboarded_at`` now. The caller
    writes inside the registry session of that row and calls this last, so that a failure here
    rolls the row back: the file and the row never disagree.
    """
    if version is not None:
        version.onboarded_at = dt.datetime.now(dt.UTC)
    return atomic_write(onboarded_path(state_dir, intent_name), raw)


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see the old
    content or the new one, never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_onboarded(state_dir: Path, intent_name: str) -> OnboardedVersion | None:
    """The onboarded version of ``intent_name``, or ``None`` if it was never onboarded.

    Raises :class:`~airflow_provider_chimera.contract.IntentError` (naming the file) when the
    stored version no longer validates.
    """
    path = onboarded_path(state_dir, intent_name)
    try:
        stat = path.stat()
    except FileNotFoundError:
        _CACHE.pop(path, None)
        return None
    key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _CACHE.get(path)
    if cached and cached[0] == key:
        return cached[1]
    raw = path.read_bytes()
    version = OnboardedVersion(
        name=intent_name,
        content_hash=hashlib.sha256(raw).hexdigest(),
        intent=parse_intent(raw, str(path), stem=intent_name),
        path=path,
    )
    _CACHE[path] = (key, version)
    return version


def onboarded_scope(state_dir: Path, intent: Intent) -> Intent:
    """``intent`` cut down to its onboarded version (:func:`~..contract.diff.effective_intent`).

    An intent that was never onboarded is returned whole: submitting it onboards it, until an
    onboarding step records a version.
    """
    onboarded = read_onboarded(state_dir, intent.name)
    return intent if onboarded is None else effective_intent(onboarded.intent, intent)


def incumbent_files(intents: dict[Path, Intent], state_dir: Path) -> frozenset[Path]:
    """The files whose intent was onboarded by the team that declares it now: on a clash of
    names or tables with a newer file, these keep what they hold (``contract.validate.check_folder``)."""
    held = set()
    for path, intent in intents.items():
        try:
            version = read_onboarded(state_dir, intent.name)
        except ValueError:  # an onboarded version that no longer validates holds nothing
            continue
        if version is not None and version.intent.team.name == intent.team.name:
            held.add(path)
    return frozenset(held)
