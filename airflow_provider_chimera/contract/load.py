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


def _pointer(data: object, loc: tuple) -> tuple[str, bool]:
    """JSON pointer of a Pydantic error location, and whether the location named a union branch.

    Pydantic puts union branch names (``list[SourceObject]``, ``timed``) into ``loc``; those are
    no JSON keys, so the pointer follows only the parts the document really has.
    """
    parts: list[str] = []
    tagged = False
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(part, str) and (part in _UNION_TAGS or "[" in part):
            tagged = True
            continue
        parts.append(str(part))
    return ("/" + "/".join(parts) if parts else ""), tagged


# Discriminator values Pydantic reports as locations of tagged unions.
_UNION_TAGS = {"timed", "event", "adhoc", "full", "incremental", "partitioned", "stream"}
# Errors that only say "the value is not this union branch"; dropped when another branch explains more.
_BRANCH_MISMATCH = {"literal_error", "list_type", "dict_type", "model_type", "string_type"}


def _problems(file: str, data: object, errors: list) -> list[IntentProblem]:
    located = [(err, *_pointer(data, err["loc"])) for err in errors]
    problems = []
    for err, pointer, tagged in located:
        if tagged and err["type"] in _BRANCH_MISMATCH and any(
            other is not err and p.startswith(pointer) for other, p, _ in located
        ):
            continue
        problems.append(IntentProblem(file, pointer, err["msg"].removeprefix("Value error, ")))
    return problems


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
        raise IntentError(_problems(file, data, exc.errors())) from None
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
