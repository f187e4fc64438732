"""The benches' webhook client against a server that closes idle keep-alive connections.

gunicorn closes a keep-alive connection idle for its ``keepalive``; a request sent on it at that moment
is never read (the server logs nothing) and the client sees the connection closed or reset with no
answer. The server here does that deterministically: it answers the first request of each connection
and closes the connection when the next one arrives. A plain ``requests.Session`` loses that request;
``webhook_session`` sends the same bytes again on a fresh connection.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from typing import BinaryIO

import pytest
import requests

from bench.webhook_client import webhook_session


class ClosesIdleConnections:
    def __init__(self, reset: bool, status: int = 200) -> None:
        self.reset = reset  # RST (SO_LINGER 0) rather than FIN: both happen, depending on timing
        self.status = status
        self.received: list[bytes] = []  # every request body read, answered or not
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/webhooks/messenger"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the listener closed: the test is over
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            answered = False
            while (body := self._read_request(stream)) is not None:
                with self._lock:
                    self.received.append(body)
                if answered:  # the idle connection is closed just as this request arrives
                    if self.reset:
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                reason = b"OK" if self.status == 200 else b"Error"
                head = b"HTTP/1.1 %d %s\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"
                conn.sendall(head % (self.status, reason) + b"ok")
                answered = True

    @staticmethod
    def _read_request(stream: BinaryIO) -> bytes | None:
        length = 0
        request_line = stream.readline()
        if not request_line:
            return None
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return stream.read(length)


@pytest.fixture(params=["fin", "rst"])
def server(request: pytest.FixtureRequest) -> Iterator[ClosesIdleConnections]:
    running = ClosesIdleConnections(reset=request.param == "rst")
    yield running
    running.close()


BODIES = [b'{"mid": "m_w_5_0", "text": "first"}', b'{"mid": "m_w_5_1", "text": "second"}']


def test_a_plain_session_loses_the_request_sent_as_the_connection_closes(
    server: ClosesIdleConnections,
) -> None:
    with requests.Session() as session:
        assert session.post(server.url, data=BODIES[0], timeout=10).status_code == 200
        with pytest.raises(requests.ConnectionError):
            session.post(server.url, data=BODIES[1], timeout=10)


def test_the_webhook_session_sends_it_again_unchanged_on_a_fresh_connection(
    server: ClosesIdleConnections,
) -> None:
    with webhook_session() as session:
        for body in BODIES:
            assert session.post(server.url, data=body, timeout=10).status_code == 200
    # The second body reached the closing connection, then a new one, byte for byte the same (its
    # signature still matches and the intake keeps one mention per id).
    assert server.received == [BODIES[0], BODIES[1], BODIES[1]]
    assert server.connections == 2


def test_an_answer_is_never_sent_again_whatever_its_status() -> None:
    server = ClosesIdleConnections(reset=False, status=500)
    try:
        with webhook_session() as session:
            assert session.post(server.url, data=BODIES[0], timeout=10).status_code == 500
        assert server.received == [BODIES[0]]
    finally:
        server.close()
