"""Re-use the Salesforce fake fixtures (HTTPS org, runtime with the testnet connector, tenant)."""

from tests.salesforce.conftest import rt, running_sf, sfenv, tenant, testnet

__all__ = ["rt", "running_sf", "sfenv", "tenant", "testnet"]
