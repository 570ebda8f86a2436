"""What Airflow would refuse when the factory builds a pipeline's DAG, found without Airflow.

The factory names each pipeline's assets by URI (``pipelines.uris``) and Airflow checks every
asset it is given: the URI's scheme (``airflow`` is reserved), and the form each provider's
normaliser demands (``postgres://host/db/schema/table``, ``kafka://host/topic``...), the name's
length. :func:`asset_problem` applies the same rules as Airflow 3's ``Asset`` and the asset URI
normalisers of the providers Chimera depends on, with Airflow's own messages;
tests/unit/pipelines/test_buildable.py holds both side by side so they cannot drift apart.
:func:`refusals` puts them to every pipeline of an intent, located at the intent's part each
comes from, so that ``discover`` rejects the file, as ``chimera intent validate`` does, before
the factory tries (docs/decisions/0033-pipelines-domain-layer.md).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from airflow_provider_chimera.contract import Intent, IntentProblem, hints
from airflow_provider_chimera.contract.model import EventTrigger, TimedTrigger
from airflow_provider_chimera.contract.timing import parse_duration
from airflow_provider_chimera.pipelines.model import Pipeline, object_place, pipelines_of
from airflow_provider_chimera.pipelines.resources import pool_name
from airflow_provider_chimera.pipelines.uris import source_uri, target_uri, topic_uri

IDENTIFIER_MAX = 1500  # Airflow's limit on an asset's name and URI
RESERVED_NAMES = ("self", "context")


def _host_and_path(scheme: str, what: str, parts: int, port: int | None) -> Callable[[SplitResult], SplitResult]:
    """A provider's normaliser: a host (given ``port`` when it has none) and ``parts`` path segments."""

    def normalise(uri: SplitResult) -> SplitResult:
        if not uri.netloc:
            raise ValueError(f"URI format {scheme}:// must contain a {'host' if port else 'bootstrap server host'}")
        if port is not None and uri.port is None:
            uri = uri._replace(netloc=f"{uri.netloc.rstrip(':')}:{port}")
        if len(uri.path.split("/")) != parts + 1:
            raise ValueError(f"URI format {scheme}:// must contain {what}")
        return uri

    return normalise


def _postgres(uri: SplitResult) -> SplitResult:
    uri = _host_and_path("postgres", "database, schema, and table names", 3, 5432)(uri)
    parts = uri.path.split("/")
    parts[2] = parts[2] or "default"
    return uri._replace(scheme="postgres", path="/".join(parts))


def _mysql(uri: SplitResult) -> SplitResult:
    return _host_and_path("mysql", "database and table names", 2, 3306)(uri)._replace(scheme="mysql")


def _snowflake(uri: SplitResult) -> SplitResult:
    if not uri.netloc:
        raise ValueError("URI format snowflake:// must contain an account identifier")
    if len(uri.path.split("/")) != 4:
        raise ValueError("URI format snowflake:// must contain database, schema, and table names")
    return uri


def _kafka(uri: SplitResult) -> SplitResult:
    if not uri.netloc:
        raise ValueError("URI format kafka:// must contain a bootstrap server host")
    if not uri.path or uri.path == "/":
        raise ValueError("URI format kafka:// must contain a topic name")
    return uri


# The asset URI normalisers of Airflow (``file``) and of the providers Chimera depends on, by scheme.
NORMALISERS: dict[str, Callable[[SplitResult], SplitResult]] = {
    "file": lambda uri: uri,
    "kafka": _kafka,
    "mongodb": _host_and_path("mongodb", "a database and collection", 2, 27017),
    "mysql": _mysql,
    "mariadb": _mysql,
    "postgres": _postgres,
    "postgresql": _postgres,
    "snowflake": _snowflake,
}


