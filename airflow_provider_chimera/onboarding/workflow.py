"""The onboarding workflow: ten steps, in order, each audited, each safe to run again.

``validate`` → ``test_connectivity`` → ``register`` → ``harvest`` → ``publish_onboarding`` →
``create_targets`` → ``publish_completion`` → ``discovery`` → ``publish_discovery`` → ``notify``.

:func:`run_step` runs one of them on an intent file; the onboarding DAG runs each as its own task
and ``chimera onboard`` runs them one after the other, so both do exactly the same work. Each step
writes ``onboarding.<step>`` to the audit log (intent and content hash) and records itself as done
for that version in the intent's onboarding state (:mod:`.state`): running a done step again does
nothing but say so, and a later step refuses to run before the earlier ones are done for the same
version. ``validate`` also runs the preflight (:mod:`.preflight`): what the platform must provide
(the event connection, the policy keys, the Iceberg catalog) is checked before any other step,
every problem listed at once; its warnings (no mail connection) are logged and audited. What a new
version needs is decided once, by ``validate``, against the last version whose onboarding completed:

- ``new``: never onboarded: everything is tested, harvested and announced;
- ``widen``: objects or columns were added: only those are harvested and announced;
- ``narrow``: objects or columns were only removed: their pipelines are retired (data kept), with
  no connectivity test, no harvest and no onboarding or discovery event;
- ``change``: settings changed, nothing added: tested and registered, no harvest;
- ``unchanged``: the completed version again: every step records that nothing changed.

A failing step writes ``onboarding.failed`` (step, reason with secrets removed, how to retry),
notifies the team and raises :class:`OnboardingFailed`; the steps done so far stay done, so a
retry resumes at the failed step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_chimera.contract.diff import ALL, IntentDiff, diff_intents
from airflow_provider_chimera.contract.load import IntentError, parse_intent
from airflow_provider_chimera.contract.model import Intent
from airflow_provider_chimera.onboarding import state as onboarding_state
from airflow_provider_chimera.onboarding.errors import StepError
from airflow_provider_chimera.onboarding.preflight import preflight
from airflow_provider_chimera.onboarding.superset import register_intent
from airflow_provider_chimera.settings import ChimeraSettings, load_settings
from airflow_provider_chimera.tenancy.authorize import AuthorizationError, authorize_or_raise, relative_file
from airflow_provider_chimera.tenancy.model import SINGLE_TEAM, Grant

log = logging.getLogger(__name__)

STEPS = (
    "validate",
    "test_connectivity",
    "register",
    "harvest",
    "publish_onboarding",
    "create_targets",
    "publish_completion",
    "discovery",
    "publish_discovery",
    "notify",
)
DAG_PREFIX = "chimera_onboard__"
# Kinds of change that bring something new into the lakehouse: tested, harvested and announced.
ADDS = ("new", "widen")


def onboarding_dag_id(intent_name: str) -> str:
    return f"{DAG_PREFIX}{intent_name}"


class OnboardingFailed(RuntimeError):
    """A step failed; the message names the step, the reason and how to retry."""

    def __init__(self, intent: str, step: str, reason: str, retry: str):
        super().__init__(f"onboarding of {intent} failed at step {step}: {reason}. To retry: {retry}")
        self.intent, self.step, self.reason, self.retry = intent, step, reason, retry


@dataclass
class StepOutcome:
    step: str
    intent: str
    intent_hash: str
    outcome: str  # done, unchanged, skipped, already done
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        note = self.details.get("summary")
        return f"{self.outcome}" + (f": {note}" if note else "")


@dataclass
class Run:
    """One step's view of the intent being onboarded."""

    path: Path
    raw: bytes
    hash: str
    intent: Intent
    version: dict[str, Any]  # the onboarding state of this version (kind, base, steps done)
    registry: Any
    settings: ChimeraSettings
    actor: str | None
    grant: Grant = SINGLE_TEAM  # what the intent's team may use (tenancy)

    @property
    def in_intents_folder(self) -> bool:
        return relative_file(self.path, self.settings.intents_dir) is not None

    @property
    def kind(self) -> str:
        return self.version["kind"]

    @property
    def base(self) -> Intent | None:
        return _completed_intent(self.registry, self.version.get("base_hash"), self.path, self.intent.name)

    @property
    def diff(self) -> IntentDiff | None:
        base = self.base
        return diff_intents(base, self.intent) if base is not None else None

    def scope(self) -> Intent:
        """What this version brings in: the whole intent when new, else only what was added."""
        diff = self.diff
        return self.intent if diff is None else added_part(diff, self.intent)


