"""Drive mentions from the testnet connector through horseshoe into the Salesforce fake."""

from __future__ import annotations

from plugin.identity.plugin import IdentityPlugin
from plugin.models import Mention
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.worker.loop import Worker
from tests.support.netplugin import make_mention

_n = iter(range(1, 10**9))


def plugin_of(rt: Runtime) -> IdentityPlugin:
    plugin = rt.pm.get_plugin("identity")
    assert isinstance(plugin, IdentityPlugin)
    return plugin


def post(author: str, text: str, *, private: bool = False, network: str = "testnet") -> Mention:
    mention = make_mention(
        f"m{next(_n)}", author=author, text=text, visibility="private" if private else "public",
        kind="direct" if private else "post",
    )  # fmt: skip
    return mention.model_copy(update={"network": network}) if network != "testnet" else mention


def run(rt: Runtime, account_id: int, *mentions: Mention) -> None:
    """Store the mentions, then let the worker route and deliver until idle."""
    found = rt.store.account(account_id)
    assert found is not None
    pipeline.ingest(rt, found[0], list(mentions))
    worker = Worker(rt, owner="identity-test")
    for _ in range(10):
        if not worker.run_once().busy:
            return
    raise AssertionError("worker did not settle")
