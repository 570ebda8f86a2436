"""The URIs that name a pipeline's source object and its Iceberg table, as Airflow assets.

URIs follow Airflow's asset URI formats (``postgres://host:port/db/schema/table``,
``mysql://host:port/db/table``, ``snowflake://account/db/schema/table``,
``mongodb://host:port/db/collection``, ``kafka://host/topic``, ``file:///path``), so the
acryl-datahub-airflow-plugin maps each one to a DataHub dataset URN of the right platform
(``urn:li:dataset:(urn:li:dataPlatform:postgres,...,PROD)``). Naming never opens a connection,
so a source known only by its Airflow ``conn_id`` is identified by that id in place of its host
and by ``default`` for the connection's default database (see docs/decisions). The target is
``iceberg://<catalog>.<namespace>.<table>``: DataHub's Iceberg name with the catalog as platform
instance, the URI other DAGs schedule on.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from airflow_provider_chimera.pipelines.model import Pipeline

_SCHEMES = {"postgres": "postgres", "mysql": "mysql", "snowflake": "snowflake", "mongodb": "mongodb", "kafka": "kafka"}
DEFAULT_DATABASE = "default"


def target_uri(pipeline: Pipeline, catalog: str) -> str:
    return f"iceberg://{catalog}.{pipeline.target_namespace}.{pipeline.ingestion.target.table}"


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


def topic_uri(pipeline: Pipeline, topic: str, events_conn_id: str) -> str:
    """The asset of a Kafka topic that triggers the pipeline: ``kafka://<conn_id>/<topic>``, the
    conn_id being the pipeline's own Kafka source's or ``[chimera] events_kafka_conn_id``."""
    return f"kafka://{topic_conn_id(pipeline, events_conn_id)}/{topic}"


def topic_conn_id(pipeline: Pipeline, events_conn_id: str) -> str:
    source = pipeline.source
    return source.connection.conn_id if source.type == "kafka" and source.connection.conn_id else events_conn_id
