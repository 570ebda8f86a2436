"""The tenancy file (``[chimera] tenancy_file``, YAML) as typed models, and a team's :class:`Grant`.

The file is the platform team's, not the intents' authors': it says which teams exist, how to
reach them, and what each may use. Its JSON Schema ships beside this module
(``tenancy.schema.json``, kept equal to :meth:`Tenancy.model_json_schema` by a test)::

    version: 1
    teams:
      retail-analytics:
        support_email: retail-data@example.org
        namespaces: [retail]                 # Iceberg namespaces the team may write
        projects: [retail]                   # the intents' "project" values (default: namespaces)
        connections: [retail_postgres]       # Airflow connection ids its intents may use
        secrets_prefix: RETAIL_              # ${env:RETAIL_*} and ${secret:RETAIL_*} only
        file_roots: ["file:///data/retail"]  # the only places its file/PDF sources may read
        intents_path: retail/                # its intents live under intents/retail/
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, ValidationError, field_validator, model_validator

from airflow_provider_chimera.errors import FixRequired

NAMESPACE_PATTERN = r"^[a-z][a-z0-9_]*$"
TEAM_PATTERN = r"^[a-z][a-z0-9_-]*$"
CONN_ID_PATTERN = r"^[A-Za-z0-9_.-]+$"
SECRETS_PREFIX_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*$"
# Placeholder names no intent may resolve, with or without a tenancy file: Airflow's and
# pyiceberg's own configuration (database URLs, keys, catalog credentials).
RESERVED_NAME_PREFIXES = ("AIRFLOW", "PYICEBERG")
# Schemes a file root may name (the file source's fsspec protocols).
FILE_ROOT_SCHEMES = ("file", "s3", "gs", "gcs", "abfs", "az", "memory")

Namespace = Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN, max_length=128)]
ConnId = Annotated[str, StringConstraints(pattern=CONN_ID_PATTERN, max_length=250)]


class TenancyError(FixRequired, ValueError):
    """The tenancy file cannot be used: every problem as ``file: /json/path: message``."""

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {path or '/'}: {message}" for path, message in problems))


class TeamSpec(BaseModel):
    """One team: how to reach it, and what its intents may use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    support_email: EmailStr = Field(description="The team's support mailbox: onboarding, SLA and failure mails go here.")
    namespaces: list[Namespace] = Field(min_length=1, description="Iceberg namespaces the team may write.")
    projects: list[Namespace] = Field(
        default_factory=list, description="Values the team's intents may give as 'project' (default: its namespaces)."
    )
    connections: list[ConnId] = Field(default_factory=list, description="Airflow connection ids its intents may name.")
    secrets_prefix: Annotated[str, StringConstraints(pattern=SECRETS_PREFIX_PATTERN, max_length=64)] = Field(
        description="Placeholders ${env:NAME} and ${secret:NAME} of its intents must start with this prefix."
    )
    file_roots: list[str] = Field(
        default_factory=list,
        description="URLs (file:///data/team, s3://bucket/team) under which its file and PDF sources may read.",
    )
    intents_path: str = Field(description="Folder below the intents folder holding the team's intents, e.g. retail/.")

    @field_validator("secrets_prefix")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        for reserved in RESERVED_NAME_PREFIXES:
            if value.upper().startswith(reserved) or reserved.startswith(value.upper()):
                raise ValueError(f"prefix {value!r} would reach the platform's own {reserved}* variables")
        return value

    @field_validator("file_roots")
    @classmethod
    def _roots(cls, values: list[str]) -> list[str]:
        return [normalise_root(value) for value in values]

    @field_validator("intents_path")
    @classmethod
    def _relative_folder(cls, value: str) -> str:
        parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
        if value.startswith("/") or ".." in parts or not parts:
            raise ValueError("give a folder relative to the intents folder, e.g. retail/")
        return "/".join(parts) + "/"

    @property
    def project_names(self) -> list[str]:
        return self.projects or self.namespaces


