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
