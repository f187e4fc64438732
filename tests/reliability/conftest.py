from tests.core.conftest import rt, tenant, testnet

__all__ = ["rt", "tenant", "testnet"]