class Tenancy(BaseModel):
    """Every team of the platform, by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    teams: dict[Annotated[str, StringConstraints(pattern=TEAM_PATTERN, max_length=200)], TeamSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_shared_ownership(self) -> Tenancy:
        """A namespace, a project, an intents folder and a secrets prefix each belong to one team."""
        problems = []
        owners: dict[tuple[str, str], str] = {}
        for team, spec in self.teams.items():
            owned = [("namespace", n) for n in spec.namespaces] + [("project", p) for p in spec.project_names]
            for kind, value in dict.fromkeys(owned):
                other = owners.setdefault((kind, value), team)
                if other != team:
                    problems.append(f"{kind} {value!r} is given to both {other!r} and {team!r}")
        names = sorted(self.teams)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                pa_, pb = self.teams[a].intents_path, self.teams[b].intents_path
                if pa_.startswith(pb) or pb.startswith(pa_):
                    problems.append(f"intents_path {pa_!r} of {a!r} and {pb!r} of {b!r} overlap")
                sa, sb = self.teams[a].secrets_prefix, self.teams[b].secrets_prefix
                if sa.startswith(sb) or sb.startswith(sa):
                    problems.append(f"secrets_prefix {sa!r} of {a!r} and {sb!r} of {b!r} overlap")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def team_of_file(self, relative: str) -> str | None:
        """The team whose ``intents_path`` holds the intent file at ``relative`` (to the intents folder)."""
        relative = relative.replace("\\", "/")
        return next((team for team, spec in self.teams.items() if relative.startswith(spec.intents_path)), None)


def normalise_root(value: str) -> str:
    """A file root as a URL without a trailing slash: ``file:///data/retail``, ``s3://bucket/team``."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in FILE_ROOT_SCHEMES:
        raise ValueError(f"file root {value!r} is not a URL of {', '.join(FILE_ROOT_SCHEMES)} (e.g. file:///data/team)")
    if "${" in value or "*" in value or "?" in value or "[" in value:
        raise ValueError(f"file root {value!r} holds a placeholder or a glob")
    path = posixpath.normpath(rest) if rest else rest
    if scheme == "file" and not path.startswith("/"):
        raise ValueError(f"file root {value!r} must be absolute: file:///path")
    if ".." in path.split("/"):
        raise ValueError(f"file root {value!r} holds '..'")
    return f"{scheme}://{path.rstrip('/') or '/'}"


@dataclass(frozen=True)
class Grant:
    """What one intent may use: its team's share of the platform.

    ``None`` for a set means "any" (single-team mode); ``secrets_prefix`` ``""`` allows every
    name but the reserved ones (:data:`RESERVED_NAME_PREFIXES`).
    """

    team: str | None
    support_email: str | None = None
    namespaces: frozenset[str] | None = None
    projects: frozenset[str] | None = None
    connections: frozenset[str] | None = None
    secrets_prefix: str = ""
    file_roots: tuple[str, ...] | None = None
    intents_path: str = ""

    @classmethod
    def of(cls, team: str, spec: TeamSpec) -> Grant:
        return cls(
            team=team,
            support_email=str(spec.support_email),
            namespaces=frozenset(spec.namespaces),
            projects=frozenset(spec.project_names),
            connections=frozenset(spec.connections),
            secrets_prefix=spec.secrets_prefix,
            file_roots=tuple(spec.file_roots),
            intents_path=spec.intents_path,
        )

    def may_name(self, placeholder_name: str) -> bool:
        """Whether ``${env:NAME}`` / ``${secret:NAME}`` with this ``NAME`` is the team's to resolve."""
        upper = placeholder_name.upper()
        if any(upper.startswith(prefix) for prefix in RESERVED_NAME_PREFIXES):
            return False
        return placeholder_name.startswith(self.secrets_prefix)


SINGLE_TEAM = Grant(team=None)


def _located(file: str, data: Any, exc: ValidationError) -> TenancyError:
    problems = []
    for err in exc.errors():
        path = "/" + "/".join(str(part) for part in err["loc"]) if err["loc"] else ""
        problems.append((path, err["msg"].removeprefix("Value error, ")))
    return TenancyError(file, problems)


def parse_tenancy(raw: bytes, file: str) -> Tenancy:
    """The tenancy of a YAML (or JSON) document; :class:`TenancyError` names every problem."""
    import yaml

    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise TenancyError(file, [("", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise TenancyError(file, [("", "must be a mapping with 'teams'")])
    try:
        return Tenancy.model_validate(data)
    except ValidationError as exc:
        raise _located(file, data, exc) from None


_CACHE: dict[str, Tenancy] = {}


def load_tenancy(path: Path) -> Tenancy:
    """Read and check the tenancy file; parsed once per content (the DAG processor reads it often)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TenancyError(str(path), [("", f"cannot read: {exc.strerror}")]) from None
    key = f"{path}:{hashlib.sha256(raw).hexdigest()}"
    if key not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = parse_tenancy(raw, str(path))
    return _CACHE[key]


def schema_text() -> str:
    """The tenancy file's JSON Schema as shipped (``tenancy.schema.json``)."""
    from importlib.resources import files

    return files("airflow_provider_chimera.tenancy").joinpath("tenancy.schema.json").read_text(encoding="utf-8")
