"""One HTML email through an Airflow SMTP connection (the SMTP provider's ``SmtpHook``).

The sender is the connection's ``from_email`` extra, else Airflow's ``[email] from_email``, else
``chimera@localhost``. A connection that does not exist raises :class:`EmailNotSent` naming it;
a server that refuses or cannot be reached raises the ``smtplib``/``OSError`` exception it gave
(such as ``ConnectionRefusedError``), which names no credential.
"""

from __future__ import annotations

import html
from collections.abc import Sequence


class EmailNotSent(RuntimeError):
    """The email could not even be attempted (no such SMTP connection)."""


def send_email(conn_id: str, to: str | Sequence[str], subject: str, html: str) -> None:
    """Send ``html`` as ``subject`` to ``to`` through the SMTP connection ``conn_id``."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    _require_connection(conn_id)
    recipients = [to] if isinstance(to, str) else list(to)
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=recipients, subject=subject, html_content=html, from_email=hook.from_email or default_sender())


def facts_table(rows: Sequence[tuple[str, str]]) -> str:
    """An HTML table of ``(label, value)`` rows, each escaped: the facts block of Chimera's mails."""
    cells = "".join(f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def default_sender() -> str:
    """Airflow's ``[email] from_email`` when the SMTP connection names no sender."""
    try:
        from airflow.configuration import conf

        return conf.get("email", "from_email", fallback=None) or "chimera@localhost"
    except Exception:
        return "chimera@localhost"


def _require_connection(conn_id: str) -> None:
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise EmailNotSent(
            f"SMTP connection {conn_id!r} is not defined: create it in Airflow "
            f"(or as AIRFLOW_CONN_{conn_id.upper()}), or name another one in [chimera] smtp_conn_id"
        ) from None
