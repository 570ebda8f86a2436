"""The DataHub aspects Chimera writes for one dataset, built with DataHub's SDK classes.

Schema fields (from an Arrow schema), the owning team (a group, technical owner), the project
(a domain), classification tags on fields (``pii``, ``secret``...) through the editable schema
so that re-ingestion by DataHub's own sources keeps them, and the intent's statement as the
dataset's documentation.
"""

from __future__ import annotations

import pyarrow as pa
from datahub.emitter import mce_builder as builder
from datahub.emitter.mcp import MetadataChangeProposalWrapper as Mcp
from datahub.metadata import schema_classes as m

# Arrow types → DataHub field types; anything else is a string.
_TYPES: list[tuple[object, type]] = [
    (pa.types.is_boolean, m.BooleanTypeClass),
    (lambda t: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t), m.NumberTypeClass),
    (pa.types.is_date, m.DateTypeClass),
    (lambda t: pa.types.is_timestamp(t) or pa.types.is_time(t), m.TimeTypeClass),
    (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), m.BytesTypeClass),
    (lambda t: pa.types.is_list(t) or pa.types.is_large_list(t), m.ArrayTypeClass),
    (pa.types.is_struct, m.RecordTypeClass),
]


def field_type(arrow_type: pa.DataType) -> m.SchemaFieldDataTypeClass:
    for test, cls in _TYPES:
        if test(arrow_type):
            return m.SchemaFieldDataTypeClass(type=cls())
    return m.SchemaFieldDataTypeClass(type=m.StringTypeClass())


def schema_metadata(
    platform: str, name: str, schema: pa.Schema, native: dict[str, str] | None = None, path=lambda c: c
) -> m.SchemaMetadataClass:
    """``schema`` as DataHub schema fields; ``native`` gives the source's own type names."""
    native = native or {}
    return m.SchemaMetadataClass(
        schemaName=name,
        platform=builder.make_data_platform_urn(platform),
        version=0,
        hash="",
        platformSchema=m.OtherSchemaClass(rawSchema=""),
        fields=[
            m.SchemaFieldClass(
                fieldPath=path(f.name),
                type=field_type(f.type),
                nativeDataType=native.get(f.name, str(f.type)),
                nullable=f.nullable,
            )
            for f in schema
        ],
    )


def dataset_mcps(
    urn: str,
    *,
    schema: m.SchemaMetadataClass,
    team: str,
    project: str,
    description: str,
    properties: dict[str, str],
    classification: dict[str, str],
    path=lambda c: c,
) -> list[Mcp]:
    """Every aspect of one dataset, plus the domain and tag entities it refers to."""
    owner = m.OwnerClass(owner=builder.make_group_urn(team), type=m.OwnershipTypeClass.TECHNICAL_OWNER)
    domain = builder.make_domain_urn(project)
    # A classified column names the field as the intent spells it; sources may store another case.
    present = {f.fieldPath.lower(): f.fieldPath for f in schema.fields}
    classified = {present[path(c).lower()]: level for c, level in classification.items() if path(c).lower() in present}
    out = [
        Mcp(entityUrn=urn, aspect=schema),
        Mcp(entityUrn=urn, aspect=m.DatasetPropertiesClass(name=schema.schemaName, description=description, customProperties=properties)),
        Mcp(entityUrn=urn, aspect=m.OwnershipClass(owners=[owner])),
        Mcp(entityUrn=urn, aspect=m.DomainsClass(domains=[domain])),
        Mcp(entityUrn=domain, aspect=m.DomainPropertiesClass(name=project)),
    ]
    if classified:
        out.append(
            Mcp(
                entityUrn=urn,
                aspect=m.EditableSchemaMetadataClass(
                    editableSchemaFieldInfo=[
                        m.EditableSchemaFieldInfoClass(
                            fieldPath=column, globalTags=m.GlobalTagsClass(tags=[m.TagAssociationClass(tag=builder.make_tag_urn(level))])
                        )
                        for column, level in sorted(classified.items())
                    ]
                ),
            )
        )
        levels = sorted(set(classified.values()))
        out.append(Mcp(entityUrn=urn, aspect=m.GlobalTagsClass(tags=[m.TagAssociationClass(tag=builder.make_tag_urn(t)) for t in levels])))
        out.extend(Mcp(entityUrn=builder.make_tag_urn(t), aspect=m.TagPropertiesClass(name=t)) for t in levels)
    return out
