"""The notifier's email path, against a minimal local SMTP server (just enough of RFC 5321 for smtplib)."""

from __future__ import annotations

import socketserver
import threading
from typing import Any

from plugin.triage.notify import Notice, Notifier


class _SMTPHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: Any = self.server
        self.wfile.write(b"220 test ESMTP\r\n")
        data_mode, lines = False, []
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if data_mode:
                if line == ".":
                    server.messages.append("\n".join(lines))
                    data_mode, lines = False, []
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == "DATA":
                data_mode = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


def test_email_notices_go_out_through_the_configured_smtp_server() -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    results: list[tuple[str, int]] = []
    notifier = Notifier(
        smtp_url=f"smtp://127.0.0.1:{server.server_address[1]}",
        smtp_from="horseshoe@acme.example",
        on_result=lambda notice, status, attempts, error: results.append((status, attempts)),
    )
    try:
        notifier.submit(Notice("email", "security@acme.example", "[security] x mention", {"url": "https://x/1"}))
        assert notifier.drain(timeout=10)
        (message,) = server.messages  # type: ignore[attr-defined]
        assert "Subject: [security] x mention" in message and "url: https://x/1" in message
        assert results == [("sent", 1)]
    finally:
        notifier.stop()
        server.shutdown()
        server.server_close()


def test_without_smtp_an_email_notice_is_not_queued() -> None:
    notifier = Notifier()
    notifier.submit(Notice("email", "security@acme.example", "s", {}))
    assert notifier.drain(timeout=1)
