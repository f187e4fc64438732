"""What identity resolution reads once per routing pass instead of once per mention.

The resolve hook is called per mention and sink. Within a routing pass (``plugin.context.current_pass``)
one ``PassLookups`` per tenant and sink holds the stored links of every author of the pass, the
contacts of those whose verdict may need revisiting, and whether the sink has an identity adapter,
each read with one query the first time a mention needs it: a pass of 200 mentions costs a few
queries, not a few per mention. Outside a pass (a hook called on its own) it covers one profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from plugin.context import current_pass
from plugin.identity.scoring import Facts
from plugin.models import SocialProfile
from plugin.store.identity import IdentityLink
from plugin.store.statuses import LinkStatus

if TYPE_CHECKING:
    from plugin.identity.plugin import IdentityPlugin

Key = tuple[str, str]  # (network, author external id)


@dataclass
class PassLookups:
    plugin: IdentityPlugin
    tenant_id: int
    sink: str
    keys: frozenset[Key]
    _links: dict[Key, IdentityLink] | None = None
    _facts: dict[Key, Facts] = field(default_factory=dict)
    _facts_read: set[Key] = field(default_factory=set)
    _adapter: bool | None = None

    @classmethod
    def for_profile(cls, plugin: IdentityPlugin, tenant_id: int, sink: str, key: Key) -> PassLookups:
        """The pass's look-ups for this tenant and sink when ``key`` is one of its authors; else
        look-ups of this one profile."""
        scope = current_pass()
        keys = scope.authors.get(tenant_id, frozenset()) if scope is not None else frozenset()
        if scope is None or key not in keys:
            return cls(plugin, tenant_id, sink, frozenset({key}))
        memo_key = ("identity", id(plugin), tenant_id, sink)
        found = scope.memo.get(memo_key)
        if not isinstance(found, PassLookups):
            found = scope.memo[memo_key] = cls(plugin, tenant_id, sink, keys)
        return found

    def link(self, key: Key) -> IdentityLink | None:
        if self._links is None:
            self._links = self.plugin.store.links_for(self.tenant_id, self.sink, sorted(self.keys))
        return self._links.get(key)

    def fingerprint(self, profile: SocialProfile) -> str:
        """The profile's match fingerprint from its author's contacts, read for every author of the
        pass whose link is a "new customer" verdict (the only ones a fingerprint can reopen)."""
        key = (profile.network, profile.external_id)
        if key not in self._facts_read:
            wanted = {key} | {
                k for k in self.keys - self._facts_read if (found := self.link(k)) and found.status == LinkStatus.NEW
            }
            self._facts.update(self.plugin.facts_for(self.tenant_id, sorted(wanted)))
            self._facts_read |= wanted
        return self._facts.get(key, Facts()).fingerprint(profile)

    def has_adapter(self) -> bool:
        """Checked once per pass (never stored: credentials added later apply from the next pass)."""
        if self._adapter is None:
            self._adapter = self.plugin._adapter(self.tenant_id, self.sink) is not None
        return self._adapter

    def written(self) -> None:
        """Verdicts were stored: the links are read again when next needed."""
        self._links = None
