"""Requests to one HTTP source: its base URL and credentials, retries and errors that tell what to do.

- 429 and 503 answers wait as ``Retry-After`` says (seconds or an HTTP date), other 5xx answers and
  network errors an exponential backoff; every wait is at most ``max_wait_s`` and there are at most
  ``max_retries`` retries, after which the read fails with :class:`HttpTransientError` (retried
  by the task). Other 4xx answers fail at once with :class:`HttpRequestError`: the intent or the
  connection must change.
- Credentials are registered as secrets (masked in logs, scrubbed from the audit log) and never
  written into an error: messages name the endpoint's path, never its query or the body.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from airflow_provider_chimera.errors import FixRequired, Transient
from airflow_provider_chimera.secrets import register_secret
from airflow_provider_chimera.sources.base import airflow_connection, connect_timeout_s
from airflow_provider_chimera.sources.http.options import ApiKeyAuth, BasicAuth, BearerAuth, HttpOptions

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FIRST_BACKOFF_S = 0.5


class HttpTransientError(Transient, ConnectionError):
    """The API did not answer, or kept answering 429/5xx: a later run may succeed."""


class HttpRequestError(FixRequired, ValueError):
    """The API refused the request (4xx) or answered what the intent does not describe."""


@dataclass(frozen=True)
class Endpoint:
    """The base URL (without credentials) and the login and password to send as ``auth`` says."""

    base_url: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)


def endpoint_from_uri(uri: str) -> Endpoint:
    """``https://user:secret@host/base`` (placeholders already resolved) as an :class:`Endpoint`."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpRequestError("an 'http' source's uri is an http:// or https:// URL with a host")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, ""))
    from urllib.parse import unquote

    login = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return Endpoint(base, login, password)


def endpoint_from_connection(conn_id: str) -> Endpoint:
    """An Airflow connection read as Airflow's HTTP hook reads it: ``host`` (with or without its
    scheme), ``schema`` (the scheme when the host has none: http or https, default http), ``port``,
    ``login`` and ``password``."""
    conn = airflow_connection(conn_id)
    host = (conn.host or "").rstrip("/")
    if not host:
        raise HttpRequestError(f"connection {conn_id!r} has no host")
    if "://" not in host:
        scheme = conn.schema or "http"
        if scheme not in ("http", "https"):
            raise HttpRequestError(f"connection {conn_id!r}: schema {scheme!r} is not http or https")
        host = f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"
    return Endpoint(host, conn.login or None, conn.password or None)


def auth_of(options: HttpOptions, endpoint: Endpoint) -> tuple[dict[str, str], dict[str, str], httpx.Auth | None]:
    """``(headers, query params, httpx auth)`` that carry the credentials as ``options.auth`` says."""
    auth = options.auth
    if isinstance(auth, (BearerAuth, BasicAuth, ApiKeyAuth)) and not endpoint.password:
        raise HttpRequestError(f"'{auth.type}' auth needs a password (the token or key) in the source's connection")
    for secret in (endpoint.password,):
        if secret:
            register_secret(secret)
    if isinstance(auth, BearerAuth):
        return {"Authorization": f"Bearer {endpoint.password}"}, {}, None
    if isinstance(auth, BasicAuth):
        return {}, {}, httpx.BasicAuth(endpoint.login or "", endpoint.password or "")
    if isinstance(auth, ApiKeyAuth):
        if auth.header:
            return {auth.header: endpoint.password or ""}, {}, None
        return {}, {auth.query or "": endpoint.password or ""}, None
    return {}, {}, None


class HttpClient:
    """GET requests below one base URL, with the source's credentials, retries and bounded waits."""

    def __init__(self, endpoint: Endpoint, options: HttpOptions):
        self.endpoint = endpoint
        self.options = options
        headers, self.auth_params, auth = auth_of(options, endpoint)
        self._client = httpx.Client(
            headers={"Accept": "application/json", **options.headers, **headers},
            auth=auth,
            timeout=httpx.Timeout(options.timeout_s, connect=min(options.timeout_s, connect_timeout_s())),
            follow_redirects=False,
        )
        self.origin = _origin(endpoint.base_url)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        """The URL of ``path`` below the base URL (an absolute URL must be on the same origin)."""
        if "://" in path or path.startswith("//"):
            if _origin(path) != self.origin:
                raise HttpRequestError(
                    f"{_shown(path)} is on another host than the source's base URL; credentials are only sent there"
                )
            return path
        return f"{self.endpoint.base_url}/{path.lstrip('/')}" if path else self.endpoint.base_url

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET ``path``; retried as the module says. Returns a 2xx response or raises."""
        url = self.url(path)
        query = {**self.options.params, **(params or {}), **self.auth_params}
        # Merged into the URL's own query (a next link's), which httpx's ``params`` would replace.
        full = httpx.URL(url).copy_merge_params(query)
        attempt = 0
        while True:
            try:
                response = self._client.get(full)
            except httpx.TransportError as exc:
                problem = f"GET {_shown(url)} failed: {type(exc).__name__}"
                wait = None
            else:
                if response.status_code < 300:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise HttpRequestError(_refusal(url, response))
                problem = f"GET {_shown(url)} answered HTTP {response.status_code}"
                wait = retry_after(response.headers.get("Retry-After"))
            if attempt >= self.options.max_retries:
                raise HttpTransientError(f"{problem}, {attempt + 1} time(s); giving up for this run")
            backoff = FIRST_BACKOFF_S * 2**attempt if wait is None else wait
            time.sleep(min(max(backoff, 0.0), self.options.max_wait_s))
            attempt += 1


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date); ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url if "://" in url else f"http:{url}")
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _shown(url: str) -> str:
    """A URL as errors show it: host and path, never the query (it may hold an API key)."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path or '/'}"


_WHAT_TO_DO = {
    400: "the API refused the query: check the object's path and the source's params",
    401: "check the credentials of the source's connection and its 'auth'",
    403: "the connection's credentials may not read this endpoint",
    404: "no such endpoint: check the object's 'path' and the connection's base URL",
    405: "the endpoint does not answer GET",
}


def _refusal(url: str, response: httpx.Response) -> str:
    what = _WHAT_TO_DO.get(response.status_code, "the API refused the request")
    return f"GET {_shown(url)} answered HTTP {response.status_code} {response.reason_phrase}: {what}"
