"""What a Chimera task imports, imported once in the process Airflow forks its tasks from.

Every Airflow 3 task runs in a process forked from a long-lived one (a LocalExecutor worker, a
Celery pool process). A pipeline run that finds nothing new spends most of its time importing
(pyarrow, pyiceberg, SQLAlchemy's mapper set-up, the source's driver, Chimera's own modules): about
2 s on a small machine, paid again by every run. Imported here, in the parent, every forked task
shares them copy-on-write and starts at once (docs/decisions/0069, ``make bench-run-cost``).

Name it in Airflow's configuration; nothing else imports it::

    [scheduler]            # the LocalExecutor's workers
    mp_start_method = forkserver
    mp_forkserver_preload = airflow_provider_chimera.preload

and, for Celery workers, ``[celery] celery_config_options =
airflow_provider_chimera.preload.CELERY_CONFIG`` (Airflow's default Celery configuration, plus
this module in ``imports``, imported by the worker before it forks its pool).

Importing it opens no connection, starts no thread and reads no intent: it only imports modules
(a missing optional driver is skipped; Soda Core the way the checks import it) and configures the
SQLAlchemy mappers. ``bench/runcost/profile_task.py --modules`` lists what a run still imports.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

#: What a task imports, roughly in the order it does: the libraries first, then Chimera's modules
#: on the ingest path, then each built-in source's reader and driver.
MODULES = (
    "airflow.executors.local_executor", "airflow.sdk.execution_time.supervisor", "airflow.sdk.execution_time.task_runner",
    "airflow.providers.standard.operators.python", "airflow.models",
    "pyarrow", "pyarrow.compute", "pyarrow.parquet", "pyarrow.csv", "pyarrow.json",
    "pyiceberg.catalog.sql", "pyiceberg.catalog.rest", "pyiceberg.table", "pyiceberg.io.pyarrow", "pyiceberg.avro.decoder_fast",
    "sqlalchemy.orm",
    "airflow_provider_chimera.operators.ingest", "airflow_provider_chimera.operators.alerts",
    "airflow_provider_chimera.ingest.run", "airflow_provider_chimera.ingest.windows",
    "airflow_provider_chimera.ingest.runstats", "airflow_provider_chimera.ingest.limits",
    "airflow_provider_chimera.ingest.resume", "airflow_provider_chimera.ingest.target",
    "airflow_provider_chimera.ingest.readahead", "airflow_provider_chimera.operators.onboarding",
    "airflow_provider_chimera.writer", "airflow_provider_chimera.writer.ownership",
    "airflow_provider_chimera.writer.quarantine", "pyiceberg.table.update.snapshot",
    "airflow_provider_chimera.governance.wap", "airflow_provider_chimera.governance.quarantine_gate",
    "airflow_provider_chimera.governance.checks", "airflow_provider_chimera.governance.protect",
    "airflow_provider_chimera.governance.soda",
    "airflow_provider_chimera.onboarding.state", "airflow_provider_chimera.onboarding.ready",
    "airflow_provider_chimera.onboarding.notify", "airflow_provider_chimera.notify.email",
    "airflow.providers.smtp.hooks.smtp",
    "airflow_provider_chimera.metadata.lineage", "airflow_provider_chimera.metadata.queue",
    "airflow_provider_chimera.metadata.destination", "airflow_provider_chimera.registry.models",
    "airflow_provider_chimera.registry.runs", "airflow_provider_chimera.registry.audit",
    "airflow_provider_chimera.registry.limits", "airflow.sdk.execution_time.cache",
    "airflow_provider_chimera.factory", "airflow_provider_chimera.factory.dags",  # the DAG file a task parses first,
    "airflow_provider_chimera.registry.db", "airflow_provider_chimera.registry.manifest",  # which reads the intents folder
    "airflow_provider_chimera.contract.validate", "airflow_provider_chimera.contract.diff",
    "airflow_provider_chimera.contract.decode", "airflow_provider_chimera.contract.schema",
    "airflow_provider_chimera.sources.postgres", "psycopg", "adbc_driver_postgresql.dbapi",
    "airflow.providers.postgres.hooks.postgres",
    "airflow_provider_chimera.sources.mysql", "MySQLdb", "airflow.providers.mysql.hooks.mysql",
    "airflow_provider_chimera.sources.snowflake", "airflow_provider_chimera.sources.mongodb", "pymongo",
    "airflow_provider_chimera.sources.kafka", "confluent_kafka",
    "airflow_provider_chimera.sources.file", "airflow_provider_chimera.sources.pdf",
)


def preload(modules: tuple[str, ...] = MODULES) -> list[str]:
    """Import ``modules`` and configure SQLAlchemy's mappers; returns the modules that could not
    be imported (an optional driver not installed), which a task then imports itself."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an optional driver: its tasks import it themselves, as before
            missing.append(name)
            log.debug("preload: %s not imported: %s", name, exc)
    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # the registry's and pyiceberg's SQL catalog's models: ~0.7 s in every task otherwise
    _soda()
    _task_runtime()
    return missing


def _soda() -> None:
    """Soda Core and DuckDB, which run a load's checks: about 1 s of imports in every run that
    commits rows otherwise; imported the way the checks import them (``governance.soda``)."""
    try:
        from airflow_provider_chimera.governance.soda import import_soda

        import_soda()
        # What Soda itself imports when it first verifies a contract; after import_soda(), which
        # turned its telemetry off before any of Soda's modules was imported.
        for name in ("soda_core.check_collections.session", "ruamel.yaml.mergevalue"):
            importlib.import_module(name)
    except Exception as exc:  # its tasks import it themselves, as before
        log.debug("preload: Soda Core not imported: %s", exc)


def _task_runtime() -> None:
    """What Airflow's task runner sets up in each task process: its listeners, hence the plugins
    (about 1 s), the providers' hooks a connection needs and their asset URI handlers (the
    pipelines' DAG file, parsed by every task); done here, a forked task finds it done."""
    try:
        from airflow.providers_manager import ProvidersManager
        from airflow.sdk.listener import get_listener_manager
        from airflow.sdk.plugins_manager import integrate_macros_plugins

        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        get_listener_manager()
        integrate_macros_plugins()
        ProvidersManager().initialize_providers_hooks()
        # The providers' asset URI handlers, which the pipelines' DAG file needs for its assets.
        ProvidersManagerTaskRuntime().initialize_providers_asset_uri_resources()
    except Exception as exc:  # an Airflow without these: its tasks set them up themselves, as before
        log.debug("preload: the task runtime is not set up ahead: %s", exc)


def _celery_config() -> dict:
    """Airflow's default Celery configuration, with this module imported by the worker before it forks."""
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    return {**DEFAULT_CELERY_CONFIG, "imports": [*DEFAULT_CELERY_CONFIG.get("imports", ()), __name__]}


def __getattr__(name: str):
    if name == "CELERY_CONFIG":  # built when Airflow's Celery app asks for it, not on every import
        return _celery_config()
    raise AttributeError(name)


preload()
