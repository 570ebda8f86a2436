"""Chimera's one exception tree: what an operator must do about an error decides where it sits.

- :class:`FixRequired`: the intent, the source's data or the platform's configuration must change
  before a rerun can succeed (a bad intent, a schema the table cannot take, a policy the data
  breaks, a table another pipeline owns). Tasks fail at once with ``AirflowFailException``,
  saying what to fix; retrying would only delay the news.
- :class:`Transient`: a rerun may succeed as things are (a service down, a network error, a
  commit that lost a race). Tasks retry, as ``[chimera] task_retries`` says.

Errors keep a builtin base as well (``ValueError``, ``PermissionError``, ...), so callers that
catch those go on working. An error outside this tree (a driver's own) counts as transient.
"""

from __future__ import annotations


class ChimeraError(Exception):
    """The root of every error Chimera raises on purpose."""


class FixRequired(ChimeraError):
    """Needs the intent, the source or the platform's configuration fixed: not retried."""


class Transient(ChimeraError):
    """May pass on a rerun as things are: retried."""


NOT_RETRIED = "not retried: fix what it says, then clear the task to run it again"
