"""Point 11 (registry part): a registry whose server does not answer fails fast and clearly.

A real TCP listener on 127.0.0.1 that accepts connections (the kernel completes the handshake)
but never says a word, as a hung or firewalled database server would: opening the registry on it
raises :class:`RegistryUnreachable` within the connect timeout, naming the address and not the
password, instead of hanging the task.
"""

from __future__ import annotations

import socket
import time

import pytest

COVERS = ("11",)


@pytest.fixture
def silent_address():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # connections queue up; nothing ever reads or answers them
    yield listener.getsockname()
    listener.close()


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_a_registry_that_does_not_answer_raises_within_the_timeout(silent_address, scheme, tmp_path, monkeypatch):
    from airflow_provider_chimera.registry.db import CONNECT_TIMEOUT_S, RegistryUnreachable, open_registry

    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    host, port = silent_address
    started = time.monotonic()
    with pytest.raises(RegistryUnreachable) as raised:
        open_registry(url=f"{scheme}://chimera:S3cret-registry@{host}:{port}/chimera", connect_timeout=2)
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    message = str(raised.value)
    assert f"{host}:{port}" in message and "cannot be reached (connect timeout 2 s)" in message
    assert "S3cret-registry" not in message
    assert CONNECT_TIMEOUT_S <= 30  # the default bounds every task too
