"""One Airflow stack (airflow_stack.py) for the end-to-end modules that can share it.

Starting and migrating a stack takes a minute or two on a small machine, so the modules whose
settings agree run on one session-wide stack: the factory's (test_factory_in_airflow.py) and
onboarding's (test_onboarding_in_airflow.py). Each gets its own sub-folder of the intents folder
(``intents/<module>/``), its own intents, teams and namespaces; the stack's settings are the union
of what they need (the onboarding events' topics, the team mails' SMTP server, Superset, the PII
key). The stack stops at the end of the session, and no process it started may outlive it.

Recovery and tenancy keep a stack of their own: their settings change what every DAG of the
stack does (no retries and a recovery budget, the tenancy file), and recovery measures the
scheduler, which no other module's runs may load. The cluster modules start `make cluster`'s stack.

The shared stack has users of three roles (``USERS``: an admin, a user, a viewer) instead of the
simple auth manager's all-admins mode, for the UI's tests (test_ui_in_airflow.py).
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import SERVICES, require_service
from tests.e2e.airflow_stack import AirflowStack, SharedStack
from tests.mailbox import Inbox, free_port, smtp_connection

# The shared stack's users, one per role of the simple auth manager that the UI's tests need
# (decision 0065); AirflowStack.api calls the REST API as the admin.
USERS = {"admin": "admin", "ursula": "user", "victor": "viewer"}


@pytest.fixture(scope="session")
def shared_airflow(tmp_path_factory, superset_server):
    """The shared stack, started once for the session and stopped at its end."""
    from aiosmtpd.controller import Controller
    from confluent_kafka.admin import AdminClient

    from airflow_provider_chimera.onboarding.events import STEPS

    s = SERVICES
    require_service("PostgreSQL", s["CHIMERA_PG_HOST"], s["CHIMERA_PG_PORT"])
    bootstrap = s["CHIMERA_KAFKA_BOOTSTRAP"]
    require_service("Kafka", *bootstrap.split(":"))
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    suffix = uuid.uuid4().hex[:8]
    topics = {kind: f"chimera.e2e.{kind}.{suffix}" for kind in STEPS}
    home = tmp_path_factory.mktemp("shared-airflow")
    intents = home / "intents"
    intents.mkdir()
    kafka_conn = {"conn_type": "kafka", "extra": {"bootstrap.servers": bootstrap, "group.id": f"e2e-{suffix}", "auto.offset.reset": "earliest"}}
    env = {
        "AIRFLOW_CONN_E2E_KAFKA": json.dumps(kafka_conn),
        "AIRFLOW_CONN_RETAIL_POSTGRES": f"postgresql://{s['CHIMERA_PG_USER']}:{s['CHIMERA_PG_PASSWORD']}@{s['CHIMERA_PG_HOST']}:{s['CHIMERA_PG_PORT']}/{s['CHIMERA_PG_DB']}",
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection(port),
        "CHIMERA_E2E_PII_KEY": "e2e-pii-key",
        "AIRFLOW__CHIMERA__PII_KEY_SECRET": "${env:CHIMERA_E2E_PII_KEY}",
        "AIRFLOW_CONN_E2E_SUPERSET": json.dumps({
            "conn_type": "http", "host": superset_server.host, "port": superset_server.port, "schema": "http",
            "login": superset_server.user, "password": superset_server.password,
        }),
        "AIRFLOW__CHIMERA__SUPERSET_CONN_ID": "e2e_superset",
        **{f"AIRFLOW__CHIMERA__{option.upper()}": topics[kind] for kind, option in STEPS.items()},
    }
    airflow = AirflowStack(home, intents, env, users=USERS)
    try:
        airflow.start()
        airflow.wait(lambda: "chimera_registry_sync" in airflow.dag_ids(), 180, "Chimera's own DAGs to be parsed")
        yield SharedStack(airflow=airflow, intents=intents, topics=topics, bootstrap=bootstrap, inbox=inbox, superset=superset_server)
    finally:
        airflow.stop()
        smtp.stop()
        AdminClient({"bootstrap.servers": bootstrap}).delete_topics(list(topics.values()))

