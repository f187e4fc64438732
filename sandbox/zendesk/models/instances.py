"""Channel Framework integration instances (install through the admin UI, deactivate, update) and the
event callbacks Zendesk owes each instance."""

from __future__ import annotations

import secrets
from typing import Any

from .. import validation
from .records import IntegrationInstance, ZendeskAccount, zendesk_time
from .users import UsersState


class InstancesState(UsersState):
    """Integration instances and their pending event callbacks."""

    def begin_install(self, subdomain: str, manifest_url: str, manifest: dict[str, Any]) -> IntegrationInstance:
        """Zendesk mints ``instance_push_id`` and (with ``push_client_id``) an access token before it
        opens the admin UI; the instance becomes real when the UI posts to the return URL."""
        validation.validate_manifest(manifest)
        with self.lock:
            self.account(subdomain)
            instance = IntegrationInstance(
                id=self._id(),
                instance_push_id=secrets.token_hex(16),
                zendesk_access_token=secrets.token_hex(32) if manifest.get("push_client_id") else "",
                integration_id=str(manifest["id"]),
                integration_name=str(manifest["name"]),
                manifest_url=manifest_url,
                manifest=manifest,
                created_at=self.clock(),
            )
            self._pending_installs[instance.instance_push_id] = (subdomain, instance)
            return instance

    def finish_install(self, instance_push_id: str, name: str, metadata: str, state: str | None) -> IntegrationInstance:
        """What the return URL does with the admin UI's post: store name/metadata/state."""
        if not isinstance(name, str) or not name.strip():
            raise validation.PayloadInvalid("name is required")
        if len(name) > validation.MAX_INSTANCE_NAME:
            raise validation.PayloadInvalid("name is too long (maximum is 255 characters)")
        validation.validate_metadata_state(metadata, state)
        with self.lock:
            pending = self._pending_installs.pop(instance_push_id, None)
            if pending is not None:
                subdomain, instance = pending
                account = self.account(subdomain)
                account.instances[instance.id] = instance
                event_type = "create_integration_instance"
            else:
                found = self.find_instance(instance_push_id)
                if found is None:
                    raise KeyError("unknown instance_push_id")
                account, instance = found
                event_type = "activate_integration_instance" if not instance.active else ""
            instance.name = name
            instance.metadata = metadata
            if state is not None:
                instance.state = state
            instance.active = True
            instance.metadata_needs_update = False
            if event_type:
                self._queue_event(account, instance, event_type, {"metadata": instance.metadata})
            return instance

    def find_instance(self, instance_push_id: str) -> tuple[ZendeskAccount, IntegrationInstance] | None:
        with self.lock:
            for account in self.accounts.values():
                for instance in account.instances.values():
                    if instance.instance_push_id == instance_push_id:
                        return account, instance
            return None

    def instance_for_token(self, token: str) -> tuple[ZendeskAccount, IntegrationInstance] | None:
        with self.lock:
            for account in self.accounts.values():
                for instance in account.instances.values():
                    if instance.zendesk_access_token and secrets.compare_digest(instance.zendesk_access_token, token):
                        return account, instance
            return None

    def deactivate_instance(self, instance_push_id: str) -> IntegrationInstance:
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            account, instance = found
            instance.active = False
            self._queue_event(
                account,
                instance,
                "deactivate_integration_instance",
                {"metadata": instance.metadata, "deactivated_by": "api"},
            )
            return instance

    def update_instance(
        self,
        instance_push_id: str,
        *,
        state: str | None = None,
        metadata: str | None = None,
        metadata_needs_update: bool | None = None,
    ) -> IntegrationInstance:
        validation.validate_metadata_state(metadata, state)
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            instance = found[1]
            if state is not None:
                instance.state = state
            if metadata is not None:
                instance.metadata = metadata
            if metadata_needs_update is not None:
                instance.metadata_needs_update = metadata_needs_update
            return instance

    def _queue_event(
        self,
        account: ZendeskAccount,
        instance: IntegrationInstance,
        type_id: str,
        data: dict[str, Any],
        error: str | None = None,
    ) -> None:
        account.pending_events.setdefault(instance.id, []).append(
            self.make_event(account.subdomain, instance, type_id, data, error)
        )

    def make_event(
        self,
        subdomain: str,
        instance: IntegrationInstance,
        type_id: str,
        data: dict[str, Any],
        error: str | None = None,
    ) -> dict[str, Any]:
        """One callback event in the documented format (event_callback_base.json)."""
        event: dict[str, Any] = {
            "type_id": type_id,
            "timestamp": zendesk_time(self.clock()),
            "subdomain": subdomain,
            "integration_name": instance.integration_name,
            "integration_id": instance.integration_id,
            "data": data,
        }
        if error is not None:
            event["error"] = error
        return event

    def take_events(self, instance_push_id: str) -> list[dict[str, Any]]:
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                return []
            account, instance = found
            return account.pending_events.pop(instance.id, [])

    def queue_event(self, instance_push_id: str, type_id: str, data: dict[str, Any], error: str | None = None) -> None:
        with self.lock:
            found = self.find_instance(instance_push_id)
            if found is None:
                raise KeyError("unknown instance_push_id")
            self._queue_event(found[0], found[1], type_id, data, error)
