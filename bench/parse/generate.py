"""Inputs of the parse benchmark: the same DAGs declared three ways.

1. :func:`write_intents` writes Chimera intent files, each with 5 objects (3 PostgreSQL tables,
   plus file sets and Kafka topics, with varied triggers, modes, targets and source defaults).
2. :func:`write_peers` takes the DAGs Chimera's factory builds from them and declares the same
   DAGs for the two peers, so the comparison stays equivalent whatever the factory puts in a DAG:

   * ``dagfactory/``: astronomer's dag-factory, one YAML file per intent (same ids, schedules,
     start date, tags, doc_md, default args, and the same two tasks with the same inlets, outlets,
     dependencies, retries and execution timeouts),
     and the DAG file that calls ``load_yaml_dags``.
   * ``raw/``: the raw limit, a plain Python DAG file building the same DAGs in a loop from a
     JSON list.

   The peers' task is a ``PythonOperator`` whose ``op_kwargs`` carry what Chimera's ingest task is
   configured with: the intent, pipeline, source, object, mode, cursor and target.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

DOMAINS = ["sales", "retail", "finance", "billing", "logistics", "marketing", "support", "hr"]
OBJECTS_PER_INTENT = 5
PEER_OPERATOR = "airflow.providers.standard.operators.python.PythonOperator"
PEER_CALLABLE = "builtins.dict"  # accepts the op_kwargs; the peers' DAGs are parsed, never run


def dag_id(intent: str, source: str, obj: str) -> str:
    """The contract's pipeline id: ``<intent>_<source>_<object>``, lower-cased, ``[a-z0-9_]`` only."""
    return re.sub(r"[^a-z0-9_]", "_", f"{intent}_{source}_{obj}".lower())


def _schema(*fields: tuple[str, str, bool]) -> dict:
    return {"fields": [{"name": n, "type": t, "nullable": nullable} for n, t, nullable in fields]}


def _task_config(source: dict, obj: dict, ingestion: dict, project: str) -> dict:
    target = ingestion["target"]
    mode = ingestion["mode"]
    return {
        "source": source["name"],
        "source_type": source["type"],
        "connection": source["connection"].get("conn_id") or source["connection"]["uri"],
        "object": obj["name"],
        "mode": mode["type"],
        "cursor": mode.get("cursor"),
        "target": f"{target.get('namespace') or project}.{target['table']}",
        "kind": target.get("kind", "append"),
    }


