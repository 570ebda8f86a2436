"""The shipped JSON Schema of an intent, and its errors as problems a person can act on.

Messages never repeat the value of a ``uri``: it may hold the very secret it is rejected for.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from airflow_provider_chimera.contract import hints
from airflow_provider_chimera.contract.decode import pointer
from airflow_provider_chimera.contract.load import IntentProblem
from airflow_provider_chimera.contract.model import THRESHOLD_KEYS, VALIDITY_KEYS

SCHEMA_FILE = "intent.schema.json"

_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def schema_text() -> str:
    """The JSON Schema as shipped, byte for byte."""
    return files("airflow_provider_chimera.contract").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def intent_schema() -> dict[str, Any]:
    return json.loads(schema_text())


@cache
def _installed_schema(types: tuple[str, ...]) -> dict[str, Any]:
    """The shipped schema with the source ``types`` installed packages register added to the
    source's ``type`` (their ``options`` are checked by their plugins, in the model)."""
    schema = copy.deepcopy(intent_schema())
    kind = schema["$defs"]["source"]["properties"]["type"]
    kind["enum"] = [*kind["enum"], *(t for t in types if t not in kind["enum"])]
    return schema


@cache
def _validator(types: tuple[str, ...]) -> Draft202012Validator:
    return Draft202012Validator(_installed_schema(types))


def forget_validators() -> None:
    """Drop the validators built for the source types installed so far."""
    _installed_schema.cache_clear()
    _validator.cache_clear()


