"""The registry task: records the intents folder and the factory's decisions in the audit log."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetAlias, BaseOperator

from airflow_provider_chimera.operators.failing import failing_fast

# The registry sync task's outlet alias: the intent assets it emits events for are chosen when it runs.
INTENTS_ALIAS = "chimera-intents"


def intent_uri(intent_name: str) -> str:
    return f"chimera-intent://{intent_name}"


def intent_asset(intent_name: str) -> Asset:
    """The asset whose events start the intent's onboarding DAG (``factory.onboarding``)."""
    uri = intent_uri(intent_name)
    return Asset(uri=uri, name=uri, group="chimera-intent")


def intents_alias() -> AssetAlias:
    """The registry sync task's outlet: the intent assets it emits events for are chosen when it runs."""
    return AssetAlias(name=INTENTS_ALIAS, group="chimera-intent")


class RegistrySyncOperator(BaseOperator):
    """Runs :func:`~airflow_provider_chimera.pipelines.sync.sync_registry` on ``[chimera] intents_dir``.

    Parsing DAG files touches no database, so the factory's decisions (pipeline created,
    retired, pending onboarding, intent rejected) are recorded here, on a schedule, once each.
    """

    ui_color = "#e8e0ff"

    def execute(self, context: Any) -> dict[str, int]:
        with failing_fast():  # a FixRequired error fails at once (operators.failing)
            from airflow_provider_chimera.registry.audit import task_actor
            from airflow_provider_chimera.registry.db import open_registry
            from airflow_provider_chimera.pipelines.sync import sync_registry
            from airflow_provider_chimera.settings import load_settings

            settings = load_settings()
            actor = task_actor(context["dag"].dag_id, context["run_id"])
            registry = open_registry(settings)
            report = sync_registry(registry, settings.intents_dir, actor=actor)
            counts = report.counts()
            self.log.info("registry synced with %s: %s", settings.intents_dir, counts)
            counts["onboarding_requested"] = len(self.request_onboarding(context, registry, settings.intents_dir, actor))
            counts.update(self.sync_pools(settings))
            return counts

    def sync_pools(self, settings) -> dict[str, int]:
        """Create or resize the pipelines' pools through Airflow's REST API, so a new intent's
        pipelines have their pools before their first run (the same plan as ``chimera pools sync``)."""
        from airflow_provider_chimera.airflow_api import AirflowApi
        from airflow_provider_chimera.pipelines.pools import ApiPools, apply_pools, plan_pools

        api = AirflowApi.from_settings(settings.airflow_api_conn_id)
        try:
            changes = apply_pools(plan_pools(settings=settings), ApiPools(api))
        finally:
            api.close()
        for change in ("created", "updated", "deleted"):
            if changes[change]:
                self.log.info("pools %s: %s", change, ", ".join(changes[change]))
        return {f"pools_{change}": len(names) for change, names in changes.items()}

    def request_onboarding(self, context: Any, registry, intents_dir, actor: str) -> list[tuple[str, str]]:
        """An event on ``chimera-intent://<intent>`` (through this task's asset alias outlet) for each
        intent waiting for onboarding: its onboarding DAG is scheduled on that asset."""
        from airflow_provider_chimera.onboarding.trigger import request_onboarding

        waiting = request_onboarding(registry, intents_dir, actor=actor)
        if not any(isinstance(o, AssetAlias) and o.name == INTENTS_ALIAS for o in self.outlets):
            return waiting  # not wired to start onboarding DAGs (e.g. run on its own)
        for name, content_hash in waiting:
            context["outlet_events"][AssetAlias(name=INTENTS_ALIAS)].add(
                intent_asset(name), extra={"intent": name, "intent_hash": content_hash}
            )
            self.log.info("onboarding requested for %s (version %s)", name, content_hash[:12])
        return waiting
