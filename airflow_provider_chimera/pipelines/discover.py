"""An intents folder read into its pipelines: every file loaded, authorized and checked against the
folder's rules, a bad file reported and never fatal to the others."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_chimera.contract import IntentError, intent_files, load_intent
from airflow_provider_chimera.contract.load import IntentProblem, LoadedIntent, escaping_link_problem, escaping_links
from airflow_provider_chimera.pipelines.buildable import cached_refusals
from airflow_provider_chimera.pipelines.model import Pipeline, object_place, pipelines_of

if TYPE_CHECKING:
    from airflow_provider_chimera.registry.manifest import OnboardedVersion


@dataclass
class Catalogue:
    """The pipelines of an intents folder, the files that could not be used, and what waits."""

    pipelines: list[Pipeline] = field(default_factory=list)
    errors: list[IntentError] = field(default_factory=list)
    # The intent files that may be onboarded: valid, authorized, and not wholly rejected by a
    # folder rule (an intent name taken by another file); with their team from the tenancy file.
    intents: dict[Path, LoadedIntent] = field(default_factory=dict)
    # "<file>: <source>/<object>: waits for onboarding" for objects added since the onboarded version.
    pending: list[str] = field(default_factory=list)


def discover(folder: Path, onboarded: Mapping[str, OnboardedVersion | Exception] | None = None) -> Catalogue:
    """Load every intent in ``folder``; a bad file is reported, never fatal to the others.

    Each intent is authorized against the tenancy file (``tenancy.authorize``): one that uses
    what its team does not own is rejected like an invalid one, and a valid one takes its team's
    details from the tenancy file.

    Rules over the whole folder (one writer per target table, one object per pipeline id) reject
    the pipelines involved, on every side, and report each file. When an intent has an onboarded
    version, only what that version covers gets pipelines; objects and columns added since wait
    for onboarding. ``onboarded``: the registry's onboarded versions
    (``registry.manifest.onboarded_in``); ``None`` reads them with one read-only query, as a DAG
    file does while Airflow parses it (``onboarded_at_parse_time``: a registry it cannot read
    gives every intent its full scope, logged).
    """
    from airflow_provider_chimera.contract.validate import check_folder
    from airflow_provider_chimera.registry.manifest import incumbent_files, onboarded_at_parse_time

    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.tenancy.authorize import authorize_folder

    settings = load_settings()
    if onboarded is None:
        onboarded = onboarded_at_parse_time(settings)
    result = Catalogue()
    loaded: dict[Path, LoadedIntent] = {}
    result.errors.extend(IntentError([escaping_link_problem(link)]) for link in escaping_links(folder))
    for path in intent_files(folder):
        with intent_guard(path, result.errors):
            loaded[path] = load_intent(path)
    # Intents using what their team does not own are rejected before any rule over the folder.
    authorized, refused = authorize_folder({path: item.intent for path, item in loaded.items()}, folder, settings)
    result.errors.extend(refused)
    loaded = {path: replace(item, intent=authorized[path].intent) for path, item in loaded.items() if path in authorized}
    # A file whose intent its own team onboarded keeps its names and tables against newcomers.
    incumbents = incumbent_files({path: item.intent for path, item in loaded.items()}, onboarded)
    clashes = check_folder({path: item.intent for path, item in loaded.items()}, incumbents)
    rejected_places: set[tuple[str, str]] = set()
    by_file: dict[str, list] = {}
    for problem in clashes:
        by_file.setdefault(problem.file, []).append(problem)
        place = re.match(r"/sources/\d+/objects/\d+", problem.path)
        rejected_places.add((problem.file, place.group(0) if place else ""))  # "": the whole file
    result.errors.extend(IntentError(problems) for problems in by_file.values())
    for path, item in loaded.items():
        if (str(path), "") in rejected_places:
            continue
        with intent_guard(path, result.errors):
            # What Airflow would refuse to build rejects the file here, as validate rejects it.
            refused = cached_refusals(
                item.intent, str(path), item.content_hash, settings.catalog_name, settings.events_kafka_conn_id
            )
            if refused:
                raise IntentError(refused)
            result.pipelines.extend(_pipelines_of_file(path, item, onboarded, rejected_places, result))
            result.intents[path] = item
    return result


def _pipelines_of_file(
    path: Path, item: LoadedIntent, versions: Mapping[str, OnboardedVersion | Exception], rejected_places: set[tuple[str, str]], result: Catalogue
) -> list[Pipeline]:
    """The pipelines of one accepted intent file, as far as its onboarded version covers them."""
    from airflow_provider_chimera.contract.diff import effective_intent, withheld_objects
    from airflow_provider_chimera.registry.manifest import version_in

    intent = item.intent
    onboarded = version_in(versions, intent.name)
    if onboarded is not None and onboarded.content_hash != item.content_hash:
        for ref in withheld_objects(onboarded.intent, intent):
            result.pending.append(f"{path}: {ref.source}/{ref.object}: added since the onboarded version; waits for onboarding")
        intent = effective_intent(onboarded.intent, intent).model_copy(update={"team": item.intent.team})
    return [
        pipeline
        for pipeline in pipelines_of(intent, str(path), item.content_hash)
        if (str(path), object_place(item.intent, pipeline)) not in rejected_places
    ]


@contextmanager
def intent_guard(path: Path | str, errors: list[IntentError]) -> Iterator[None]:
    """Run one intent file's step; any failure becomes that file's error in ``errors`` and the
    caller goes on with the next file: one intent can never hide another's DAGs."""
    try:
        yield
    except IntentError as exc:
        errors.append(exc)
    except Exception as exc:  # a bug or a hostile file: reported against this file only
        errors.append(IntentError([IntentProblem(str(path), "", f"cannot be used: {type(exc).__name__}: {exc}")]))
