"""What the UI's buttons do: rerun one pipeline, preview and start a fleet recovery.

Every call to Airflow goes through its REST API v2 with the *user's own* token (an
:class:`~airflow_provider_chimera.airflow_api.AirflowApi` made with ``token=``), never through a
service connection: Airflow checks the user's rights and writes its own audit log (``eventLogs``)
under the user's name, and Chimera gains no privilege. Airflow's refusals come back unchanged
(:class:`ActionRefused` with Airflow's status and explanation), so a viewer's rerun is Airflow's
``403`` and creates nothing.

**Rerun** looks at the DAG's latest run:

- ``failed``: its failed task instances are cleared (``POST /dags/{id}/clearTaskInstances`` with
  the run's id and ``only_failed``): the run runs again with its own dates and window, as a new try;
- the DAG missed its last scheduled run (due more than :data:`GRACE_S` ago, nothing created), or
  has never run: a run is triggered (``POST /dags/{id}/dagRuns``), a missed one with the logical
  date and data interval the scheduler would have given it;
- ``queued``, ``running`` or ``success``: nothing to do, ``409`` saying why.

**Recovery**: the preview is exactly ``chimera recover --since X --dry-run --format json``
(:func:`~airflow_provider_chimera.recovery.run.report_json`), over the DAGs the user may read;
starting it needs edit rights on every DAG of the previewed plan (checked by the route) and the
right to trigger ``chimera_recovery``, which is triggered with the user's token and the conf
``{"since", "pipelines", "requested_by"}``: the plan's pipeline list, which the recovery can only
shrink (decision 0064).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel

from airflow_provider_chimera.airflow_api import AirflowApi, AirflowApiError
from airflow_provider_chimera.settings import ChimeraSettings

GRACE_S = 120.0  # as recovery.needs: a scheduled run this late, with nothing created, was missed
RECOVERY_DAG = "chimera_recovery"
BUSY = ("queued", "running")


class ActionRefused(Exception):
    """An action that did not happen: ``status`` is the HTTP status to answer (Airflow's own when
    Airflow refused), ``message`` a plain sentence for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class RerunResult(BaseModel):
    """What a rerun did: cleared a failed run, or triggered a new (or missed) one."""

    dag_id: str
    action: Literal["cleared", "triggered"]
    dag_run_id: str
    message: str
    grid_url: str  # Airflow's grid of the run


class RecoveryStarted(BaseModel):
    """The ``chimera_recovery`` run that carries the previewed plan out."""

    dag_run_id: str
    since: str
    pipelines: list[str]
    requested_by: str
    message: str
    grid_url: str


def api_base_url() -> str:
    """Where this api-server answers (``[api] base_url``): the actions call Airflow's REST API there."""
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080").rstrip("/")


def user_api(token: str | None, base_url: str | None = None) -> AirflowApi:
    """A REST API client that acts as the user whose ``token`` it carries; 401 without a token."""
    if not token:
        raise ActionRefused(401, "sign in to Airflow first")
    return AirflowApi(base_url or api_base_url(), token=token)


def _call(fn, *args) -> Any:
    """``fn(*args)``, with Airflow's refusal turned into an :class:`ActionRefused` of the same status."""
    try:
        return fn(*args)
    except AirflowApiError as exc:
        if exc.status is None:
            raise ActionRefused(502, f"Airflow did not answer: {exc}") from None
        raise ActionRefused(exc.status, f"Airflow refused (HTTP {exc.status}): {exc.detail or exc}") from None


def grid_url(dag_id: str, dag_run_id: str | None = None) -> str:
    """Airflow's own page of the DAG (and run): the UI links there instead of rebuilding it."""
    return f"/dags/{dag_id}/runs/{dag_run_id}" if dag_run_id else f"/dags/{dag_id}"


