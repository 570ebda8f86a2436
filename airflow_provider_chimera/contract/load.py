"""Reading intent files into :class:`~.model.Intent`, with errors that name file and JSON path.

Parsed intents are cached by the SHA-256 of the file's bytes, so the DAG processor re-reads
files (cheap) but re-validates only those that changed; the cache keeps the
:data:`CACHE_ENTRIES` most recently used intents, so a folder churning through many versions
cannot grow it without bound.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from airflow_provider_chimera.contract.hints import CTX_KEY, NAME_STEM
from airflow_provider_chimera.contract.model import QUALITY_CHECK_TYPES, Intent
from airflow_provider_chimera.errors import FixRequired


@dataclass(frozen=True)
class IntentProblem:
    """One reason an intent file is rejected."""

    file: str
    path: str  # JSON pointer, e.g. /sources/0/objects/1/ingestion/mode/cursor
    message: str
    hint: str = ""  # what to do about it

    def __str__(self) -> str:
        text = f"{self.file}: {self.path or '/'}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path or "/", "message": self.message, "hint": self.hint}


class IntentError(FixRequired, ValueError):
    """An intent file that cannot be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[IntentProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedIntent:
    path: Path
    content_hash: str
    intent: Intent


# Parsed intents by file and content hash, least recently used first; at most CACHE_ENTRIES.
CACHE_ENTRIES = 1024
_CACHE: OrderedDict[str, Intent] = OrderedDict()
# Valid intents by content hash alone: the same bytes validate the same under any file name (the
# name only appears in problems), so an onboarded version the registry stores is not validated
# again when the intents folder's file holds the same bytes (every task's parse reads both).
_VALID: OrderedDict[str, Intent] = OrderedDict()


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


def _through_defaults(data: object, pointer: str) -> str:
    """Point into the source's ``defaults`` when the object's ingestion inherited the field from there.

    Pydantic validates each object's ingestion after merging the defaults into it, so an error in
    an inherited value is located at the object, where the file does not have it.
    """
    parts = pointer.split("/")[1:]
    if len(parts) < 6 or parts[0] != "sources" or parts[2] != "objects" or parts[4] != "ingestion":
        return pointer
    try:
        source = data["sources"][int(parts[1])]  # type: ignore[index]
        ingestion = source["objects"][int(parts[3])]["ingestion"]
        defaults = source["defaults"]
    except (KeyError, IndexError, TypeError, ValueError):
        return pointer
    if not isinstance(ingestion, dict) or not isinstance(defaults, dict):
        return pointer
    field = parts[5]
    inherited = field not in ingestion and field in defaults
    own, default = ingestion.get(field), defaults.get(field)
    if len(parts) > 6 and isinstance(own, dict) and isinstance(default, dict):
        inherited = parts[6] not in own and parts[6] in default
    return "/" + "/".join(["sources", parts[1], "defaults", *parts[5:]]) if inherited else pointer


# Discriminator values Pydantic reports as locations of tagged unions.
_UNION_TAGS = {"timed", "event", "adhoc", "full", "incremental", "partitioned", "stream", *QUALITY_CHECK_TYPES}
# Errors that only say "the value is not this union branch"; dropped when another branch explains more.
_BRANCH_MISMATCH = {"literal_error", "list_type", "dict_type", "model_type", "string_type"}


def _mismatch(err: dict, tagged: bool) -> bool:
    """Whether the error only says "the value is not this union branch"."""
    return tagged and err["type"] in _BRANCH_MISMATCH


def _problems(file: str, data: object, errors: list) -> list[IntentProblem]:
    located = [(err, *_pointer(data, err["loc"])) for err in errors]
    problems: list[IntentProblem] = []
    for index, (err, pointer, tagged) in enumerate(located):
        if _mismatch(err, tagged) and any(
            p.startswith(pointer + "/")  # another branch explains more, deeper down
            or (p == pointer and (not _mismatch(other, t) or position < index))  # or at the same place
            for position, (other, p, t) in enumerate(located)
            if other is not err
        ):
            continue
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # The tag's field: "type" (triggers, modes) or "check" (quality checks).
            pointer += "/" + str((err.get("ctx") or {}).get("discriminator", "type")).strip("'")
        hint = (err.get("ctx") or {}).get(CTX_KEY, "")
        problem = IntentProblem(file, _through_defaults(data, pointer), err["msg"].removeprefix("Value error, "), hint)
        if problem not in problems:  # objects inheriting the same bad default
            problems.append(problem)
    return problems


def stem_problem(file: str, name: str, stem: str) -> IntentProblem:
    """The file's name is the intent's identity: ``intents/sales_crm.json`` holds ``sales_crm``."""
    return IntentProblem(
        file, "/name", f"name {name!r} must equal the file stem {stem!r}", NAME_STEM.format(name=name, stem=stem)
    )


def model_problems(file: str, data: object) -> tuple[Intent | None, list[IntentProblem]]:
    """Validate parsed JSON with the Pydantic model: the intent, or every problem the model finds."""
    try:
        return Intent.model_validate(data), []
    except ValidationError as exc:
        return None, _problems(file, data, exc.errors())
    except (ArithmeticError, LookupError, TypeError, RecursionError) as exc:  # a value no rule foresaw
        return None, [IntentProblem(file, "", f"cannot be validated: {type(exc).__name__}: {exc}")]


def parse_intent(raw: bytes, file: str, stem: str | None = None) -> Intent:
    """Validate the bytes of one intent file; raise :class:`IntentError` naming every problem.

    Decoding is :func:`~.decode.decode_intent`'s, the one ``validate`` uses: a file that is too
    large, not UTF-8, too deep, holds absurd numbers or a key twice is refused here as there.
    """
    from airflow_provider_chimera.contract.decode import decode_intent

    digest = hashlib.sha256(raw).hexdigest()
    key = f"{file}:{digest}"
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    same = _VALID.get(digest)
    if same is not None and (stem is None or same.name == stem):
        return same
    parsed, problems = decode_intent(raw, file)
    if not parsed or problems:
        raise IntentError(problems)
    intent, problems = model_problems(file, parsed[0])
    if intent is None:
        raise IntentError(problems)
    if stem is not None and intent.name != stem:
        raise IntentError([stem_problem(file, intent.name, stem)])
    _CACHE[key] = _VALID[digest] = intent
    for cache in (_CACHE, _VALID):
        while len(cache) > CACHE_ENTRIES:
            cache.popitem(last=False)
    return intent


def read_intent_bytes(path: Path) -> bytes:
    """The bytes of an intent file, reading at most one byte more than an intent may have (so a
    huge file costs no memory; :func:`~.decode.decode_intent` then refuses it by its size).
    Raises :class:`IntentError` naming the file when it cannot be read."""
    from airflow_provider_chimera.contract.decode import MAX_INTENT_BYTES

    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_INTENT_BYTES + 1)
    except OSError as exc:
        raise IntentError([IntentProblem(str(path), "", f"cannot read: {exc.strerror}")]) from None