def intent(i: int) -> dict:
    """Intent number ``i``: 3 PostgreSQL tables and 2 file sets or Kafka topics."""
    domain = DOMAINS[i % len(DOMAINS)]
    name = f"{domain}_{i:04d}"
    project = f"{domain}_p{i:04d}"

    db = {"name": "erp", "type": "postgres", "connection": {"conn_id": f"{domain}_postgres"}}
    orders = {
        "trigger": {"type": "timed", "schedule": "@hourly"},
        "mode": {"type": "incremental", "cursor": "updated_at"},
        "target": {"table": "orders", "kind": "partitioned",
                   "partition_by": [{"column": "order_ts", "transform": "day"}]},
        "dedup": {"keys": ["order_id"], "order_by": "updated_at"},
        "sla": {"fresh_within": "PT2H", "warn_after": "PT90M"},
        "priority": "high",
    }
    if i % 2 == 0:
        # Half the intents give trigger and mode once, in the source's defaults.
        db["defaults"] = {"trigger": orders.pop("trigger"), "mode": orders.pop("mode"), "schema_evolution": "evolve"}
    db["objects"] = [
        {"name": "public.orders", "columns": ["order_id", "customer_id", "amount", "order_ts", "updated_at"],
         "ingestion": orders},
        {"name": "public.customers", "ingestion": {
            "trigger": {"type": "timed", "schedule": f"{i % 60} */2 * * *"},
            "mode": {"type": "incremental", "cursor": "updated_at"},
            "target": {"table": "customers", "kind": "mdm", "keys": ["customer_id"]},
            "classification": {"email": "pii", "name": "pii", "phone": "pii"},
        }},
        {"name": "public.products", "ingestion": {
            "trigger": {"type": "adhoc"} if i % 10 == 0 else {"type": "timed", "schedule": f"0 {i % 24} * * *"},
            "mode": {"type": "full"},
            "target": {"table": "products", "kind": "reference", "keys": ["sku"]},
            "retention": {"days": 365},
            "priority": "low",
        }},
    ]
    landing = {"name": "landing", "type": "file", "connection": {"uri": f"s3://{domain}-landing/{project}"},
               "objects": [
                   {"name": "invoices", "path": "invoices/*.csv", "format": "csv",
                    "schema": _schema(("invoice_id", "long", False), ("amount", "decimal(12,2)", True),
                                      ("issued_at", "timestamptz", False), ("customer_id", "long", True)),
                    "ingestion": {"trigger": {"type": "timed", "schedule": "PT15M"}, "mode": {"type": "incremental"},
                                  "target": {"table": "invoices", "kind": "append",
                                             "partition_by": [{"column": "issued_at", "transform": "day"}]}}},
               ]}
    sources = [db, landing]
    if i % 3 == 0:
        # A third of the intents read a Kafka topic (every other one event-triggered by the topic).
        topic = f"{domain}.clicks.{i:04d}"
        sources.append({"name": "stream", "type": "kafka", "connection": {"conn_id": f"{domain}_kafka"}, "objects": [{
            "name": topic,
            "schema": _schema(("user_id", "string", False), ("url", "string", True), ("ts", "timestamptz", False)),
            "ingestion": {
                "trigger": {"type": "event", "on": topic} if i % 6 == 0 else {"type": "timed", "schedule": "PT5M"},
                "mode": {"type": "incremental"},
                "target": {"table": "clicks", "kind": "append", "partition_by": [{"column": "ts", "transform": "hour"}]},
                "priority": "low",
            },
        }]})
    else:
        landing["objects"].append(
            {"name": "web_events", "path": "events/*.jsonl", "format": "json",
             "schema": _schema(("event_id", "long", False), ("page", "string", True),
                               ("ts", "timestamptz", False), ("payload", "json", True)),
             "ingestion": {"trigger": {"type": "timed", "schedule": "PT1H30M"}, "mode": {"type": "incremental"},
                           "target": {"table": "web_events", "kind": "append"}, "priority": "low"}})
    return {
        "version": 1,
        "name": name,
        "team": {"name": f"{domain}-analytics-{i % 5}", "support_email": f"{domain}-data-{i % 5}@example.com"},
        "project": project,
        "declaration": {
            "declared_by": f"owner.{i % 37}",
            "statement": f"Authorised by the {domain} system owner to copy these tables for analytics.",
            "declared_at": "2026-11-20",
        },
        "sources": sources,
    }


def task_configs(doc: dict) -> dict[str, dict]:
    """Each pipeline's id and the configuration the peers pass to their task."""
    out = {}
    for source in doc["sources"]:
        defaults = source.get("defaults", {})
        for obj in source["objects"]:
            ingestion = {**defaults, **obj["ingestion"]}
            out[dag_id(doc["name"], source["name"], obj["name"])] = _task_config(source, obj, ingestion, doc["project"])
    return out


def write_intents(folder: Path, count: int) -> dict[str, dict[str, dict]]:
    """Write ``count`` intents; return, per intent name, its pipelines' ids and task configurations."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for i in range(count):
        doc = intent(i)
        (folder / f"{doc['name']}.json").write_text(json.dumps(doc, indent=2))
        written[doc["name"]] = task_configs(doc)
        assert len(written[doc["name"]]) == OBJECTS_PER_INTENT, doc["name"]
    return written


# --- the peers' declarations, read off the DAGs Chimera built -----------------------------------


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _trigger(trigger: Any) -> dict:
    kwargs = getattr(trigger, "kwargs", None)  # message-queue triggers keep their constructor kwargs
    if isinstance(kwargs, dict):
        return {"__type__": _class_path(type(trigger)), **_value(kwargs)}
    classpath, kwargs = trigger.serialize()
    return {"__type__": classpath, **_value(kwargs)}


def _value(value: Any) -> Any:
    """A DAG or task argument as YAML/JSON, with dag-factory's ``__type__`` for objects."""
    from airflow.sdk import Asset, AssetWatcher

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, timedelta):
        return {"__type__": "datetime.timedelta", "seconds": value.total_seconds()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, Asset):
        out = {"__type__": "airflow.sdk.Asset", "uri": value.uri, "name": value.name, "group": value.group}
        if value.extra:
            out["extra"] = _value(value.extra)
        if value.watchers:
            out["watchers"] = [_value(w) for w in value.watchers]
        return out
    if isinstance(value, AssetWatcher):
        return {"__type__": "airflow.sdk.AssetWatcher", "name": value.name, "trigger": _trigger(value.trigger)}
    raise TypeError(f"the benchmark cannot declare a {type(value).__name__} for the peers; extend generate._value")