def added_part(diff: IntentDiff, current: Intent) -> Intent:
    """``current`` cut down to the sources and objects that were added, or gained columns."""
    wanted = {(r.source, r.object) for r in diff.added_objects} | {(c.source, c.object) for c in diff.added_columns}
    sources = []
    for source in current.sources:
        if (source.name, ALL) in wanted:
            sources.append(source)
        elif source.objects != "all":
            objects = [o for o in source.objects if (source.name, o.name) in wanted]
            if objects:
                sources.append(source.model_copy(update={"objects": objects}))
    return current.model_copy(update={"sources": sources})


def _completed_intent(registry, content_hash: str | None, path: Path, name: str) -> Intent | None:
    """The completed version ``content_hash`` (its content as the registry keeps every version), or
    ``None`` when there is none or it no longer validates (then this version is onboarded as new)."""
    from airflow_provider_chimera.registry.store import version_content

    with registry.session(read_only=True) as session:
        content = version_content(session, name, content_hash)
    if not content:
        return None
    try:
        return parse_intent(content.encode(), f"{path} (completed version)", stem=name)
    except IntentError:
        return None


def _kind(diff: IntentDiff | None, same: bool) -> str:
    if same:
        return "unchanged"
    if diff is None:
        return "new"
    if diff.needs_onboarding:
        return "widen"
    if (diff.removed_objects or diff.removed_columns) and not diff.changed:
        return "narrow"
    return "change"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --- the services other modules provide; looked up when a step runs --------------------------------


def _publish(kind: str, intent: Intent, run: Run) -> str | None:
    """Publish the ``kind`` event about ``intent`` (this version's scope); ``None`` if it was published before."""
    from airflow_provider_chimera.onboarding.events import (
        event_data,
        publish_onboarding_event,
    )

    data = event_data(intent, run.hash, datahub_urns=run.version.get("datahub_urns") or {},
                      superset=run.version.get("superset_links") or {})
    return publish_onboarding_event(kind, data, registry=run.registry, settings=run.settings, actor=run.actor)


def _notify(kind: str, intent: Intent, details: dict[str, Any], settings: ChimeraSettings) -> str:
    from airflow_provider_chimera.onboarding.notify import notify_team

    return notify_team(kind, intent_name=intent.name, team_email=intent.team.support_email, details=details, settings=settings)


def _harvest(scope: Intent, run: Run):
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.metadata.harvest import harvest_intent

    pipelines = pipelines_of(scope, str(run.path), run.hash)
    return harvest_intent(scope, str(run.path), pipelines, settings=run.settings, grant=run.grant, registry=run.registry)


# --- the steps --------------------------------------------------------------------------------------


def validate(run: Run) -> dict[str, Any]:
    """The file validated when the run was read; here the folder's rules (one writer per table) and
    the preflight (what the platform must provide), every problem of both at once."""
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.registry.manifest import onboarded_in

    folder = run.settings.intents_dir if run.in_intents_folder else run.path.parent
    found = discover(folder, onboarded_in(run.registry))
    mine = [str(p) for error in found.errors for p in error.problems if Path(p.file).resolve() == run.path.resolve()]
    # What the platform must provide (event connection, policy keys, catalog...): every problem at once.
    checked = preflight(run.intent, run.settings)
    mine.extend(str(finding) for finding in checked.problems)
    if mine:
        raise StepError("; ".join(mine))
    diff = run.diff
    details: dict[str, Any] = {"kind": run.kind, "base_hash": run.version.get("base_hash")}
    if diff is not None:
        details.update(
            added_objects=[str(o) for o in diff.added_objects], added_columns=[str(c) for c in diff.added_columns],
            removed_objects=[str(o) for o in diff.removed_objects], removed_columns=[str(c) for c in diff.removed_columns],
            changed=[str(c) for c in diff.changed],
        )
    details["summary"] = {
        "new": "first onboarding of this intent",
        "widen": "objects or columns added: only they are onboarded",
        "narrow": "scope only narrowed: pipelines retired, nothing harvested",
        "change": "settings changed, nothing added",
    }[run.kind]
    details["preflight"] = checked.passed
    if checked.warnings:
        for finding in checked.warnings:
            log.warning("preflight of intent %s: %s", run.intent.name, finding)
        details["warnings"] = [str(finding) for finding in checked.warnings]
        details["summary"] += f"; preflight: {len(checked.warnings)} warning(s): " + "; ".join(f.problem for f in checked.warnings)
    return details


