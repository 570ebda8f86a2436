"""Airflow's REST API v2, as Chimera's tasks use it: pools, DAG runs, task instances.

In Airflow 3 a task has no access to the metadata database; what it changes in Airflow (the
pools of newly onboarded pipelines, the runs a recovery plan starts or clears) goes through the
api-server, as any client would. The connection ``[chimera] airflow_api_conn_id`` (an HTTP
connection: host, port, schema ``http``/``https``, and a login and password when the auth
manager wants them) says where it is; without that connection the API is ``[api] base_url``,
reached with a token from the simple auth manager's all-admins mode (a laptop, the tests).

Tokens expire (``[api_auth] jwt_expiration_time``) while a long task still holds its client: an
answer ``401`` makes the client fetch a new token once and repeat the call; a second ``401`` is
an :class:`AirflowApiError`, never a loop. A client made with a person's own ``token`` (the UI's
actions, :mod:`airflow_provider_chimera.ui.actions`) never fetches one: Airflow checks that
person's rights, and a ``401`` is the answer.

A thin client over ``httpx`` rather than the generated ``apache-airflow-client``: Chimera calls
five endpoints, and the generated client would pin its own ``urllib3``/``pydantic`` versions
against Airflow's.
"""

from __future__ import annotations

from typing import Any

import httpx

DEFAULT_CONN_ID = "airflow_api_default"


class AirflowApiError(RuntimeError):
    """A call to Airflow's REST API failed; the message names the call and Airflow's answer,
    ``status`` is the HTTP status (``None`` when there was no answer), ``detail`` Airflow's own
    explanation (the answer's ``detail``, else its text)."""

    def __init__(self, message: str, status: int | None = None, detail: str | None = None):
        super().__init__(message)
        self.status = status
        self.detail = detail


class AirflowApi:
    """A client of one api-server: ``get``/``post``/``patch``/``delete`` on paths under ``/api/v2``."""

    def __init__(self, base_url: str, username: str | None = None, password: str | None = None, timeout: float = 30.0,
                 *, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self._credentials = (username, password) if username else None
        self._client = httpx.Client(base_url=f"{self.base_url}/api/v2", timeout=timeout)
        self._token: str | None = token
        self._own_token = token is not None  # a person's token: used as it is, never renewed

    @classmethod
    def from_settings(cls, conn_id: str | None = None) -> AirflowApi:
        """The API of the connection ``conn_id`` (``[chimera] airflow_api_conn_id``), else ``[api] base_url``."""
        from airflow.configuration import conf

        from airflow_provider_chimera.settings import load_settings

        conn_id = conn_id or load_settings().airflow_api_conn_id
        connection = _connection(conn_id)
        if connection is None:
            return cls(conf.get("api", "base_url", fallback="http://localhost:8080"))
        scheme = connection.schema or "http"
        port = f":{connection.port}" if connection.port else ""
        return cls(f"{scheme}://{connection.host}{port}", connection.login, connection.password)

    def close(self) -> None:
        self._client.close()

    def _auth(self) -> dict[str, str]:
        if self._token is None:
            url = f"{self.base_url}/auth/token"
            try:
                if self._credentials:
                    username, password = self._credentials
                    response = httpx.post(url, json={"username": username, "password": password}, timeout=30)
                else:
                    response = httpx.get(url, timeout=30)
            except httpx.HTTPError as exc:
                raise AirflowApiError(f"Airflow API at {self.base_url}: cannot get a token: {type(exc).__name__}: {exc}") from None
            if response.status_code >= 400:
                raise AirflowApiError(f"Airflow API at {self.base_url}: token refused (HTTP {response.status_code}): {response.text[:300]}")
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of ``method path``; an :class:`AirflowApiError` naming both otherwise.
        A ``401`` (the token expired) is retried once with a new token."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and not self._own_token:
            self._token = None
            response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise AirflowApiError(f"Airflow API {method} {path}: HTTP {response.status_code}: {response.text[:500]}", response.status_code,
                                  _detail(response))
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, headers=self._auth(), **kwargs)
        except httpx.HTTPError as exc:
            raise AirflowApiError(f"Airflow API {method} {path}: {type(exc).__name__}: {exc}") from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any, **params: Any) -> Any:
        return self.request("PATCH", path, json=body, params=params)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail)[:500] if detail else response.text[:500]


def _connection(conn_id: str):
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
