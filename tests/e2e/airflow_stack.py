"""A real Airflow 3 deployment for end-to-end tests, in a temporary AIRFLOW_HOME.

Metadata in a fresh database on the local PostgreSQL (`make services`), LocalExecutor, and the
four processes Airflow 3 runs: api-server (REST API v2 and the task execution API), scheduler,
dag-processor and triggerer. DAGs come from the repo's ``dags/`` folder with
``[chimera] intents_dir`` pointed at the test's intents.

The simple auth manager lets every caller in as an admin, unless the stack is given ``users``
(name → role): then those users exist with passwords of the stack's own
(``simple_auth_manager_passwords_file``), :attr:`AirflowStack.api` carries an admin's token
(renewed when it expires) so tests keep calling the REST API as before, :meth:`AirflowStack.token`
gives any user's token, and Chimera's own tasks reach the API as the admin through the
``airflow_api_default`` connection.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.conftest import REPO, SERVICES

BIN = REPO / ".venv" / "bin"
# How long the stack's processes get to exit after SIGTERM before they are killed.
GRACE_SECONDS = 15
PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AirflowStack:
    def __init__(self, home: Path, intents: Path, extra_env: dict[str, str] | None = None, users: dict[str, str] | None = None):
        self.home = home
        self.intents = intents
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.users = users or {}
        self.passwords = {name: secrets.token_urlsafe(12) for name in self.users}
        self.database = f"airflow_e2e_{secrets.token_hex(4)}"
        pg = SERVICES
        self._pg = dict(host=pg["CHIMERA_PG_HOST"], port=pg["CHIMERA_PG_PORT"], user=pg["CHIMERA_PG_USER"], password=pg["CHIMERA_PG_PASSWORD"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYICEBERG"))}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM="8",
            # Tasks forked from a process that imported what they import (airflow_provider_chimera.preload,
            # decision 0069): each task starts in a fraction of a second, as in the README's deployment.
            AIRFLOW__SCHEDULER__MP_START_METHOD="forkserver",
            AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD="airflow_provider_chimera.preload",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{self.port}/execution/",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{self.port}",
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(16),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=(
                f"postgresql+psycopg2://{self._pg['user']}:{self._pg['password']}@{self._pg['host']}:{self._pg['port']}/{self.database}"
            ),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="5",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
            AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="1",
            AIRFLOW__CHIMERA__INTENTS_DIR=str(intents),
            AIRFLOW__CHIMERA__WAREHOUSE=str(home / "warehouse"),
            AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'registry.db'}",
            AIRFLOW__CHIMERA__STATE_DIR=str(home / "chimera"),
            AIRFLOW__CHIMERA__REGISTRY_SYNC_SCHEDULE="* * * * *",  # a dropped intent is picked up within a minute
            AIRFLOW__CHIMERA__MIN_SCHEDULE_INTERVAL="PT1M",  # the timed test DAG fires every minute
            CHIMERA_SAMPLE_DATA=str(REPO / "samples"),
            # Onboarding events go to the local broker (`[chimera] events_kafka_conn_id`).
            AIRFLOW_CONN_KAFKA_DEFAULT=json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": SERVICES["CHIMERA_KAFKA_BOOTSTRAP"]}}),
            **(extra_env or {}),
        )
        if site := _plugin_site(home):
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
        auth = None
        if self.users:
            admin = next(name for name, role in self.users.items() if role == "admin")
            passwords_file = home / "simple_auth_manager_passwords.json"
            passwords_file.write_text(json.dumps(self.passwords))
            env.update(
                AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="False",
                AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=",".join(f"{name}:{role}" for name, role in self.users.items()),
                AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords_file),
                AIRFLOW_CONN_AIRFLOW_API_DEFAULT=json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": self.port, "schema": "http",
                                                             "login": admin, "password": self.passwords[admin]}),
            )
            auth = _TokenAuth(self, admin)
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.api = httpx.Client(base_url=f"{self.url}/api/v2", timeout=30, auth=auth)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> AirflowStack:
        with psycopg.connect(**self._pg, dbname=SERVICES["CHIMERA_PG_DB"], autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.database}")
        self.run("airflow", "db", "migrate")
        for name in PROCESSES:
            log = open(self.home / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
            self.procs.append(
                # Its own process group: stop() ends the children it forks too (the scheduler's
                # `airflow serve-logs` outlives it otherwise, keeping port 8793).
                subprocess.Popen([str(BIN / "airflow"), name], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.home,
                                 start_new_session=True)
            )
        self.wait(lambda: self._get("/monitor/health") is not None, 120, "the api-server to answer")
        return self

    def stop(self) -> None:
        """Stop every process the stack started and every child they forked (their process groups)."""
        for proc in self.procs:
            _signal_group(proc.pid, signal.SIGTERM)
        # One grace period for all of them (the stack's database is dropped below, so nothing
        # needs a clean shutdown); then SIGKILL what is left.
        deadline = time.monotonic() + GRACE_SECONDS
        while any(p.poll() is None or _group_alive(p.pid) for p in self.procs) and time.monotonic() < deadline:
            time.sleep(0.2)
        for proc in self.procs:
            _signal_group(proc.pid, signal.SIGKILL)  # what ignored SIGTERM, children included
            proc.wait()
        deadline = time.monotonic() + 10
        while (left := [p.args[1] for p in self.procs if _group_alive(p.pid)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.api.close()
        with psycopg.connect(**self._pg, dbname=SERVICES["CHIMERA_PG_DB"], autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        assert not left, f"processes of airflow {left} outlived the stack"

    def token(self, user: str) -> str:
        """A JWT of ``user`` (one of the stack's ``users``), from Airflow's ``POST /auth/token``."""
        response = httpx.post(f"{self.url}/auth/token", json={"username": user, "password": self.passwords[user]}, timeout=30)
        response.raise_for_status()
        return response.json()["access_token"]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (tail)\n" + p.read_text()[-4000:] for p in sorted(self.home.glob("*.log")))

    # -- helpers ---------------------------------------------------------------------------
    def run(self, *argv: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run a command of the stack's environment; with ``check``, a failure shows its output."""
        done = subprocess.run([str(BIN / argv[0]), *argv[1:]], env=self.env, capture_output=True, text=True, cwd=self.home, timeout=timeout)
        if check and done.returncode:
            raise AssertionError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def _get(self, path: str, **params: Any) -> Any:
        try:
            response = self.api.get(path, params=params)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def wait(self, condition, timeout: float, what: str, every: float = 1.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.logs()}")

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.get("/dags", limit=1000)["dags"]}

    def unpause(self, dag_id: str) -> None:
        self.api.patch(f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()

    def pause(self, dag_id: str) -> None:
        self.api.patch(f"/dags/{dag_id}", json={"is_paused": True}).raise_for_status()

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        response = self.api.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        response.raise_for_status()
        return response.json()["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        """The DAG's runs; none while the DAG is not parsed yet (the API answers 404)."""
        response = self.api.get(f"/dags/{dag_id}/dagRuns", params={"limit": 100})
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.json()["dag_runs"]

    def wait_for_run(self, dag_id: str, timeout: float = 180, run_type: str | None = None) -> dict:
        def finished():
            for run in self.runs(dag_id):
                if run_type and run["run_type"] != run_type:
                    continue
                if run["state"] in ("success", "failed"):
                    return run
            return None

        run = self.wait(finished, timeout, f"a finished {run_type or ''} run of {dag_id}", every=2)
        if run["state"] != "success":
            raise AssertionError(f"{dag_id} run {run['dag_run_id']} {run['state']}\n{self.logs()}")
        return run


PLUGIN_ENTRY_POINT = "chimera = airflow_provider_chimera.ui.plugin:ChimeraPlugin"  # as in setup.cfg


def _plugin_site(home: Path) -> Path | None:
    """A folder for PYTHONPATH that registers the UI plugin's ``airflow.plugins`` entry point, as
    installing the package does, when the installed package predates it (a checkout newer than
    its ``pip install -e``); ``None`` when the installed metadata has it."""
    from importlib.metadata import entry_points

    if any(ep.name == "chimera" for ep in entry_points(group="airflow.plugins")):
        return None
    site = home / "plugin-site"
    info = site / "chimera_ui_e2e-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: chimera-ui-e2e\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[airflow.plugins]\n{PLUGIN_ENTRY_POINT}\n")
    return site


class _TokenAuth(httpx.Auth):
    """Bearer auth as ``user`` of ``stack``: a token fetched on first use and again after a 401."""

    def __init__(self, stack: AirflowStack, user: str):
        self.stack, self.user, self._token = stack, user, None

    def auth_flow(self, request):
        for attempt in range(2):
            if self._token is None or attempt:
                self._token = self.stack.token(self.user)
            request.headers["Authorization"] = f"Bearer {self._token}"
            response = yield request
            if response.status_code != 401:
                return


@dataclass
class SharedStack:
    """The stack several test modules share (tests/e2e/conftest.py), each with its own intents."""

    airflow: AirflowStack
    intents: Path  # the stack's intents folder: one sub-folder per module
    topics: dict[str, str]  # onboarding event kind -> its Kafka topic
    bootstrap: str  # the Kafka brokers
    inbox: Any  # tests.mailbox.Inbox: the mails the stack sent, to every team
    superset: Any  # tests.superset_server.SupersetServer

    def folder(self, module: str) -> Path:
        """``module``'s own, new sub-folder of the intents folder."""
        folder = self.intents / module
        folder.mkdir()
        return folder

    def of(self, module: str, dag_ids: set[str]) -> set[str]:
        """``dag_ids`` without the DAGs of the intents of other modules' sub-folders."""
        others = tuple(p.stem for p in self.intents.rglob("*.json") if p.parent != self.intents / module)
        prefixes = tuple(f"{name}_" for name in others) + tuple(f"chimera_onboard__{name}" for name in others)
        return {d for d in dag_ids if not d.startswith(prefixes)}


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass  # the whole group has ended


def _group_alive(pgid: int) -> bool:
    """Whether a live process (not a zombie waiting to be reaped) is left in process group ``pgid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            return True
    return False
