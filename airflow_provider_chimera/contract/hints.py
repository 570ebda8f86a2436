"""What to do about each rejected intent field: the hint printed after every problem."""

from __future__ import annotations

from airflow_provider_chimera.contract.timing import DURATION_HINT, SCHEDULE_HINT

# Key of a rule error's hint in a Pydantic error's ``ctx``.
CTX_KEY = "chimera_hint"

FIELD_TYPES = "string, int, long, double, decimal(p,s), boolean, date, timestamp, timestamptz, binary or json"

NAME = "use lower-case letters, digits and '_', starting with a letter, e.g. sales_crm"
EMAIL = "give the team's support mailbox, e.g. data-team@example.com"
TEAM = 'add "team": {"name": "...", "support_email": "..."}, the team that owns the datasets'
DECLARATION = (
    'add "declaration": {"declared_by": "...", "statement": "...", "declared_at": "YYYY-MM-DD"}: '
    "who asserts the right to copy these sources, and on what basis"
)
URI_SECRET = (
    "keep secrets out of intent files: write ${secret:NAME} or ${env:NAME} in their place, "
    'or use "conn_id" with an Airflow connection'
)
CONNECTION = 'use {"conn_id": "..."} for an Airflow connection, or {"uri": "..."}'
SOURCE_TYPE = (
    "use one of the installed source types; another type needs the package that registers it "
    "(entry point group chimera.sources)"
)
OPTIONS = "set the options the source type documents (docs/sources/), with the types it gives"
DUPLICATE_SOURCE = "give every source of the intent its own name"
DUPLICATE_OBJECT = "list each object once; merge the two entries"
SCHEMA = 'declare the fields: "schema": {"fields": [{"name": "id", "type": "long", "nullable": false}]}'
PATH = 'add "path": a glob or URL such as "landing/*.csv" or "s3://bucket/prefix/*.parquet"'
FORMAT = 'set "format": "csv", "json" or "parquet" for files, "json" or "avro" for Kafka'
KEYS = 'list the columns that identify a record, e.g. "keys": ["id"]'
CURSOR = 'name a column whose value grows with every change, e.g. "cursor": "updated_at", or use {"type": "full"}'
PARTITION_COLUMN = 'name the column to read by, e.g. "column": "order_date"'
RETENTION = (
    'retention needs a column that dates each row: a time partition, e.g. "partition_by": '
    '[{"column": "created_at", "transform": "day"}], a "partitioned" mode, or an incremental "cursor" '
    "that is a date or timestamp column"
)
CLASSIFIED_COLUMN = "classify only columns the object has (its \"columns\" or \"schema\" fields); check the spelling"
CLASSIFIED_CURSOR = (
    "a cursor's last value is recorded in clear as the read position: pick another cursor column, "
    "or use {\"type\": \"full\"}"
)
FIELD_TYPE = "use " + FIELD_TYPES
TRANSFORM = "use identity, year, month, day, hour, bucket[N], truncate[W] or void"
SCHEDULE = SCHEDULE_HINT
DURATION = DURATION_HINT
NAME_STEM = 'rename the file to {name}.json, or set "name": "{stem}"'
DUPLICATE_TARGET = 'give one of them another "table" (or "namespace")'
PIPELINE_ID = "rename one of the objects or sources: pipeline ids keep only a-z, 0-9 and '_' of the names"
PLACEHOLDER = "replace it with a real value; `chimera intent new` explains each placeholder"
DOCUMENT = 'an intent is one JSON object, {"version": 1, "name": ...}; `chimera intent new` prints one to start from'
JSON_SYNTAX = "check for a missing comma, quote or bracket, or a trailing comma, just before that point"
DUPLICATE_KEY = "JSON keeps only the last of them; remove the other"
QUALITY_THRESHOLD = (
    "give must_be or must_not_be alone, or at most one lower bound (must_be_greater_than[_or_equal]) "
    "and one upper bound (must_be_less_than[_or_equal]) below it"
)
QUALITY_VALIDITY = 'say what is valid, e.g. "valid_min": 0, "valid_values": ["S", "M", "L"] or "valid_regex": "^[A-Z]{2}$"'
QUALITY_DUPLICATE = 'name one column, "column": "id", or a combination, "columns": ["order_id", "line"]'

