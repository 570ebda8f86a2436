"""The ``chimera_recovery`` task: find the pipelines that need a run, plan, and carry the plan out."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.operators.failing import failing_fast


class RecoveryOperator(BaseOperator):
    """Recovers the pipelines that failed or missed their schedule since ``params.since``
    (:mod:`airflow_provider_chimera.recovery.run`), only those of ``params.pipelines`` when that
    list is given; a dry run only plans. ``params.requested_by`` and the Airflow user who
    triggered the run go into each audit entry. Returns the plan's figures."""

    ui_color = "#ffe0e0"

    def execute(self, context: Any) -> dict[str, Any]:
        with failing_fast():  # a FixRequired error fails at once (operators.failing)
            from airflow_provider_chimera.recovery.run import parse_since, recover
            from airflow_provider_chimera.registry.audit import task_actor
            from airflow_provider_chimera.settings import load_settings

            params = context["params"]
            since = parse_since(str(params.get("since") or "24h"))
            dry_run = bool(params.get("dry_run"))
            actor = task_actor(context["dag"].dag_id, context["run_id"])
            pipelines = params.get("pipelines")
            requested_by = requester(params.get("requested_by"), getattr(context.get("dag_run"), "triggering_user_name", None))
            report = recover(since, load_settings(), dry_run=dry_run, actor=actor,
                             pipelines=None if pipelines is None else [str(p) for p in pipelines], requested_by=requested_by)
            for entry in report.plan.plan:
                self.log.info("%s: start +%.0f s, finish +%.0f s: %s", entry.id, entry.start_s, entry.finish_s, entry.reason)
            self.log.info("%d pipeline(s) to recover since %s; makespan %.0f s, lower bound %.0f s",
                          len(report.recoveries), since.isoformat(), report.plan.makespan_s, report.plan.lower_bound_s)
            result: dict[str, Any] = {"since": since.isoformat(), "pipelines": len(report.recoveries), "dry_run": dry_run,
                                      "requested_by": requested_by,
                                      "makespan_s": report.plan.makespan_s, "lower_bound_s": report.plan.lower_bound_s}
            if report.outcome is not None:
                failed = [r["id"] for r in report.outcome.runs if r["state"] != "success"]
                result.update(waves=report.outcome.waves, failed=failed)
                if failed:
                    raise RuntimeError(f"recovery finished, but {len(failed)} pipeline run(s) failed again: {', '.join(failed)}")
            return result


def requester(requested_by: str | None, triggered_by: str | None) -> str | None:
    """Who asked for the recovery: the conf's ``requested_by`` when it is the Airflow user who
    triggered the run (the UI's case) or when Airflow names no user; otherwise both, so that a
    conf written by someone else is never taken for the truth."""
    if not requested_by:
        return triggered_by
    if not triggered_by or triggered_by == requested_by:
        return requested_by
    return f"{requested_by} (triggered by {triggered_by})"
