"""Registering an intent's SQL sources in Apache Superset, through its REST API.

Onboarding's ``discovery`` step calls :func:`register_intent` when ``[chimera] superset_conn_id``
names an Airflow connection (host, port, schema ``http``/``https``, login and password of a
Superset user allowed to add databases and datasets). For every PostgreSQL, MySQL or Snowflake
source of the intent it finds or creates the Superset database ``chimera <intent> <source>``
(its SQLAlchemy URI built from the source's connection, updated when it changed) and, for every
object, the dataset of that schema and table (its columns refreshed when it exists): running it
again creates nothing new. Superset cannot query file, pdf, Kafka or MongoDB sources; those are
reported as discoverable in DataHub only.

What it returns holds links only (``<superset>/explore/?datasource_type=table&datasource_id=<id>``
per dataset): no URI, user or password ever leaves this module, and a failure's message has every
credential of the source and of Superset masked.

The source tables are the raw ones (credentials of the source, PII not yet protected): a database
is registered hidden from SQL Lab (``expose_in_sqllab`` off, no DML, CTAS, CVAS or file upload),
and only the owning team's Superset role, ``chimera_<team>`` (:func:`team_role`, created when
missing), is granted ``database_access`` on it and ``datasource_access`` on its datasets; no other
role gets anything from Chimera (decision record 0029). Put the team's users in that role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from airflow_provider_chimera.onboarding.errors import StepError
from airflow_provider_chimera.secrets import Scrubber, register_secret

if TYPE_CHECKING:
    import httpx

    from airflow_provider_chimera.contract.model import Intent, Source
    from airflow_provider_chimera.tenancy.model import Grant

SQL_SOURCES = ("postgres", "mysql", "snowflake")
DATAHUB_ONLY = "discoverable in DataHub only: Superset cannot query {type} sources"
TIMEOUT_S = 60.0  # creating a database makes Superset test its connection first
# A source database is never offered to SQL Lab, and nothing can write through it.
HIDDEN = {"expose_in_sqllab": False, "allow_dml": False, "allow_ctas": False, "allow_cvas": False, "allow_file_upload": False}


class SupersetError(StepError):
    """Superset refused or could not be reached; the message names the source or object."""


@dataclass
class Registration:
    """What :func:`register_intent` did: links (label -> URL) and a line per source."""

    links: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def register_intent(conn_id: str, intent: Intent, grant: Grant | None = None) -> Registration:
    """Register ``intent``'s SQL sources and their objects in the Superset of ``conn_id``; each
    source's credentials are resolved within ``grant``, what the intent's team may use."""
    from airflow_provider_chimera.sources.base import airflow_connection

    result = Registration()
    sql = [source for source in intent.sources if source.type in SQL_SOURCES]
    for source in intent.sources:
        if source.type not in SQL_SOURCES:
            result.sources[source.name] = DATAHUB_ONLY.format(type=source.type)
    if not sql:
        return result
    connection = airflow_connection(conn_id)
    register_secret(connection.password or "")
    base = base_url(connection)
    scrub = Scrubber([connection.password])
    with _Api(base, scrub) as api:
        api.login(connection.login or "", connection.password or "", conn_id)
        for source in sql:
            uri = sqlalchemy_uri(source, grant)
            password = _password(uri)
            scrub.add(password)
            register_secret(password or "")
            name = database_name(intent.name, source.name)
            api.context = f"source {source.name} (Superset database {name!r})"
            body = {"database_name": name, "sqlalchemy_uri": uri, **HIDDEN}
            database = api.upsert("database", [("database_name", "eq", name)], body)
            grants = [("database_access", f"[{name}].(id:{database})")]
            objects = _object_names(source)
            for obj in objects:
                schema, table = split_object(obj)
                api.context = f"object {source.name}/{obj}"
                dataset = api.dataset(database, schema, table)
                grants.append(("datasource_access", f"[{name}].[{table}](id:{dataset})"))
                result.links[f"{source.name}/{obj}"] = f"{base}/explore/?datasource_type=table&datasource_id={dataset}"
            role = team_role(intent.team.name)
            api.context = f"source {source.name}: granting Superset role {role!r}"
            api.grant(role, grants)
            result.sources[source.name] = f"Superset database {name!r} with {len(objects)} dataset(s), for role {role!r}"
    return result


def base_url(connection: Any) -> str:
    """``scheme://host[:port]`` of a Superset connection; ``host`` may carry the scheme itself."""
    host = (connection.host or "").rstrip("/")
    if not host:
        raise SupersetError(f"the Superset connection {connection.conn_id!r} names no host")
    if "://" not in host:
        host = f"{connection.schema or 'http'}://{host}"
    return f"{host}:{connection.port}" if connection.port else host


