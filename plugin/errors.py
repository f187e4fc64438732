"""The error taxonomy every connector and sink speaks.

The worker only needs to know one thing about a failure: try again later (and when), or give up and
tell a human. Connectors translate their network's errors into these; nothing else is caught broadly.
"""

from __future__ import annotations


class HorseshoeError(Exception):
    """Base of all errors horseshoe raises on purpose."""


class RetriableError(HorseshoeError):
    """A transient failure (5xx, timeout, connection reset, rate limit). Try again later.

    ``retry_after`` is the server's own hint in seconds (Retry-After / x-rate-limit-reset); the worker
    waits at least that long.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, code: str | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.code = code


class RateLimited(RetriableError):
    """HTTP 429 or a network's own rate-limit signal."""


class FatalError(HorseshoeError):
    """A failure retrying cannot fix (bad request, content rejected, thread deleted)."""

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.code = code


class OriginalDeleted(FatalError):
    """What the reply answers is gone from the network (its author deleted it, or it is no longer
    visible). Not a generic failure: the host holds the reply for the agent and notes why on the ticket."""

    def __init__(self, message: str, *, unavailable: bool = False):
        super().__init__(message, code="unavailable" if unavailable else "deleted")
        # True when the customer, not the post, is gone (a deleted or deactivated account, a blocked
        # Page): the note on the ticket says so instead of "the customer deleted this message".
        self.unavailable = unavailable


class AuthError(FatalError):
    """Credentials are wrong, expired or lack a permission. Needs an admin, not a retry."""


class OutcomeUnknown(HorseshoeError):
    """The request may or may not have taken effect (e.g. a read timeout after sending).

    For replies this is never retried blindly: posting twice is worse than asking an agent.
    """


class BadInput(HorseshoeError):
    """Input from outside (webhook body, CLI file, form) that cannot be accepted. Maps to HTTP 400."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


class Unauthorized(BadInput):
    """A request whose signature, token or metadata does not verify. Maps to HTTP 401/403."""

    def __init__(self, message: str, *, status: int = 401):
        super().__init__(message, status=status)
