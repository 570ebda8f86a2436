"""What a source's connection URI and object paths may say, checked without connecting.

These rules hold for every intent, with or without a tenancy file; they run where the tenancy
check runs (``chimera intent validate``, the DAG factory, the registry sync and again at run
time) and the source readers apply the same functions to what they are about to open:

* A ``${env:NAME}`` / ``${secret:NAME}`` placeholder of a database, broker or API URI (any type
  but files and PDFs, including the types packages register) stands for the password and only for it (``postgresql://reader:${secret:RETAIL_PG}@db:5432/shop``): a
  placeholder in the host, user, path or query would let an intent send a worker's variable to a
  server of its choosing. A file or PDF source's base may hold one anywhere; what it resolves to
  is checked at run time (:mod:`airflow_provider_chimera.sources.paths`).
* A Snowflake URI's query names only :data:`SNOWFLAKE_QUERY_KEYS`; the host, port, protocol,
  authenticator and key or token files come from a platform-owned Airflow connection (``conn_id``).
* A file or PDF object's ``path`` is a glob relative to the source's base: no absolute path, URL,
  ``~`` or ``..``; and no base or path reaches the kernel's pseudo-files (:data:`FORBIDDEN_ROOTS`).
* An object's ``mode`` suits its source and target (:func:`mode_problems`): ``stream`` reads only
  Kafka topics; ``partitioned`` re-reads a time window, which a Kafka topic and a PDF document do
  not have and which a file source finds in a declared date or timestamp field; it replaces rows,
  so it never feeds a history target (``kind`` ``mdm`` or ``reference``), and it loads one period
  per run, which the schedules ``@once`` and ``@continuous`` give no run (docs/run-windows.md).
  The ingest task refuses the same at run time, as a defence.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from airflow_provider_chimera.secrets import PLACEHOLDER, placeholder_slot_problems

FILE_TYPES = ("file", "pdf")
# Query keys a Snowflake URI may carry; everything else comes from a platform-owned connection.
SNOWFLAKE_QUERY_KEYS = frozenset({"warehouse", "role", "schema", "database", "application"})
# Local folders no file source may read, whatever its base, path, placeholder or link says.
FORBIDDEN_ROOTS = ("/proc", "/sys", "/dev")

PLACEHOLDER_HINT = (
    "put the placeholder in the password slot only (scheme://user:${secret:NAME}@host/...); "
    "hosts, users, paths and query values are written out"
)
SNOWFLAKE_HINT = (
    "name only warehouse, role, schema, database or application in the query; for another host, port, "
    "protocol or authenticator ask the platform team for an Airflow connection and use 'conn_id'"
)
PATH_HINT = "give a glob relative to the source's base location, e.g. 'orders/*.csv'"
MODE_HINT = "use 'full' or 'incremental'; 'stream' reads Kafka topics, 'partitioned' re-reads a time window of a table or files"
# Schedules whose runs have no period for a 'partitioned' mode to load, and why.
PERIODLESS = {
    "@once": "runs once, with no period: no later period would ever be loaded",
    "@continuous": "starts each run as the last ends, with no period: every run would reload the same one",
}
WINDOW_SCHEDULE_HINT = (
    "schedule it with a cron expression, a preset such as @daily or a duration (each run loads the period "
    "that has just ended), or use an 'adhoc' trigger and give each run its window in the run conf"
)
WINDOW_TYPES = ("date", "timestamp", "timestamptz")  # the types a window's bounds are given in (sources.window)


@dataclass(frozen=True)
class RuleProblem:
    """One broken rule: ``path`` is the JSON path below the source (``/connection/uri``)."""

    path: str
    message: str
    hint: str


def password_slot_only(source_type: str | None) -> bool:
    """Whether the placeholders of a ``source_type``'s URI may stand for its password only: every
    type but files and PDFs, the types packages register included (``None``: the platform's own)."""
    return source_type is not None and source_type not in FILE_TYPES


def snowflake_query_problems(uri: str) -> list[str]:
    """Query keys (and a port) a Snowflake ``uri`` may not set."""
    problems = []
    _, _, rest = uri.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if ":" in host:
        problems.append(f"the account {host!r} names a port; host and port come from a platform-owned connection")
    query = uri.partition("?")[2].partition("#")[0]
    keys = sorted({key for key, _ in parse_qsl(query, keep_blank_values=True)} - SNOWFLAKE_QUERY_KEYS)
    if keys:
        problems.append(f"query key(s) {', '.join(repr(k) for k in keys)} may not be set by an intent")
    return problems


def forbidden_local(path: str) -> bool:
    """Whether the local ``path`` (absolute) is inside a :data:`FORBIDDEN_ROOTS` folder."""
    path = "/" + posixpath.normpath(path).lstrip("/")  # POSIX keeps a leading '//': /proc all the same
    return any(path == root or path.startswith(root + "/") for root in FORBIDDEN_ROOTS)


def object_path_problems(path: str) -> list[str]:
    """Why an object's ``path`` does not stay below its source's base (empty: it does)."""
    if "://" in path or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path):
        return [f"path {path!r} is a URL; it must be relative to the source's base location"]
    if path.startswith(("/", "\\", "~")):
        return [f"path {path!r} is absolute; it must be relative to the source's base location"]
    if ".." in re.split(r"[/\\]", path):
        return [f"path {path!r} climbs out of the source's base location with '..'"]
    if "${" in path:
        return [f"path {path!r} holds a placeholder; only the source's base location may"]
    return []


