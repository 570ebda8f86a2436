"""Connectivity test of an intent: a real connection to each source, and its objects looked up.

Every source is tested at the same time, each in its own thread under a hard time limit: a source
that does not answer in time is reported ``timed out after N s`` and its thread is abandoned (it
holds no lock and ends with the process). Reports never carry a secret: the resolved values of
the connection's ``${secret:...}`` / ``${env:...}`` placeholders, the Airflow connection's password
and sensitive extras, and any URI password are replaced with ``***`` (:mod:`.scrub`).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field

from airflow_provider_chimera.contract.model import Connection, Intent, Source
from airflow_provider_chimera.contract.source_rules import password_slot_only
from airflow_provider_chimera.secrets import (
    Scrubber,
    SecretRefusedError,
    UnresolvedSecretError,
    placeholder_values,
    resolve_uri,
)
from airflow_provider_chimera.tenancy.model import SINGLE_TEAM, Grant
from airflow_provider_chimera.sources import (
    SourceReader,
    UnsupportedSourceError,
    source_reader,
)
from airflow_provider_chimera.sources.base import CheckWarning, SourceRefusedError, airflow_connection

DEFAULT_TIMEOUT_S = 30.0
_SHOWN_FOUND = 20


class ObjectReport(BaseModel):
    """One object of a source: ``ok`` when it exists with the columns the intent names; a
    warning (a declared file set with no file yet) leaves it ``ok``."""

    name: str
    ok: bool
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class SourceReport(BaseModel):
    """The outcome of testing one source of an intent."""

    intent: str
    source: str
    type: str
    ok: bool
    reason: str
    objects: list[ObjectReport] = Field(default_factory=list)
    found: list[str] | None = None  # ``objects: "all"``: what the connection sees
    elapsed_s: float

    @property
    def warnings(self) -> list[str]:
        """``<object>: <warning>`` for each object's warnings."""
        return [f"{obj.name}: {warning}" for obj in self.objects for warning in obj.warnings]


def test_intent(intent: Intent, timeout_s: float = DEFAULT_TIMEOUT_S, grant: Grant | None = None) -> list[SourceReport]:
    """Test every source of ``intent`` concurrently, within ``grant`` (the intent's team's: its
    placeholders and file roots); one report per source, in intent order."""
    runs = []
    for source in intent.sources:
        outcome: dict[str, SourceReport] = {}
        thread = threading.Thread(
            target=lambda s=source, o=outcome: o.setdefault("report", check_source(intent.name, s, grant)),
            name=f"chimera-test-{intent.name}-{source.name}",
            daemon=True,  # abandoned on timeout: it must not keep the process alive
        )
        thread.start()
        runs.append((source, thread, outcome))
    deadline = time.monotonic() + timeout_s
    reports = []
    for source, thread, outcome in runs:
        thread.join(max(0.0, deadline - time.monotonic()))
        report = outcome.get("report")
        if report is None:
            report = SourceReport(
                intent=intent.name,
                source=source.name,
                type=source.type,
                ok=False,
                reason=f"timed out after {timeout_s:g} s",
                elapsed_s=round(timeout_s, 3),
            )
        reports.append(report)
    return reports


test_intent.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


def check_source(intent_name: str, source: Source, grant: Grant | None = None) -> SourceReport:
    """Test one source, without a time limit; never raises."""
    start = time.monotonic()
    scrub = Scrubber()
    objects: list[ObjectReport] = []
    found: list[str] | None = None
    try:
        scrub.add(*connection_secrets(source.connection, grant, source.type))
        hook = _hook(source, grant)
        if source.objects == "all":
            found = hook.list_objects()
            reason = f"connected; {len(found)} object(s) found"
        else:
            checked = hook.check_objects(list(source.objects))
            objects = [_object_report(name, findings, scrub) for name, findings in checked.items()]
            failed = [o.name for o in objects if not o.ok]
            warned = [o.name for o in objects if o.warnings]
            if failed:
                reason = f"{len(failed)} of {len(objects)} object(s) cannot be read: {', '.join(failed)}"
            elif warned:
                reason = (f"connected; {len(objects) - len(warned)} object(s) found with the columns named, "
                          f"{len(warned)} with a warning: {', '.join(warned)}")
            else:
                reason = f"connected; {len(objects)} object(s) found with the columns named"
        ok = all(o.ok for o in objects)
    except (UnresolvedSecretError, UnsupportedSourceError, SourceRefusedError, SecretRefusedError) as exc:
        ok, reason = False, str(exc)
    except Exception as exc:  # a failed source is reported, never raised
        ok, reason = False, f"{type(exc).__name__}: {str(exc).strip()}"
    return SourceReport(
        intent=intent_name,
        source=source.name,
        type=source.type,
        ok=ok,
        reason=scrub(reason),
        objects=objects,
        found=[scrub(name) for name in found] if found is not None else None,
        elapsed_s=round(time.monotonic() - start, 3),
    )


def _object_report(name: str, findings: list[str], scrub: Scrubber) -> ObjectReport:
    """A :class:`~airflow_provider_chimera.sources.base.CheckWarning` is a warning, anything else a problem."""
    problems = [scrub(f) for f in findings if not isinstance(f, CheckWarning)]
    warnings = [scrub(f) for f in findings if isinstance(f, CheckWarning)]
    return ObjectReport(name=name, ok=not problems, problems=problems, warnings=warnings)


def connection_secrets(connection: Connection, grant: Grant | None = None, source_type: str | None = None) -> list[str]:
    """The credentials a source's connection resolves to, to keep out of reports.

    For a URI: each placeholder's value and the resolved URI's password (raises
    :class:`UnresolvedSecretError` naming a placeholder without a value). For an Airflow
    connection: its password and the extras Airflow deems sensitive.
    """
    if connection.uri is not None:
        secrets = list(placeholder_values(connection.uri, grant if grant is not None else SINGLE_TEAM).values())
        try:
            password = urlsplit(resolve_uri(connection.uri, grant if grant is not None else SINGLE_TEAM, password_only=password_slot_only(source_type))).password
        except ValueError:  # not a URL the standard parser takes; the hook will say so
            password = None
        return [*secrets, password or "", unquote(password or "")]
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    conn = airflow_connection(connection.conn_id)
    extras = [str(v) for k, v in conn.extra_dejson.items() if v and should_hide_value_for_key(k)]
    return [conn.password or "", *extras]


def _hook(source: Source, grant: Grant | None = None) -> SourceReader:
    if source.type == "pdf":
        # A document set is a file set to look up: the same base location and path globs.
        from airflow_provider_chimera.sources.file import FileReader

        return FileReader(source, grant=grant)
    return source_reader(source, grant=grant)


def describe(report: SourceReport) -> list[str]:
    """The report's reason and details as lines of text, for people."""
    lines = [report.reason]
    for obj in report.objects:
        lines.extend(f"{obj.name}: {problem}" for problem in obj.problems)
        lines.extend(f"{obj.name}: warning: {warning}" for warning in obj.warnings)
    if report.found:
        shown = ", ".join(report.found[:_SHOWN_FOUND])
        more = f" and {len(report.found) - _SHOWN_FOUND} more" if len(report.found) > _SHOWN_FOUND else ""
        lines.append(f"found: {shown}{more}")
    return lines
