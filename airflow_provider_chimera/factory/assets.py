"""Airflow Assets for a pipeline: its source object (inlet) and its Iceberg table (outlet).

URIs follow Airflow's asset URI formats (``postgres://host:port/db/schema/table``,
``mysql://host:port/db/table``, ``snowflake://account/db/schema/table``,
``mongodb://host:port/db/collection``, ``kafka://host/topic``, ``file:///path``), so the
acryl-datahub-airflow-plugin maps each one to a DataHub dataset URN of the right platform
(``urn:li:dataset:(urn:li:dataPlatform:postgres,...,PROD)``). Parsing never opens a connection,
so a source known only by its Airflow ``conn_id`` is identified by that id in place of its host
and by ``default`` for the connection's default database (see docs/decisions). The target is
``iceberg://<catalog>.<namespace>.<table>``: DataHub's Iceberg name with the catalog as platform
instance, the URI other DAGs schedule on.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from airflow.sdk import Asset

from airflow_provider_chimera.pipelines import Pipeline

_SCHEMES = {"postgres": "postgres", "mysql": "mysql", "snowflake": "snowflake", "mongodb": "mongodb", "kafka": "kafka"}
DEFAULT_DATABASE = "default"


def target_uri(pipeline: Pipeline, catalog: str) -> str:
    return f"iceberg://{catalog}.{pipeline.target_namespace}.{pipeline.ingestion.target.table}"


def target_asset(pipeline: Pipeline, catalog: str) -> Asset:
    """The pipeline's Iceberg table. Named by its URI, like every Chimera asset, so that a DAG
    scheduling on ``Asset("iceberg://...")`` (or an intent's ``event`` trigger) meets the same
    asset: Airflow deactivates two assets that share a URI under different names."""
    uri = target_uri(pipeline, catalog)
    return Asset(uri=uri, name=uri, group="chimera")


def _authority_and_database(pipeline: Pipeline) -> tuple[str, str]:
    connection = pipeline.source.connection
    if connection.uri is None:
        return str(connection.conn_id), DEFAULT_DATABASE
    url = urlsplit(connection.uri)
    # The part after ``user:pw@``: the credentials never reach an asset URI.
    authority = url.netloc.rpartition("@")[2] or "localhost"
    return authority, url.path.strip("/").split("/")[0] or DEFAULT_DATABASE


def source_uri(pipeline: Pipeline) -> str:
    source, name = pipeline.source, pipeline.object.name
    if source.type in ("file", "pdf"):
        base = (source.connection.uri or f"file:///{source.connection.conn_id}").rstrip("/")
        path = pipeline.object.path or name
        return path if "://" in path else f"{base}/{path.lstrip('/')}"
    authority, database = _authority_and_database(pipeline)
    if source.type == "kafka":
        return f"kafka://{authority.split(',')[0]}/{name}"
    parts = name.split(".")
    if source.type == "postgres":
        schema, table = (parts[0], ".".join(parts[1:])) if len(parts) > 1 else ("public", name)
        return f"postgres://{authority}/{database}/{schema}/{table}"
    if source.type == "snowflake":
        if len(parts) >= 3:
            return f"snowflake://{authority}/{parts[0]}/{parts[1]}/{'.'.join(parts[2:])}"
        return f"snowflake://{authority}/{database}/{'/'.join(parts if len(parts) == 2 else ['public', name])}"
    if source.type == "mysql":
        db, table = (parts[0], ".".join(parts[1:])) if len(parts) > 1 else (database, name)
        return f"mysql://{authority}/{db}/{table}"
    # mongodb, and a type a package registers (named by its type: ``http://host/api/orders``).
    return f"{_SCHEMES.get(source.type, source.type)}://{authority}/{database}/{name}"


def source_asset(pipeline: Pipeline) -> Asset:
    """The source object. Named by its URI: pipelines reading the same object share one Asset
    (Airflow deactivates two assets that share a URI under different names)."""
    uri = source_uri(pipeline)
    return Asset(uri=uri, name=uri, group="chimera-source")