def local_base(uri: str) -> str | None:
    """The local folder of a ``file://`` (or plain absolute) base without placeholders, normalised."""
    if PLACEHOLDER.search(uri) or "${" in uri:
        return None
    if uri.startswith("file://"):
        return posixpath.normpath(unquote(uri[len("file://") :]) or "/")
    if uri.startswith("/"):
        return posixpath.normpath(uri)
    return None


def mode_problems(source) -> list[RuleProblem]:
    """Why an object of ``source`` (a contract ``Source``) cannot be read in its ``mode``."""
    if source.objects == "all":
        return []
    problems = []
    for index, obj in enumerate(source.objects):
        mode = obj.ingestion.mode if obj.ingestion is not None else None
        at = f"/objects/{index}/ingestion/mode"
        if mode is None or mode.type not in ("stream", "partitioned"):
            continue
        if mode.type == "stream" and source.type != "kafka":
            problems.append(RuleProblem(at, f"'stream' mode reads Kafka topics; a '{source.type}' source takes 'incremental'", MODE_HINT))
            continue
        if mode.type != "partitioned":
            continue
        kind, trigger = obj.ingestion.target.kind, obj.ingestion.trigger
        if trigger.type == "timed" and trigger.schedule in PERIODLESS:
            problems.append(RuleProblem(at, f"a 'partitioned' mode loads one period per run; schedule {trigger.schedule!r} "
                                            f"{PERIODLESS[trigger.schedule]}", WINDOW_SCHEDULE_HINT))
        if kind in ("mdm", "reference"):
            problems.append(RuleProblem(at, f"a 'partitioned' mode replaces rows, a '{kind}' target keeps every version; "
                                            "use 'incremental' or 'full'", MODE_HINT))
        elif source.type == "kafka":
            problems.append(RuleProblem(at, f"topic {obj.name!r} cannot be read in 'partitioned' mode "
                                            "(a topic has no time window to re-read); use 'incremental' or 'stream'", MODE_HINT))
        elif source.type == "pdf":
            problems.append(RuleProblem(at, "a PDF source reads whole documents and applies no time window: "
                                            "'partitioned' mode would load every page into each run's window; "
                                            "use 'incremental' (new documents) or 'full'", MODE_HINT))
        elif source.type == "file" and obj.schema_ is not None:
            declared = {field.name: field.type for field in obj.schema_.fields if not obj.columns or field.name in obj.columns}
            if mode.column not in declared:
                problems.append(RuleProblem(f"{at}/column", f"partition column {mode.column!r} is not among the columns read",
                                            "name a date or timestamp field of the object's schema"))
            elif declared[mode.column] not in WINDOW_TYPES:
                problems.append(RuleProblem(f"{at}/column", f"partition column {mode.column!r} is {declared[mode.column]}; "
                                            "a 'partitioned' mode needs a date or timestamp column",
                                            "name a date or timestamp field of the object's schema"))
    return problems


def source_rule_problems(source) -> list[RuleProblem]:
    """Every rule of this module that ``source`` (a contract ``Source``) breaks."""
    problems: list[RuleProblem] = mode_problems(source)
    uri = source.connection.uri
    if uri is not None and password_slot_only(source.type):
        problems += [RuleProblem("/connection/uri", m, PLACEHOLDER_HINT) for m in placeholder_slot_problems(uri)]
        if source.type == "snowflake":
            problems += [RuleProblem("/connection/uri", m, SNOWFLAKE_HINT) for m in snowflake_query_problems(uri)]
    base = local_base(uri) if uri is not None and source.type in FILE_TYPES else None
    if base is not None and (".." in uri.split("/") or forbidden_local(base)):
        problems.append(RuleProblem("/connection/uri", f"base location {uri!r} may not be read by a file source",
                                    "name a folder of your team's landing area"))
        base = None
    if source.type in FILE_TYPES and source.objects != "all":
        for index, obj in enumerate(source.objects):
            if not obj.path:
                continue
            found = object_path_problems(obj.path)
            if not found and base is not None and forbidden_local(posixpath.join(base, obj.path)):
                found = [f"path {obj.path!r} reaches a system folder ({', '.join(FORBIDDEN_ROOTS)})"]
            problems += [RuleProblem(f"/objects/{index}/path", m, PATH_HINT) for m in found]
    return problems
