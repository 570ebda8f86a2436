"""Secrets, in one place: resolving ``${env:NAME}`` / ``${secret:NAME}`` placeholders, remembering
what they resolved to, and scrubbing it (and any other credential) from what Chimera reports.

* **Resolve.** :func:`placeholder_values` and :func:`resolve_uri` fill in the placeholders of a
  connection URI or a platform setting. An intent's placeholders resolve only within its team's
  grant (``secrets_prefix``), never to a platform-reserved name (:func:`platform_reserved`) or an
  ``AIRFLOW*``/``PYICEBERG*`` variable, and in a database or broker URI only in the password slot
  (:func:`placeholder_slot_problems`).
* **Remember.** Every value resolved here, and every credential a caller hands to
  :func:`register_secret` (an Airflow connection's password...), is masked in task logs by
  Airflow's secrets masker and remembered for this process.
* **Scrub.** :func:`scrub` cuts remembered secrets, URI passwords, ``password=``-style parameters
  and the values of credential-named keys out of any text or JSON-like value: audit entries,
  run errors, notifications, reports. :class:`Scrubber` does the same for the secrets of one report.

This module is the ground floor: it imports nothing of Chimera but the settings, the tenancy
model and the error tree (docs/decisions/0034-secrets-module.md).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.tenancy.model import Grant

PLACEHOLDER = re.compile(r"\$\{(secret|env):([A-Za-z0-9_.-]+)\}")
# Anything written like a placeholder, even with a name no placeholder resolves: what is checked
# against a team's grant and the platform's reserved names, so that nothing like one slips through.
ANY_PLACEHOLDER = re.compile(r"\$\{(secret|env):([^}]*)\}")
MASK = "***"


class UnresolvedSecretError(FixRequired, LookupError):
    """A placeholder that has no value: names it, never a value."""


class SecretRefusedError(FixRequired, PermissionError):
    """A placeholder the intent may not use: outside its team's prefix, a platform-reserved name,
    or outside the password slot of a database or broker URI. Retrying cannot help."""


# --- resolve -------------------------------------------------------------------------------------


def password_slot(uri: str) -> tuple[int, int] | None:
    """Where the password of ``scheme://user:password@host...`` is in ``uri`` (start, end), if it has one."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo, at, _ = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return None
    start = len(scheme) + len(sep) + userinfo.index(":") + 1
    return start, len(scheme) + len(sep) + len(userinfo)


def placeholder_slot_problems(uri: str) -> list[str]:
    """Why the placeholders of a database or broker ``uri`` are not where they may be (empty: fine)."""
    slot = password_slot(uri)
    outside = uri
    if slot is not None:
        password = uri[slot[0] : slot[1]]
        if "${" in password and not PLACEHOLDER.fullmatch(password):
            return [f"the password slot holds {password!r}: it must be exactly one ${{secret:NAME}} or ${{env:NAME}}"]
        outside = uri[: slot[0]] + uri[slot[1] :]
    if "${" in outside:
        found = PLACEHOLDER.search(outside)
        shown = found.group(0) if found else "'${'"
        return [f"placeholder {shown} is outside the password slot of the uri"]
    return []


def reserved_placeholder_names(*settings_values: str) -> frozenset[str]:
    """The placeholder names behind platform settings such as ``pii_key_secret`` (``${env:NAME}``)."""
    return frozenset(m.group(2) for value in settings_values if value for m in ANY_PLACEHOLDER.finditer(value))


def platform_reserved() -> frozenset[str]:
    """The placeholder names only the platform resolves (behind ``pii_key_secret`` and ``encryption_key_secret``)."""
    from airflow_provider_chimera.settings import load_settings

    settings = load_settings()
    return reserved_placeholder_names(settings.pii_key_secret, settings.encryption_key_secret)