def test_connectivity(run: Run) -> dict[str, Any]:
    """``chimera intent test``: a real connection to every source, its objects looked up."""
    from airflow_provider_chimera.onboarding.connectivity import (
        DEFAULT_TIMEOUT_S,
        describe,
        test_intent,
    )

    if run.kind == "narrow":
        return {"outcome": "skipped", "summary": "nothing added: no source to test"}
    reports = test_intent(run.intent, DEFAULT_TIMEOUT_S, grant=run.grant)
    sources = [{"source": r.source, "type": r.type, "ok": r.ok, "reason": "; ".join(describe(r))} for r in reports]
    failed = [s for s in sources if not s["ok"]]
    if failed:
        raise StepError("; ".join(f"source {s['source']} ({s['type']}): {s['reason']}" for s in failed))
    details: dict[str, Any] = {"sources": sources, "summary": f"{len(sources)} source(s) reachable"}
    warnings = [f"source {r.source} ({r.type}): {warning}" for r in reports for warning in r.warnings]
    if warnings:  # e.g. a landing folder with no file yet: onboarding goes on
        for warning in warnings:
            log.warning("onboarding of %s: %s", run.intent.name, warning)
        details["warnings"] = warnings
        details["summary"] += f"; {len(warnings)} warning(s): " + "; ".join(warnings)
    return details


test_connectivity.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


def register(run: Run) -> dict[str, Any]:
    """Record the version as onboarded (registry rows, onboarded version, ``intent.onboarded``); when the
    file is in the intents folder, sync the registry so that pipelines are created or retired now."""
    from airflow_provider_chimera.registry.manifest import read_onboarded
    from airflow_provider_chimera.registry.onboard import onboard
    from airflow_provider_chimera.pipelines.sync import sync_registry

    details: dict[str, Any] = {}
    with run.registry.session(read_only=True) as session:
        current = read_onboarded(session, run.intent.name)
    if current is not None and current.content_hash == run.hash:
        details["registered"] = "already"
    else:
        onboard(run.registry, run.path, actor=run.actor)
        details["registered"] = "now"
    if run.in_intents_folder:
        report = sync_registry(run.registry, run.settings.intents_dir, actor=run.actor)
        details.update(created=report.created, retired=report.retired, pending_onboarding=report.pending_onboarding)
        details["summary"] = f"{len(report.created)} pipeline(s) created, {len(report.retired)} retired (data kept)"
    else:
        details["summary"] = "file outside the intents folder: pipelines are recorded by the next registry sync"
    return details


def harvest(run: Run) -> dict[str, Any]:
    """Metadata into DataHub: of the whole intent when new, of the added objects only when widened."""
    if run.kind not in ADDS:
        return {"outcome": "skipped", "summary": "nothing added: the harvested metadata stands"}
    scope = run.scope()
    report = _harvest(scope, run)
    if report.problems:
        raise StepError("; ".join(report.problems))
    urns = {f"{source}/{obj}": urn for (source, obj), urn in report.datasets.items()}
    by_object = {(p.source.name, p.object.name): p.target_table for p in _pipeline_models(scope, run)}
    urns.update({by_object.get(key, f"{key[0]}/{key[1]}"): urn for key, urn in report.targets.items()})
    with onboarding_state.changing_state(run.registry, run.intent.name) as state:
        state.setdefault("version", run.version)["datahub_urns"] = urns  # named in the events that follow
    run.version["datahub_urns"] = urns
    summary = f"{len(report.datasets)} object(s) described in {report.destination}"
    if report.queued:
        summary = (f"{len(report.datasets)} object(s) described for {report.destination}: {report.emitted} proposal(s) "
                   "queued in the registry, written by the chimera_metadata DAG")
    return {"destination": report.destination, "datahub_urns": urns, "emitted": report.emitted, "queued": report.queued,
            "summary": summary}


