"""Readiness probes for the local services: one real request in each service's own protocol.

    python3 scripts/service_probe.py kafka HOST PORT       # Kafka ApiVersions request
    python3 scripts/service_probe.py mongodb HOST PORT     # MongoDB OP_MSG {ping: 1}
    python3 scripts/service_probe.py snowflake HOST PORT   # SELECT 1 through the Snowflake connector

Kafka and MongoDB are probed with the standard library alone (the wire messages are a few bytes,
and `make services` may run before the project's virtualenv exists); Snowflake is probed with
the real connector from the fakesnow virtualenv. Exit 0 when the service answers.
"""

from __future__ import annotations

import socket
import struct
import sys


def _exchange(host: str, port: int, payload: bytes, size_format: str) -> bytes:
    """Send one request; read one length-prefixed reply (``size_format``: its 4-byte length)."""
    with socket.create_connection((host, port), timeout=3) as sock:
        sock.sendall(payload)
        head = sock.recv(4)
        size = struct.unpack(size_format, head)[0]
        if size_format == "<i":  # MongoDB counts the length field itself
            size -= 4
        body = b""
        while len(body) < size:
            chunk = sock.recv(size - len(body))
            if not chunk:
                break
            body += chunk
        return head + body


def kafka(host: str, port: int) -> bool:
    client = b"chimera-probe"
    # ApiVersions (key 18) v0: api_key, api_version, correlation_id, client_id.
    request = struct.pack(">hhih", 18, 0, 7, len(client)) + client
    reply = _exchange(host, port, struct.pack(">i", len(request)) + request, ">i")
    correlation, error = struct.unpack(">ih", reply[4:10])
    return correlation == 7 and error == 0


def _bson(doc: list[tuple[str, object]]) -> bytes:
    out = b""
    for key, value in doc:
        name = key.encode() + b"\x00"
        if isinstance(value, int):
            out += b"\x10" + name + struct.pack("<i", value)
        else:
            text = str(value).encode() + b"\x00"
            out += b"\x02" + name + struct.pack("<i", len(text)) + text
    return struct.pack("<i", len(out) + 5) + out + b"\x00"


def mongodb(host: str, port: int) -> bool:
    # OP_MSG (opcode 2013): flags, section kind 0, body {ping: 1, $db: "admin"}.
    body = struct.pack("<i", 0) + b"\x00" + _bson([("ping", 1), ("$db", "admin")])
    header = struct.pack("<iiii", 16 + len(body), 7, 0, 2013)
    reply = _exchange(host, port, header + body, "<i")
    return struct.unpack("<i", reply[12:16])[0] == 2013 and b"ok\x00" in reply


def snowflake(host: str, port: int) -> bool:
    import snowflake.connector

    conn = snowflake.connector.connect(
        user="probe", password="probe", account="fakesnow", host=host, port=port, protocol="http",
        login_timeout=5, network_timeout=5,
    )
    try:
        return conn.cursor().execute("SELECT 1").fetchone()[0] == 1
    finally:
        conn.close()


if __name__ == "__main__":
    kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        ok = {"kafka": kafka, "mongodb": mongodb, "snowflake": snowflake}[kind](host, port)
    except Exception as exc:  # a probe reports, it does not crash
        print(f"{kind} on {host}:{port}: {exc}", file=sys.stderr)
        ok = False
    sys.exit(0 if ok else 1)
