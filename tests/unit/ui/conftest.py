"""The Chimera app mounted under ``/chimera`` as Airflow's api-server mounts it, with Airflow's real
token handling (JWTs signed and checked by Airflow's code) and a registry on SQLite.

Two things cannot exist in the unit tier and are replaced, each said where it is done: Airflow's
metadata database (only its revoked-token lookup is reached: answered "not revoked"), and an auth
manager with per-DAG permissions (Airflow's simple auth manager grants by role only; the e2e tests
use Airflow's real roles). ``GrantsAuthManager`` (tests/ui_fleet.py) is the simple auth manager with
per-user DAG grants.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

from tests.ui_fleet import ALL, GrantsAuthManager

@pytest.fixture
def ui_env(tmp_path, monkeypatch):
    """A fresh AIRFLOW_HOME, registry URL and JWT secret."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "unit-test-secret-0123456789abcdef-0123456789abcdef-0123456789abcdef")
    monkeypatch.delenv("AIRFLOW__CHIMERA__DATAHUB_URL", raising=False)
    from airflow.models.revoked_token import RevokedToken

    # Airflow's metadata database is not in the unit tier: no token is revoked.
    monkeypatch.setattr(RevokedToken, "is_revoked", classmethod(lambda cls, jti, session=None: False))
    return tmp_path


@pytest.fixture
def registry(ui_env):
    from airflow_provider_chimera.ui.registry_access import page_registry

    return page_registry()


@pytest.fixture
def grants(monkeypatch, ui_env):
    """Who may read/edit what: ``admin`` everything, ``alice`` fleet0000's DAGs (edit fleet0000_src_obj0),
    ``viewer`` everything read-only, ``nobody`` nothing."""
    import airflow.api_fastapi.app as airflow_app

    manager = GrantsAuthManager(
        read={"admin": ALL, "viewer": ALL, "alice": {f"fleet0000_src_obj{i}" for i in range(10)}},
        edit={"admin": ALL, "alice": {"fleet0000_src_obj0"}},
    )
    monkeypatch.setattr(airflow_app._AuthManagerState, "instance", manager)
    return manager


@pytest.fixture
def token(grants):
    """``token(username)``: a JWT for that user, signed by Airflow's own token generator."""

    def make(username: str) -> str:
        return grants.generate_jwt(SimpleAuthManagerUser(username=username, role="admin" if username == "admin" else "viewer"))

    return make


@pytest.fixture
def client(grants) -> TestClient:
    """The app mounted at ``/chimera`` on a parent app, as on Airflow's api-server."""
    from airflow_provider_chimera.ui.app import create_app

    parent = FastAPI()
    parent.mount("/chimera", create_app())
    return TestClient(parent, base_url="http://airflow.test")


@pytest.fixture
def as_user(client, token):
    """``as_user(name)``: a client sending that user's token as the UI's ``_token`` cookie."""

    def make(username: str) -> TestClient:
        client.cookies.clear()
        client.cookies.set("_token", token(username))
        return client

    return make
