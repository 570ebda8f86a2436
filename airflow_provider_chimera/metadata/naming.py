"""Dataset URNs named as DataHub's own source plugins name them, so that both describe one dataset.

postgres ``<database>.<schema>.<table>``; mysql ``<database>.<table>``; snowflake
``<database>.<schema>.<table>`` lower-cased; mongodb ``<database>.<collection>``; kafka
``<topic>``; iceberg ``<namespace>.<table>``; files by their location (platform ``file``, or the
object store's: ``s3``, ``gcs``, ``abs``). The environment is DataHub's default (``PROD``).
"""

from __future__ import annotations

from urllib.parse import urlparse

from airflow_provider_chimera.contract.model import Source, SourceObject

ENV = "PROD"
PLATFORMS = {"postgres": "postgres", "mysql": "mysql", "snowflake": "snowflake", "mongodb": "mongodb", "kafka": "kafka"}
_STORE_PLATFORMS = {"": "file", "file": "file", "s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "abfs": "abs", "abfss": "abs", "az": "abs"}
_DEFAULT_SCHEMA = {"postgres": "public"}


def dataset_urn(platform: str, name: str) -> str:
    from datahub.emitter.mce_builder import make_dataset_urn_with_platform_instance

    return make_dataset_urn_with_platform_instance(platform, name, platform_instance=None, env=ENV)


def source_database(source: Source) -> tuple[str | None, str | None]:
    """``(database, schema)`` the source's connection points at (either may be ``None``).

    Read from the URI's path or the Airflow connection's fields; no secret is resolved.
    """
    connection = source.connection
    if connection.uri is not None:
        parts = [p for p in urlparse(connection.uri).path.split("/") if p]
        return (parts[0] if parts else None), (parts[1] if len(parts) > 1 else None)
    from airflow_provider_chimera.sources.base import airflow_connection

    conn = airflow_connection(connection.conn_id)
    if source.type == "snowflake":
        extra = conn.extra_dejson
        return extra.get("database"), conn.schema or extra.get("schema")
    return conn.schema or None, None


def source_platform_and_name(source: Source, obj: SourceObject) -> tuple[str, str]:
    """The DataHub platform and dataset name of one object of ``source``."""
    if source.type in ("file", "pdf"):
        return _location(source, obj)
    platform = PLATFORMS.get(source.type)
    if platform is None:  # a type a package registers: DataHub's platform of that name
        return source.type, obj.name
    if source.type == "kafka":
        return platform, obj.name
    database, schema = source_database(source)
    parts = obj.name.split(".")
    if source.type == "mysql":  # two-tier: the database is the schema
        name = obj.name if len(parts) > 1 else f"{database}.{obj.name}"
    elif source.type == "mongodb":
        name = f"{database}.{obj.name}"
    else:  # postgres, snowflake: three-tier
        if len(parts) == 1:
            parts = [schema or _DEFAULT_SCHEMA.get(source.type, "public"), *parts]
        name = ".".join([database or "", *parts]) if len(parts) == 2 else obj.name
    # DataHub's Snowflake source lower-cases its URNs by default (convert_urns_to_lowercase).
    return platform, name.lower() if source.type == "snowflake" else name


def _location(source: Source, obj: SourceObject) -> tuple[str, str]:
    base = source.connection.uri or ""
    parsed = urlparse(base)
    platform = _STORE_PLATFORMS.get(parsed.scheme, "file")
    root = f"{parsed.netloc}{parsed.path}" if platform != "file" else (parsed.path if parsed.scheme else base)
    path = obj.path or obj.name
    name = path if "://" in path or path.startswith("/") else f"{root.rstrip('/')}/{path}" if root else f"{source.name}/{path}"
    return platform, name


def source_urn(source: Source, obj: SourceObject) -> str:
    return dataset_urn(*source_platform_and_name(source, obj))


def target_urn(namespace: str, table: str) -> str:
    """The Iceberg target's URN, named ``<namespace>.<table>`` as DataHub's Iceberg source names it."""
    return dataset_urn("iceberg", f"{namespace}.{table}")


def field_path(source_type: str, column: str) -> str:
    """A column's field path; DataHub's Snowflake source lower-cases them (``preserve_column_case`` off)."""
    return column.lower() if source_type == "snowflake" else column
