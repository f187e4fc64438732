"""Configuration: defaults that need nothing, overridden by a TOML file, overridden by HORSESHOE_* env vars.

The TOML file is ``horseshoe.toml`` in the working directory or the path in ``HORSESHOE_CONFIG``.
Keys in the file are the field names below (e.g. ``database_url = "postgresql+psycopg://..."``).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "HORSESHOE_"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    data_dir: str = "."
    database_url: str = ""  # empty = SQLite file horseshoe.db in data_dir
    public_url: str = DEFAULT_PUBLIC_URL
    secret_key: str = field(default="", repr=False)  # empty = generated once and kept in data_dir
    broker_url: str = ""  # empty = no Celery: serve's own worker process, or horseshoe worker alone
    log_level: str = "INFO"
    max_body_bytes: int = 1_000_000
    worker_idle_seconds: float = 1.0
    # One delivery thread per CRM beside the routing loop of ``run_forever`` (plugin/worker/lanes.py)
    worker_delivery_lanes: bool = True
    delivery_batch_size: int = 0  # most mentions per CRM call; 0 = the CRM's own maximum (Zendesk 100, Salesforce 200)
    # Halve a failed delivery's batch on each retry (plugin/worker/retrysplit.py). Off by default: a
    # batch's chance to get through hardly depends on its size (about ten calls either way) while each
    # success then carries fewer items, so under call-level faults (bench faults, 30 %) it cut
    # Salesforce throughput about sixfold. For a CRM whose whole-batch failures come from one item.
    delivery_split_on_retry: bool = False
    max_attempts: int = 12  # a reply's attempts before it is reported failed to the agent
    give_up_after_hours: float = 72.0  # a delivery keeps retrying this long (a CRM down for a day loses nothing)
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 3600.0
    lease_seconds: float = 120.0
    zendesk_api_base: str = ""  # empty = https://{subdomain}.zendesk.com; the sandbox sets it
    # Hosts exempt from the private-address rule (plugin/egress.py), comma-separated: the sandbox's
    # 127.0.0.1, an on-premises Mastodon. Empty = none.
    allowed_private_hosts: str = ""
    # Where the guided connect flows reach each network instead of its real hosts, comma-separated
    # "network=url" (the sandbox's fakes); empty = the networks' own hosts.
    connect_api_bases: str = ""
    connect_ca_bundle: str = ""  # a CA file the connect flows trust besides the system's (the sandbox's TLS)
    metrics_token: str = field(default="", repr=False)  # set = /metrics and /healthz counts need it
    key_grace_hours: float = 48.0  # a rotated signing key keeps verifying this long
    install_code_hours: float = 72.0  # an install code from `horseshoe tenants invite` lives this long
    events_max_per_request: int = 100  # /zendesk/events: Zendesk batches far fewer
    events_max_bytes_per_tenant: int = 1_000_000  # /zendesk/events bytes per tenant per minute
    pull_page_size: int = 200
    triage_rules: str = ""  # empty = mappings/triage.yaml as installed (see that file's header)
    handoff_acks: str = ""  # empty = mappings/handoff.yaml as installed: a handoff's public answer per language
    smtp_url: str = field(default="", repr=False)  # smtp://user:password@host:port; empty = no email
    smtp_from: str = "horseshoe@localhost"
    console_session_hours: float = 12.0  # a standalone console login lasts this long
    console_login_failures: int = 5  # failed logins per admin name or address before a pause
    console_login_window_minutes: float = 15.0  # ...counted over this window, which is also the pause
    admin_password_memory_kib: int = 65536  # argon2id cost of admin passwords (lowered only in tests)
    admin_password_time_cost: int = 3
    # First-response SLA thresholds in minutes (the dashboard, /api/metrics): multiples of 5 up to 24 h.
    sla_minutes: str = "60,360,1440"
    # How often the worker reads solved tickets / closed cases for the resolution figures.
    resolution_poll_seconds: float = 60.0
    # Where "needs attention" notices go (an expired or revoked token; issue 15): a JSON POST to this
    # URL, once per flagged account or CRM connection. Empty = logged only.
    admin_webhook_url: str = ""
    # One rate budget per target shared by every worker (issue 11, plugin/ratebudget.py): "auto" keeps
    # the buckets in Redis when rate_budget_redis_url or a redis:// broker_url is set, else in the
    # database; "database", "redis" force one; "off" sends without a budget (only 429 pauses).
    rate_budget_backend: str = "auto"
    rate_budget_redis_url: str = field(default="", repr=False)
    rate_budget_headroom: float = 0.05  # share of each limit kept as the burst, never paced into
    zendesk_plan: str = "team"  # per-minute API limit by plan until X-Rate-Limit says (team: 200)
    salesforce_daily_api_requests: int = 100_000  # until Sforce-Limit-Info says
    stuck_after_polls: int = 3  # consecutive failed polls after which an account's cursor counts as stuck
    # A token that expires and that horseshoe cannot renew (a Meta Page's data access, 90 days after the
    # admin's last login) flags its account "needs attention" this many days ahead (plugin/expiry.py).
    token_warning_days: float = 7.0
    # The operator's path to type an account's raw credentials for a network that has a guided connect
    # flow (tests, a setup the flow cannot reach). Off: admins connect such networks through the flow only.
    manual_account_form: bool = False

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'horseshoe.db'}"


def _coerce(kind: Any, raw: str) -> Any:
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    return raw


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, the optional TOML file, env vars, then explicit overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    config_path = Path(env.get(f"{ENV_PREFIX}CONFIG", "horseshoe.toml"))
    known = {f.name: f for f in fields(Settings)}
    if config_path.is_file():
        with config_path.open("rb") as handle:
            data = tomllib.load(handle)
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"{config_path}: unknown settings {sorted(unknown)}")
        values.update(data)
    for name, spec in known.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _coerce(spec.type, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    if not settings.secret_key:
        settings = replace(settings, secret_key=_stored_secret(Path(settings.data_dir)))
    return settings


def _stored_secret(data_dir: Path) -> str:
    """The generated key lives beside the database so a restart can still decrypt what it stored."""
    path = data_dir / "horseshoe-secret.key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
