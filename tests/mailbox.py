"""A local SMTP server (aiosmtpd) for tests of the mails Chimera sends, and the Airflow SMTP
connection that points at it."""

from __future__ import annotations

import email
import json
import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it accepts as ``(recipients, message)``."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [message["Subject"] for _, message in self.messages]


def smtp_connection(port: int) -> str:
    """The Airflow SMTP connection (JSON) of a server on 127.0.0.1:``port``: sender
    ``chimera@example.com``, no TLS, no retry."""
    extra = {"disable_ssl": True, "disable_tls": True, "from_email": "chimera@example.com", "timeout": 5, "retry_limit": 0}
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": extra})
