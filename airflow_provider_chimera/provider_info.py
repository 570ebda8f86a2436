"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

The ``config`` block is the single definition of Chimera's ``[chimera]`` options and their
defaults: :mod:`airflow_provider_chimera.settings` reads its fallbacks from here, and
``airflow config list --section chimera`` shows the same text.
"""

from __future__ import annotations

from typing import Any

_VERSION = "0.1.0"

CONFIG_OPTIONS: dict[str, dict[str, Any]] = {
    "intents_dir": {
        "description": (
            "Folder of intent JSON files (the git-synced folder). Empty means the ``intents`` "
            "folder beside Airflow's DAGs folder. DAG files kept in a git DAG bundle with their "
            "intents name their own folder instead (``settings.use_intents_dir``, docs/git-intents.md).\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "/opt/airflow/intents",
        "default": "",
    },
    "catalog_name": {
        "description": (
            "Name of the pyiceberg catalog the pipelines write to. It is configured the pyiceberg "
            "way (``.pyiceberg.yaml`` or ``PYICEBERG_CATALOG__<NAME>__*`` variables); when pyiceberg "
            "has no configuration for this name, Chimera uses an embedded SQL catalog on SQLite "
            "with a local warehouse (see ``warehouse``).\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "production",
        "default": "chimera",
    },
    "warehouse": {
        "description": (
            "Folder of the embedded catalog (its ``catalog.db`` and the table data) when pyiceberg "
            "has no configuration for ``catalog_name``. Empty means ``$AIRFLOW_HOME/chimera/warehouse``.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "/data/chimera/warehouse",
        "default": "",
    },
    "batch_rows": {
        "description": "Upper bound on rows in one Arrow record batch read from a source.\n",
        "version_added": "0.1.0",
        "type": "integer",
        "example": "131072",
        "default": "65536",
    },
    "target_file_size_mb": {
        "description": "Target size of one Parquet data file written to Iceberg, in MiB.\n",
        "version_added": "0.1.0",
        "type": "integer",
        "example": "256",
        "default": "128",
    },
    "parquet_compression": {
        "description": "Parquet compression codec of the data files Chimera writes.\n",
        "version_added": "0.1.0",
        "type": "string",
        "example": "snappy",
        "default": "zstd",
    },
    "team_slots": {
        "description": (
            "Worker slots one team may hold at once, unless ``pools_config`` gives the team its own "
            "share. ``chimera pools sync`` turns the shares into Airflow pools.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "16",
        "default": "8",
    },
    "source_slots": {
        "description": (
            "Concurrent extracts one source system (an Airflow connection, or a URI's host) may "
            "see, unless ``pools_config`` gives it its own limit.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "2",
        "default": "4",
    },
    "team_queue": {
        "description": (
            "The Celery queue of a team's tasks, a template with ``{team}`` (the intent's team, "
            "normalised): every task of the team's pipeline and onboarding DAGs gets "
            "``queue=`` from it, so each team's workers (``airflow celery worker -q <queue>``) run "
            "only its tasks. Size ``team_slots`` (or the team's share in ``pools_config``) to the "
            "team's worker concurrency, so a flood waits in Airflow's pool, not in the broker. "
            "Empty: Airflow's default queue (``[operators] default_queue``), as for the "
            "LocalExecutor.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "chimera_{team}",
        "default": "",
    },
    "tenancy_file": {
        "description": (
            "YAML file of the platform's teams and what each may use: Iceberg namespaces, projects, "
            "Airflow connection ids, the prefix of the secrets its intents may name, file roots and "
            "the folder of its intents (docs/security.md). Owned by the platform team; intents cannot "
            "change it. Empty: single-team, every intent may use every namespace and connection.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "/opt/airflow/chimera/tenancy.yaml",
        "default": "",
    },
    "pools_config": {
        "description": (
            "JSON file of per-team shares and per-source limits: "
            "``{\"teams\": {\"sales-analytics\": 16}, \"sources\": {\"crm_postgres\": 2}}``. "
            "Read by ``chimera pools sync`` only, never while DAGs are parsed. Empty: the defaults "
            "``team_slots`` and ``source_slots`` apply to all.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "/opt/airflow/chimera-pools.json",
        "default": "",
    },
    "policies_config": {
        "description": (
            "JSON file of the protection applied to classified columns, by default and per project: "
            "``{\"defaults\": {\"pii\": \"keyed_hash\", \"secret\": \"drop\"}, \"projects\": "
            "{\"sales\": {\"pii\": \"mask\"}}}``. Methods: ``keep``, ``keyed_hash`` (HMAC-SHA256, "
            "hex), ``mask`` (last ``mask_keep_last`` characters kept), ``encrypt`` (Fernet), ``drop``. "
            "Empty: ``public`` and ``internal`` columns are kept, ``pii`` ones keyed-hashed, "
            "``secret`` ones dropped.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "/opt/airflow/chimera-policies.json",
        "default": "",
    },
    "pii_key_secret": {
        "description": (
            "Where the key of ``keyed_hash`` comes from: a ``${secret:NAME}`` placeholder (an Airflow "
            "Variable or secrets-backend entry) or ``${env:NAME}``, never the key itself. Needed as "
            "soon as a pipeline has a column its policy keyed-hashes.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "${secret:chimera_pii_key}",
        "default": "",
    },
    "encryption_key_secret": {
        "description": (
            "Where the Fernet key of ``encrypt`` comes from (a ``${secret:NAME}`` or ``${env:NAME}`` "
            "placeholder). Needed by policies that encrypt; when set, quarantined payloads of "
            "objects with ``pii`` or ``secret`` columns that cannot be parsed are kept encrypted.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "${secret:chimera_encryption_key}",
        "default": "",
    },
    "stream_batch_rows": {
        "description": "Most Kafka messages in one ``stream`` micro-batch (one Iceberg commit).\n",
        "version_added": "0.1.0",
        "type": "integer",
        "example": "500000",
        "default": "100000",
    },
    "stream_run_seconds": {
        "description": (
            "How long one run of a ``stream`` pipeline keeps committing micro-batches before it "
            "ends; the next message on the topic starts the next run.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "3600",
        "default": "600",
    },
    "audit_retention_hours": {
        "description": (
            "How long a load that failed its quality checks stays inspectable: each load is written "
            "to an audit branch of its table (``audit_<run id>``) and published to ``main`` only when "
            "its checks pass; a rejected load's branch is kept this many hours, then removed by a "
            "later load of the table (or by snapshot expiry, through the branch's max ref age).\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "168",
        "default": "72",
    },
    "events_kafka_conn_id": {
        "description": (
            "Airflow connection of the Kafka cluster watched for ``event`` triggers whose ``on`` "
            "names a topic (when the pipeline's own source is not that Kafka source), and where "
            "Chimera publishes its events.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "events_kafka",
        "default": "kafka_default",
    },
    "events_topic": {
        "description": (
            "Kafka topic (on ``events_kafka_conn_id``) where Chimera publishes its events, such as "
            "a change of a pipeline's timeliness (``chimera.sla.changed``, CloudEvents JSON keyed by "
            "the pipeline id).\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "lakehouse.events",
        "default": "chimera.events",
    },
    "pipeline_failed_topic": {
        "description": (
            "Kafka topic (on ``events_kafka_conn_id``, created if missing) where Chimera alerts a team "
            "that a run of one of its pipelines failed for good (after its last try, a quality gate "
            "that stopped the publish, a quarantine threshold breach): CloudEvents JSON of type "
            "``chimera.pipeline.failed``, keyed by the pipeline id, once per run; the team's "
            "``support_email`` is mailed too. See docs/alerts.md.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "lakehouse.pipeline-failed",
        "default": "chimera.pipeline-failed",
    },
    "smtp_conn_id": {
        "description": (
            "Airflow SMTP connection through which Chimera mails a team's ``support_email`` "
            "when one of its pipelines changes timeliness state, and about its intents' onboarding "
            "(completed, discoverable, failed, a table ready to query). The connection's ``from_email`` "
            "extra is the sender (else ``[email] from_email``).\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "smtp_alerts",
        "default": "smtp_default",
    },
    "datasource_onboarding_topic": {
        "description": (
            "Kafka topic (on ``events_kafka_conn_id``, created if missing) of the CloudEvents JSON event "
            "``io.chimera.datasource-onboarding``: an intent version's sources and objects are being "
            "onboarded. See docs/events.md.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "lakehouse.datasource-onboarding",
        "default": "chimera.datasource-onboarding",
    },
    "onboarding_completion_topic": {
        "description": (
            "Kafka topic (on ``events_kafka_conn_id``, created if missing) of the CloudEvents JSON event "
            "``io.chimera.onboarding-completion``: an intent version is onboarded, its pipelines and "
            "target tables exist. See docs/events.md.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "lakehouse.onboarding-completion",
        "default": "chimera.onboarding-completion",
    },
    "data_discovery_topic": {
        "description": (
            "Kafka topic (on ``events_kafka_conn_id``, created if missing) of the CloudEvents JSON event "
            "``io.chimera.data-discovery-available``: an intent version's datasets are described in "
            "DataHub. See docs/events.md.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "lakehouse.data-discovery-available",
        "default": "chimera.data-discovery-available",
    },
    "superset_conn_id": {
        "description": (
            "Airflow HTTP connection of an Apache Superset (host, port, schema ``http`` or ``https``, "
            "login and password of a user allowed to add databases and datasets) in which onboarding's "
            "discovery step registers each SQL source as a database and its objects as datasets. Empty: "
            "the onboarded data is discoverable in DataHub only.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "superset_default",
        "default": "",
    },
    "sql_alchemy_conn": {
        "description": (
            "SQLAlchemy URL of Chimera's own metadata store (teams, projects, intents and their "
            "versions, sources, objects, pipelines, runs, audit log); it is never Airflow's metadata "
            "database. Empty means SQLite at ``$AIRFLOW_HOME/chimera/registry.db``; use PostgreSQL "
            "(``postgresql+psycopg://...``) when several machines share it. Migrations are applied "
            "automatically. Sensitive: it may also come from ``AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN_SECRET`` or ``_CMD``.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "sensitive": True,
        "example": "postgresql+psycopg://chimera@db:5432/chimera",
        "default": "",
    },
    "state_dir": {
        "description": (
            "Where earlier versions kept the onboarded version of each intent (``onboarded/<intent>.json``) "
            "and its onboarding state (``onboarding/<intent>.json``). Both are in the registry "
            "(``sql_alchemy_conn``) now, like every fact two hosts must agree on, so no volume needs "
            "sharing; the registry migration that created their tables imported these files once. "
            "Chimera writes nothing here. Empty means ``$AIRFLOW_HOME/chimera``.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "/shared/chimera",
        "default": "",
    },
    "registry_sync_schedule": {
        "description": (
            "Cron schedule of the ``chimera_registry_sync`` DAG, which records the intents folder in the "
            "registry and starts the onboarding of each new or changed intent: a dropped intent file is "
            "picked up within one such interval.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "* * * * *",
        "default": "*/5 * * * *",
    },
    "airflow_api_conn_id": {
        "description": (
            "HTTP connection to Airflow's REST API (host, port, schema http/https, login and password "
            "when the auth manager asks for them), through which Chimera's tasks create the pipelines' "
            "pools and start or clear runs. Without this connection: ``[api] base_url`` with a token of "
            "the simple auth manager's all-admins mode.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "airflow_api",
        "default": "airflow_api_default",
    },
    "task_retries": {
        "description": (
            "Retries of a pipeline's ``ingest`` task after a failure (each retry is exactly once: the "
            "engine commits a run once). A run still failing after them waits for ``chimera recover``.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "0",
        "default": "2",
    },
    "task_retry_delay_seconds": {
        "description": "Seconds between a failed ``ingest`` attempt and its retry.\n",
        "version_added": "0.1.0",
        "type": "integer",
        "example": "300",
        "default": "60",
    },
    "task_timeout_minutes": {
        "description": (
            "``execution_timeout`` of a batch pipeline's ``ingest`` task: a run still going after this "
            "many minutes fails (and is retried); ``0``: no timeout. A ``stream`` pipeline's task gets "
            "``stream_run_seconds`` plus 10 minutes instead (see docs/limits.md).\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "30",
        "default": "120",
    },
    "task_memory_limit_mib": {
        "description": (
            "Memory cap (MiB of resident set size) of one ``ingest`` task, kept by a watchdog in the task: "
            "over it the run fails naming the pipeline, the cap and the memory seen, and nothing more is "
            "committed; ``0``: no cap. The executor's own limits back it up (see docs/limits.md).\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "16384",
        "default": "4096",
    },
    "maintenance_slots": {
        "description": (
            "Slots of the ``chimera__maintenance`` pool in which the ``chimera_maintenance`` DAG "
            "maintains tables (retention, compaction, snapshot expiry), apart from the pipelines' pools. "
            "``chimera pools sync`` creates it.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "4",
        "default": "2",
    },
    "snapshot_retention_days": {
        "description": (
            "Iceberg snapshots younger than this many days are kept (time travel reaches back this "
            "far); older ones are expired daily, except branch and tag heads and the snapshot holding "
            "a pipeline's read position. Files only expired snapshots referenced are deleted.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "30",
        "default": "7",
    },
    "snapshot_max_count": {
        "description": (
            "A table keeps at most this many snapshots of its main branch: each publication to main "
            "expires the oldest beyond it in the same commit (never a branch or tag head, nor the "
            "snapshot holding a pipeline's read position), so that a stream's micro-batch commits stay "
            "as fast on the 2,000th commit as on the 10th. Set on a table when Chimera creates it or "
            "first writes to it (table property chimera.snapshot-max-count). 0: no count, only "
            "snapshot_retention_days.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "100",
        "default": "20",
    },
    "compaction_small_file_mb": {
        "description": "A data file smaller than this (MiB) is small: compaction merges small files of one partition.\n",
        "version_added": "0.1.0",
        "type": "integer",
        "example": "64",
        "default": "32",
    },
    "compaction_min_files": {
        "description": "Compaction rewrites a partition's small files only when it holds at least this many.\n",
        "version_added": "0.1.0",
        "type": "integer",
        "example": "10",
        "default": "5",
    },
    "datahub_lite_path": {
        "description": "DataHub Lite file (DuckDB) that receives the intents' metadata and each run's lineage when no "
        "Airflow connection datahub_rest_default exists. Empty: $AIRFLOW_HOME/chimera/datahub-lite.duckdb. "
        "Ingest tasks never open it: they queue each run's lineage in the registry, and the "
        "``chimera_metadata`` DAG writes the queue to this file (on the host that runs it).\n",
        "version_added": "0.1.0",
        "type": "string",
        "example": "/var/lib/chimera/datahub-lite.duckdb",
        "default": "",
    },
    "datahub_emit_timeout_seconds": {
        "description": "The longest an ingest task waits for its lineage to be written to DataHub; a failure or a "
        "timeout is logged and counted, never failing the task.\n",
        "version_added": "0.1.0",
        "type": "float",
        "example": "2",
        "default": "5",
    },
    "datahub_lite_write_schedule": {
        "description": (
            "Cron schedule of the ``chimera_metadata`` DAG, whose one task writes the lineage the ingest "
            "tasks queued in the registry to DataHub Lite (``datahub_lite_path``); with a DataHub server "
            "(connection datahub_rest_default) nothing is queued and its runs find nothing to write.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "*/1 * * * *",
        "default": "*/5 * * * *",
    },
    "datahub_url": {
        "description": (
            "Address of the DataHub web UI (e.g. ``http://datahub:9002``). The Chimera pages in the "
            "Airflow UI link each pipeline's target table to its lineage there. Empty means no link.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "https://datahub.example.com",
        "default": "",
    },
    "recovery_cpu": {
        "description": (
            "CPU cores recovery may use at once: ``chimera recover`` plans reruns so that the running "
            "and starting pipelines never need more (see docs/recovery.md).\n"
        ),
        "version_added": "0.1.0",
        "type": "float",
        "example": "32",
        "default": "8",
    },
    "recovery_memory_gib": {
        "description": "Memory (GiB) recovery may use at once, like ``recovery_cpu`` for peak memory.\n",
        "version_added": "0.1.0",
        "type": "float",
        "example": "128",
        "default": "16",
    },
    "pdf_max_mb": {
        "description": (
            "Largest PDF document (MiB) a ``pdf`` source reads; a larger one is not opened but "
            "quarantined with the reason, so a hostile document cannot exhaust a worker's memory.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "200",
        "default": "50",
    },
    "min_schedule_interval": {
        "description": (
            "The shortest interval (ISO-8601 duration) at which an intent's timed schedule may fire: a cron "
            "expression or duration firing more often is rejected by validate and the factory, naming this "
            "option. ``PT0S``: no minimum.\n"
        ),
        "version_added": "0.1.0",
        "type": "string",
        "example": "PT15M",
        "default": "PT5M",
    },
    "orphan_file_age_hours": {
        "description": (
            "``chimera_maintenance`` deletes files under a table's location that no snapshot references "
            "(left by killed or failed writes) once they are older than this many hours; younger ones "
            "may belong to a write in progress.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "168",
        "default": "72",
    },
    "commit_retry_attempts": {
        "description": (
            "How many times one commit to a table is tried when it loses a race with a concurrent "
            "commit to the same table (another run, a backfill's other windows, maintenance): "
            "between tries the table is re-read, the run's position re-checked, and the wait grows "
            "exponentially with jitter. After the last try the task fails as transient and Airflow "
            "retries it.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "40",
        "default": "20",
    },
    "commit_retry_seconds": {
        "description": (
            "The longest time, in seconds, one commit may spend retrying after conflicts with "
            "concurrent commits (see ``commit_retry_attempts``); whichever cap comes first ends it.\n"
        ),
        "version_added": "0.1.0",
        "type": "integer",
        "example": "900",
        "default": "300",
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow's ProvidersManager expects."""
    return {
        "package-name": "airflow-provider-chimera",
        "name": "Chimera",
        "description": "Declarative, governed ingestion from databases, Kafka, files and PDFs into Apache Iceberg.\n",
        "versions": [_VERSION],
        "integrations": [
            {
                "integration-name": "Chimera",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "Chimera",
                "python-modules": [
                    f"airflow_provider_chimera.operators.{name}"
                    for name in ("ingest", "maintenance", "metadata", "onboarding", "recovery", "registry", "timeliness")
                ],
            }
        ],
        "plugins": [{"name": "chimera", "plugin-class": "airflow_provider_chimera.ui.plugin.ChimeraPlugin"}],
        "hooks": [
            {
                "integration-name": "Chimera",
                "python-modules": ["airflow_provider_chimera.hooks.file"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_chimera.hooks.file.FileConnectionHook",
                "connection-type": "chimera_file",
                "hook-name": "Chimera file set",
                "ui-field-behaviour": {
                    "hidden-fields": ["port", "login", "password", "schema"],
                    "relabeling": {"host": "Base location"},
                    "placeholders": {"host": "file:///data/retail"},
                },
            }
        ],
        "config": {
            "chimera": {
                "description": "Chimera ingestion: where intents are read from and where Iceberg tables are written.\n",
                "options": CONFIG_OPTIONS,
            }
        },
    }
