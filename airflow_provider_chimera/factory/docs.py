"""What a pipeline's DAG tells its users in the Airflow UI: ``doc_md`` and tags."""

from __future__ import annotations

from airflow_provider_chimera.contract.model import IncrementalMode, PartitionedMode
from airflow_provider_chimera.pipelines import Pipeline

CLASSIFIED = ("pii", "secret")


def tags(pipeline: Pipeline) -> list[str]:
    """Team, project, source type, target kind, and ``classified`` plus each sensitive class held."""
    ingestion = pipeline.ingestion
    out = [pipeline.team.name, pipeline.project, pipeline.source.type, ingestion.target.kind]
    held = sorted({c for c in ingestion.classification.values() if c in CLASSIFIED})
    if held:
        out += ["classified", *held]
    return list(dict.fromkeys(out))


def _mode(pipeline: Pipeline) -> str:
    mode = pipeline.ingestion.mode
    if isinstance(mode, IncrementalMode):
        return f"incremental (cursor `{mode.cursor}`)" if mode.cursor else "incremental"
    if isinstance(mode, PartitionedMode):
        return f"partitioned by `{mode.column}` ({mode.granularity})"
    return mode.type


def doc_md(pipeline: Pipeline) -> str:
    """The DAG's documentation, rendered from its intent."""
    ingestion = pipeline.ingestion
    target = ingestion.target
    trigger = ingestion.trigger
    when = getattr(trigger, "schedule", None) or getattr(trigger, "on", None) or "ad hoc (REST API or UI)"
    lines = [
        f"### {pipeline.id}",
        "",
        f"Ingests **{pipeline.source.type}** `{pipeline.source.name}` / `{pipeline.object.name}` "
        f"into Iceberg `{pipeline.target_table}`.",
        "",
        "| | |",
        "| --- | --- |",
        f"| owner team | {pipeline.team.name} |",
        f"| support | {pipeline.team.support_email} |",
        f"| project | {pipeline.project} |",
        f"| intent | `{pipeline.intent}` (`{pipeline.intent_file}`, version `{pipeline.intent_hash[:12]}`) |",
        f"| source | {pipeline.source.type} `{pipeline.source.name}`, object `{pipeline.object.name}` |",
        f"| target | `{pipeline.target_table}` ({target.kind}{', keys ' + ', '.join(target.keys) if target.keys else ''}) |",
        f"| trigger | {trigger.type}: {when} |",
        f"| mode | {_mode(pipeline)} |",
        f"| priority | {ingestion.priority} |",
    ]
    if ingestion.sla:
        warn = f", warn after {ingestion.sla.warn_after}" if ingestion.sla.warn_after else ""
        lines.append(f"| SLA | fresh within {ingestion.sla.fresh_within}{warn} |")
    if ingestion.classification:
        classes = ", ".join(f"`{column}`: {cls}" for column, cls in sorted(ingestion.classification.items()))
        lines.append(f"| classification | {classes} |")
    if ingestion.retention:
        lines.append(f"| retention | {ingestion.retention.days} days |")
    return "\n".join(lines) + "\n"