# Hints for a missing field, by its name.
MISSING = {
    "version": 'add "version": 1',
    "name": "add \"name\": lower-case letters, digits and '_'; an intent's name is its file name without .json",
    "team": TEAM,
    "support_email": EMAIL,
    "project": 'add "project": the project the team works in, also the default Iceberg namespace',
    "declaration": DECLARATION,
    "declared_by": DECLARATION,
    "statement": DECLARATION,
    "declared_at": DECLARATION,
    "sources": 'add "sources": a list of at least one source',
    "type": 'add the block\'s "type"',
    "connection": CONNECTION,
    "objects": 'add "objects": "all", or a list of objects [{"name": "..."}]',
    "schema": SCHEMA,
    "path": PATH,
    "format": FORMAT,
    "fields": SCHEMA,
    "trigger": 'add "trigger": {"type": "timed", "schedule": "@daily"}, {"type": "event", "on": "..."} or {"type": "adhoc"}',
    "schedule": SCHEDULE,
    "on": 'add "on": an asset URI or a Kafka topic',
    "mode": 'add "mode": {"type": "full"}, {"type": "incremental", "cursor": "..."}, {"type": "partitioned", "column": "..."} or {"type": "stream"}',
    "cursor": CURSOR,
    "column": PARTITION_COLUMN,
    "target": 'add "target": {"table": "..."} (namespace defaults to the project)',
    "table": 'add "table": the Iceberg table to write',
    "keys": KEYS,
    "fresh_within": DURATION,
    "days": 'add "days": the number of days to keep',
}

# Hints for a value that is not accepted, by the name of its field.
INVALID = {
    "name": NAME,
    "support_email": EMAIL,
    "uri": URI_SECRET,
    "connection": CONNECTION,
    "schedule": SCHEDULE,
    "fresh_within": DURATION,
    "warn_after": DURATION,
    "transform": TRANSFORM,
    "keys": KEYS,
    "version": 'use "version": 1',
}


def missing(field: str) -> str:
    return MISSING.get(field, f'add "{field}"')


def invalid(field: str | None) -> str:
    if not field:
        return DOCUMENT
    return INVALID.get(field, "")


def one_of(values: list | tuple) -> str:
    return "use one of " + ", ".join(str(v) for v in values)


def quality_column(known: list[str] | tuple[str, ...]) -> str:
    return "name one of the object's columns: " + ", ".join(known)
DUPLICATE_INTENT = "intent names are unique across the whole intents folder: rename one file and its \"name\""
DEPTH = "an intent nests about ten levels of objects and lists; flatten the document"
NUMBER = "write numbers as plain JSON numbers of sane size; NaN and Infinity are not JSON"
PRINTABLE = "names hold printable characters only; remove tabs, line breaks and other control or invisible characters"
QUARANTINE_NAME = "pick another table name: '<table>__quarantine' is where Chimera keeps each target's rejected rows"
PIPELINE_ID_LENGTH = "shorten the intent, source or object name: a pipeline id is '<intent>_<source>_<object>'"
DURATION_CAP = "durations are at most 366 days (P366D)"
EVENT = 'name a Kafka topic ("orders.events") or an asset URI ("iceberg://chimera.sales.orders")'
HOST = "write the host and port literally, e.g. postgresql://reader:${secret:TEAM_DB_PASSWORD}@db.example.org:5432/shop"
OBJECT_URI = "a database object is named schema.table (or database.schema.table); '/', '?' and '#' are not part of it"
EXPRESSION = "write one SQL condition over the row's columns, e.g. \"amount < 0 OR quantity IS NULL\": no ';', comment or SELECT"
BUILD = "use a connection URI, object name or trigger of the forms docs/intent-contract.md shows"