def rerun(api: AirflowApi, dag_id: str, user_name: str, now: dt.datetime | None = None) -> RerunResult:
    """Rerun ``dag_id`` as the user of ``api`` (see the module doc); :class:`ActionRefused` otherwise."""
    now = now or dt.datetime.now(dt.UTC)
    dag = _call(api.get, f"/dags/{dag_id}")
    runs = _call(lambda: api.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after", limit=1)["dag_runs"])
    latest = runs[0] if runs else None
    note = f"rerun from Chimera by {user_name}"
    if latest is not None and latest["state"] in BUSY:
        raise ActionRefused(409, f"{dag_id}: its latest run {latest['dag_run_id']} is {latest['state']}; wait for it to end")
    if latest is not None and latest["state"] == "failed":
        run_id = latest["dag_run_id"]
        _call(api.post, f"/dags/{dag_id}/clearTaskInstances",
              {"dry_run": False, "dag_run_id": run_id, "only_failed": True, "reset_dag_runs": True, "note": note})
        return RerunResult(dag_id=dag_id, action="cleared", dag_run_id=run_id, grid_url=grid_url(dag_id, run_id),
                           message=f"cleared the failed tasks of run {run_id}: it runs again as a new try")
    body: dict[str, Any] = {"logical_date": None, "note": note}
    why = "it has never run"
    if latest is not None:
        missed = _missed(dag, now)
        if missed is None:
            raise ActionRefused(409, f"{dag_id}: its latest run {latest['dag_run_id']} succeeded and no scheduled run was missed; "
                                     "nothing to rerun (Airflow's trigger form starts an extra run)")
        body, why = {**missed, "note": note}, f"it missed its run due {dag['next_dagrun_run_after']}"
    created = _call(api.post, f"/dags/{dag_id}/dagRuns", body)
    run_id = created["dag_run_id"]
    return RerunResult(dag_id=dag_id, action="triggered", dag_run_id=run_id, grid_url=grid_url(dag_id, run_id),
                       message=f"triggered run {run_id}: {why}")


def _missed(dag: dict, now: dt.datetime) -> dict | None:
    """The body of the run the scheduler should have created by now and did not, or ``None``."""
    due = _when(dag.get("next_dagrun_run_after"))
    if dag.get("is_paused") or due is None or (now - due).total_seconds() < GRACE_S:
        return None
    body = {"logical_date": dag.get("next_dagrun_logical_date")}
    start, end = dag.get("next_dagrun_data_interval_start"), dag.get("next_dagrun_data_interval_end")
    if start and end:
        body.update(data_interval_start=start, data_interval_end=end)
    return body


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def recovery_plan(api: AirflowApi, settings: ChimeraSettings, since_text: str, user_name: str,
                  readable: Iterable[str] | None = None) -> dict:
    """The JSON of ``chimera recover --since since_text --dry-run --format json``, found through
    Airflow's REST API as the user of ``api``, over the pipelines in ``readable`` (the DAGs the
    user may read; ``None``: all). A bad ``since`` is a 422 naming what it takes."""
    from airflow_provider_chimera.recovery.run import parse_since, recover, report_json

    since = _since(since_text, parse_since)
    report = _call(lambda: recover(since, settings, dry_run=True, actor=ui_actor(user_name), api=api,
                                   pipelines=None if readable is None else sorted(readable)))
    return report_json(report)


def start_recovery(api: AirflowApi, since_text: str, pipelines: Iterable[str], user_name: str) -> RecoveryStarted:
    """Trigger ``chimera_recovery`` as the user of ``api`` for ``pipelines`` (DAG ids; a plan item's
    ``<dag id>@<date>`` counts as its DAG) since ``since_text`` (resolved to a time now, so the run
    recovers from the moment the user previewed). The route has checked edit rights on each DAG."""
    from airflow_provider_chimera.recovery.run import parse_since

    since = _since(since_text, parse_since).isoformat()
    dags = plan_dags(pipelines)
    if not dags:
        raise ActionRefused(400, "the plan has no pipeline: nothing to recover")
    conf = {"since": since, "pipelines": dags, "requested_by": user_name}
    created = _call(api.post, f"/dags/{RECOVERY_DAG}/dagRuns", {"logical_date": None, "conf": conf, "note": f"recovery requested by {user_name} in Chimera"})
    run_id = created["dag_run_id"]
    return RecoveryStarted(dag_run_id=run_id, since=since, pipelines=dags, requested_by=user_name, grid_url=grid_url(RECOVERY_DAG, run_id),
                           message=f"started {RECOVERY_DAG} run {run_id} for {len(dags)} pipeline(s)")


def plan_dags(pipelines: Iterable[str]) -> list[str]:
    """The DAG ids of a plan's items (``<dag id>@<logical date>`` for a pipeline with several), once each."""
    return sorted({str(item).split("@", 1)[0] for item in pipelines if str(item).strip()})


def _since(text: str, parse) -> dt.datetime:
    try:
        return parse(text)
    except ValueError as exc:
        raise ActionRefused(422, str(exc)) from None


def ui_actor(user_name: str) -> str:
    """The audit log's actor for what a user does in Chimera's pages."""
    return f"ui:{user_name}"


def audit_recovery_requested(settings: ChimeraSettings, user_name: str, started: RecoveryStarted) -> None:
    """``ui.recovery.requested``: who asked for which recovery, and its run."""
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.registry.db import open_registry

    registry = open_registry(settings)
    try:
        record(registry, ui_actor(user_name), "ui.recovery.requested",
               details={"since": started.since, "pipelines": started.pipelines, "dag_run_id": started.dag_run_id})
    finally:
        registry.close()


def recent_recoveries(settings: ChimeraSettings, limit: int = 20, may_read: Callable[[set[str]], set[str]] | None = None) -> list[dict]:
    """The latest recoveries, newest first, each with its audit trail (oldest entry first): the
    ``ui.recovery.requested`` entry, then the ``recovery.*`` entries of the run it started. With
    ``may_read`` (the DAGs of a set the user may read), a recovery naming any other DAG is left out."""
    from airflow_provider_chimera.registry.audit import entries, task_actor
    from airflow_provider_chimera.registry.db import open_registry

    registry = open_registry(settings)
    try:
        with registry.session() as session:
            rows = entries(session, action="recovery.*", limit=2000) + entries(session, action="ui.recovery.requested", limit=limit)
    finally:
        registry.close()
    by_run: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: r.id):
        run = row.details.get("dag_run_id") if row.action == "ui.recovery.requested" else None
        key = task_actor(RECOVERY_DAG, run) if run else row.actor
        if row.action == "recovery.planned" and row.details.get("dry_run"):
            continue  # a preview (the CLI's or the page's): not a recovery
        item = by_run.setdefault(key, {"run": key, "requested_by": None, "at": row.at.isoformat(), "trail": []})
        item["requested_by"] = item["requested_by"] or (row.actor.removeprefix("ui:") if row.action.startswith("ui.") else row.details.get("requested_by"))
        item["trail"].append({"at": row.at.isoformat(), "actor": row.actor, "action": row.action, "details": row.details})
    found = sorted(by_run.values(), key=lambda i: i["at"], reverse=True)
    if may_read is not None:
        found = [r for r in found if not (named := dags_named(r["trail"])) or may_read(named) == named]
    return found[:limit]


def dags_named(trail: list[dict]) -> set[str]:
    """Every DAG an audit trail of a recovery names (in ``dag_id``, ``pipeline``, ``pipelines``, ``starting``)."""
    named: set[str] = set()
    for entry in trail:
        details = entry["details"]
        items = [details.get("dag_id"), details.get("pipeline"), *details.get("pipelines", []), *details.get("starting", []), *details.get("running", [])]
        for item in items:
            if isinstance(item, dict):
                item = item.get("dag_id") or item.get("id")
            if isinstance(item, str) and item:
                named.add(item.split("@", 1)[0])
    return named