def _pipeline_models(intent: Intent, run: Run):
    from airflow_provider_chimera.pipelines import pipelines_of

    return pipelines_of(intent, str(run.path), run.hash)


def _pipelines(intent: Intent, run: Run) -> list[dict[str, str]]:
    return [{"pipeline": p.id, "target_table": p.target_table} for p in _pipeline_models(intent, run)]


def _published(event: str | None) -> dict[str, Any]:
    if event is None:
        return {"event_id": None, "summary": "event already published for this version; not sent again"}
    return {"event_id": event, "summary": f"event {event}"}


def publish_onboarding(run: Run) -> dict[str, Any]:
    """The ``datasource_onboarding`` event, for what this version brings in."""
    if run.kind not in ADDS:
        return {"outcome": "skipped", "summary": "nothing added: no onboarding event"}
    return _published(_publish("datasource-onboarding", run.scope(), run))


def create_targets(run: Run) -> dict[str, Any]:
    """Each pipeline's Iceberg namespace is created; a table is created by its pipeline's first run,
    with the schema read from the source, and evolves on later runs (``schema_evolution``)."""
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.writer import chimera_catalog

    catalog = chimera_catalog(run.settings)
    targets = []
    for pipeline in pipelines_of(run.intent, str(run.path), run.hash):
        catalog.create_namespace_if_not_exists(pipeline.target_namespace)
        exists = catalog.table_exists(pipeline.target_table)
        targets.append({
            "pipeline": pipeline.id,
            "target_table": pipeline.target_table,
            "table": "exists; its schema evolves on the pipeline's runs" if exists else "created by the pipeline's first run",
        })
    diff = run.diff
    kept = [str(o) for o in diff.removed_objects] if diff is not None else []
    return {"targets": targets, "removed_objects_data_kept": kept, "summary": f"{len(targets)} target(s) ready"}


def publish_completion(run: Run) -> dict[str, Any]:
    """The ``onboarding_completion`` event; from now on the version's pipelines may ingest."""
    pipelines = _pipelines(run.intent, run)
    event = _publish("onboarding-completion", run.intent, run)
    with onboarding_state.changing_state(run.registry, run.intent.name) as state:
        state["completed"] = {
            "hash": run.hash,
            "pipelines": [p["pipeline"] for p in pipelines],
            "at": _now(),
        }
    details = _published(event)
    details["pipelines"] = [p["pipeline"] for p in pipelines]
    details["summary"] += f"; {len(pipelines)} pipeline(s) may ingest"
    return details


def superset_conn_id(settings: ChimeraSettings) -> str:
    """The Superset connection to register datasets in; empty (the default) when none is configured."""
    return settings.superset_conn_id


def discovery(run: Run) -> dict[str, Any]:
    """Make the new datasets discoverable: in DataHub (the harvest put them there) and, when a
    Superset connection is configured, in Superset (:mod:`.superset`: a database per SQL source,
    a dataset per object, whose links the ``data-discovery-available`` event carries)."""
    if run.kind not in ADDS:
        return {"outcome": "skipped", "summary": "nothing added: discovery unchanged"}
    scope = run.scope()
    conn_id = superset_conn_id(run.settings)
    details: dict[str, Any] = {"tables": [p["target_table"] for p in _pipelines(scope, run)], "discoverable_in": ["DataHub"]}
    if not conn_id:
        details["superset"] = "not configured: discoverable in DataHub only"
    else:
        registered = register_intent(conn_id, scope, run.grant)
        with onboarding_state.changing_state(run.registry, run.intent.name) as state:
            state.setdefault("version", run.version)["superset_links"] = registered.links  # named in the event that follows
        run.version["superset_links"] = registered.links
        details["discoverable_in"].append(f"Superset ({conn_id})")
        details.update(superset=registered.links, superset_sources=registered.sources)
    details["summary"] = "discoverable in " + ", ".join(details["discoverable_in"])
    return details


def publish_discovery(run: Run) -> dict[str, Any]:
    """The ``data_discovery_available`` event."""
    if run.kind not in ADDS:
        return {"outcome": "skipped", "summary": "nothing added: no discovery event"}
    return _published(_publish("data-discovery-available", run.scope(), run))


