"""Starting intents, one per source type, with ``"<placeholder>"`` values to fill in.

JSON has no comments, so a template explains itself in two ways: each value to fill in is a
``"<placeholder>"`` string (validation names every one left unfilled), and :data:`PLACEHOLDERS`
describes them for the header ``chimera intent new`` prints on stderr. Filled in, a template is
a valid intent.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from airflow_provider_chimera.contract.model import BUILTIN_SOURCE_TYPES

SOURCE_TYPES: tuple[str, ...] = BUILTIN_SOURCE_TYPES

PLACEHOLDERS: dict[str, str] = {
    "<intent_name>": "the intent's name: lower-case letters, digits and _, equal to the file name without .json",
    "<team_name>": "the producing team; it owns every dataset the intent creates",
    "<support_email>": "the team's support mailbox",
    "<project>": "the project the team works in; also the Iceberg namespace of the target tables",
    "<declared_by>": "who asserts the right to copy these sources (a user id)",
    "<statement>": "on what basis, e.g. Authorised by the CRM system owner to copy these tables for analytics.",
    "<declared_at>": "the date of the declaration, YYYY-MM-DD",
    "<source_name>": "a name for the data source: lower-case letters, digits and _",
    "<conn_id>": "the id of the Airflow connection to the source",
    "<folder_uri>": "where the files are: file:///data/landing, s3://bucket/prefix or another fsspec URL",
    "<schema.table>": "the table to copy, as schema.table",
    "<collection>": "the collection to copy",
    "<topic>": "the Kafka topic to copy",
    "<object_name>": "a name for this set of files",
    "<glob>": "which files, relative to the folder URI, e.g. orders/*.csv",
    "<field_name>": "a field of each record; list every field to take, with its type",
    "<cursor_column>": "a column whose value grows with every change, e.g. updated_at",
    "<target_table>": "the Iceberg table to write",
}

_DAILY = {"type": "timed", "schedule": "@daily"}
_FIELDS = {"fields": [{"name": "<field_name>", "type": "string", "nullable": True}]}


def _object(source_type: str) -> dict[str, Any]:
    target = {"table": "<target_table>", "kind": "append"}
    if source_type in ("postgres", "mysql", "snowflake"):
        return {
            "name": "<schema.table>",
            "ingestion": {
                "trigger": _DAILY,
                "mode": {"type": "incremental", "cursor": "<cursor_column>"},
                "target": target,
            },
        }
    if source_type == "mongodb":
        return {
            "name": "<collection>",
            "schema": _FIELDS,
            "ingestion": {"trigger": _DAILY, "mode": {"type": "full"}, "target": target},
        }
    if source_type == "kafka":
        return {
            "name": "<topic>",
            "schema": _FIELDS,
            "ingestion": {
                "trigger": {"type": "timed", "schedule": "PT15M"},
                "mode": {"type": "incremental"},
                "target": target,
            },
        }
    if source_type == "file":
        return {
            "name": "<object_name>",
            "path": "<glob>",
            "format": "csv",
            "schema": _FIELDS,
            "ingestion": {"trigger": _DAILY, "mode": {"type": "incremental"}, "target": target},
        }
    if source_type == "pdf":
        return {
            "name": "<object_name>",
            "path": "<glob>",
            "ingestion": {"trigger": _DAILY, "mode": {"type": "incremental"}, "target": target},
        }
    raise ValueError(f"unknown source type {source_type!r}; use one of {', '.join(SOURCE_TYPES)}")


def template(source_type: str, name: str | None = None) -> dict[str, Any]:
    """A starting intent with one source of ``source_type`` and one object to ingest."""
    connection = {"uri": "<folder_uri>"} if source_type in ("file", "pdf") else {"conn_id": "<conn_id>"}
    return copy.deepcopy(
        {
            "version": 1,
            "name": name or "<intent_name>",
            "team": {"name": "<team_name>", "support_email": "<support_email>"},
            "project": "<project>",
            "declaration": {"declared_by": "<declared_by>", "statement": "<statement>", "declared_at": "<declared_at>"},
            "sources": [
                {
                    "name": "<source_name>",
                    "type": source_type,
                    "connection": connection,
                    "objects": [_object(source_type)],
                }
            ],
        }
    )


def placeholders_in(document: Any) -> list[str]:
    """The placeholders a document still holds, in order of first appearance."""
    text = json.dumps(document)
    return [p for p in sorted(PLACEHOLDERS, key=text.find) if f'"{p}"' in text]
