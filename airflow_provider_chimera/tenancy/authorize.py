"""Whether an intent stays within what its team owns, checked at validation, parsing and run time.

:func:`authorize` gives every problem at once, each as an :class:`IntentProblem` naming the file
and JSON path, like the contract's own checks; with a tenancy file it also returns the intent
with its ``team`` taken from that file (the support email is the platform's word, never the
intent's). The same function runs in ``chimera intent validate``, in the DAG factory, in the
registry sync and again in every ingest and onboarding task, against the tenancy file as it is
then: a team that loses a grant loses it at the next run, not at the next parse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_chimera.contract.load import IntentProblem
from airflow_provider_chimera.contract.model import Intent, Source, Team
from airflow_provider_chimera.contract.source_rules import source_rule_problems
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.secrets import ANY_PLACEHOLDER, reserved_placeholder_names
from airflow_provider_chimera.tenancy.model import SINGLE_TEAM, Grant, Tenancy, TenancyError, load_tenancy, normalise_root

log = logging.getLogger(__name__)

FILE_TYPES = ("file", "pdf")


class AuthorizationError(FixRequired, PermissionError):
    """An intent uses what its team does not own; ``problems`` names each use."""

    def __init__(self, problems: list[IntentProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Authorized:
    """An intent its team may run, with the team's grant."""

    intent: Intent
    grant: Grant


_SAID_SINGLE_TEAM = False


def current_tenancy(tenancy_file: Path | None) -> Tenancy | None:
    """The tenancy of ``[chimera] tenancy_file``; ``None`` (single-team, said once per process) without one.

    A tenancy file that cannot be read or is invalid raises :class:`TenancyError`: Chimera fails
    closed rather than run every intent as if it were alone.
    """
    global _SAID_SINGLE_TEAM
    if tenancy_file is None:
        if not _SAID_SINGLE_TEAM:
            log.info("no [chimera] tenancy_file: running single-team, every intent may use every namespace and connection")
            _SAID_SINGLE_TEAM = True
        return None
    return load_tenancy(tenancy_file)


def relative_file(file: str | Path, intents_dir: Path) -> str | None:
    """``file`` relative to the intents folder (``retail/shop.json``), or ``None`` outside it."""
    try:
        return Path(file).resolve().relative_to(Path(intents_dir).resolve()).as_posix()
    except ValueError:
        return None


def authorize(
    intent: Intent,
    file: str | Path,
    intents_dir: Path,
    tenancy: Tenancy | None,
    reserved_names: frozenset[str] = frozenset(),
) -> tuple[Authorized | None, list[IntentProblem]]:
    """Check ``intent`` (read from ``file``) against its team's grant; every problem at once.

    ``reserved_names`` are placeholder names only the platform resolves (the names behind
    ``pii_key_secret`` and ``encryption_key_secret``): no intent may name them.
    """
    grant, problems = check_parts(intent.team.name, intent.project, intent.sources, file, intents_dir, tenancy, reserved_names)
    if grant is None:
        return None, problems
    if grant.team is not None:
        intent = intent.model_copy(update={"team": Team(name=grant.team, support_email=grant.support_email)})
    return Authorized(intent, grant), []


def check_parts(
    team: str,
    project: str,
    sources: list[Source],
    file: str | Path,
    intents_dir: Path,
    tenancy: Tenancy | None,
    reserved_names: frozenset[str] = frozenset(),
) -> tuple[Grant | None, list[IntentProblem]]:
    """The grant of ``team`` when the file, project and ``sources`` stay within it; else every problem."""
    where = str(file)
    problems: list[IntentProblem] = []
    if tenancy is None:
        grant = SINGLE_TEAM
    else:
        spec = tenancy.teams.get(team)
        if spec is None:
            known = ", ".join(sorted(tenancy.teams))
            return None, [
                IntentProblem(
                    where,
                    "/team/name",
                    f"team {team!r} is not a team of the platform's tenancy file",
                    f"use your team's name as the platform team registered it ({known}), or ask them to add your team",
                )
            ]
        grant = Grant.of(team, spec)
        relative = relative_file(file, intents_dir)
        if relative is None or not relative.startswith(spec.intents_path):
            problems.append(
                IntentProblem(
                    where,
                    "/team/name",
                    f"the intents of team {team!r} live under {spec.intents_path!r} of the intents folder; "
                    f"this file is at {relative or where!r}",
                    f"move the file into {spec.intents_path}",
                )
            )
        if project not in grant.projects:
            problems.append(
                IntentProblem(where, "/project", f"project {project!r} is not a project of team {team!r}",
                              _owned("projects", grant.projects))
            )
    problems.extend(_source_problems(sources, project, where, grant, reserved_names))
    return (None if problems else grant), problems


def _owned(what: str, values: frozenset[str] | None) -> str:
    return f"the team's {what}: {', '.join(sorted(values))}" if values else f"the team owns no {what}; ask the platform team"


