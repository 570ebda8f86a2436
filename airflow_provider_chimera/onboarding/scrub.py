"""Keeping credentials out of what Chimera reports.

A :class:`Scrubber` replaces with ``***`` every secret it was given (as written and in its
URL-encoded forms) and, whatever it was given, the password of any ``scheme://user:password@``
URI and the value of any ``password=`` style parameter. Secrets are masked however short they
are: a report that is harder to read is better than one that leaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
_URI_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(?=@)", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"(?P<head>(?<![\w{])(?:password|passwd|pwd|token|secret|api_key|access_key|private_key)=)[^\s&;,'\"]+",
    re.IGNORECASE,
)


class Scrubber:
    """Removes known secrets and URI passwords from text."""

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
