"""Metadata and lineage in DataHub: what each intent brings in, and each run's source → Iceberg edge.

``harvest`` describes an intent's objects (schema fields, owner, domain, classification tags,
documentation) and their Iceberg targets; ``lineage`` reports every published run. Both write to
the destination ``destination`` selects: DataHub Lite in a local DuckDB file, or a DataHub server
through the ``datahub_rest_default`` Airflow connection.
"""

from __future__ import annotations

import os

# DataHub's ingestion framework reports usage to a third party unless told not to.
os.environ.setdefault("DATAHUB_TELEMETRY_ENABLED", "false")
