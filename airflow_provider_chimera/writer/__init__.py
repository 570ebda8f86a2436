"""The Iceberg writers and the catalog they write to."""

from airflow_provider_chimera.writer import txn_metadata  # noqa: F401  (first: every transaction below uses it)

from airflow_provider_chimera.writer.base import TableWriter
from airflow_provider_chimera.writer.catalog import chimera_catalog
from airflow_provider_chimera.writer.iceberg import CommitInfo, CommitResult, IcebergWriter

__all__ = ["CommitInfo", "CommitResult", "IcebergWriter", "TableWriter", "chimera_catalog"]
