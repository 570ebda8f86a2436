"""Where metadata and lineage go: a DataHub server, or DataHub Lite in a local DuckDB file.

With an Airflow connection ``datahub_rest_default`` (the one the DataHub Airflow plugin uses: host,
port, token as password), a DataHub server through its REST API. Otherwise DataHub Lite, embedded,
in the DuckDB file ``[chimera] datahub_lite_path`` (default ``$AIRFLOW_HOME/chimera/datahub-lite.duckdb``),
so a laptop needs no DataHub server. One process at a time may open that file: onboarding's harvest
and ingest tasks queue their metadata and lineage in the registry instead (``metadata.queue``),
written by the ``chimera_metadata`` DAG.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_chimera.settings import ChimeraSettings, load_settings

REST_CONN_ID = "datahub_rest_default"
# How long DataHub Lite's writer or ``chimera catalog show`` waits for another process's hold on it.
LOCK_WAIT_SECONDS = 120.0


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

    def emitter(self, lock_timeout: float | None = None) -> Emitter:
        return Emitter(self, lock_timeout)

    def exclusive(self, timeout: float | None = None):
        """Hold DataHub Lite's file for this process (a context manager; a no-op for a server).

        DuckDB lets one process open a file at a time, readers included: the writer task
        (``metadata.queue``) and ``chimera catalog show``/``write`` on the same host queue on a lock
        file beside it (``<file>.lock``) for up to ``timeout`` seconds (the emit timeout by default)
        instead of failing on DuckDB's "Could not set lock".
        """
        if self.kind != "lite":
            return contextlib.nullcontext()
        from filelock import FileLock

        Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        return FileLock(f"{self.location}.lock", timeout=self.timeout if timeout is None else timeout)

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
            with self.exclusive(timeout=LOCK_WAIT_SECONDS):
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

    def __init__(self, destination: Destination, lock_timeout: float | None = None):
        self.destination = destination
        self._lock = None
        if destination.kind == "lite":
            self._lock = destination.exclusive(lock_timeout)
            self._lock.acquire()
            try:
                self._lite = destination.lite()
            except BaseException:
                self._lock.release()
                raise
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
        try:
            (self._lite or self._rest).close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def lite_destination(settings: ChimeraSettings) -> Destination:
    """DataHub Lite in ``[chimera] datahub_lite_path``."""
    return Destination("lite", str(settings.datahub_lite_path), timeout=float(settings.datahub_emit_timeout_seconds))


def select_destination(settings: ChimeraSettings | None = None) -> Destination:
    """The DataHub server of ``datahub_rest_default`` if that connection exists, else DataHub Lite."""
    settings = settings or load_settings()
    timeout = float(settings.datahub_emit_timeout_seconds)
    try:
        from airflow_provider_chimera.sources.base import airflow_connection

        conn = airflow_connection(REST_CONN_ID)
    except Exception:  # no such connection: the embedded store
        return lite_destination(settings)
    host = conn.host or ""
    if conn.port:
        host = f"{host}:{conn.port}"
    if "://" not in host:
        host = f"{'https' if conn.conn_type == 'https' else 'http'}://{host}"
    if conn.password:
        from airflow_provider_chimera.secrets import register_secret

        register_secret(conn.password)
    return Destination("rest", host, token=conn.password or None, timeout=timeout)
