"""The conformance suite drives the real services through the integration tests' fixtures."""

from tests.integration.conftest import (  # noqa: F401 (fixtures, used by name)
    cleanups,
    kafka_topic,
    mongo_database,
    mysql_tables,
    pg_schema,
    snowflake_schema,
)
from tests.entry_points import http_source, plugin_site  # noqa: F401,E402 (the http harness's plugin)
from tests.http_api import http_api  # noqa: F401,E402 (the http harness's local API)
