"""Point 11 (platform part): the Airflow REST API client refreshes an expired token once.

The api-server is stood in for by a real tiny HTTP server on 127.0.0.1 (``http.server`` in a
thread) that speaks the two things the client uses: ``/auth/token`` (the simple auth manager's
token endpoint; a POST with credentials, or a GET in all-admins mode) and ``/api/v2/...`` with a
bearer token, answering 401 once the token it issued is expired. A real Airflow api-server is not
started for this: its tokens live for an hour, which is the case being tested.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_provider_chimera.airflow_api import AirflowApi, AirflowApiError

COVERS = ("11",)


class _FakeApiServer(ThreadingHTTPServer):
    """Issues tokens ``t1``, ``t2``...; only those in ``valid`` are accepted."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.token_bodies: list[dict] = []
        self.calls: list[tuple[str, str, str]] = []  # method, path, token
        self.always_401 = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _FakeApiServer

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _token(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.token_bodies.append(json.loads(self.rfile.read(length)) if length else {})
        token = f"t{len(self.server.issued) + 1}"
        self.server.issued.append(token)
        self.server.valid.add(token)
        self._answer(201, {"access_token": token})

    def _api(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self.server.calls.append((self.command, self.path, token))
        if self.server.always_401 or token not in self.server.valid:
            self._answer(401, {"detail": "Invalid JWT token"})
        else:
            self._answer(200, {"pools": [{"name": "default_pool"}], "total_entries": 1})

    def do_GET(self) -> None:  # noqa: N802
        self._token() if self.path == "/auth/token" else self._api()

    def do_POST(self) -> None:  # noqa: N802
        self._token() if self.path == "/auth/token" else self._api()


@pytest.fixture
def server():
    fake = _FakeApiServer()
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()


def test_an_expired_token_is_refreshed_once_and_the_call_repeated(server):
    api = AirflowApi(server.url, "admin", "admin-password", timeout=5)
    try:
        assert api.get("/pools")["total_entries"] == 1
        server.valid.clear()  # the token expired while the task was running

        assert api.post("/pools", {"name": "p", "slots": 1})["total_entries"] == 1

        assert server.issued == ["t1", "t2"]
        assert server.token_bodies == [{"username": "admin", "password": "admin-password"}] * 2
        assert server.calls == [("GET", "/api/v2/pools", "t1"), ("POST", "/api/v2/pools", "t1"), ("POST", "/api/v2/pools", "t2")]
        assert api.get("/pools")["total_entries"] == 1  # the new token is kept
        assert len(server.issued) == 2
    finally:
        api.close()


def test_a_second_401_is_an_error_not_a_loop(server):
    server.always_401 = True
    api = AirflowApi(server.url, timeout=5)  # all-admins mode: GET /auth/token
    try:
        with pytest.raises(AirflowApiError, match="Airflow API GET /pools: HTTP 401") as raised:
            api.get("/pools")
        assert raised.value.status == 401
        assert server.issued == ["t1", "t2"]
        assert [token for _, _, token in server.calls] == ["t1", "t2"]
    finally:
        api.close()
