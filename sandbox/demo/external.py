"""Run the demo's world against horseshoe as separate processes (``horseshoe serve``, ``horseshoe worker``).

``build_world`` starts horseshoe's web app in a thread so the Zendesk install (admin UI form flow) can
run; ``hand_over`` then stops that thread and frees its port for an external ``horseshoe serve``:
the manifest's URLs, Zendesk's channelback and the networks' webhooks all keep pointing at the same
address. The chaos and faults benchmarks kill and restart those processes; the bench's own runtime
only reads the shared database (counts) and never works the queues.
"""

from __future__ import annotations

from sandbox.demo.run import World


def horseshoe_env(world: World, **overrides: str) -> dict[str, str]:
    """``HORSESHOE_*`` variables that make a serve or worker process share this world's database,
    secret key, public URL, Zendesk fake and quick pacing."""
    settings = world.runtime.settings
    env = {
        "HORSESHOE_DATA_DIR": world.data_dir,
        "HORSESHOE_DATABASE_URL": settings.resolved_database_url,
        "HORSESHOE_SECRET_KEY": settings.secret_key,
        "HORSESHOE_PUBLIC_URL": settings.public_url,
        "HORSESHOE_ZENDESK_API_BASE": settings.zendesk_api_base,
        "HORSESHOE_ALLOWED_PRIVATE_HOSTS": settings.allowed_private_hosts,  # the fakes (plugin/egress.py)
        "HORSESHOE_BACKOFF_BASE_SECONDS": str(settings.backoff_base_seconds),
        "HORSESHOE_BACKOFF_CAP_SECONDS": str(settings.backoff_cap_seconds),
        "HORSESHOE_WORKER_IDLE_SECONDS": str(settings.worker_idle_seconds),
        "HORSESHOE_LEASE_SECONDS": str(settings.lease_seconds),
        "HORSESHOE_BROKER_URL": "",
    }
    env.update(overrides)
    return env


def hand_over(world: World) -> int:
    """Stop the in-process web server and return its port, for an external ``horseshoe serve``."""
    port = world.web.port
    world.web.stop()
    return port