def notify(run: Run) -> dict[str, Any]:
    """Tell the team that the version is onboarded, and what it means for their pipelines."""
    from airflow_provider_chimera.onboarding.events import event_data

    scope = run.scope() if run.kind in ADDS else run.intent
    details = event_data(scope, run.hash, datahub_urns=run.version.get("datahub_urns") or {},
                         superset=run.version.get("superset_links") or {}).model_dump(mode="json")
    diff = run.diff
    details.update(kind=run.kind, pipelines=[p["pipeline"] for p in _pipelines(run.intent, run)],
                   removed_objects=[str(o) for o in diff.removed_objects] if diff is not None else [])
    message = _notify("completion", run.intent, details, run.settings)
    to = run.intent.team.support_email
    outcome = {"notification": message, "to": to, "summary": f"{to}: completion {message}"}
    if run.kind in ADDS:  # something new became discoverable: the team hears where to look
        discovery = _notify("discovery", run.intent, details, run.settings)
        outcome.update(discovery_notification=discovery, summary=outcome["summary"] + f", discovery {discovery}")
    return outcome


STEP_FUNCTIONS: dict[str, Callable[[Run], dict[str, Any]]] = {
    "validate": validate,
    "test_connectivity": test_connectivity,
    "register": register,
    "harvest": harvest,
    "publish_onboarding": publish_onboarding,
    "create_targets": create_targets,
    "publish_completion": publish_completion,
    "discovery": discovery,
    "publish_discovery": publish_discovery,
    "notify": notify,
}


# --- running a step ---------------------------------------------------------------------------------


def run_step(step: str, path: Path | str, *, registry=None, settings: ChimeraSettings | None = None, actor: str | None = None) -> StepOutcome:
    """Run onboarding step ``step`` on the intent file ``path`` (audited; see the module doc)."""
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.secrets import scrub

    if step not in STEP_FUNCTIONS:
        raise ValueError(f"unknown onboarding step {step!r}; the steps are {', '.join(STEPS)}")
    settings = settings or load_settings()
    if registry is None:
        from airflow_provider_chimera.registry.db import open_registry

        registry = open_registry(settings)
    path = Path(path)
    name, content_hash, intent, raw = path.stem, None, None, b""
    try:
        raw = path.read_bytes()
        content_hash = hashlib.sha256(raw).hexdigest()
        intent = parse_intent(raw, str(path), stem=path.stem)
        name = intent.name
    except OSError as exc:
        return _fail(registry, settings, actor, path, name, content_hash, None, step, f"{path}: cannot read: {exc.strerror}", [])
    except IntentError as exc:
        reason = "; ".join(str(p) for p in exc.problems)
        return _fail(registry, settings, actor, path, name, content_hash, None, step, reason, [])
    try:
        # What the team may use, under the tenancy file as it is now; the team's details are the
        # tenancy file's, so mails go to the address the platform knows, not to the file's.
        authorized = authorize_or_raise(intent, path, settings)
    except AuthorizationError as exc:
        reason = "; ".join(str(p) for p in exc.problems)
        return _fail(registry, settings, actor, path, name, content_hash, None, step, reason, [])
    intent, grant = authorized.intent, authorized.grant

    with registry.session(read_only=True) as session:
        state = onboarding_state.load_state(session, name)
    version = state.get("version") or {}
    if step == STEPS[0] and version.get("hash") != content_hash:
        completed = state.get("completed") or {}
        base = _completed_intent(registry, completed.get("hash"), path, name)
        same = completed.get("hash") == content_hash and _registered_hash(registry, name) == content_hash
        version = {
            "hash": content_hash,
            "kind": _kind(diff_intents(base, intent) if base is not None else None, same),
            "base_hash": completed.get("hash"),
            "started_at": _now(),
            "steps": {},
        }
        with onboarding_state.changing_state(registry, name) as state:
            state["version"] = version
    done = version.get("steps", {}) if version.get("hash") == content_hash else {}
    if step != STEPS[0]:
        missing = [s for s in STEPS[: STEPS.index(step)] if s not in done]
        if missing:
            reason = (
                f"step {missing[0]} has not completed for version {content_hash[:12]} of {path}"
                + ("" if version.get("hash") == content_hash else f" (the version under way is {str(version.get('hash'))[:12]})")
            )
            return _fail(registry, settings, actor, path, name, content_hash, intent, step, reason, list(done), retry_from=missing[0])

    run = Run(path, raw, content_hash, intent, version, registry, settings, actor, grant)
    if step in done:
        outcome = StepOutcome(step, name, content_hash, "already done", {"summary": f"done at {done[step]['at']}"})
    elif run.kind == "unchanged":
        outcome = StepOutcome(step, name, content_hash, "unchanged", {"summary": "this version's onboarding completed already"})
    else:
        try:
            details = STEP_FUNCTIONS[step](run)
        except Exception as exc:  # every failure is audited, told to the team, and raised
            reason = str(exc) if isinstance(exc, StepError) else f"{type(exc).__name__}: {exc}"
            return _fail(registry, settings, actor, path, name, content_hash, intent, step, reason, list(done))
        outcome = StepOutcome(step, name, content_hash, details.pop("outcome", "done"), details)
    record(registry, actor, f"onboarding.{step}", intent=name, intent_hash=content_hash,
           details={"file": str(path), "outcome": outcome.outcome, **outcome.details})
    if step not in done:
        with onboarding_state.changing_state(registry, name) as state:  # publish_completion updated it
            version = state.get("version") or version
            version.setdefault("steps", {})[step] = {"at": _now(), "outcome": outcome.outcome}
            version.pop("failed", None)
            state["version"] = version
    outcome.details = scrub(outcome.details)
    return outcome