def _source_problems(sources: list[Source], project: str, file: str, grant: Grant, reserved: frozenset[str]) -> list[IntentProblem]:
    problems = []
    for i, source in enumerate(sources):
        at = f"/sources/{i}"
        connection = source.connection
        # Rules of every intent, tenancy or not: placeholder slots, Snowflake keys, file paths.
        problems.extend(IntentProblem(file, at + rule.path, rule.message, rule.hint) for rule in source_rule_problems(source))
        if connection.conn_id is not None and grant.connections is not None and connection.conn_id not in grant.connections:
            problems.append(
                IntentProblem(file, f"{at}/connection/conn_id",
                              f"connection {connection.conn_id!r} is not one of team {grant.team!r}'s",
                              _owned("connections", grant.connections))
            )
        if connection.uri is not None:
            for match in ANY_PLACEHOLDER.finditer(connection.uri):
                name = match.group(2)
                if name in reserved or not grant.may_name(name):
                    owner = f"team {grant.team!r}'s prefix {grant.secrets_prefix!r}" if grant.team else "intents"
                    problems.append(
                        IntentProblem(file, f"{at}/connection/uri",
                                      f"placeholder ${{{match.group(1)}:{name}}} is not available to {owner}",
                                      f"name a secret that starts with {grant.secrets_prefix!r}" if grant.team
                                      else "the platform's own variables and keys cannot be read by an intent")
                    )
            if source.type in FILE_TYPES and grant.file_roots is not None and not ANY_PLACEHOLDER.search(connection.uri):
                # A base holding a placeholder is checked once resolved, at run time (sources.paths).
                if not within_roots(connection.uri, grant.file_roots):
                    problems.append(
                        IntentProblem(file, f"{at}/connection/uri",
                                      f"{connection.uri!r} is not under the file roots of team {grant.team!r}",
                                      _owned("file roots", frozenset(grant.file_roots)))
                    )
        if source.objects == "all":
            continue
        for j, obj in enumerate(source.objects):
            if obj.ingestion is None or grant.namespaces is None:
                continue
            namespace = obj.ingestion.target.namespace or project
            if namespace not in grant.namespaces:
                field = "/namespace" if obj.ingestion.target.namespace else ""
                problems.append(
                    IntentProblem(file, f"{at}/objects/{j}/ingestion/target{field}",
                                  f"namespace {namespace!r} is not one of team {grant.team!r}'s",
                                  _owned("namespaces", grant.namespaces))
                )
    return problems


def within_roots(url: str, roots: tuple[str, ...]) -> bool:
    """Whether ``url`` (a folder or file URL, already resolved) lies inside one of ``roots``.

    Compared component by component after normalising ``.`` and ``..``: ``file:///data/retail2``
    is not inside ``file:///data/retail``. A plain absolute path is read as a ``file://`` URL.
    """
    if url.startswith("/"):
        url = "file://" + url
    try:
        candidate = normalise_root(url)
    except ValueError:
        return False
    for root in roots:
        if candidate == root or candidate.startswith(root.rstrip("/") + "/"):
            return True
    return False


def authorize_or_raise(intent: Intent, file: str | Path, settings) -> Authorized:
    """:func:`authorize` against the current tenancy file and settings; raise :class:`AuthorizationError`."""
    tenancy = _tenancy_or_raise(file, settings)
    reserved = reserved_placeholder_names(settings.pii_key_secret, settings.encryption_key_secret)
    authorized, problems = authorize(intent, file, settings.intents_dir, tenancy, reserved)
    if authorized is None:
        raise AuthorizationError(problems)
    return authorized


def authorize_pipeline(pipeline, settings) -> Grant:
    """At run time: the grant of ``pipeline``'s team under the tenancy file as it is now.

    Raises :class:`AuthorizationError` when the pipeline's source or target left what its team
    owns since the DAG was parsed (a grant withdrawn, the file moved).
    """
    tenancy = _tenancy_or_raise(pipeline.intent_file, settings)
    reserved = reserved_placeholder_names(settings.pii_key_secret, settings.encryption_key_secret)
    source = pipeline.source.model_copy(update={"objects": [pipeline.object]})
    grant, problems = check_parts(
        pipeline.team.name, pipeline.project, [source], pipeline.intent_file, settings.intents_dir, tenancy, reserved
    )
    if grant is None:
        raise AuthorizationError(problems)
    return grant


def _tenancy_or_raise(file: str | Path, settings) -> Tenancy | None:
    try:
        return current_tenancy(settings.tenancy_file)
    except TenancyError as exc:
        raise AuthorizationError([IntentProblem(str(file), "", f"the platform's tenancy file is unusable: {exc}",
                                                "the platform team fixes it (chimera teams validate)")]) from None


def authorize_folder(
    intents: dict[Path, Intent], intents_dir: Path, settings
) -> tuple[dict[Path, Authorized], list[IntentError]]:
    """:func:`authorize` for the intents of one folder: the authorized ones by file, and an
    :class:`IntentError` per refused file (a tenancy file that cannot be used refuses them all)."""
    from airflow_provider_chimera.contract.load import IntentError

    try:
        tenancy = current_tenancy(settings.tenancy_file)
    except TenancyError as exc:
        problem = "the platform's tenancy file is unusable, so no intent can be authorized: {}"
        hint = "the platform team fixes it (chimera teams validate)"
        return {}, [IntentError([IntentProblem(str(path), "", problem.format(exc), hint)]) for path in intents]
    reserved = reserved_placeholder_names(settings.pii_key_secret, settings.encryption_key_secret)
    authorized: dict[Path, Authorized] = {}
    refused = []
    for path, intent in intents.items():
        result, problems = authorize(intent, path, intents_dir, tenancy, reserved)
        if result is None:
            refused.append(IntentError(problems))
        else:
            authorized[path] = result
    return authorized, refused


def authorizer(intents_dir: Path, settings):
    """A function ``(intent, file) -> Authorized | None`` for one pass over a folder: the tenancy
    file is read once; a tenancy file that cannot be used authorizes nothing."""
    try:
        tenancy = current_tenancy(settings.tenancy_file)
    except TenancyError:
        return lambda intent, file: None
    reserved = reserved_placeholder_names(settings.pii_key_secret, settings.encryption_key_secret)
    return lambda intent, file: authorize(intent, file, intents_dir, tenancy, reserved)[0]
