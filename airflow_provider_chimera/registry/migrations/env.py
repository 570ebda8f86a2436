"""Alembic environment of the registry.

:func:`airflow_provider_chimera.registry.db.upgrade` passes an open connection in
``config.attributes["connection"]``. A new revision is written with
``alembic.command.revision(config, autogenerate=True, message=...)``, where ``config`` has this
folder as ``script_location`` and ``sqlalchemy.url`` names a database at the newest revision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from airflow_provider_chimera.registry.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
