"""Typed access to the ``[chimera]`` configuration section.

Values come from Airflow's configuration (``airflow.cfg`` or ``AIRFLOW__CHIMERA__*``
variables); defaults are the ones declared in :data:`provider_info.CONFIG_OPTIONS`.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from airflow_provider_chimera.provider_info import CONFIG_OPTIONS

SECTION = "chimera"


def _option(name: str) -> str:
    default = CONFIG_OPTIONS[name]["default"]
    env = os.environ.get(f"AIRFLOW__{SECTION.upper()}__{name.upper()}")
    if env is not None:
        return env
    try:
        from airflow.configuration import conf

        return conf.get(SECTION, name, fallback=default)
    except Exception:  # Airflow not configured (e.g. plain library use): the declared default holds.
        return default


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow")).expanduser()


def _dags_folder() -> Path:
    try:
        from airflow.configuration import conf

        return Path(conf.get("core", "dags_folder")).expanduser()
    except Exception:
        return airflow_home() / "dags"


class ChimeraSettings(BaseModel):
    """The ``[chimera]`` options, resolved."""

    model_config = ConfigDict(frozen=True)

    intents_dir: Path
    catalog_name: str
    warehouse: Path
    batch_rows: int
    target_file_size_mb: int
    parquet_compression: str
    team_slots: int = 8
    source_slots: int = 4
    pools_config: Path | None = None
    tenancy_file: Path | None = None
    policies_config: Path | None = None
    pii_key_secret: str = ""
    encryption_key_secret: str = ""
    events_kafka_conn_id: str = "kafka_default"
    events_topic: str = "chimera.events"
    smtp_conn_id: str = "smtp_default"
    datasource_onboarding_topic: str = "chimera.datasource-onboarding"
    onboarding_completion_topic: str = "chimera.onboarding-completion"
    data_discovery_topic: str = "chimera.data-discovery-available"
    superset_conn_id: str = ""
    stream_batch_rows: int = 100_000
    stream_run_seconds: int = 600
    audit_retention_hours: int = 72
    sql_alchemy_conn: str = ""
    state_dir: Path = Path()
    maintenance_slots: int = 2
    snapshot_retention_days: int = 7
    compaction_small_file_mb: int = 32
    compaction_min_files: int = 5
    datahub_lite_path: Path = Path("datahub-lite.duckdb")
    datahub_emit_timeout_seconds: float = 5.0
    recovery_cpu: float = 8.0
    recovery_memory_gib: float = 16.0
    registry_sync_schedule: str = "*/5 * * * *"
    airflow_api_conn_id: str = "airflow_api_default"
    task_retries: int = 2
    task_retry_delay_seconds: int = 60
    task_timeout_minutes: int = 120
    task_memory_limit_mib: int = 4096
    pdf_max_mb: int = 50
    min_schedule_interval: str = "PT5M"
    orphan_file_age_hours: int = 72

    @cached_property
    def catalog_db(self) -> Path:
        return self.warehouse / "catalog.db"


def load_settings() -> ChimeraSettings:
    """Read the ``[chimera]`` section now (it is cheap; callers should not cache across runs)."""
    intents = _option("intents_dir") or str(_dags_folder().parent / "intents")
    warehouse = _option("warehouse") or str(airflow_home() / "chimera" / "warehouse")
    return ChimeraSettings(
        intents_dir=Path(intents).expanduser(),
        catalog_name=_option("catalog_name"),
        warehouse=Path(warehouse).expanduser(),
        batch_rows=int(_option("batch_rows")),
        target_file_size_mb=int(_option("target_file_size_mb")),
        parquet_compression=_option("parquet_compression"),
        team_slots=int(_option("team_slots")),
        source_slots=int(_option("source_slots")),
        pools_config=Path(_option("pools_config")).expanduser() if _option("pools_config") else None,
        tenancy_file=Path(_option("tenancy_file")).expanduser() if _option("tenancy_file") else None,
        policies_config=Path(_option("policies_config")).expanduser() if _option("policies_config") else None,
        pii_key_secret=_option("pii_key_secret"),
        encryption_key_secret=_option("encryption_key_secret"),
        events_kafka_conn_id=_option("events_kafka_conn_id"),
        events_topic=_option("events_topic"),
        smtp_conn_id=_option("smtp_conn_id"),
        datasource_onboarding_topic=_option("datasource_onboarding_topic"),
        onboarding_completion_topic=_option("onboarding_completion_topic"),
        data_discovery_topic=_option("data_discovery_topic"),
        superset_conn_id=_option("superset_conn_id"),
        stream_batch_rows=int(_option("stream_batch_rows")),
        stream_run_seconds=int(_option("stream_run_seconds")),
        audit_retention_hours=int(_option("audit_retention_hours")),
        sql_alchemy_conn=_option("sql_alchemy_conn") or f"sqlite:///{airflow_home() / 'chimera' / 'registry.db'}",
        state_dir=Path(_option("state_dir") or airflow_home() / "chimera").expanduser(),
        maintenance_slots=int(_option("maintenance_slots")),
        snapshot_retention_days=int(_option("snapshot_retention_days")),
        compaction_small_file_mb=int(_option("compaction_small_file_mb")),
        compaction_min_files=int(_option("compaction_min_files")),
        datahub_lite_path=Path(_option("datahub_lite_path") or airflow_home() / "chimera" / "datahub-lite.duckdb").expanduser(),
        datahub_emit_timeout_seconds=float(_option("datahub_emit_timeout_seconds")),
        recovery_cpu=float(_option("recovery_cpu")),
        recovery_memory_gib=float(_option("recovery_memory_gib")),
        registry_sync_schedule=_option("registry_sync_schedule"),
        airflow_api_conn_id=_option("airflow_api_conn_id"),
        task_retries=int(_option("task_retries")),
        task_retry_delay_seconds=int(_option("task_retry_delay_seconds")),
        task_timeout_minutes=int(_option("task_timeout_minutes")),
        task_memory_limit_mib=int(_option("task_memory_limit_mib")),
        pdf_max_mb=int(_option("pdf_max_mb")),
        min_schedule_interval=_option("min_schedule_interval"),
        orphan_file_age_hours=int(_option("orphan_file_age_hours")),
    )