def sanitized_uri(uri: str) -> str:
    """The asset URI as Airflow stores it; ``ValueError`` with Airflow's message where it refuses it."""
    parsed = urlsplit(uri)
    scheme = parsed.scheme.lower()
    if not scheme or scheme.startswith("x-"):
        return uri
    if scheme == "airflow":
        raise ValueError("Asset scheme 'airflow' is reserved")
    netloc = parsed.netloc.rpartition("@")[2] if parsed.password else parsed.netloc
    query = urlencode(sorted(parse_qsl(parsed.query))) if parsed.query else ""
    parsed = parsed._replace(scheme=scheme, netloc=netloc, path=parsed.path.rstrip("/") or "/", query=query, fragment="")
    normalise = NORMALISERS.get(scheme)
    return urlunsplit(normalise(parsed) if normalise else parsed)


def _identifier(field: str, value: str) -> str | None:
    if len(value) > IDENTIFIER_MAX:
        return f"Asset {field} cannot exceed {IDENTIFIER_MAX} characters"
    if value.isspace():
        return f"Asset {field} cannot be just whitespace"
    if not value:
        return f"Asset {field} cannot be empty"
    return None


def asset_problem(uri: str) -> str | None:
    """Why Airflow refuses ``Asset(uri=uri, name=uri)``, in its words; None when it takes it."""
    try:
        stored = sanitized_uri(uri)
    except ValueError as exc:
        return str(exc)
    problem = _identifier("name", uri)
    if problem is None and uri in RESERVED_NAMES:
        problem = f"prohibited name for asset: {uri}"
    return problem or _identifier("uri", stored)


def refusals(intent: Intent, file: str, catalog: str, events_conn_id: str) -> list[IntentProblem]:
    """What Airflow would refuse in the DAGs of ``intent``'s pipelines (their assets, schedule and
    pool), each located at the intent's part it comes from: at most one problem per pipeline."""
    problems = []
    for pipeline in pipelines_of(intent, file, ""):
        at = object_place(intent, pipeline)
        uri_at = f"{at.rsplit('/objects/', 1)[0]}/connection/uri"
        checks: list[tuple[Callable[[], str | None], str]] = [
            (lambda: asset_problem(source_uri(pipeline)), uri_at if pipeline.source.connection.uri else f"{at}/name"),
            (lambda: asset_problem(target_uri(pipeline, catalog)), f"{at}/ingestion/target/table"),
            (lambda: _schedule_problem(pipeline, events_conn_id), f"{at}/ingestion/trigger"),
            (lambda: pool_name(pipeline) and None, uri_at if pipeline.source.connection.uri else at),
        ]
        for check, where in checks:
            try:
                problem = check()
            except Exception as exc:  # a malformed URI (a port that is no number...): Airflow fails on it too
                problem = str(exc)
            if problem:
                problems.append(IntentProblem(file, where, f"Airflow refuses the pipeline {pipeline.id[:60]}: {problem}", hints.BUILD))
                break
    return problems


def _schedule_problem(pipeline: Pipeline, events_conn_id: str) -> str | None:
    trigger = pipeline.ingestion.trigger
    if isinstance(trigger, TimedTrigger) and trigger.schedule.startswith("P"):
        return None if parse_duration(trigger.schedule) is not None else f"{trigger.schedule!r} is no duration"
    if isinstance(trigger, EventTrigger):
        return asset_problem(trigger.on if "://" in trigger.on else topic_uri(pipeline, trigger.on, events_conn_id))
    return None


# refusals of intent files by (file, content hash), most recently used last; bounded like the parse cache.
_FOUND: OrderedDict[tuple[str, str], list[IntentProblem]] = OrderedDict()


def cached_refusals(intent: Intent, file: str, content_hash: str, catalog: str, events_conn_id: str) -> list[IntentProblem]:
    """:func:`refusals`, computed once per version of an intent file."""
    from airflow_provider_chimera.contract.load import CACHE_ENTRIES

    key = (file, content_hash)
    if key in _FOUND:
        _FOUND.move_to_end(key)
        return _FOUND[key]
    problems = _FOUND[key] = refusals(intent, file, catalog, events_conn_id)
    while len(_FOUND) > CACHE_ENTRIES:
        _FOUND.popitem(last=False)
    return problems