def _schedule(timetable: Any) -> Any:
    name = type(timetable).__name__
    if hasattr(timetable, "expression"):
        return timetable.expression
    if hasattr(timetable, "delta"):
        return _value(timetable.delta)
    if name == "NullTimetable":
        return None
    condition = timetable.asset_condition
    if name == "AssetTriggeredTimetable" and type(condition).__name__ == "AssetAll":
        return [_value(asset) for asset in condition.objects]
    raise TypeError(f"the benchmark cannot declare a {name} schedule for the peers; extend generate._schedule")


# Task settings declared on a task where its value differs from the DAG's default args (or, for one
# absent from them, from the operator's default given here).
TASK_SETTINGS = ("retries", "execution_timeout")
UNSET_SETTINGS = {"execution_timeout": None}


def _task(task: Any, op_kwargs: dict, default_args: dict) -> dict:
    """One task as the peers declare it: its id, configuration, assets, upstream tasks, and the
    run settings where it differs from the DAG's default args."""
    own = {
        k: _value(value) for k in TASK_SETTINGS
        if (value := getattr(task, k)) != default_args.get(k, UNSET_SETTINGS.get(k, value))
    }
    return {
        "task_id": task.task_id,
        "op_kwargs": op_kwargs,
        "inlets": _value(list(task.inlets)),
        "outlets": _value(list(task.outlets)),
        "upstream": sorted(task.upstream_task_ids),
        **own,
    }


