"""docker-compose.yaml describes the production-like stack (no Docker engine runs here: parse only)."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yaml"


def test_compose_file_has_the_stack():
    stack = yaml.safe_load(COMPOSE.read_text())
    services = stack["services"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-db",
                 "postgres", "mysql", "mongodb", "kafka", "datahub-gms"):
        assert name in services, f"docker-compose.yaml has no service {name!r}"
    scheduler = services["airflow-scheduler"]
    volumes = " ".join(scheduler.get("volumes", []))
    assert "./intents:" in volumes and "./dags:" in volumes


# -- the compose file runs the topology `make cluster` tests (scripts/cluster.sh) ---------------------
REPO = COMPOSE.parent
CLUSTER_SH = REPO / "scripts" / "cluster.sh"
CLUSTER_ENV = REPO / "scripts" / "cluster.env"  # the catalog's pyiceberg settings, when present
# [chimera] options the local cluster sets for one machine only: a deployment keeps their defaults.
CLUSTER_ONLY = {
    "WAREHOUSE",  # the embedded catalog's folder, unused once pyiceberg names the catalog
    "STATE_DIR",  # the local cluster's scratch folder under .cluster/
    "REGISTRY_SYNC_SCHEDULE",  # every minute, so the demo and the tests wait less
    "POOLS_CONFIG",  # per-team shares from the cluster's teams list; compose sizes every team by TEAM_SLOTS
}
COMPOSE_ONLY = {"CATALOG_NAME"}  # the default, spelled out for Docker users


def _compose_env() -> dict[str, str]:
    return {k: str(v) for k, v in yaml.safe_load(COMPOSE.read_text())["x-airflow-common"]["environment"].items()}


def _cluster_env() -> dict[str, str]:
    """What scripts/cluster.sh exports (and scripts/cluster.env sets), unexpanded."""
    import re

    found = {name: value.strip("'\"") for name, value in re.findall(r"^\s*export (\w+)=(.*)$", CLUSTER_SH.read_text(), re.M)}
    if CLUSTER_ENV.exists():
        found |= dict(re.findall(r"^(PYICEBERG_\w+)=(.*)$", CLUSTER_ENV.read_text(), re.M))
    return found


def _named(env: dict[str, str], prefix: str) -> dict[str, str]:
    return {k.removeprefix(prefix): v for k, v in env.items() if k.startswith(prefix)}


def test_compose_sets_the_chimera_options_the_cluster_sets():
    cluster, compose = _named(_cluster_env(), "AIRFLOW__CHIMERA__"), _named(_compose_env(), "AIRFLOW__CHIMERA__")
    assert set(cluster) - CLUSTER_ONLY == set(compose) - COMPOSE_ONLY
    assert compose["TEAM_QUEUE"] == cluster["TEAM_QUEUE"] == "chimera_{team}"
    assert compose["SQL_ALCHEMY_CONN"].startswith("postgresql") and cluster["SQL_ALCHEMY_CONN"].startswith("postgresql")


def test_compose_runs_the_clusters_executor_and_broker():
    cluster, compose = _cluster_env(), _compose_env()
    assert compose["AIRFLOW__CORE__EXECUTOR"] == cluster["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert set(_named(compose, "AIRFLOW__CELERY__")) == set(_named(cluster, "AIRFLOW__CELERY__")) == {"BROKER_URL", "RESULT_BACKEND", "CELERY_CONFIG_OPTIONS"}
    # Workers fork their tasks from a process that imported what a task imports (decision 0069).
    assert compose["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == cluster["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == "airflow_provider_chimera.preload.CELERY_CONFIG"
    assert compose["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and cluster["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")


def test_compose_configures_pyiceberg_as_the_cluster_does():
    compose = _named(_compose_env(), "PYICEBERG_CATALOG__CHIMERA__")
    assert compose["TYPE"] == "rest"
    cluster = _named(_cluster_env(), "PYICEBERG_CATALOG__CHIMERA__")
    if cluster:  # scripts/cluster.env (the catalog's settings) is what the cluster uses
        assert set(compose) == set(cluster)
        assert compose["TYPE"] == cluster["TYPE"]


def test_compose_has_one_worker_per_team_queue_of_its_intents_and_one_for_the_default_queue():
    import json

    from airflow_provider_chimera.pipelines.resources import team_queue

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    workers = {}
    for service in services.values():
        command = str(service.get("command", ""))
        if command.startswith("celery worker"):
            queue = command.split("-q ", 1)[1].split()[0]
            workers[queue] = service["environment"]["CHIMERA_WORKER"]
    teams = {json.loads(p.read_text())["team"]["name"] for p in (REPO / "intents").glob("*.json")}
    queues = {team_queue(team, _compose_env()["AIRFLOW__CHIMERA__TEAM_QUEUE"]) for team in teams} | {"default"}
    assert workers == {queue: f"{queue}-worker" for queue in queues}  # named as scripts/cluster.sh names them
