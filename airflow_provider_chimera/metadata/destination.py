"""Where metadata and lineage go: a DataHub server, or DataHub Lite in a local DuckDB file.

With an Airflow connection ``datahub_rest_default`` (the one the DataHub Airflow plugin uses: host,
port, token as password), a DataHub server through its REST API. Otherwise DataHub Lite, embedded,
in the DuckDB file ``[chimera] datahub_lite_path`` (default ``$AIRFLOW_HOME/chimera/datahub-lite.duckdb``),
so a laptop needs no DataHub server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_chimera.settings import ChimeraSettings, load_settings

REST_CONN_ID = "datahub_rest_default"


@dataclass(frozen=True)
class Destination:
    kind: str  # "lite" or "rest"
    location: str  # the DuckDB file, or the server's URL
    token: str | None = field(default=None, repr=False)
    timeout: float = 5.0

    def __str__(self) -> str:
        return f"DataHub Lite {self.location}" if self.kind == "lite" else f"DataHub {self.location}"

    def sink(self) -> dict[str, Any]:
        """The sink of an ingestion recipe writing here (DataHub's ``datahub-lite``/``datahub-rest``)."""
        if self.kind == "lite":
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
            return {"type": "datahub-lite", "config": {"type": "duckdb", "config": {"file": self.location}}}
        return {"type": "datahub-rest", "config": {"server": self.location, "token": self.token, "timeout_sec": self.timeout, "retry_max_times": 0}}

    def emitter(self) -> Emitter:
        return Emitter(self)

    def lite(self, read_only: bool = False):
        """The DataHub Lite store (the caller closes it)."""
        from datahub.lite.lite_util import get_datahub_lite

        if not read_only:
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        return get_datahub_lite({"type": "duckdb", "config": {"file": self.location, "read_only": read_only}}, read_only=read_only)

    def get(self, urn: str) -> dict[str, Any] | None:
        """The entity's aspects by name (``None``: not there)."""
        if self.kind == "lite":
            if not Path(self.location).exists():
                return None
            store = self.lite(read_only=True)
            try:
                return store.get(urn, aspects=None)
            finally:
                store.close()
        from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph

        with DataHubGraph(DatahubClientConfig(server=self.location, token=self.token, timeout_sec=self.timeout)) as graph:
            return graph.get_entity_raw(urn).get("aspects") or None


class Emitter:
    """Writes metadata change proposals to a destination; a context manager."""

    def __init__(self, destination: Destination):
        self.destination = destination
        if destination.kind == "lite":
            self._lite = destination.lite()
            self._rest = None
        else:
            from datahub.emitter.rest_emitter import DataHubRestEmitter

            self._lite = None
            self._rest = DataHubRestEmitter(
                destination.location, destination.token, connect_timeout_sec=destination.timeout,
                read_timeout_sec=destination.timeout, retry_max_times=0,
            )

    def emit(self, mcp) -> None:
        if self._lite is not None:
            self._lite.write(mcp)
        else:
            self._rest.emit_mcp(mcp)

    def close(self) -> None:
        (self._lite or self._rest).close()

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def select_destination(settings: ChimeraSettings | None = None) -> Destination:
    """The DataHub server of ``datahub_rest_default`` if that connection exists, else DataHub Lite."""
    settings = settings or load_settings()
    timeout = float(settings.datahub_emit_timeout_seconds)
    try:
        from airflow_provider_chimera.sources.base import airflow_connection

        conn = airflow_connection(REST_CONN_ID)
    except Exception:  # no such connection: the embedded store
        return Destination("lite", str(settings.datahub_lite_path), timeout=timeout)
    host = conn.host or ""
    if conn.port:
        host = f"{host}:{conn.port}"
    if "://" not in host:
        host = f"{'https' if conn.conn_type == 'https' else 'http'}://{host}"
    if conn.password:
        from airflow_provider_chimera.sources.base import register_secret

        register_secret(conn.password)
    return Destination("rest", host, token=conn.password or None, timeout=timeout)
