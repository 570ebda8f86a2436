"""A DataHub ingestion sink that keeps what a source produced, as metadata change proposals.

The harvest runs DataHub's own sources (``mongodb``, ``kafka``) through DataHub's ingestion
pipeline. With a DataHub server the pipeline's sink is ``datahub-rest``; with DataHub Lite it is
this one (recipe ``{"sink": {"type": COLLECTOR}}``): the proposals stay in memory, for the harvest
to queue in the registry (``metadata.queue``) instead of opening DataHub Lite's file. It takes
what the ``datahub-lite`` sink takes: proposals, and change events split into one proposal per
aspect; anything else is a failure in its report.
"""

from __future__ import annotations

from datahub.configuration.common import ConfigModel
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.emitter.mcp_builder import mcps_from_mce
from datahub.ingestion.api.common import RecordEnvelope
from datahub.ingestion.api.sink import Sink, SinkReport, WriteCallback
from datahub.metadata.schema_classes import MetadataChangeEventClass, MetadataChangeProposalClass

# The sink's type in a recipe: DataHub imports a dotted path as the class.
COLLECTOR = f"{__name__}.ProposalCollector"


class ProposalCollectorConfig(ConfigModel):
    """No settings."""


class ProposalCollector(Sink[ProposalCollectorConfig, SinkReport]):
    """Keeps every record as ``MetadataChangeProposalWrapper`` objects, in order, in ``proposals``."""

    def __post_init__(self) -> None:
        self.proposals: list[MetadataChangeProposalWrapper] = []

    def write_record_async(self, record_envelope: RecordEnvelope, write_callback: WriteCallback) -> None:
        record = record_envelope.record
        if isinstance(record, MetadataChangeProposalClass):
            record = MetadataChangeProposalWrapper.try_from_mcpc(record) or record  # an aspect DataHub can read back
        if isinstance(record, MetadataChangeProposalWrapper):
            found = [record]
        elif isinstance(record, MetadataChangeEventClass):
            found = list(mcps_from_mce(record))
        else:
            error = ValueError(f"not a metadata change proposal DataHub Lite can take: {type(record).__name__}")
            self.report.report_failure(str(error))
            if write_callback:
                write_callback.on_failure(record_envelope, error, {})
            return
        self.proposals += found
        self.report.report_record_written(record_envelope)
        if write_callback:
            write_callback.on_success(record_envelope, {})
