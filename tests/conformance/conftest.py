"""The conformance suite drives the real services through the integration tests' fixtures."""

from tests.integration.conftest import (  # noqa: F401 (fixtures, used by name)
    cleanups,
    kafka_topic,
    mongo_database,
    mysql_tables,
    pg_schema,
    snowflake_schema,
)
