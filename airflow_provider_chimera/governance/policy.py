"""How classified columns are protected: the policy, per project, and the keys it needs.

An intent classifies columns (``public``, ``internal``, ``pii``, ``secret``); the platform decides
what each class means through ``[chimera] policies_config``, a JSON file such as::

    {"defaults": {"pii": "keyed_hash", "secret": "drop"},
     "projects": {"sales": {"pii": "mask", "mask_keep_last": 2}}}

Built-in defaults < the file's ``defaults`` < the project's entry, class by class. Methods:

- ``keep``: stored as read (only for ``public`` and ``internal``);
- ``keyed_hash``: HMAC-SHA256 of the value's text under the key ``[chimera] pii_key_secret``
  names, as 64 hex characters; deterministic, so hashed columns still join and deduplicate;
- ``mask``: ``***`` followed by the last ``mask_keep_last`` characters (``***`` alone for values
  shorter than twice that), so at most half a value is ever shown;
- ``encrypt``: a Fernet token under the key ``[chimera] encryption_key_secret`` names;
- ``drop``: the column is not written at all.

Keys are named by a ``${secret:NAME}`` or ``${env:NAME}`` placeholder, never given in clear and
never in an intent; a resolved key is masked in task logs and kept out of the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.settings import ChimeraSettings

Method = Literal["keep", "keyed_hash", "mask", "encrypt", "drop"]
CLASSES = ("public", "internal", "pii", "secret")
# Classes whose values must never be stored, logged or shown in clear.
SENSITIVE = ("pii", "secret")
BUILT_IN: dict[str, Method] = {"public": "keep", "internal": "keep", "pii": "keyed_hash", "secret": "drop"}
DEFAULT_MASK_KEEP_LAST = 4


class PolicyError(FixRequired, ValueError):
    """A policy file or key setting that cannot be used; names the file and JSON path, or the setting."""


class ClassMethods(BaseModel):
    """The methods of one level (the file's defaults, or one project); unset classes inherit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    public: Method | None = None
    internal: Method | None = None
    pii: Literal["keyed_hash", "mask", "encrypt", "drop"] | None = None
    secret: Literal["encrypt", "drop"] | None = None
    mask_keep_last: int | None = Field(default=None, ge=0, le=64)


class PolicyFile(BaseModel):
    """The content of ``[chimera] policies_config``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: ClassMethods = ClassMethods()
    projects: dict[str, ClassMethods] = Field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The methods that apply to one project."""

    methods: dict[str, Method]
    mask_keep_last: int = DEFAULT_MASK_KEEP_LAST
    source: str = "built-in defaults"  # where it came from, for messages

    def method(self, classification: str) -> Method:
        return self.methods[classification]


def parse_policy_file(text: str, file: str) -> PolicyFile:
    """The policy file's content, or a :class:`PolicyError` naming ``file`` and each JSON path."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{file}: /: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            path = "/" + "/".join(str(part) for part in error["loc"])
            problems.append(f"{file}: {path}: {error['msg']}")
        raise PolicyError("\n".join(problems)) from None


def read_policy_file(path: Path | None) -> PolicyFile:
    """``[chimera] policies_config`` (empty: no file, the built-in defaults hold)."""
    if path is None:
        return PolicyFile()
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file ([chimera] policies_config): {exc.strerror}") from None
    return parse_policy_file(text, str(path))


def policy_for(project: str, settings: ChimeraSettings, policies: PolicyFile | None = None) -> Policy:
    """The policy of ``project``: built-in defaults, then the file's defaults, then its project entry."""
    policies = read_policy_file(settings.policies_config) if policies is None else policies
    methods = dict(BUILT_IN)
    keep_last = DEFAULT_MASK_KEEP_LAST
    levels = [policies.defaults, policies.projects.get(project)]
    for level in levels:
        if level is None:
            continue
        for name in CLASSES:
            value = getattr(level, name)
            if value is not None:
                methods[name] = value
        if level.mask_keep_last is not None:
            keep_last = level.mask_keep_last
    where = str(settings.policies_config) if settings.policies_config else "built-in defaults"
    return Policy(methods=methods, mask_keep_last=keep_last, source=where)


def resolve_key(setting: str, placeholder: str, purpose: str) -> str:
    """The key a ``[chimera] <setting>`` placeholder names, or a :class:`PolicyError` naming the
    setting (never the value). The key is masked in task logs and kept out of the audit log."""
    from airflow_provider_chimera.secrets import PLACEHOLDER, UnresolvedSecretError, placeholder_values, register_secret

    env = f"AIRFLOW__CHIMERA__{setting.upper()}"
    if not placeholder:
        raise PolicyError(f"{purpose} needs a key: set [chimera] {setting} ({env}) to ${{secret:NAME}} or ${{env:NAME}}")
    if not PLACEHOLDER.fullmatch(placeholder.strip()):
        raise PolicyError(
            f"[chimera] {setting} must be one ${{secret:NAME}} or ${{env:NAME}} placeholder naming where the key is, "
            "not the key itself"
        )
    try:
        (value,) = placeholder_values(placeholder.strip()).values()
    except UnresolvedSecretError as exc:
        raise PolicyError(f"[chimera] {setting}: {exc}; {purpose} needs it") from None
    register_secret(value)
    return value

