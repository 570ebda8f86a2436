"""``chimera sample PIPELINE``: a random sample of a pipeline's target table, classified columns masked."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)
_KEY = "__chimera_sample_key"


def reservoir(batches, n: int, seed: int | None = None):
    """``n`` rows drawn uniformly at random from ``batches``, holding at most ``n`` rows plus one
    batch in memory: every row gets a random key and the ``n`` smallest keys are kept."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    kept = None
    for batch in batches:
        if not batch.num_rows:
            continue
        table = pa.Table.from_batches([batch]).append_column(_KEY, pa.array(rng.random(batch.num_rows)))
        kept = table if kept is None else pa.concat_tables([kept, table])
        if kept.num_rows > n:
            keys = kept.column(_KEY).to_numpy()
            kept = kept.take(np.argpartition(keys, n - 1)[:n])
    if kept is None:
        return None
    return kept.sort_by(_KEY).drop_columns([_KEY])


def sample(
    pipeline: Annotated[str, typer.Argument(help="Pipeline id, as `chimera dags list` shows it.")],
    n: Annotated[int, typer.Option("--n", min=1, help="How many rows to draw.")] = 100,
    intents: Annotated[
        Optional[Path], typer.Option("--intents", help="Intents folder (default: the intents_dir option of the chimera config section).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of the draw, to repeat it.")] = None,
) -> None:
    """Print a random sample of a pipeline's target table; pii and secret columns never in clear.

    The table is read batch by batch (memory holds the sample and one batch). Columns stored
    keyed-hashed or masked show as stored, encrypted ones as ***, and classified columns the
    table does not record as protected are masked on output.
    """
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.governance.display import for_display
    from airflow_provider_chimera.governance.policy import policy_for
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.writer import IcebergWriter, chimera_catalog

    if fmt not in ("table", "json"):
        err.print(f"--format: expected table or json, got {fmt!r}", markup=False)
        raise typer.Exit(2)
    settings = load_settings()
    found = {p.id: p for p in discover(intents or settings.intents_dir).pipelines}
    chosen = found.get(pipeline)
    if chosen is None:
        err.print(f"no pipeline {pipeline!r}; `chimera dags list` lists the pipelines", markup=False)
        raise typer.Exit(2)
    table = IcebergWriter(chimera_catalog(settings), chosen.target_namespace, chosen.ingestion.target.table).load()
    if table is None or table.current_snapshot() is None:
        err.print(f"{chosen.target_table}: nothing ingested yet", markup=False)
        raise typer.Exit(1)
    rows = reservoir(table.scan().to_arrow_batch_reader(), n, seed)
    if rows is None:
        rows = table.schema().as_arrow().empty_table()
    shown = for_display(rows, chosen.ingestion.classification, table.properties, policy_for(chosen.project, settings))
    records = shown.to_pylist()
    if fmt == "json":
        out.print_json(json.dumps(records, default=str))
        return
    view = Table(*shown.column_names, title=f"{chosen.target_table}: {len(records)} random row(s)")
    for record in records:
        view.add_row(*(Text("" if value is None else str(value)) for value in record.values()))
    out.print(view)


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
