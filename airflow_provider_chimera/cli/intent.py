"""``chimera intent``: the intent contract's JSON Schema, validation, and starting templates."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from airflow_provider_chimera.contract.templates import PLACEHOLDERS, SOURCE_TYPES, placeholders_in, template

intent_app = typer.Typer(help="Work with intent files.", no_args_is_help=True)

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

SourceTypeChoice = Enum("SourceTypeChoice", {t: t for t in SOURCE_TYPES}, type=str)  # type: ignore[misc]


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@intent_app.command("schema")
def intent_schema() -> None:
    """Print the intent JSON Schema (draft 2020-12), e.g. to save it for an editor."""
    from airflow_provider_chimera.contract.schema import schema_text

    sys.stdout.write(schema_text())


@intent_app.command("validate")
def intent_validate(
    paths: Annotated[list[Path], typer.Argument(help="Intent files or folders of them.")],
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="text: `file: /json/path: message (hint)` lines; json: a list of {file, path, message, hint}.",
        ),
    ] = OutputFormat.text,
    intents: Annotated[
        Optional[Path],
        typer.Option("--intents", help="The intents folder the files belong to (default: [chimera] intents_dir)."),
    ] = None,
) -> None:
    """Check intent files, and the files of each folder together; report every problem. Exit 2 if any.

    A file is checked against the JSON Schema and the rules it cannot express (name equals the file
    stem, unique names, cron expressions, presets and durations) and, with a tenancy file, against
    what its team owns (its folder, namespaces, connections, secrets and file roots); the files of
    one folder must not write the same target table or share a pipeline id.
    """
    from airflow_provider_chimera.contract.validate import validate_paths
    from airflow_provider_chimera.registry.manifest import incumbent_files, onboarded_at_parse_time
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.tenancy.authorize import authorize_folder

    settings = load_settings()
    root = intents or settings.intents_dir

    def authorize(valid):
        authorized, refused = authorize_folder(valid, root, settings)
        return {path: item.intent for path, item in authorized.items()}, [p for error in refused for p in error.problems]

    from airflow_provider_chimera.factory.dags import build_problems

    report = validate_paths(
        paths,
        authorize,
        lambda valid: incumbent_files(valid, onboarded_at_parse_time(settings)),
        lambda intent, file: build_problems(intent, file, settings),
    )
    for folder in report.empty_folders:
        _say(err, f"{folder}: no intent files (*.json) here")
    if fmt is OutputFormat.json:
        print(json.dumps([p.as_dict() for p in report.problems], indent=2))
    else:
        failed = {p.file for p in report.problems}
        for file in report.files:
            if str(file) not in failed:
                _say(out, f"ok {file}")
        for problem in report.problems:
            _say(err, str(problem))
        if report.problems:
            _say(err, f"{len(report.problems)} problem(s) in {len(failed)} of {len(report.files)} file(s)")
    raise typer.Exit(0 if report.ok else 2)


@intent_app.command("new")
def intent_new(
    source_type: Annotated[
        SourceTypeChoice, typer.Option("--source-type", help="The type of the intent's first source.")
    ],
    name: Annotated[
        Optional[str], typer.Option("--name", help="The intent's name (the file name without .json).")
    ] = None,
) -> None:
    """Print a starting intent for one source type; explain its "<placeholder>" values on stderr.

    Fill in every placeholder, save it as intents/<name>.json and run `chimera intent validate`.
    """
    document = template(source_type.value, name)
    stem = name or "<intent_name>"
    _say(err, f'A starting intent with one {source_type.value} source. Replace every "<...>" value, save it as')
    _say(err, f"intents/{stem}.json and check it with: chimera intent validate intents/{stem}.json")
    _say(err, "Placeholders:")
    used = placeholders_in(document)
    width = max(len(p) for p in used)
    for placeholder in used:
        _say(err, f"  {placeholder.ljust(width)}  {PLACEHOLDERS[placeholder]}")
    print(json.dumps(document, indent=2))