def placeholder_values(uri: str, grant: Grant | None = None, reserved: frozenset[str] | None = None) -> dict[str, str]:
    """The value of each ``${env:NAME}`` / ``${secret:NAME}`` placeholder in ``uri``, keyed by the
    placeholder as written; raises :class:`UnresolvedSecretError` naming one that has no value.

    With a ``grant`` (an intent's source), a name outside the team's ``secrets_prefix``, a
    platform-reserved name (``reserved``; by default those of the current settings) or a
    ``AIRFLOW*``/``PYICEBERG*`` name is refused with :class:`SecretRefusedError` before anything is
    read. Without one (the platform's own settings) every name resolves.

    ``env`` reads the process environment; ``secret`` asks Airflow's secrets backends (the
    Variable of that name). Both are credentials: masked in task logs and scrubbed from the audit
    log, XCom and error reports alike (:func:`register_secret`).
    """
    values: dict[str, str] = {}
    for match in PLACEHOLDER.finditer(uri):
        kind, name = match.group(1), match.group(2)
        if grant is not None:
            if reserved is None:
                reserved = platform_reserved()
            if name in reserved or not grant.may_name(name):
                owner = f"team {grant.team!r} (prefix {grant.secrets_prefix!r})" if grant.team else "an intent"
                raise SecretRefusedError(f"placeholder ${{{kind}:{name}}} is not available to {owner}")
        if kind == "env":
            value = os.environ.get(name)
        else:
            from airflow.sdk import Variable

            value = Variable.get(name, default=None)
        if value is None:
            raise UnresolvedSecretError(f"placeholder ${{{kind}:{name}}} has no value")
        register_secret(value)
        values[match.group(0)] = value
    return values


def resolve_uri(
    uri: str, grant: Grant | None = None, password_only: bool = False, reserved: frozenset[str] | None = None
) -> str:
    """``uri`` with its placeholders filled in (:func:`placeholder_values`).

    ``password_only`` (a database or broker URI): the placeholders must sit in the password slot,
    checked again here because the intent may have changed since it was validated. The result
    holds credentials: never log it.
    """
    if password_only:
        problems = placeholder_slot_problems(uri)
        if problems:
            raise SecretRefusedError(f"connection uri: {problems[0]}")
    values = placeholder_values(uri, grant, reserved)
    return PLACEHOLDER.sub(lambda match: values[match.group(0)], uri)


# --- remember ------------------------------------------------------------------------------------

_REMEMBERED: set[str] = set()


def register_secret(value: str | None) -> None:
    """Keep a resolved secret (or key, or password) out of task logs (Airflow's masker) and out of
    everything :func:`scrub` cleans, for the rest of this process."""
    if not value:
        return
    _REMEMBERED.add(value)
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # outside an Airflow 3 runtime there are no task logs to mask
        return
    mask_secret(value)


def forget_secrets() -> None:
    """Forget every remembered secret (tests: one test's secrets must not mask another's output)."""
    _REMEMBERED.clear()


# --- scrub ---------------------------------------------------------------------------------------

_URI_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(?=@)", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"(?P<head>(?<![\w{])(?:password|passwd|pwd|token|secret|api_key|access_key|private_key)=)[^\s&;,'\"]+",
    re.IGNORECASE,
)
# Key names whose values are never reported; matched against the parts of snake, kebab, dotted or
# camel-case names, so ``keys`` (a target's key columns) is kept while ``api_key`` is not.
_SECRET_WORDS = {"password", "passwd", "pwd", "secret", "secrets", "token", "tokens", "key", "apikey",
                 "credential", "credentials", "passphrase", "authorization", "auth", "dsn", "cookie"}
_WORD_SPLIT = re.compile(r"[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])")


class Scrubber:
    """Removes known secrets and URI passwords from text.

    Replaces with ``***`` every secret it was given (as written and in its URL-encoded forms) and,
    whatever it was given, the password of any ``scheme://user:password@`` URI and the value of any
    ``password=`` style parameter. Secrets are masked however short they are: a report that is
    harder to read is better than one that leaks.
    """

    def __init__(self, secrets: Iterable[str | None] = ()):
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Mask these values (empty ones and ``None`` are ignored) from now on."""
        for secret in secrets:
            if secret:
                self._secrets.update({secret, quote(secret, safe=""), quote(secret), quote_plus(secret)})
        if self._secrets:
            # Longest first, so that a secret containing another is masked whole.
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in alternatives))

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _URI_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        return _KEY_VALUE.sub(lambda m: m.group("head") + MASK, text)


def is_secret_key(name: object) -> bool:
    """Whether a key names a credential (``password``, ``api_key``, ``clientSecret``, ...)."""
    words = {w.lower() for w in _WORD_SPLIT.split(str(name)) if w}
    return bool(words & _SECRET_WORDS)


def scrub(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """``value`` (any JSON-like structure) with every secret replaced by ``***``: the values of
    credential-named keys, URI passwords, ``password=``-style parameters, and every given or
    remembered secret wherever it appears (as written or URL-encoded)."""
    return _scrub(value, Scrubber([*_REMEMBERED, *secrets]))


def _scrub(value: Any, text: Scrubber) -> Any:
    if isinstance(value, dict):
        return {
            text(str(k)): (MASK if is_secret_key(k) and v not in (None, "") else _scrub(v, text))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub(v, text) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return text(str(value))
