"""Per-account settings the host reads for every connector, shared by the built-in settings models.

``poll_interval_seconds`` is read by the worker (``plugin/worker.py``) from each account's settings, not
by the connector, yet it lives in the same settings mapping the connector's ``settings_model``
validates (``extra="forbid"``); so each built-in model inherits it from here. It would sit better on the
host's own base model in ``plugin/connector.py``.
"""

from __future__ import annotations

from pydantic import Field

from plugin.connector import ConnectorModel


class HostSettings(ConnectorModel):
    poll_interval_seconds: float | None = Field(
        default=None,
        gt=0,
        title="Poll interval (s)",
        description="Seconds between polls of this account; empty = the network's published default.",
    )
