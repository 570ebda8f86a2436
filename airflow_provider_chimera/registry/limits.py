"""What fits in the registry: every value an intent puts in a registry column, checked against
that column's length in :mod:`airflow_provider_chimera.registry.models`.

PostgreSQL refuses a value longer than its ``VARCHAR`` (and fails the whole transaction), SQLite
silently keeps it: either way a too-long team, project, intent, source or object name, pipeline id
or target table must not reach the database. :func:`check_intent` names each such value by the
JSON path of the intent that holds it, with its length and the column's limit, as a terminal
:class:`RegistryLimitError` (an :class:`~airflow_provider_chimera.contract.load.IntentError`: the
intent must be fixed). :func:`check_row` does the same for any row about to be written (the check
results of a load, for instance). The limits are read from the models, never restated here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_chimera.contract.load import IntentError, IntentProblem
from airflow_provider_chimera.registry.models import (
    Base,
    IntentRow,
    ObjectRow,
    PipelineRow,
    ProjectRow,
    SourceRow,
    TeamRow,
)

if TYPE_CHECKING:
    from airflow_provider_chimera.contract.model import Intent
    from airflow_provider_chimera.pipelines import Pipeline

HINT = "shorten it: the registry keeps at most {limit} characters here"


class RegistryLimitError(IntentError):
    """A value longer than the registry column it goes to; ``problems`` names each one."""


def column_limit(model: type[Base], column: str) -> int | None:
    """The length of ``model``'s ``column`` (``String(n)``), ``None`` when it has none (``Text``, numbers)."""
    return getattr(model.__table__.c[column].type, "length", None)


def _problem(file: str, path: str, what: str, value: Any, model: type[Base], column: str) -> IntentProblem | None:
    limit = column_limit(model, column)
    if limit is None or not isinstance(value, str) or len(value) <= limit:
        return None
    return IntentProblem(file, path, f"{what} is {len(value)} characters long; the registry's "
                                     f"{model.__tablename__}.{column} holds at most {limit}", HINT.format(limit=limit))


def intent_problems(intent: Intent, file: str, pipelines: Iterable[Pipeline] = ()) -> list[IntentProblem]:
    """Every value of ``intent`` (and of its ``pipelines``) that does not fit its registry column."""
    fields: list[tuple[str, str, Any, type[Base], str]] = [
        ("/team/name", "the team name", intent.team.name, TeamRow, "name"),
        ("/team/support_email", "the support email", str(intent.team.support_email), TeamRow, "support_email"),
        ("/project", "the project name", intent.project, ProjectRow, "name"),
        ("/name", "the intent name", intent.name, IntentRow, "name"),
    ]
    where: dict[tuple[str, str], str] = {}
    for i, source in enumerate(intent.sources):
        fields.append((f"/sources/{i}/name", "the source name", source.name, SourceRow, "name"))
        if source.objects == "all":
            continue
        for j, obj in enumerate(source.objects):
            where[(source.name, obj.name)] = f"/sources/{i}/objects/{j}"
            fields.append((f"/sources/{i}/objects/{j}/name", "the object name", obj.name, ObjectRow, "name"))
    for pipeline in pipelines:
        path = where.get((pipeline.source.name, pipeline.object.name), "")
        fields.append((f"{path}/name", f"the pipeline id {pipeline.id[:40]!r}...", pipeline.id, PipelineRow, "pipeline_id"))
        fields.append((f"{path}/ingestion/target", "the target table", pipeline.target_table, PipelineRow, "target_table"))
    found = (_problem(file, *spec) for spec in fields)
    return [problem for problem in found if problem is not None]


def check_intent(intent: Intent, file: str, pipelines: Iterable[Pipeline] = ()) -> None:
    """Raise :class:`RegistryLimitError` unless every value of ``intent`` fits the registry."""
    problems = intent_problems(intent, file, pipelines)
    if problems:
        raise RegistryLimitError(problems)


def check_row(model: type[Base], values: Mapping[str, Any], *, what: str) -> None:
    """Raise :class:`RegistryLimitError` unless every string of ``values`` fits its column of
    ``model``; ``what`` names the row in the message (a pipeline, a check)."""
    problems = [
        problem
        for column, value in values.items()
        if column in model.__table__.c
        and (problem := _problem(what, f"/{column}", f"{column} {str(value)[:40]!r}...", value, model, column)) is not None
    ]
    if problems:
        raise RegistryLimitError(problems)
