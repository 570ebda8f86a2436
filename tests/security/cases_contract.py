"""The contract: what a hostile file can do to the reader, names, limits and check expressions."""

from __future__ import annotations

import json

from tests.security.corpus import HostileCase, hostile_base

OBJECT = "sources.0.objects.0"
INGESTION = f"{OBJECT}.ingestion"
TARGET = f"{INGESTION}.target"


def _set(**changes):
    def mutate(data):
        for dotted, value in changes.items():
            node = data
            *parents, last = dotted.split(".")
            for part in parents:
                node = node[int(part)] if part.isdigit() else node[part]
            node[int(last) if last.isdigit() else last] = value
    return mutate


def _text() -> str:
    return json.dumps(hostile_base())


CASES = [
    # 3. Decoding: every problem is a clear file: /path: message, never a crash.
    HostileCase("not-utf8", "3", "", "not UTF-8 text", raw=_text().replace('"team_b"', '"team_\xff"', 1).encode("latin-1")),
    HostileCase("byte-order-mark", "3", "", "byte order mark", raw=b"\xef\xbb\xbf" + _text().encode()),
    HostileCase("deep-nesting", "3", "", "nests deeper", raw=_text()[:-1].encode() + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    HostileCase("moderately-deep-nesting", "3", "", "nests deeper", raw=_text()[:-1].encode() + b', "x": ' + b"[" * 500 + b"]" * 500 + b"}"),
    HostileCase("huge-integer", "3", "", "a number is too long", raw=_text()[:-1].encode() + b', "x": ' + b"9" * 5000 + b"}"),
    HostileCase("nan", "3", "", "NaN is not a number", raw=_text()[:-1].encode() + b', "x": NaN}'),
    HostileCase("infinity", "3", "", "Infinity is not a number", raw=_text()[:-1].encode() + b', "x": -Infinity}'),
    HostileCase("huge-file", "3", "", "more than an intent may have",
                raw=_text()[:-1].encode() + b', "x": "' + b"a" * (1024 * 1024) + b'"}'),
    HostileCase("duplicate-key", "3", "/sources/0/objects/0/ingestion/target/table", "appears more than once",
                raw=_text().replace('"table": "customers"', '"table": "customers", "table": "other"').encode()),
]