def load_intent(path: Path) -> LoadedIntent:
    """Read and validate one intent file."""
    raw = read_intent_bytes(path)
    intent = parse_intent(raw, str(path), stem=path.stem)
    return LoadedIntent(path=path, content_hash=hashlib.sha256(raw).hexdigest(), intent=intent)


def intent_files(folder: Path) -> list[Path]:
    """The intent files of a folder and its sub-folders (one per team with a tenancy file), in a
    stable order; hidden folders (``.git``) are left out.

    A file (or folder) that is a symbolic link leading out of ``folder`` is left out too: it is
    never read, so an intent cannot be made of another team's file or of ``/proc/self/environ``.
    :func:`escaping_links` names them, for the error reports.
    """
    folder = Path(folder)
    return sorted(p for p in _candidates(folder) if p.is_file() and _inside(p, folder))


def escaping_links(folder: Path) -> list[Path]:
    """The ``*.json`` files of ``folder`` that are symbolic links (or lie in linked folders)
    resolving outside it: rejected, never read."""
    folder = Path(folder)
    return sorted(p for p in _candidates(folder) if not _inside(p, folder))


def escaping_link_problem(path: Path) -> IntentProblem:
    return IntentProblem(
        str(path), "", "the file is a symbolic link leading out of the intents folder; it is not read",
        "put the intent file itself into the intents folder",
    )


def _candidates(folder: Path) -> list[Path]:
    return [
        p for p in folder.rglob("*.json")
        if not any(part.startswith(".") for part in p.relative_to(folder).parts[:-1])
    ]


def _inside(path: Path, folder: Path) -> bool:
    try:
        real, root = os.path.realpath(path), os.path.realpath(folder)
    except (OSError, ValueError):
        return False
    return os.path.commonpath([real, root]) == root
