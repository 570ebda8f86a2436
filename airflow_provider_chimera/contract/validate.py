"""Validating intent files and folders: every problem at once, each with file, JSON path and a hint.

One file goes through, in order: JSON syntax (line and column), unfilled ``<placeholder>`` values,
the shipped JSON Schema, the rules no schema can express (``name`` equals the file stem, unique
source and object names, cron expressions, presets and ISO-8601 durations) and the Pydantic model.
A problem whose JSON path equals, contains or lies inside one already reported is left out, so one
mistake is reported once. The intents of one folder are then checked together by
:func:`check_folder`: no two pipelines write the same table, no two objects share a pipeline id.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from airflow_provider_chimera.contract import hints
from airflow_provider_chimera.contract.decode import decode_intent, pointer, walk
from airflow_provider_chimera.contract.load import (
    IntentError,
    IntentProblem,
    escaping_link_problem,
    escaping_links,
    intent_files,
    model_problems,
    read_intent_bytes,
    stem_problem,
)
from airflow_provider_chimera.contract.model import Intent
from airflow_provider_chimera.contract.naming import pipeline_id
from airflow_provider_chimera.contract.schema import schema_problems
from airflow_provider_chimera.contract.timing import duration_problem, schedule_problem

PLACEHOLDER = re.compile(r"^<[^<>]+>$")


@dataclass
class Report:
    """The outcome of validating some files and folders."""

    files: list[Path] = field(default_factory=list)
    problems: list[IntentProblem] = field(default_factory=list)
    empty_folders: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


Authorizer = Callable[[dict[Path, Intent]], tuple[dict[Path, Intent], list[IntentProblem]]]
# What the layer that builds DAGs refuses in one valid intent (file: the intent's file).
BuildCheck = Callable[[Intent, str], list[IntentProblem]]


def validate_paths(
    paths: Iterable[Path],
    authorize: Authorizer | None = None,
    incumbents: Callable[[dict[Path, Intent]], frozenset[Path]] | None = None,
    build: BuildCheck | None = None,
) -> Report:
    """Validate intent files and folders of them; files in one folder are also checked together.

    Files named one by one are grouped by the folder they are in. A file valid on its own is then
    given to ``build`` (``chimera intent validate`` passes the factory's: what Airflow refuses when
    it builds the DAGs), so that nothing accepted here fails later; the contract itself never
    loads Airflow. Only files that pass these checks, and ``authorize`` (the tenancy check: what
    their team may use), take part in :func:`check_folder`, where the files ``incumbents`` names
    keep what they hold.
    """
    groups: dict[Path, list[Path]] = {}
    report = Report()
    for path in paths:
        if path.is_dir():
            found = intent_files(path)
            links = escaping_links(path)
            report.problems.extend(escaping_link_problem(link) for link in links)
            if not found and not links:
                report.empty_folders.append(path)
            groups.setdefault(path.resolve(), []).extend(found)
        else:
            groups.setdefault(path.parent.resolve(), []).append(path)
    for members in groups.values():
        valid: dict[Path, Intent] = {}
        for path in dict.fromkeys(members):  # each file once, in the order given
            report.files.append(path)
            intent, problems = check_file(path)
            if intent is not None and build is not None:
                problems = sorted(build(intent, str(path)), key=lambda p: _order(p.path))
                intent = None if problems else intent
            report.problems.extend(problems)
            if intent is not None:
                valid[path] = intent
        if authorize is not None:
            valid, refused = authorize(valid)
            report.problems.extend(refused)
        report.problems.extend(check_folder(valid, incumbents(valid) if incumbents else frozenset()))
    return report


def check_file(path: Path) -> tuple[Intent | None, list[IntentProblem]]:
    """One intent file: the intent when it is valid, and every problem found."""
    try:
        raw = read_intent_bytes(path)
    except IntentError as exc:
        return None, [replace(p, hint="give an intent file or a folder of them") for p in exc.problems]
    return check_bytes(raw, str(path), stem=path.stem)


def check_bytes(raw: bytes, file: str, stem: str | None = None) -> tuple[Intent | None, list[IntentProblem]]:
    """The bytes of one intent file; ``stem`` is the file name its ``name`` must equal."""
    parsed, problems = decode_intent(raw, file)
    if not parsed:
        return None, problems
    data = parsed[0]
    problems += _placeholders(file, data)
    for found in (schema_problems(file, data), _semantic(file, data, stem)):
        _add(problems, found)
    intent, from_model = model_problems(file, data)
    _add(problems, [p if p.hint else replace(p, hint=_model_hint(p)) for p in from_model])
    problems.sort(key=lambda p: _order(p.path))
    return (intent if not problems else None), problems


def check_folder(intents: dict[Path, Intent], incumbents: frozenset[Path] = frozenset()) -> list[IntentProblem]:
    """Rules over a whole intents folder: each intent name, target table and pipeline id has one owner.

    Every place involved gets a problem naming the other places (file and JSON path), so whoever
    reads either file learns of both; except that a file in ``incumbents`` (its intent was
    onboarded from it, by its team) keeps what it holds against newcomers, so that one team's new
    file can never take another team's running pipelines down with it.
    """
    targets: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    ids: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    names: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for path in sorted(intents):
        intent = intents[path]
        names[intent.name].append((str(path), "/name", intent.name))
        for i, source in enumerate(intent.sources):
            if source.objects == "all":
                continue
            for j, obj in enumerate(source.objects):
                at = f"/sources/{i}/objects/{j}"
                pid = pipeline_id(intent.name, source.name, obj.name)
                ids[pid].append((str(path), f"{at}/name", pid))
                if obj.ingestion is not None:
                    target = obj.ingestion.target
                    table = f"{target.namespace or intent.project}.{target.table}"
                    # Catalogs differ in case sensitivity; tables differing only in case collide somewhere.
                    targets[table.lower()].append((str(path), f"{at}/ingestion/target/table", table))
    problems: list[IntentProblem] = []
    for places in targets.values():
        problems.extend(_collisions(places, "writes target table {own}, as does {others}", hints.DUPLICATE_TARGET, incumbents))
    for places in names.values():  # team folders may hold files of the same name
        problems.extend(_collisions(places, "intent name {own!r} is taken by {others}", hints.DUPLICATE_INTENT, incumbents))
    for places in ids.values():
        problems.extend(
            _collisions(places, "has pipeline id {own!r}, as does the object at {others}", hints.PIPELINE_ID, incumbents)
        )
    return sorted(problems, key=lambda p: (p.file, _order(p.path)))


def _collisions(
    places: list[tuple[str, str, str]], message: str, hint: str, incumbents: frozenset[Path] = frozenset()
) -> Iterator[IntentProblem]:
    if len(places) < 2:
        return
    held = {str(p) for p in incumbents}
    keeper = [place for place in places if place[0] in held]
    for file, path, own in places:
        if len(keeper) == 1 and keeper[0][0] == file:
            continue  # the onboarded holder keeps it; only the newcomers are rejected
        others = ", ".join(f"{f}: {p}" for f, p, _ in places if (f, p) != (file, path))
        yield IntentProblem(file, path, message.format(own=own, others=others), hint)


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _add(problems: list[IntentProblem], more: list[IntentProblem]) -> None:
    """Add the problems of one more check, leaving out those about a place already reported."""
    known = [p.path for p in problems]
    problems.extend(p for p in more if not any(_related(p.path, k) for k in known))


def _model_hint(problem: IntentProblem) -> str:
    name = next((part for part in reversed(problem.path.split("/")) if part and not part.isdigit()), "")
    return hints.missing(name) if problem.message == "Field required" else hints.invalid(name)


def _order(path: str) -> list[tuple[int, int | str]]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in path.split("/")[1:]]


def _placeholders(file: str, data: Any) -> list[IntentProblem]:
    return [
        IntentProblem(file, pointer(path), f"placeholder {node} is not filled in", hints.PLACEHOLDER)
        for path, node in walk(data)
        if isinstance(node, str) and PLACEHOLDER.match(node)
    ]


def _semantic(file: str, data: Any, stem: str | None) -> list[IntentProblem]:
    """The rules of one file that the JSON Schema cannot express."""
    if not isinstance(data, dict):
        return []
    problems = []
    name = data.get("name")
    if stem is not None and isinstance(name, str) and name != stem:
        problems.append(stem_problem(file, name, stem))
    sources = data.get("sources")
    if not isinstance(sources, list):
        return problems
    problems.extend(
        _duplicates(
            file, sources, "/sources", "source {name!r} appears twice (first at {first})", hints.DUPLICATE_SOURCE
        )
    )
    for i, source in enumerate(sources):
        if not isinstance(source, dict):
            continue
        at = f"/sources/{i}"
        blocks = [(source.get("defaults"), f"{at}/defaults")]
        objects = source.get("objects")
        if isinstance(objects, list):
            message = "object {name!r} appears twice in source " + repr(source.get("name")) + " (first at {first})"
            problems.extend(_duplicates(file, objects, f"{at}/objects", message, hints.DUPLICATE_OBJECT))
            blocks += [
                (o.get("ingestion"), f"{at}/objects/{j}/ingestion")
                for j, o in enumerate(objects)
                if isinstance(o, dict)
            ]
        for block, block_at in blocks:
            if isinstance(block, dict):
                problems.extend(_timing(file, block, block_at))
    return problems


def _duplicates(file: str, items: list, at: str, message: str, hint: str) -> Iterator[IntentProblem]:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in first:
            yield IntentProblem(
                file, f"{at}/{index}/name", message.format(name=name, first=f"{at}/{first[name]}"), hint
            )
        first.setdefault(name, index)


def _timing(file: str, ingestion: dict, at: str) -> Iterator[IntentProblem]:
    """Schedules and durations of one ingestion (or defaults) block."""
    trigger = ingestion.get("trigger")
    if isinstance(trigger, dict) and trigger.get("type") == "timed":
        schedule = trigger.get("schedule")
        if isinstance(schedule, str) and schedule and not PLACEHOLDER.match(schedule):
            problem = schedule_problem(schedule)
            if problem:
                yield IntentProblem(file, f"{at}/trigger/schedule", problem, hints.SCHEDULE)
    sla = ingestion.get("sla")
    if isinstance(sla, dict):
        for key in ("fresh_within", "warn_after"):
            value = sla.get(key)
            if isinstance(value, str) and value and not PLACEHOLDER.match(value):
                problem = duration_problem(value)
                if problem:
                    yield IntentProblem(file, f"{at}/sla/{key}", problem, hints.DURATION)
