"""DNS rebinding, staged on one machine: a resolver that answers a public address first and 127.0.0.1
afterwards, and a socket opener that records every address a client connects to.

The public address (``PUBLIC``, globally routable) is not reachable from a test, so
the opener connects a socket meant for it to a local server standing in for "the public host" and
records the address it was asked for; a socket meant for any other address is opened as asked. A
client that resolves again after the check therefore really reaches the local server through
127.0.0.1, and the recorded addresses show it.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from plugin import egress

PUBLIC = "93.184.216.34"
LOOPBACK = "127.0.0.1"


@dataclass
class Rebinding:
    """``getaddrinfo`` for the staged names: answer ``answers[0]`` first, then each next one, the last for
    good. Other names resolve normally."""

    names: frozenset[str]
    answers: tuple[str, ...] = (PUBLIC, LOOPBACK)
    lookups: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host.lower() not in self.names:
            return socket.getaddrinfo(host, port, *args, **kwargs)
        with self._lock:
            answer = self.answers[min(len(self.lookups), len(self.answers) - 1)]
            self.lookups.append(answer)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, int(port or 443)))]


@dataclass
class Opener:
    """``socket.create_connection`` that records each destination; ``PUBLIC`` goes to the stand-in."""

    connected: list[str] = field(default_factory=list)

    def __call__(self, address: tuple[str, int], timeout: Any = None, **kwargs: Any) -> socket.socket:
        host, port = address
        self.connected.append(host)
        target = LOOPBACK if host == PUBLIC else host
        return socket.create_connection((target, port), timeout, **kwargs)


def staged_policy(
    *names: str, allowed: tuple[str, ...] = (), answers: tuple[str, ...] = (PUBLIC, LOOPBACK)
) -> tuple[egress.Policy, Rebinding, Opener]:
    """A policy whose resolver rebinds ``names`` and whose opener records; ``allowed`` exempt hosts."""
    resolver = Rebinding(frozenset(n.lower() for n in names), answers)
    opener = Opener()
    return egress.Policy(frozenset(allowed), resolve=resolver, connect=opener), resolver, opener