def team_role(team: str) -> str:
    """The Superset role of ``team``: the only one Chimera grants access to the team's sources."""
    return f"chimera_{team}"


def database_name(intent: str, source: str) -> str:
    return f"chimera {intent} {source}"


def split_object(name: str) -> tuple[str | None, str]:
    """``(schema, table)`` of an object name (``schema.table``, ``db.schema.table`` or ``table``)."""
    parts = name.split(".")
    return (parts[-2] if len(parts) > 1 else None), parts[-1]


def sqlalchemy_uri(source: Source, grant: Grant | None = None) -> str:
    """The SQLAlchemy URI Superset connects to ``source`` with (holds its password: never log it),
    resolved within ``grant`` as an ingest would (:func:`~airflow_provider_chimera.sources.source_reader`)."""
    from sqlalchemy.engine import URL

    from airflow_provider_chimera.sources import source_reader

    hook: Any = source_reader(source, grant=grant)
    if source.type == "postgres":
        return hook.uri()
    k = hook.connect_kwargs()
    if source.type == "mysql":
        url = URL.create("mysql", k["user"] or None, k["password"] or None, k["host"], k["port"], k["database"] or None)
    else:
        database, schema = k.get("database"), k.get("schema")
        path = f"{database}/{schema}" if database and schema else database
        query = {key: str(k[key]) for key in ("warehouse", "role", "host", "port", "protocol") if k.get(key)}
        url = URL.create("snowflake", k.get("user"), k.get("password") or None, k.get("account"), None, path or None, query)
    return url.render_as_string(hide_password=False)


def _password(uri: str) -> str | None:
    from sqlalchemy.engine import make_url

    return make_url(uri).password


def _object_names(source: Source) -> list[str]:
    """The objects the intent names, or every table the connection sees for ``objects: all``."""
    if source.objects != "all":
        return [o.name for o in source.objects]
    from airflow_provider_chimera.sources import source_reader

    return source_reader(source).list_objects()


def rison(value: Any) -> str:
    """``value`` (dicts, lists, strings, numbers, booleans, ``None``) in Rison, the encoding of
    Superset's ``q`` query parameter."""
    if value is None or isinstance(value, bool):
        return {None: "!n", True: "!t", False: "!f"}[value]
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, dict):
        return "(" + ",".join(f"{rison(str(k))}:{rison(v)}" for k, v in value.items()) + ")"
    return "!(" + ",".join(rison(v) for v in value) + ")"