def _registered_hash(registry, name: str) -> str | None:
    from airflow_provider_chimera.registry.manifest import read_onboarded

    try:
        with registry.session(read_only=True) as session:
            onboarded = read_onboarded(session, name)
    except IntentError:
        return None
    return onboarded.content_hash if onboarded else None


def _fail(registry, settings, actor, path: Path, name: str, content_hash: str | None, intent: Intent | None, step: str,
          reason: str, done: list[str], retry_from: str | None = None) -> StepOutcome:
    """Audit ``onboarding.failed``, notify the team (when the intent names one), raise."""
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.secrets import scrub

    reason = scrub(reason)
    retry_step = retry_from or step
    if intent is None:  # no onboarding DAG exists for a file that does not validate
        retry = f"fix the file; the registry sync starts its onboarding once it validates (or run `chimera onboard {path}`)"
    else:
        retry = (
            f"fix the cause, then clear task {retry_step} of DAG {onboarding_dag_id(name)} in the Airflow UI, "
            f"or run `chimera onboard {path} --from-step {retry_step}`"
        )
    details: dict[str, Any] = {"file": str(path), "step": step, "reason": reason, "retry": retry, "steps_done": done}
    if "register" in done:
        details["registry"] = "this version is recorded as onboarded; its pipelines wait (their ingest task skips) until onboarding completes"
    if content_hash is not None:
        with onboarding_state.changing_state(registry, name) as state:
            version = state.get("version") or {}
            if version.get("hash") == content_hash:
                version["failed"] = {"step": step, "reason": reason, "at": _now()}
    if intent is not None:  # an intent that does not validate names no team to tell
        try:
            details["team_notified"] = _notify(
                "failure", intent, {"step": step, "reason": reason, "retry": retry, "intent_hash": content_hash}, settings
            )
        except Exception as exc:  # the failure stands and is audited, saying that the team was not told
            details["team_notified"] = scrub(f"failed: {type(exc).__name__}: {exc}")
            log.warning("onboarding of %s: the team was not notified of the failure: %s", name, details["team_notified"])
    record(registry, actor, "onboarding.failed", intent=name, intent_hash=content_hash, details=details)
    raise OnboardingFailed(name, step, reason, retry)


def run_all(path: Path | str, *, from_step: str | None = None, registry=None, settings: ChimeraSettings | None = None,
            actor: str | None = None, on_step: Callable[[StepOutcome], None] | None = None) -> list[StepOutcome]:
    """Run the steps in order (from ``from_step``); stops at the first failure (raised)."""
    steps = STEPS[STEPS.index(from_step):] if from_step else STEPS
    outcomes = []
    for step in steps:
        outcome = run_step(step, path, registry=registry, settings=settings, actor=actor)
        outcomes.append(outcome)
        if on_step is not None:
            on_step(outcome)
    return outcomes
