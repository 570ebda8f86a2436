"""A small JSON API on 127.0.0.1 for the HTTP source's tests: stdlib ``http.server`` in a thread.

``GET /`` names the resources; ``GET /<style>/<resource>`` answers the resource's records (``api.data[resource]``) paginated in
that style: ``plain`` (all at once, under ``{"data": [...]}``), ``page`` (``page``/``per_page``),
``offset`` (``offset``/``limit``), ``cursor`` (``cursor``; the body's ``next``) and ``link``
(``Link: <...>; rel="next"``). ``updated_since`` keeps the records whose ``updated_at`` is at or
after it (as many APIs do: the reader drops the ones it already has). ``api.auth`` sets what the
server requires; ``api.fail_next`` queues answers (status, Retry-After) given before the real one.
Every request is logged in ``api.requests`` (path with query, headers).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest


@dataclass
class FakeApi:
    data: dict[str, list[Any]] = field(default_factory=dict)
    # ("bearer", token) | ("basic", user, password) | ("header", name, key) | ("query", name, key) | None
    auth: tuple[str, ...] | None = None
    fail_next: list[tuple[int, str | None]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def authorized(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        if self.auth is None:
            return True
        kind, *values = self.auth
        if kind == "bearer":
            return headers.get("authorization") == f"Bearer {values[0]}"
        if kind == "basic":
            token = base64.b64encode(f"{values[0]}:{values[1]}".encode()).decode()
            return headers.get("authorization") == f"Basic {token}"
        if kind == "header":
            return headers.get(values[0].lower()) == values[1]
        return query.get(values[0]) == values[1]

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append((path + ("?" + urlencode(query) if query else ""), headers))
        if self.fail_next:
            status, retry_after = self.fail_next.pop(0)
            return status, ({"Retry-After": retry_after} if retry_after else {}), {"error": "slow down"}
        if not self.authorized(headers, query):
            return 401, {}, {"error": "unauthorized"}
        if path in ("", "/"):  # the API's root: what a connection test may ask
            return 200, {}, {"resources": sorted(self.data)}
        parts = path.strip("/").split("/")
        if len(parts) != 2 or parts[1] not in self.data:
            return 404, {}, {"error": "not found"}
        style, resource = parts
        records = self.data[resource]
        since = query.get("updated_since")
        if since is not None:
            records = [r for r in records if not isinstance(r, dict) or str(r.get("updated_at", "")) >= since]
        if style == "plain":
            return 200, {}, {"data": records}
        if style == "page":
            page, size = int(query.get("page", "1")), int(query.get("per_page", "10"))
            return 200, {}, {"data": records[(page - 1) * size : page * size]}
        if style == "offset":
            offset, limit = int(query.get("offset", "0")), int(query.get("limit", "10"))
            return 200, {}, {"results": {"items": records[offset : offset + limit]}}
        if style == "cursor":
            start = int(query.get("cursor", "0"))
            chunk = records[start : start + 3]
            following = str(start + 3) if start + 3 < len(records) else None
            return 200, {}, {"data": chunk, "meta": {"next": following}}
        if style == "link":
            start = int(query.get("from", "0"))
            extra = {k: v for k, v in query.items() if k != "from"}
            headers_out = {}
            if start + 4 < len(records):
                following = f"{self.base_url}/link/{resource}?{urlencode({**extra, 'from': start + 4})}"
                headers_out["Link"] = f'<{following}>; rel="next", <{self.base_url}/link/{resource}>; rel="first"'
            return 200, headers_out, records[start : start + 4]
        return 404, {}, {"error": "no such style"}


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = api.answer(url.path, query, headers)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:  # quiet
            pass

    return Handler


def serve(api: FakeApi) -> Iterator[FakeApi]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def http_api() -> Iterator[FakeApi]:
    """A running :class:`FakeApi` with no data yet; ``http_api.base_url`` is where it answers."""
    yield from serve(FakeApi())
