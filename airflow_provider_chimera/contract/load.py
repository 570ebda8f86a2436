"""Reading intent files into :class:`~.model.Intent`, with errors that name file and JSON path.

Parsed intents are cached by the SHA-256 of the file's bytes, so the DAG processor re-reads
files (cheap) but re-validates only those that changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from airflow_provider_chimera.contract.model import Intent


@dataclass(frozen=True)
class IntentProblem:
    """One reason an intent file is rejected."""

    file: str
    path: str  # JSON pointer, e.g. /sources/0/objects/1/ingestion/mode/cursor
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '/'}: {self.message}"


class IntentError(ValueError):
    """An intent file that cannot be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[IntentProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedIntent:
    path: Path
    content_hash: str
    intent: Intent


_CACHE: dict[str, Intent] = {}


def _pointer(loc: tuple) -> str:
    # Pydantic puts the discriminator tag of a tagged union into ``loc``; it is no JSON key.
    parts = [str(p) for p in loc if p not in ("timed", "event", "adhoc", "full", "incremental", "partitioned", "stream")]
    return "/" + "/".join(parts) if parts else ""


def parse_intent(raw: bytes, file: str, stem: str | None = None) -> Intent:
    """Validate the bytes of one intent file; raise :class:`IntentError` naming every problem."""
    digest = hashlib.sha256(raw).hexdigest()
    key = f"{file}:{digest}"
    if key in _CACHE:
        return _CACHE[key]
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise IntentError([IntentProblem(file, "", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]) from None
    try:
        intent = Intent.model_validate(data)
    except ValidationError as exc:
        problems = [IntentProblem(file, _pointer(err["loc"]), err["msg"]) for err in exc.errors()]
        raise IntentError(problems) from None
    if stem is not None and intent.name != stem:
        raise IntentError([IntentProblem(file, "/name", f"name {intent.name!r} must equal the file stem {stem!r}")])
    _CACHE[key] = intent
    return intent


def load_intent(path: Path) -> LoadedIntent:
    """Read and validate one intent file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IntentError([IntentProblem(str(path), "", f"cannot read: {exc.strerror}")]) from None
    intent = parse_intent(raw, str(path), stem=path.stem)
    return LoadedIntent(path=path, content_hash=hashlib.sha256(raw).hexdigest(), intent=intent)


def intent_files(folder: Path) -> list[Path]:
    """The intent files of a folder, in a stable order."""
    return sorted(p for p in folder.glob("*.json") if p.is_file())