def declaration(dag: Any, task_config: dict) -> dict:
    """One DAG as the peers declare it: the arguments Chimera's DAG was built with, plus its tasks
    (one ingest task, which checks onboarding itself)."""
    if dag.task_ids != ["ingest"]:
        raise ValueError(f"{dag.dag_id}: the benchmark expects the one task ingest, found {dag.task_ids}")
    default_args = dict(dag.default_args)
    ingest = dag.get_task("ingest")
    out = {
        "schedule": _schedule(dag.timetable),
        "start_date": _value(dag.start_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md,
        "default_args": _value(default_args),
        "params": _params(dag),
        "tasks": [
            _task(ingest, {"intent": ingest.pipeline.intent, "pipeline_id": ingest.pipeline.id, **task_config}, default_args),
        ],
    }
    if dag.description:
        out["description"] = dag.description
    return out


def _params(dag: Any) -> dict:
    """The DAG's run-conf params as Airflow ``Param``s (default, description, JSON schema)."""
    out = {}
    for name in dag.params:
        param = dag.params.get_param(name)
        out[name] = {"__type__": "airflow.sdk.Param", "default": _value(param.value),
                     "description": param.description, **_value(param.schema)}
    return out


def _dagfactory_doc(declarations: dict[str, dict]) -> dict:
    """One dag-factory YAML document; settings every DAG of the file shares go to its ``default`` block."""
    shared_keys = ("start_date", "catchup", "max_active_runs")
    first = next(iter(declarations.values()))
    default = {k: first[k] for k in shared_keys if all(d[k] == first[k] for d in declarations.values())}
    shared_args = {
        k: v for k, v in first["default_args"].items()
        if all(d["default_args"].get(k, object()) == v for d in declarations.values())
    }
    if shared_args:
        default["default_args"] = shared_args
    doc: dict = {"default": default}
    for dag_name, decl in declarations.items():
        entry = {k: v for k, v in decl.items() if k not in ("tasks", "default_args") and k not in default}
        entry["schedule"] = "None" if decl["schedule"] is None else decl["schedule"]
        own_args = {k: v for k, v in decl["default_args"].items() if k not in shared_args}
        if own_args:
            entry["default_args"] = own_args
        entry["tasks"] = {task["task_id"]: {
            "operator": PEER_OPERATOR,
            "python_callable": PEER_CALLABLE,
            "op_kwargs": task["op_kwargs"],
            **({"inlets": task["inlets"]} if task["inlets"] else {}),
            **({"outlets": task["outlets"]} if task["outlets"] else {}),
            **({"dependencies": task["upstream"]} if task["upstream"] else {}),
            **{k: task[k] for k in TASK_SETTINGS if k in task},
        } for task in decl["tasks"]}
        doc[dag_name] = entry
    return doc


DAGFACTORY_DAG_FILE = '''\
"""dag-factory's side of the parse benchmark: every YAML file under yaml/."""

from pathlib import Path

from airflow.sdk import DAG  # noqa: F401  (Airflow's safe-mode heuristic looks for "airflow" and "dag")
from dagfactory import load_yaml_dags

load_yaml_dags(globals_dict=globals(), dags_folder=str(Path(__file__).parent / "yaml"))
'''

RAW_DAG_FILE = '''\
"""The raw limit of the parse benchmark: the same DAGs built in a plain loop from a JSON list."""

import json
from datetime import datetime
from functools import cache
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.sdk.module_loading import import_string

cls = cache(import_string)


def build(value):
    """JSON to objects: a dict with "__type__" is that class called with the other keys."""
    if isinstance(value, list):
        return [build(v) for v in value]
    if isinstance(value, dict):
        if "__type__" in value:
            return cls(value["__type__"])(**{k: build(v) for k, v in value.items() if k != "__type__"})
        return {k: build(v) for k, v in value.items()}
    return value


for spec in json.loads((Path(__file__).parent / "dags.json").read_bytes()):
    tasks = spec.pop("tasks")
    with DAG(
        dag_id=spec.pop("dag_id"),
        schedule=build(spec.pop("schedule")),
        start_date=datetime.fromisoformat(spec.pop("start_date")),
        default_args=build(spec.pop("default_args")),
        params=build(spec.pop("params")),
        **spec,
    ) as dag:
        built = {}
        for task in tasks:
            built[task["task_id"]] = PythonOperator(
                task_id=task["task_id"],
                python_callable=dict,
                op_kwargs=task["op_kwargs"],
                inlets=build(task["inlets"]),
                outlets=build(task["outlets"]),
                **{k: build(task[k]) for k in ("retries", "execution_timeout") if k in task},
            )
            for upstream in task["upstream"]:
                built[upstream] >> built[task["task_id"]]
    globals()[dag.dag_id] = dag
'''


def write_peers(root: Path, dags: dict[str, Any], pipelines: dict[str, dict[str, dict]]) -> tuple[Path, Path]:
    """Write ``root/dagfactory`` and ``root/raw`` declaring ``dags``; return their DAG files."""
    yaml_dir = root / "dagfactory" / "yaml"
    raw_dir = root / "raw"
    yaml_dir.mkdir(parents=True, exist_ok=True)
    raw_dir.mkdir(parents=True, exist_ok=True)
    everything = []
    for intent_name, configs in pipelines.items():
        declarations = {i: declaration(dags[i], config) for i, config in configs.items()}
        (yaml_dir / f"{intent_name}.yaml").write_text(
            yaml.safe_dump(_dagfactory_doc(declarations), sort_keys=False, allow_unicode=True)
        )
        everything += [{"dag_id": i, **d} for i, d in declarations.items()]
    dagfactory_file = root / "dagfactory" / "dagfactory_dags.py"
    dagfactory_file.write_text(DAGFACTORY_DAG_FILE)
    raw_file = raw_dir / "raw_dags.py"
    raw_file.write_text(RAW_DAG_FILE)
    (raw_dir / "dags.json").write_text(json.dumps(everything))
    return dagfactory_file, raw_file
