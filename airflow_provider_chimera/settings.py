"""Typed access to the ``[chimera]`` configuration section.

Values come from Airflow's configuration (``airflow.cfg`` or ``AIRFLOW__CHIMERA__*``
variables); defaults are the ones declared in :data:`provider_info.CONFIG_OPTIONS`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

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
    """The ``[chimera]`` options, resolved and typed.

    One field per option of :data:`provider_info.CONFIG_OPTIONS`, which alone holds the defaults
    and descriptions: :func:`load_settings` reads every option by that list, and a test checks
    that the list and these fields name the same options.
    """

    model_config = ConfigDict(frozen=True)

    intents_dir: Path
    catalog_name: str
    warehouse: Path
    batch_rows: int
    target_file_size_mb: int
    parquet_compression: str
    team_slots: int
    source_slots: int
    team_queue: str
    tenancy_file: Path | None
    pools_config: Path | None
    policies_config: Path | None
    pii_key_secret: str
    encryption_key_secret: str
    stream_batch_rows: int
    stream_run_seconds: int
    audit_retention_hours: int
    events_kafka_conn_id: str
    events_topic: str
    pipeline_failed_topic: str
    smtp_conn_id: str
    datasource_onboarding_topic: str
    onboarding_completion_topic: str
    data_discovery_topic: str
    superset_conn_id: str
    sql_alchemy_conn: str
    state_dir: Path
    registry_sync_schedule: str
    airflow_api_conn_id: str
    task_retries: int
    task_retry_delay_seconds: int
    task_timeout_minutes: int
    task_memory_limit_mib: int
    maintenance_slots: int
    snapshot_retention_days: int
    snapshot_max_count: int
    compaction_small_file_mb: int
    compaction_min_files: int
    datahub_lite_path: Path
    datahub_emit_timeout_seconds: float
    datahub_lite_write_schedule: str
    datahub_url: str
    recovery_cpu: float
    recovery_memory_gib: float
    pdf_max_mb: int
    min_schedule_interval: str
    orphan_file_age_hours: int
    commit_retry_attempts: int
    commit_retry_seconds: int

    @field_validator("tenancy_file", "pools_config", "policies_config", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("team_queue")
    @classmethod
    def _queue_template(cls, value: str) -> str:
        try:
            value.format(team="team")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"[chimera] team_queue {value!r} may only hold the placeholder {{team}} ({exc})") from None
        return value

    @field_validator("intents_dir", "warehouse", "state_dir", "datahub_lite_path", "tenancy_file", "pools_config", "policies_config")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @cached_property
    def catalog_db(self) -> Path:
        return self.warehouse / "catalog.db"


# Options whose empty value means a place derived from Airflow's own settings (AIRFLOW_HOME,
# the DAGs folder), which only exist once Airflow is configured; evaluated on each load.
EMPTY_MEANS = {
    "intents_dir": lambda: _dags_folder().parent / "intents",
    "warehouse": lambda: airflow_home() / "chimera" / "warehouse",
    "sql_alchemy_conn": lambda: f"sqlite:///{airflow_home() / 'chimera' / 'registry.db'}",
    "state_dir": lambda: airflow_home() / "chimera",
    "datahub_lite_path": lambda: airflow_home() / "chimera" / "datahub-lite.duckdb",
}


# The intents folder a DAG file of a DAG bundle declared for its process (use_intents_dir).
_intents_dir_of_process: Path | None = None


def use_intents_dir(folder: Path | str) -> Path:
    """Make ``folder`` this process's intents folder, over ``[chimera] intents_dir``; returns it.

    For DAG files kept in one git repository with their intents (a ``GitDagBundle``, see
    docs/git-intents.md): the DAG file names the intents beside it in the same checkout. Airflow
    parses each DAG file in a process of its own and runs a task in the process that parsed the
    task's DAG file from the DAG run's bundle version, so the factory, the registry sync and the
    onboarding steps all read the intents of the very commit whose DAG file they run.
    """
    global _intents_dir_of_process
    _intents_dir_of_process = Path(folder).expanduser()
    return _intents_dir_of_process


# The settings of the task running in this context (settings_for_run), else None.
_RUN_SETTINGS: ContextVar[ChimeraSettings | None] = ContextVar("chimera_run_settings", default=None)


@contextlib.contextmanager
def settings_for_run(settings: ChimeraSettings | None = None) -> Iterator[ChimeraSettings]:
    """Within the block, :func:`load_settings` returns ``settings`` (read now when not given).

    An ingest task reads the section once for its whole run: the registry, the commit retries,
    the notices each asked for it again, ~5 ms a time (49 options through Airflow's
    configuration). Nothing outlives the block, so no later run sees a stale value; threads the
    run starts read the section themselves (a context variable is not inherited by a thread).
    """
    token = _RUN_SETTINGS.set(settings or load_settings())
    try:
        yield _RUN_SETTINGS.get()
    finally:
        _RUN_SETTINGS.reset(token)


def load_settings() -> ChimeraSettings:
    """Read the ``[chimera]`` section now (it is cheap; callers should not cache across runs);
    inside :func:`settings_for_run`, that block's settings."""
    pinned = _RUN_SETTINGS.get()
    if pinned is not None:
        return pinned
    values: dict[str, object] = {}
    for name in CONFIG_OPTIONS:
        value = _option(name)
        if name == "intents_dir" and _intents_dir_of_process is not None:
            value = str(_intents_dir_of_process)
        values[name] = EMPTY_MEANS[name]() if value == "" and name in EMPTY_MEANS else value
    return ChimeraSettings.model_validate(values)
