"""``chimera teams``: check the platform's tenancy file, and show what a team owns."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.tenancy.model import TenancyError, Tenancy, load_tenancy

teams_app = typer.Typer(help="Teams and what each may use (the platform's tenancy file).", no_args_is_help=True)
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

FileOption = Annotated[
    Optional[Path], typer.Option("--file", help="Tenancy file (default: the tenancy_file option of the chimera config section).")
]


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _load(file: Path | None) -> tuple[Path, Tenancy]:
    path = file or load_settings().tenancy_file
    if path is None:
        _say(err, "no tenancy file: set [chimera] tenancy_file (AIRFLOW__CHIMERA__TENANCY_FILE) or give --file; "
                  "without one Chimera runs single-team")
        raise typer.Exit(2)
    try:
        return path, load_tenancy(path)
    except TenancyError as exc:
        for where, message in exc.problems:
            _say(err, f"{exc.file}: {where or '/'}: {message}")
        raise typer.Exit(2) from None


@teams_app.command("validate")
def teams_validate(file: FileOption = None) -> None:
    """Check the tenancy file: its shape, and that no namespace, project, intents folder or secrets
    prefix is given to two teams. Exit 2 naming every problem."""
    path, tenancy = _load(file)
    _say(out, f"ok {path}: {len(tenancy.teams)} team(s): {', '.join(sorted(tenancy.teams))}")


@teams_app.command("show")
def teams_show(
    team: Annotated[str, typer.Argument(help="The team's name, as the tenancy file has it.")],
    file: FileOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Print what a team owns: namespaces, projects, connections, secrets prefix, file roots, intents folder."""
    _, tenancy = _load(file)
    spec = tenancy.teams.get(team)
    if spec is None:
        _say(err, f"no team {team!r} in the tenancy file; its teams: {', '.join(sorted(tenancy.teams))}")
        raise typer.Exit(2)
    owned = {
        "team": team,
        "support_email": str(spec.support_email),
        "intents_path": spec.intents_path,
        "namespaces": spec.namespaces,
        "projects": spec.project_names,
        "connections": spec.connections,
        "secrets_prefix": spec.secrets_prefix,
        "file_roots": spec.file_roots,
    }
    if fmt == "json":
        print(json.dumps(owned, indent=2))
        return
    table = Table("what", "owned", title=f"Team {team}", show_header=False)
    for key, value in owned.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        if key == "secrets_prefix":
            shown = f"${{env:{value}*}}, ${{secret:{value}*}}"
        table.add_row(key.replace("_", " "), shown or "-")
    out.print(table)


@teams_app.command("schema")
def teams_schema() -> None:
    """Print the tenancy file's JSON Schema (draft 2020-12), e.g. for an editor or a CI check."""
    from airflow_provider_chimera.tenancy.model import schema_text

    sys.stdout.write(schema_text())
