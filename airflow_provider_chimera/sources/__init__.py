"""Source readers, one module per source type; each yields bounded Arrow record batches.

:data:`READERS` are the built-in types; packages add more through the entry-point group
``chimera.sources`` (:mod:`airflow_provider_chimera.sources.registry`, ``docs/sources/plugins.md``).
"""

from __future__ import annotations

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.sources.base import Extract, Position, SourceReader
from airflow_provider_chimera.tenancy.model import Grant

# type -> "module:Class"; imported on use so that parsing DAGs never loads a driver.
READERS: dict[str, str] = {
    "file": "airflow_provider_chimera.sources.file:FileReader",
    "pdf": "airflow_provider_chimera.sources.pdf:PdfReader",
    "postgres": "airflow_provider_chimera.sources.postgres:PostgresReader",
    "mysql": "airflow_provider_chimera.sources.mysql:MySqlReader",
    "snowflake": "airflow_provider_chimera.sources.snowflake:SnowflakeReader",
    "mongodb": "airflow_provider_chimera.sources.mongodb:MongoReader",
    "kafka": "airflow_provider_chimera.sources.kafka:KafkaReader",
}


class UnsupportedSourceError(FixRequired, NotImplementedError):
    pass


def source_reader(source: Source, batch_rows: int = 65_536, grant: Grant | None = None) -> SourceReader:
    """The reader of ``source`` (a built-in type, or one a package registers; ``sources.registry``)
    within ``grant``, its intent's team's share of the platform (``tenancy.authorize_pipeline``):
    placeholders outside the team's prefix and files outside its roots are refused. Without a
    grant, a single team's rules (reserved names still refused)."""
    from airflow_provider_chimera.sources.registry import source_plugin

    try:
        plugin = source_plugin(source.type)
    except LookupError as exc:
        raise UnsupportedSourceError(f"source {source.name!r}: {exc}") from None
    return plugin.reader_class()(source, batch_rows=batch_rows, grant=grant)


__all__ = ["Extract", "READERS", "Position", "SourceReader", "UnsupportedSourceError", "source_reader"]
