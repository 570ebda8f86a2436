"""The Iceberg writer and the catalog it writes to."""

from airflow_provider_chimera.writer.catalog import chimera_catalog
from airflow_provider_chimera.writer.iceberg import CommitInfo, CommitResult, IcebergWriter

__all__ = ["CommitInfo", "CommitResult", "IcebergWriter", "chimera_catalog"]
