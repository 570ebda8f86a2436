"""A real Apache Superset for the tests, from ``.superset/venv`` (``make superset``).

:func:`superset_server` (session scope) writes a ``superset_config.py`` with its metadata in a
SQLite file of the session's temporary folder, runs ``superset db upgrade``, ``superset fab
create-admin`` and ``superset init``, then ``superset run`` on a free port of 127.0.0.1, and waits
for ``/health``. It fails, never skips, when the environment is missing. tests/conftest.py makes
it a fixture of every test: one Superset serves the whole session.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".superset" / "venv"
START_TIMEOUT_S = 300  # a loaded machine takes minutes for db upgrade, init and the first answer
ADMIN = "chimera_admin"


@dataclass
class SupersetServer:
    url: str
    host: str
    port: int
    user: str
    password: str
    log: Path
    startup_seconds: float  # from `superset db upgrade` to /health answering

    def api(self) -> httpx.Client:
        """A client logged in as the admin (JWT, and the CSRF token that writes need)."""
        client = httpx.Client(base_url=self.url, timeout=30, headers={"Referer": self.url})
        login = client.post("/api/v1/security/login", json={"username": self.user, "password": self.password, "provider": "db"})
        client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['access_token']}"
        client.headers["X-CSRFToken"] = client.get("/api/v1/security/csrf_token/").raise_for_status().json()["result"]
        return client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(home: Path) -> Path:
    path = home / "superset_config.py"
    path.write_text(
        f"SECRET_KEY = {secrets.token_urlsafe(32)!r}\n"
        f"SQLALCHEMY_DATABASE_URI = {'sqlite:///' + str(home / 'superset.db')!r}\n"
        "TALISMAN_ENABLED = False  # plain http on 127.0.0.1\n"
        "RATELIMIT_ENABLED = False\n"
        "AUTH_RATE_LIMITED = False\n"
        "WTF_CSRF_ENABLED = True  # as in production: API writes need the token of /api/v1/security/csrf_token/\n"
    )
    return path


def _superset(env: dict[str, str], log: Path, *args: str) -> None:
    with log.open("a") as out:
        out.write(f"\n$ superset {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([str(VENV / "bin" / "superset"), *args], check=False, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"`superset {args[0]} {args[1] if len(args) > 1 else ''}` failed ({done.returncode}); see {log}:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def superset_server(tmp_path_factory):
    if not (VENV / ".installed").exists():
        pytest.fail(f"Apache Superset is not installed in {VENV}: run `make superset`")
    home = tmp_path_factory.mktemp("superset")
    log = home / "superset.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("AIRFLOW")}
    env.update(SUPERSET_CONFIG_PATH=str(_config(home)), SUPERSET_HOME=str(home), PATH=f"{VENV / 'bin'}:{env.get('PATH', '')}")
    password = secrets.token_urlsafe(12)
    started = time.monotonic()
    _superset(env, log, "db", "upgrade")
    _superset(env, log, "fab", "create-admin", "--username", ADMIN, "--firstname", "Chimera", "--lastname", "Tests",
              "--email", "chimera-tests@example.com", "--password", password)
    _superset(env, log, "init")
    port = _free_port()
    with log.open("a") as out:
        server = subprocess.Popen([str(VENV / "bin" / "superset"), "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while not _healthy(url):
            if server.poll() is not None:
                pytest.fail(f"`superset run` exited with {server.returncode}; see {log}:\n{_tail(log)}")
            if time.monotonic() - started > START_TIMEOUT_S:
                pytest.fail(f"Superset did not answer on {url}/health within {START_TIMEOUT_S} s; see {log}:\n{_tail(log)}")
            time.sleep(0.5)
        yield SupersetServer(url, "127.0.0.1", port, ADMIN, password, log, time.monotonic() - started)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
