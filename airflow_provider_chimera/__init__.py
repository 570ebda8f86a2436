"""Chimera: declarative, governed ingestion into Apache Iceberg, as an Apache Airflow provider.

A team declares an *intent* (a JSON file in the intents folder); Chimera turns each
(intent, source, object) with an ``ingestion`` block into an Airflow DAG that reads the
source as Arrow record batches and commits them to an Iceberg table.
"""

__version__ = "0.1.0"

from airflow_provider_chimera.provider_info import get_provider_info  # noqa: E402

__all__ = ["__version__", "get_provider_info"]
