"""The contract's field types as Arrow types (the one mapping every schema-driven source uses)."""

from __future__ import annotations

import re

import pyarrow as pa

from airflow_provider_chimera.contract.model import ObjectSchema

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_SIMPLE: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "binary": pa.binary(),
    # JSON values are kept as their JSON text; Iceberg has no JSON type.
    "json": pa.string(),
}


def arrow_type(contract_type: str) -> pa.DataType:
    """Arrow type of a contract type name such as ``long`` or ``decimal(12,2)``."""
    match = _DECIMAL.match(contract_type)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    try:
        return _SIMPLE[contract_type]
    except KeyError:
        raise ValueError(f"unknown contract type {contract_type!r}") from None


def arrow_schema(schema: ObjectSchema, columns: list[str] | None = None) -> pa.Schema:
    """Arrow schema of an object's declared ``schema``, limited to ``columns`` when given."""
    fields = [pa.field(f.name, arrow_type(f.type), nullable=f.nullable) for f in schema.fields]
    if columns:
        by_name = {f.name: f for f in fields}
        missing = [c for c in columns if c not in by_name]
        if missing:
            raise ValueError(f"columns {missing} are not in the object's schema")
        fields = [by_name[c] for c in columns]
    return pa.schema(fields)


def avro_schema(schema: ObjectSchema, name: str = "record") -> dict:
    """The Avro record schema matching an object's declared ``schema`` (nullable fields: a union
    with null). Kafka values in Avro are decoded with it."""

    def avro_type(contract_type: str):
        match = _DECIMAL.match(contract_type)
        if match:
            return {"type": "bytes", "logicalType": "decimal", "precision": int(match.group(1)), "scale": int(match.group(2))}
        return {
            "string": "string",
            "json": "string",
            "int": "int",
            "long": "long",
            "double": "double",
            "boolean": "boolean",
            "binary": "bytes",
            "date": {"type": "int", "logicalType": "date"},
            "timestamp": {"type": "long", "logicalType": "local-timestamp-micros"},
            "timestamptz": {"type": "long", "logicalType": "timestamp-micros"},
        }[contract_type]

    fields = []
    for field in schema.fields:
        kind = avro_type(field.type)
        fields.append({"name": field.name, "type": ["null", kind], "default": None} if field.nullable else {"name": field.name, "type": kind})
    return {"type": "record", "name": "".join(c if c.isalnum() else "_" for c in name), "fields": fields}