class _Api:
    """A logged-in session of Superset's REST API; every failure is a :class:`SupersetError`
    naming ``context`` (the source or object at hand) and Superset's message, credentials masked."""

    def __init__(self, base: str, scrub: Scrubber):
        import httpx

        self.base, self.scrub, self.context = base, scrub, f"Superset at {base}"
        self.http = httpx.Client(base_url=base, timeout=TIMEOUT_S, headers={"Referer": base})

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def login(self, user: str, password: str, conn_id: str) -> None:
        """A JWT from the ``db`` provider, and the CSRF token that writes need (kept with its session cookie)."""
        self.context = f"logging in to Superset at {self.base} (connection {conn_id!r})"
        body = self._call("POST", "/api/v1/security/login", json={"username": user, "password": password, "provider": "db", "refresh": False})
        self.http.headers["Authorization"] = f"Bearer {body['access_token']}"
        self.http.headers["X-CSRFToken"] = self._call("GET", "/api/v1/security/csrf_token/")["result"]

    def find(self, resource: str, filters: list[tuple[str, str, Any]]) -> int | None:
        query = {"filters": [{"col": c, "opr": o, "value": v} for c, o, v in filters], "columns": ["id"], "page_size": 2}
        ids = self._call("GET", f"/api/v1/{resource}/", params={"q": rison(query)})["ids"]
        if len(ids) > 1:
            raise SupersetError(f"{self.context}: Superset holds {len(ids)} {resource}s matching {filters}; keep one")
        return ids[0] if ids else None

    def upsert(self, resource: str, filters: list[tuple[str, str, Any]], body: dict[str, Any]) -> int:
        """The id of the ``resource`` matching ``filters``, updated with ``body``, or created from it."""
        found = self.find(resource, filters)
        if found is None:
            return self._call("POST", f"/api/v1/{resource}/", json=body)["id"]
        self._call("PUT", f"/api/v1/{resource}/{found}", json=body)
        return found

    def dataset(self, database: int, schema: str | None, table: str) -> int:
        """The id of the dataset of ``schema.table`` in ``database``: created, or its columns refreshed."""
        found = self.find("dataset", [("database", "rel_o_m", database), ("schema", "eq", schema or ""), ("table_name", "eq", table)])
        if found is None:
            return self._call("POST", "/api/v1/dataset/", json={"database": database, "schema": schema, "table_name": table})["id"]
        self._call("PUT", f"/api/v1/dataset/{found}/refresh")
        return found

    def grant(self, role: str, grants: list[tuple[str, str]]) -> None:
        """Give ``role`` (created when missing) each ``(permission, resource)`` of ``grants``,
        keeping what it already has."""
        found = self.find("security/roles", [("name", "eq", role)])
        role_id = found if found is not None else self._call("POST", "/api/v1/security/roles/", json={"name": role})["id"]
        held = {p["id"] for p in self._call("GET", f"/api/v1/security/roles/{role_id}/permissions/")["result"]}
        wanted = {self._permission_on(permission, resource) for permission, resource in grants}
        if not wanted <= held:
            self._call("POST", f"/api/v1/security/roles/{role_id}/permissions", json={"permission_view_menu_ids": sorted(held | wanted)})

    def _permission_on(self, permission: str, resource: str) -> int:
        """The id of ``permission`` on ``resource`` (Superset makes both when it makes the database
        or dataset; created here when it has not)."""
        ids = {}
        for kind, name in (("permissions", permission), ("resources", resource)):
            found = self.find(f"security/{kind}", [("name", "eq", name)])
            ids[kind] = found if found is not None else self._call("POST", f"/api/v1/security/{kind}/", json={"name": name})["id"]
        pair = [("permission", "rel_o_m", ids["permissions"]), ("view_menu", "rel_o_m", ids["resources"])]
        found = self.find("security/permissions-resources", pair)
        if found is not None:
            return found
        body = {"permission_id": ids["permissions"], "view_menu_id": ids["resources"]}
        return self._call("POST", "/api/v1/security/permissions-resources/", json=body)["id"]

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SupersetError(self.scrub(f"{self.context}: Superset cannot be reached: {type(exc).__name__}: {exc}")) from None
        if response.status_code >= 400:
            raise SupersetError(self.scrub(f"{self.context}: Superset answered {response.status_code}: {_message(response)}"))
        return response.json()


def _message(response: httpx.Response) -> str:
    """Superset's own words from an error response (``message``, ``errors[].message``), else its text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and body.get("errors"):
        return "; ".join(str(e.get("message", e)) for e in body["errors"])
    if isinstance(body, dict) and "message" in body:
        return json.dumps(body["message"]) if not isinstance(body["message"], str) else body["message"]
    return json.dumps(body)[:300]
