"""Turning the bytes of an intent file into JSON data, refusing whatever a hostile file could use
to crash or stall the reader.

Every refusal is a problem naming the file and the JSON path, never an exception: an intent
file too large (:data:`MAX_INTENT_BYTES`), not UTF-8 or starting with a byte order mark, nested
deeper than :data:`MAX_DEPTH`, holding a number too long for Python's ``int`` (its digit limit)
or ``NaN``/``Infinity``, or a key twice in one object. ``validate`` and the factory both read
through :func:`decode_intent`, so they accept exactly the same files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from airflow_provider_chimera.contract import hints

# An intent is a few KiB; a file of more than 1 MiB is not one, and reading it would only cost memory.
MAX_INTENT_BYTES = 1024 * 1024
# An intent nests about ten levels; more than this is a hostile file (Python would recurse on it).
MAX_DEPTH = 64


def pointer(parts: list | tuple) -> str:
    """JSON pointer (RFC 6901) of a path: ``/sources/0/objects/1/schema``; ``""`` is the document."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Refused(ValueError):
    """A value JSON allows but an intent may not hold."""


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number an intent may hold")


def decode_intent(raw: bytes, file: str) -> tuple[tuple[Any] | tuple[()], list]:
    """Parse an intent file's bytes: ``((data,), problems)``, or ``((), problems)`` when there is
    no usable document. Problems are :class:`~.load.IntentProblem`; a key given twice in one
    object is one (JSON would keep only the last), located at that key."""
    from airflow_provider_chimera.contract.load import IntentProblem

    def refuse(message: str, hint: str) -> tuple[tuple[()], list]:
        return (), [IntentProblem(file, "", message, hint)]

    if len(raw) > MAX_INTENT_BYTES:
        return refuse(f"the file has {len(raw)} bytes, more than an intent may have ({MAX_INTENT_BYTES})",
                      "an intent is a few KiB of JSON; split a huge intent into several files")
    if raw.startswith(b"\xef\xbb\xbf"):
        return refuse("the file starts with a byte order mark (BOM)", "save the file as UTF-8 without a BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return refuse(f"not UTF-8 text: byte {exc.start} cannot be decoded", "save the file as UTF-8")
    duplicates: dict[int, list[str]] = {}

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                duplicates.setdefault(id(obj), []).append(key)
            obj[key] = value
        return obj

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        return refuse(message, hints.JSON_SYNTAX)
    except RecursionError:
        return refuse(f"the document nests deeper than an intent may ({MAX_DEPTH} levels)", hints.DEPTH)
    except _Refused as exc:
        return refuse(str(exc), hints.NUMBER)
    except ValueError as exc:  # Python's limit on the digits of an int ("Exceeds the limit (4300 digits)")
        return refuse(f"a number is too long: {str(exc).split(';')[0]}", hints.NUMBER)
    problems = []
    for path, node in walk(data):
        if len(path) > MAX_DEPTH:
            return refuse(f"the document nests deeper than an intent may ({MAX_DEPTH} levels)", hints.DEPTH)
        if isinstance(node, dict):
            for key in duplicates.get(id(node), []):
                problems.append(
                    IntentProblem(file, pointer([*path, key]), f"key '{key}' appears more than once in this object",
                                  hints.DUPLICATE_KEY)
                )
    return (data,), problems


def walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every node of a JSON document with its path, depth first, without recursion (so a deep
    document cannot exhaust Python's stack); children of a node come after it, in order."""
    stack: list[tuple[tuple, Any]] = [(path, node)]
    while stack:
        at, current = stack.pop()
        yield at, current
        if isinstance(current, dict):
            stack.extend(reversed([((*at, key), value) for key, value in current.items()]))
        elif isinstance(current, list):
            stack.extend(reversed([((*at, index), value) for index, value in enumerate(current)]))
