"""The ingest task: the Airflow side of an ingest run (``airflow_provider_chimera.ingest``)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.contract.model import PartitionedMode
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.operators.failing import fail_now, failing_fast
from airflow_provider_chimera.pipelines import Pipeline


class IngestOperator(BaseOperator):
    """Reads one source object and commits it to its Iceberg target (:mod:`airflow_provider_chimera.ingest.run`).

    The task turns its Airflow context into the run's arguments (run id, DAG run conf, the data
    interval of a ``partitioned`` run), runs it under the task's memory cap and the backstop of
    its ``execution_timeout`` (``ingest.limits``), and records the attempt in the registry's
    ``runs`` table (``ingest.runstats``). An error that needs the intent or the source fixed fails
    the task at once (``AirflowFailException``), any other is retried. After a publish it emits the
    source → Iceberg lineage and tells the team its table is ready (after the first publish only).
    Returns (and pushes to XCom) the rows written, the snapshot id, the checks and the run
    statistics; never a value of the data.
    """

    ui_color = "#cfe8ff"

    def __init__(self, *, pipeline: Pipeline, **kwargs: Any):
        super().__init__(**kwargs)
        self.pipeline = pipeline

    def execute(self, context: Any) -> dict[str, Any]:
        """Run the ingestion, recording the attempt (start, end, rows, bytes, CPU, peak RSS) in the
        registry's ``runs`` table; the same statistics are part of the returned XCom value."""
        from airflow_provider_chimera.ingest.limits import TaskWatchdog
        from airflow_provider_chimera.ingest.run import run
        from airflow_provider_chimera.ingest.runstats import RunMeter, save_run
        from airflow_provider_chimera.operators.onboarding import skip_until_onboarded
        from airflow_provider_chimera.settings import settings_for_run

        with settings_for_run() as settings:  # the [chimera] section, read once for the whole run
            pipeline, meter = self.pipeline, RunMeter()
            with failing_fast():
                skip_until_onboarded(pipeline.intent, pipeline.id, self.log, settings)  # nothing is read before onboarding completed
            run_id = str(context.get("run_id", "manual"))
            attempt = getattr(context.get("ti"), "try_number", None)
            audited = {"intent": pipeline.intent, "intent_hash": pipeline.intent_hash}  # the finished attempt's audit entry
            save_run(pipeline.id, run_id, "running", attempt=attempt, started_at=meter.started_at, settings=settings)
            try:
                window = self._window(context)  # in the try: a bad run conf is a failed attempt too
                with TaskWatchdog(pipeline.id, settings.task_memory_limit_mib, self.execution_timeout):
                    result = run(pipeline, run_id=run_id, conf=run_conf(context), window=window, settings=settings, log=self.log, meter=meter)
            except BaseException as exc:  # a timeout or a kill signal is a failed attempt too
                error = f"{type(exc).__name__}: {exc}"
                save_run(pipeline.id, run_id, "failed", attempt=attempt, stats=meter.stop(), snapshot_id=meter.snapshot_id, error=error,
                         quarantined=getattr(exc, "quarantined", None), settings=settings, **audited)  # a quarantine breach's count, for the board
                if isinstance(exc, FixRequired):  # a retry would fail the same way: say what to fix now (errors)
                    raise fail_now(exc) from exc
                raise
            save_run(pipeline.id, run_id, "success", attempt=attempt, stats=result.stats, snapshot_id=result.snapshot_id, quarantined=result.quarantined, settings=settings, **audited)
            self._announce_window(context, window)
            if result.published:  # source → Iceberg lineage in DataHub; bounded in time, never fails the task
                from airflow_provider_chimera.metadata.lineage import emit_run_lineage

                emit_run_lineage(pipeline, result.snapshot_id, settings, run_id=run_id)
            from airflow_provider_chimera.onboarding.ready import notify_table_ready

            xcom = result.as_xcom()
            notify_table_ready(pipeline, xcom, logger=self.log)  # the team, after the first publish only; never fails the task
            return xcom

    def _window(self, context: Any):
        """A ``partitioned`` run's window (``ingest.windows``), logged with where it comes from;
        ``None`` for the other modes, whose log says they continue from the newest position."""
        from airflow_provider_chimera.ingest.runconf import RunConfError, parse_run_conf
        from airflow_provider_chimera.ingest.windows import derive_window, incremental_note

        pipeline = self.pipeline
        where = f"{pipeline.intent_file}: pipeline {pipeline.id}"
        conf = parse_run_conf(run_conf(context), where)
        mode = pipeline.ingestion.mode
        if not isinstance(mode, PartitionedMode):
            if conf.window is not None:
                raise RunConfError(f"{where}: run conf window: only a 'partitioned' pipeline loads a window; this one is '{mode.type}'")
            if mode.type in ("incremental", "stream"):
                self.log.info("%s", incremental_note(mode.type))
            return None
        chosen = derive_window(mode, conf, run_facts(context), where=where)
        self.log.info("%s: %s", pipeline.id, chosen)
        return chosen.window

    def _announce_window(self, context: Any, window: Any) -> None:
        """Put the window on the target's asset event, for the pipelines it triggers (``ingest.windows``)."""
        from airflow_provider_chimera.ingest.windows import window_extra

        events = context.get("outlet_events")
        if window is None or events is None or not self.outlets:
            return
        try:
            events[self.outlets[0]].extra.update(window_extra(window))
        except Exception as exc:  # after the commit: a missing announcement never fails the run
            self.log.warning("%s: the target's asset event carries no window: %s", self.pipeline.id, exc)

    def get_openlineage_facets_on_complete(self, task_instance: Any):
        """The run's source → Iceberg lineage, read by the DataHub Airflow plugin and OpenLineage."""
        from airflow_provider_chimera.metadata.lineage import openlineage_facets

        return openlineage_facets(self.pipeline)


def run_conf(context: Any) -> dict[str, Any]:
    """The DAG run's conf (``{}`` when there is none)."""
    conf = getattr(context.get("dag_run"), "conf", None)
    return conf if isinstance(conf, dict) else {}


def run_facts(context: Any):
    """What the task's context holds that a window can come from, as plain values (``ingest.windows``)."""
    from airflow_provider_chimera.ingest.windows import AssetEventFacts, RunFacts

    events, seen = [], set()
    for asset_events in (context.get("triggering_asset_events") or {}).values():
        for event in asset_events:  # an event reached through an alias is listed under it too
            asset = getattr(getattr(event, "asset", None), "uri", "") or ""
            if (asset, event.timestamp) not in seen:
                seen.add((asset, event.timestamp))
                events.append(AssetEventFacts(timestamp=event.timestamp, extra=dict(event.extra or {}), asset=asset))
    return RunFacts(
        data_interval_start=context.get("data_interval_start"),
        data_interval_end=context.get("data_interval_end"),
        logical_date=context.get("logical_date"),
        run_after=getattr(context.get("dag_run"), "run_after", None),
        asset_events=tuple(events),
    )
