"""The limits every name and value of an intent keeps, so that nothing ``validate`` accepts can
break the factory, Airflow or the registry later.

Lengths are the registry's column lengths (``registry/models.py``) and Airflow's own limits
(a DAG id of at most 250 characters of ``[A-Za-z0-9_.-]``, a tag of at most 100, an asset URI
of at most 1500). Every name a user gives must be printable: no control characters, no
invisible format characters (``U+202E`` would show a name reversed in the UI).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from airflow_provider_chimera.contract import hints

# registry/models.py column lengths
NAME_MAX = 200  # teams.name, projects.name, intents.name, sources.name
EMAIL_MAX = 320  # teams.support_email
OBJECT_MAX = 500  # objects.name; pipelines.target_table holds "<namespace>.<table>"
TABLE_MAX = 500
COLUMN_MAX = 250  # check_results.column
# Airflow's limits
DAG_ID_MAX = 250  # also pipelines.pipeline_id
DAG_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")  # airflow KEY_REGEX, ASCII only
TAG_MAX = 100  # team and project become tags of every DAG
ASSET_URI_MAX = 1500
# A table Chimera keeps beside each target: the target's rejected rows.
QUARANTINE_SUFFIX = "__quarantine"
IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def printable(value: str) -> str:
    """``value`` if every character is printable; control and format characters are refused."""
    bad = next((ch for ch in value if not ch.isprintable()), None)
    if bad is not None:
        from airflow_provider_chimera.contract.model import rule_error

        raise rule_error(
            f"the name holds the non-printable character U+{ord(bad):04X}", hints.PRINTABLE
        )
    return value


def identifier(value: str) -> str:
    """An Iceberg namespace or table name: ``^[a-z][a-z0-9_]*$``, never a quarantine table's."""
    from airflow_provider_chimera.contract.model import rule_error

    if not _IDENTIFIER.match(value):
        raise rule_error(f"{value!r} is not a name of lower-case letters, digits and '_' starting with a letter", hints.NAME)
    if value.endswith(QUARANTINE_SUFFIX):
        raise rule_error(
            f"{value!r} ends in {QUARANTINE_SUFFIX!r}, which is reserved for the quarantine table of each target",
            hints.QUARANTINE_NAME,
        )
    return value


def bounded(max_length: int) -> type[str]:
    """A printable, non-empty name of at most ``max_length`` characters."""
    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(printable)]  # type: ignore[return-value]


Identifier = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(identifier)]

# Kafka's own rule for topic names.
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# Characters that would change the structure of the asset URI an object name goes into.
URI_BREAKING = ("/", "?", "#")


def event_problem(on: str) -> str | None:
    """Why an ``event`` trigger's ``on`` is neither an asset URI Airflow accepts nor a Kafka topic."""
    from urllib.parse import urlsplit

    if "://" not in on:
        return None if _TOPIC.match(on) else f"{on[:80]!r} is no Kafka topic name (letters, digits, '.', '_', '-', at most 249)"
    if len(on) > ASSET_URI_MAX or not on.isprintable() or any(ch.isspace() for ch in on):
        return f"the asset URI is longer than {ASSET_URI_MAX} characters or holds spaces or control characters"
    try:
        parts = urlsplit(on)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as exc:
        return f"the asset URI cannot be parsed: {exc}"
    if parts.scheme.lower() == "airflow":
        return "the asset URI scheme 'airflow' is reserved by Airflow"
    if parts.password or "${" in on:
        return "an asset URI holds no credentials or placeholders"
    return None


def host_problem(uri: str, source_type: str) -> str | None:
    """Why a connection URI's host part cannot name a source: a placeholder (``${...}`` belongs in
    the password slot only; a host chosen by a variable could point the worker anywhere), a port
    that is no number, or characters no host has. A file or PDF base may be a placeholder (checked
    against the team's ``file_roots`` where it is resolved); its port, when it has one, is a number."""
    from urllib.parse import urlsplit

    if "://" not in uri:
        return None
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        return f"the uri cannot be parsed: {exc}"
    authority = parts.netloc.rpartition("@")[2]
    if source_type in ("file", "pdf") and "${" in authority:
        return None
    if "${" in authority:
        return "the uri's host holds a placeholder; placeholders belong only in the password slot"
    if not authority.isprintable() or any(ch.isspace() for ch in authority):
        return "the uri's host holds spaces or control characters"
    for host in authority.split(",") if source_type == "kafka" else [authority]:
        port = host.rpartition("]")[2].rpartition(":")[2] if ":" in host.rpartition("]")[2] else ""
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            return f"the uri's port {port[:20]!r} is no port number"
    return None