def schema_problems(file: str, data: Any) -> list[IntentProblem]:
    """Every JSON Schema error of ``data``, in document order."""
    from airflow_provider_chimera.sources.registry import registered_names

    errors = sorted(_validator(registered_names()).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    problems: list[IntentProblem] = []
    for error in errors:
        for problem in _explain(file, data, error):
            if problem not in problems:
                problems.append(problem)
    return problems


def _at(data: Any, parts: list) -> Any:
    for part in parts:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _source_type(data: Any, path: list) -> str:
    if len(path) >= 2 and path[0] == "sources":
        kind = _at(data, path[:2] + ["type"])
        if isinstance(kind, str):
            return kind
    return "?"


def _required(data: Any, path: list, instance: dict, field: str) -> str:
    if field == "schema" or field == "path":
        return f"a '{_source_type(data, path)}' object needs a '{field}'"
    if field == "format" and "objects" in path:
        return "a 'file' object needs a 'format'"
    if field == "keys":
        return f"a '{instance.get('kind')}' target needs 'keys'"
    if field == "cursor":
        return f"'incremental' mode needs a 'cursor' for a '{_source_type(data, path)}' source"
    if field == "column" and instance.get("type") == "partitioned":
        return "'partitioned' mode needs a 'column'"
    if field == "schedule":
        return "a 'timed' trigger needs a 'schedule'"
    if field == "on":
        return "an 'event' trigger needs 'on'"
    return f"'{field}' is required"


def _quality_rule(item: dict) -> tuple[str, str]:
    """Message and hint of a quality check's rule across its fields, worded as the model words it."""
    given = [key for key in THRESHOLD_KEYS if key in item]
    if item.get("check") == "invalid" and not any(key in item for key in VALIDITY_KEYS):
        return "an 'invalid' check needs at least one of " + ", ".join(VALIDITY_KEYS), hints.QUALITY_VALIDITY
    if item.get("check") == "duplicate" and ("column" in item) == ("columns" in item):
        return "a 'duplicate' check needs exactly one of 'column' or 'columns'", hints.QUALITY_DUPLICATE
    if item.get("check") == "aggregate" and not given:
        return "an 'aggregate' check needs a bound, e.g. must_be_less_than", hints.QUALITY_THRESHOLD
    return f"conflicting bounds {', '.join(given)}", hints.QUALITY_THRESHOLD


def _explain(file: str, data: Any, error: ValidationError) -> list[IntentProblem]:
    path = list(error.absolute_path)
    field = next((p for p in reversed(path) if isinstance(p, str)), None)
    last = path[-1] if path else None
    value = error.instance
    keyword = error.validator
    secret = field == "uri"

    def problem(message: str, hint: str = "", at: list | None = None) -> IntentProblem:
        return IntentProblem(file, pointer(path if at is None else at), message, hint)

    if keyword == "required":
        missing = [name for name in error.validator_value if isinstance(value, dict) and name not in value]
        return [problem(_required(data, path, value, name), hints.missing(name), path + [name]) for name in missing]
    if keyword == "additionalProperties" and isinstance(value, dict):
        known = sorted(error.schema.get("properties", {}))
        extra = [key for key in value if key not in known]
        hint = "remove it or check its spelling; known here: " + ", ".join(known) if known else "remove it"
        return [problem(f"unknown field '{key}'", hint, path + [key]) for key in extra]
    if keyword in ("minProperties", "maxProperties") and field == "connection":
        return [problem("give exactly one of 'conn_id' or 'uri'", hints.CONNECTION)]
    if keyword == "not" and secret:
        return [problem("the uri carries a literal password or token", hints.URI_SECRET)]
    identifier = last in ("namespace", "table", "project")
    if keyword == "not" and identifier:  # worded as the model words it (contract.limits)
        return [problem(
            f"{_show(value)} ends in '__quarantine', which is reserved for the quarantine table of each target",
            hints.QUARANTINE_NAME,
        )]
    if keyword == "maxLength":
        return [problem(f"String should have at most {error.validator_value} characters", hints.invalid(field))]
    if keyword == "enum":
        if len(path) == 3 and path[0] == "sources" and last == "type":
            installed = ", ".join(error.validator_value)
            return [problem(f"unknown source type {_show(value)}; installed: {installed}", hints.SOURCE_TYPE)]
        what = "classification" if len(path) >= 2 and path[-2] == "classification" else (field or "value")
        return [problem(f"unknown {what} {_show(value)}", hints.one_of(error.validator_value))]
    if keyword == "const":
        if last == "version":
            return [problem(f"unsupported contract version {_show(value)}", hints.invalid("version"))]
        if last == "objects":
            return [problem('objects must be "all" or a list of objects', hints.missing("objects"))]
        return [problem(f"{_show(value)} is not allowed here", f"use {_show(error.validator_value)}")]
    if keyword == "pattern":
        shown = "the value" if secret else _show(value)
        if last == "name":
            return [problem(f"{shown} is not a valid name", hints.NAME)]
        if identifier:
            return [problem(f"{shown} is not a name of lower-case letters, digits and '_' starting with a letter", hints.NAME)]
        if last == "support_email":
            return [problem(f"{shown} is not an email address", hints.EMAIL)]
        if last == "type" and "fields" in path:
            return [problem(f"unknown field type {shown}", hints.FIELD_TYPE)]
        if last == "transform":
            return [problem(f"unknown partition transform {shown}", hints.TRANSFORM)]
        return [problem(f"{shown} does not match {error.validator_value}", hints.invalid(field))]
    if keyword == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [problem("must be " + " or ".join(_TYPE_NAMES.get(t, t) for t in expected), hints.invalid(field))]
    if keyword == "minLength":
        return [problem("must not be empty", hints.invalid(field))]
    if keyword == "minItems":
        if last == "keys" and isinstance(_at(data, path[:-1]), dict) and _at(data, path[:-1]).get("kind"):
            return [problem(f"a '{_at(data, path[:-1])['kind']}' target needs 'keys'", hints.KEYS)]
        return [problem("must list at least one item", hints.invalid(field))]
    if keyword in ("not", "anyOf", "oneOf") and "quality" in path and isinstance(value, dict):
        return [problem(*_quality_rule(value))]
    if keyword == "exclusiveMinimum":
        return [problem(f"must be greater than {error.validator_value}", hints.invalid(field))]
    return [problem("the value is not accepted here" if secret else error.message, hints.invalid(field))]
