"""JSON Schemas of the onboarding events, shipped as files in ``onboarding/schemas``.

``envelope.schema.json`` describes the CloudEvents 1.0 envelope every onboarding event shares;
``<kind>.data.schema.json`` the ``data`` of each kind. They are generated from
:class:`~airflow_provider_chimera.onboarding.events.OnboardingEventData` (a unit test holds the
shipped files equal to what this module generates); after changing the model, rewrite them with
``python -m airflow_provider_chimera.onboarding.event_schemas``.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from airflow_provider_chimera.onboarding.events import (
    DATA_CONTENT_TYPE,
    HASH_DIGITS,
    KINDS,
    SOURCE_PREFIX,
    TYPE_PREFIX,
    OnboardingEventData,
    event_type,
)

FOLDER = Path(__file__).with_name("schemas")
ENVELOPE = "envelope.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

MEANING = {
    "datasource-onboarding": "An intent version's sources and objects are being onboarded.",
    "onboarding-completion": "An intent version is onboarded: its pipelines and target tables exist.",
    "data-discovery-available": "An intent version's datasets are described in DataHub and can be discovered there.",
}


def data_file(kind: str) -> str:
    return f"{kind}.data.schema.json"


def envelope_schema() -> dict[str, Any]:
    kinds = "|".join(KINDS)
    return {
        "$schema": DRAFT,
        "title": "Chimera onboarding event",
        "description": "A CloudEvents 1.0 event in structured JSON mode, as published on the onboarding topics.",
        "type": "object",
        "required": ["specversion", "type", "source", "id", "time", "subject", "datacontenttype", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "type": {"enum": [event_type(kind) for kind in KINDS]},
            "source": {"type": "string", "pattern": f"^{SOURCE_PREFIX}[a-z][a-z0-9_]*$"},
            "id": {
                "type": "string",
                "description": "<intent>-<first 16 hex digits of the intent version's hash>-<kind>: stable per intent version and step",
                "pattern": f"^[a-z][a-z0-9_]*-[0-9a-f]{{{HASH_DIGITS}}}-({kinds})$",
            },
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "the intent's name"},
            "datacontenttype": {"const": DATA_CONTENT_TYPE},
            "data": {"type": "object"},
        },
    }


def data_schema(kind: str) -> dict[str, Any]:
    generated = copy.deepcopy(OnboardingEventData.model_json_schema())
    generated.pop("title", None)
    generated.pop("description", None)
    schema = {"$schema": DRAFT, "title": f"Data of {event_type(kind)}", "description": MEANING[kind], **generated}
    schema["required"] = list(schema["properties"])  # a published event carries every field
    if kind == "data-discovery-available":
        schema["properties"]["datahub_urns"]["minProperties"] = 1
    return schema


def generated() -> dict[str, dict[str, Any]]:
    """Every schema file's name and content."""
    return {ENVELOPE: envelope_schema(), **{data_file(kind): data_schema(kind) for kind in KINDS}}


@cache
def load(name: str) -> dict[str, Any]:
    """A shipped schema."""
    return json.loads((FOLDER / name).read_text())


def validate_event(event: dict[str, Any]) -> None:
    """Raise :class:`jsonschema.ValidationError` unless ``event`` (the JSON object of a message)
    matches the envelope and the data schema of its type."""
    from jsonschema import Draft202012Validator, FormatChecker

    Draft202012Validator(load(ENVELOPE), format_checker=FormatChecker()).validate(event)
    kind = event["type"].removeprefix(TYPE_PREFIX)
    Draft202012Validator(load(data_file(kind)), format_checker=FormatChecker()).validate(event["data"])


def write(folder: Path = FOLDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in generated().items():
        path = folder / name
        path.write_text(json.dumps(schema, indent=2) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write():
        print(written)
