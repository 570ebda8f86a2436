"""JSON records into Arrow with the declared schema, for the shapes Arrow's reader cannot take.

Arrow's JSON reader is fast but strict: it does not read a ``date`` from an ISO string, and a
field declared ``json`` (kept as JSON text) fails when the record holds an object or array there.
:class:`JsonRows` reads dates as strings and casts them, and re-encodes ``json`` fields as text
(in Python, only for the records Arrow's reader rejects) before Arrow parses them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.json as pajson

from airflow_provider_chimera.contract.arrow import arrow_schema
from airflow_provider_chimera.contract.model import ObjectSchema


@dataclass(frozen=True)
class JsonRows:
    schema: pa.Schema  # the declared schema (all fields)
    read_schema: pa.Schema  # what Arrow's reader is told: dates as strings
    json_fields: frozenset[str]

    @classmethod
    def of(cls, declared: ObjectSchema) -> JsonRows:
        schema = arrow_schema(declared)
        read = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_date(f.type) else f for f in schema])
        return cls(schema, read, frozenset(f.name for f in declared.fields if f.type == "json"))

    def options(self) -> pajson.ParseOptions:
        return pajson.ParseOptions(explicit_schema=self.read_schema, unexpected_field_behavior="ignore")

    def prepare(self, lines: bytes) -> bytes:
        """JSON Lines with every ``json`` field's object or array turned into its JSON text."""
        if not self.json_fields:
            return lines
        out = []
        for line in lines.splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if isinstance(record, dict):
                for name in self.json_fields:
                    value = record.get(name)
                    if value is not None and not isinstance(value, str):
                        record[name] = json.dumps(value, separators=(",", ":"))
            out.append(json.dumps(record).encode())
        return b"\n".join(out)

    def finish(self, table: pa.Table) -> pa.Table:
        """The table in the declared types (date strings become dates)."""
        return table.cast(self.schema) if table.schema != self.schema else table

    def read(self, lines: bytes) -> pa.Table:
        """Arrow's reader first; when a ``json`` field holds objects, the records are re-encoded
        in Python and read again (only then: it is several times slower)."""
        try:
            table = pajson.read_json(io.BytesIO(lines), parse_options=self.options())
        except pa.ArrowInvalid:
            if not self.json_fields:
                raise
            table = pajson.read_json(io.BytesIO(self.prepare(lines)), parse_options=self.options())
        return self.finish(table)
