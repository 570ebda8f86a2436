"""Alembic migrations of the registry; applied by :func:`airflow_provider_chimera.registry.db.upgrade`."""
