"""``ZendeskDriver``: plays Zendesk's part towards a Channel Framework integration over real HTTP.

Everything the driver knows about the integration comes from its public manifest. Request formats
follow the Channel Framework docs:

* admin UI (Administrative interface / Push "Obtaining an access token"): form POST of ``name``,
  ``metadata``, ``state``, ``return_url``, ``instance_push_id``, ``zendesk_access_token``,
  ``subdomain``, ``locale``; the integration's UI finally posts ``name``, ``metadata`` (and
  optionally ``state``) to ``return_url``;
* pull (Pull requests): form POST of ``metadata`` and ``state``; answer
  ``{external_resources, state?, metadata_needs_update?, metadata?}``;
* channelback (Channelback): form POST of ``message``, ``parent_id``, ``recipient_id``, ``metadata``,
  ``request_unique_identifier``, ``thread_id``, ``file_urls[]``; answer ``{external_id,
  allow_channelback?}``; anything else marks the agent's comment as failed;
* clickthrough: GET with ``external_id``, ``metadata``, ``state``; healthcheck: GET with ``metadata``,
  ``state``;
* event callbacks: JSON POST ``{"events": [...]}``.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

import requests

from . import validation
from .forms import parse_forms
from .models import Comment, ImportResult, IntegrationInstance, ZendeskState
from .responses import RETURN_PATH

log = logging.getLogger(__name__)

MAX_ADMIN_STEPS = 10


class DriverError(RuntimeError):
    """The integration broke the Channel Framework contract (bad manifest, form flow, pull answer)."""


@dataclass
class ChannelbackOutcome:
    comment: Comment
    status: str  # "sent" | "failed"
    http_status: int | None
    body: str


class ZendeskDriver:
    def __init__(
        self,
        state: ZendeskState,
        zendesk_base_url: str,
        integration_manifest_url: str,
        subdomain: str,
        http: requests.Session | None = None,
        *,
        locale: str = "en-US",
        timeout: float = 10.0,
    ):
        self.state = state
        self.zendesk_base_url = zendesk_base_url.rstrip("/")
        self.manifest_url = integration_manifest_url
        self.subdomain = subdomain
        self.http = http if http is not None else requests.Session()
        self.locale = locale
        self.timeout = timeout
        self.manifest: dict[str, Any] | None = None
        self.instance: IntegrationInstance | None = None

    # ------------------------------------------------------------------ manifest
    def fetch_manifest(self) -> dict[str, Any]:
        response = self.http.get(self.manifest_url, timeout=self.timeout)
        if response.status_code != 200:
            raise DriverError(f"manifest answered HTTP {response.status_code}")
        try:
            manifest = validation.validate_manifest(response.json())
        except (ValueError, validation.PayloadInvalid) as exc:
            raise DriverError(f"invalid manifest: {exc}") from exc
        self.manifest = manifest
        return manifest

    def _url(self, key: str) -> str:
        manifest = self.manifest or self.fetch_manifest()
        url = manifest["urls"].get(key)
        if not url:
            raise DriverError(f"manifest has no urls.{key}")
        return str(url)

    def _instance(self) -> IntegrationInstance:
        if self.instance is None:
            raise DriverError("no integration instance installed")
        return self.instance

    # ------------------------------------------------------------------ admin UI
    def install(self, admin_choices: dict[str, str] | None = None) -> IntegrationInstance:
        """Create an integration instance by walking the admin UI like an administrator's browser."""
        manifest = self.fetch_manifest()
        pending = self.state.begin_install(self.subdomain, self.manifest_url, manifest)
        self.instance = self._run_admin_ui(pending, name="", metadata="", state="", admin_choices=admin_choices)
        return self.instance

    def reconfigure(self, admin_choices: dict[str, str] | None = None) -> IntegrationInstance:
        """Open the admin UI for the existing instance (existing name/metadata/state are posted)."""
        instance = self._instance()
        self.instance = self._run_admin_ui(
            instance,
            name=instance.name,
            metadata=instance.metadata,
            state=instance.state,
            admin_choices=admin_choices,
        )
        return self.instance

    def _run_admin_ui(
        self,
        instance: IntegrationInstance,
        *,
        name: str,
        metadata: str,
        state: str,
        admin_choices: dict[str, str] | None,
    ) -> IntegrationInstance:
        return_url = (
            f"{self.zendesk_base_url}{RETURN_PATH}?{urlencode({'instance_push_id': instance.instance_push_id})}"
        )
        fields = {
            "name": name,
            "metadata": metadata,
            "state": state,
            "return_url": return_url,
            "instance_push_id": instance.instance_push_id,
            "subdomain": self.subdomain,
            "locale": self.locale,
        }
        if instance.zendesk_access_token:
            fields["zendesk_access_token"] = instance.zendesk_access_token
        url = self._url("admin_ui")
        response = self.http.post(url, data=fields, timeout=self.timeout)
        for _step in range(MAX_ADMIN_STEPS):
            if response.status_code >= 400:
                raise DriverError(f"admin UI step {response.url} answered HTTP {response.status_code}")
            forms = parse_forms(response.text)
            if not forms:
                raise DriverError(f"admin UI page {response.url} has no form to submit")
            form = forms[0]
            action = urljoin(response.url, form.action) if form.action else response.url
            values = form.values(admin_choices)
            if action == return_url:
                # The browser posts to Zendesk itself: the return URL stores name/metadata/state.
                final = self.http.post(action, data=values, timeout=self.timeout)
                if final.status_code != 200:
                    raise DriverError(f"return_url rejected the admin UI post: {final.status_code} {final.text}")
                found = self.state.find_instance(instance.instance_push_id)
                assert found is not None
                return found[1]
            if form.method == "post":
                response = self.http.post(action, data=values, timeout=self.timeout)
            else:
                response = self.http.get(action, params=values, timeout=self.timeout)
        raise DriverError(f"admin UI did not post to return_url within {MAX_ADMIN_STEPS} steps")

    # ------------------------------------------------------------------ pull
    def pull(self) -> list[ImportResult]:
        """One pull request, as Zendesk makes every ~2 minutes; imports the answer's resources."""
        instance = self._instance()
        response = self.http.post(
            self._url("pull_url"),
            data={"metadata": instance.metadata, "state": instance.state},
            timeout=self.timeout,
        )
        if response.status_code != 200:
            raise DriverError(f"pull answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            payload = validation.validate_pull_response(response.json())
        except (ValueError, validation.PayloadInvalid) as exc:
            raise DriverError(f"invalid pull response: {exc}") from exc
        request_id = uuid.uuid4().hex
        results = self.state.import_resources(instance.instance_push_id, payload["external_resources"], request_id)
        self.state.update_instance(
            instance.instance_push_id,
            state=payload.get("state"),
            metadata=payload.get("metadata"),
            metadata_needs_update=payload.get("metadata_needs_update"),
        )
        duplicates = [
            {
                "external_id": r.external_resource_id,
                "request_id": request_id,
                "ticket_id": r.ticket_id,
                "comment_id": r.comment_id,
            }
            for r in results
            if r.code == "already_imported"
        ]
        self.state.queue_event(
            instance.instance_push_id,
            "pull_request",
            {
                "integration_instance_name": instance.name,
                "url": self._url("pull_url"),
                "request_id": request_id,
                "duplicate_external_ids": duplicates,
            },
        )
        return results

    # ------------------------------------------------------------------ channelback
    def agent_reply(
        self,
        ticket_id: int,
        text: str,
        agent_id: int | None = None,
        request_unique_identifier: str | None = None,
        file_urls: list[str] | None = None,
    ) -> Comment:
        """An agent's public reply: a comment on the ticket, sent through channelback. Reusing a
        ``request_unique_identifier`` retries the same comment, as Zendesk does."""
        if len(text) > validation.MAX_CHANNELBACK_MESSAGE:
            raise ValueError("message is too long")
        rui = request_unique_identifier or uuid.uuid4().hex
        if len(rui) > validation.MAX_REQUEST_UNIQUE_IDENTIFIER:
            raise ValueError("request_unique_identifier is too long")
        target = self.state.channelback_target(self.subdomain, ticket_id)
        instance: IntegrationInstance = target["instance"]
        author = agent_id if agent_id is not None else self._default_agent()
        comment = self.state.start_channelback(self.subdomain, ticket_id, author, text, rui, file_urls)
        form: list[tuple[str, str]] = [
            ("message", comment.body),
            ("parent_id", target["parent_id"] or ""),
            ("recipient_id", target["recipient_id"] or ""),
            ("metadata", instance.metadata),
            ("request_unique_identifier", rui),
        ]
        if target["thread_id"] is not None:
            form.append(("thread_id", target["thread_id"]))
        form.extend(("file_urls[]", url) for url in comment.attachments)
        self._send_channelback(comment, form)
        return comment

    def retry_channelback(self, comment_id: int) -> Comment:
        """Resend a failed channelback with the same request_unique_identifier."""
        with self.state.lock:
            comment = self.state.account(self.subdomain).comments[comment_id]
            if comment.channelback is None:
                raise ValueError("not a channelback comment")
            rui = str(comment.channelback["request_unique_identifier"])
        return self.agent_reply(comment.ticket_id, comment.body, comment.author_id, rui)

    def _send_channelback(self, comment: Comment, form: list[tuple[str, str]]) -> None:
        try:
            response = self.http.post(self._url("channelback_url"), data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            # A network failure is a failed channelback, kept on the comment for the agent to retry.
            log.warning("channelback for comment %s failed: %s", comment.id, type(exc).__name__)
            self.state.record_channelback(
                self.subdomain, comment.id, http_status=None, body="", payload=None, error=type(exc).__name__
            )
            return
        payload: dict[str, Any] | None = None
        error: str | None = None
        if 200 <= response.status_code < 300:
            try:
                payload = validation.validate_channelback_response(response.json())
            except (ValueError, validation.PayloadInvalid) as exc:
                error = f"invalid channelback response: {exc}"
        else:
            error = f"HTTP {response.status_code}"
        self.state.record_channelback(
            self.subdomain,
            comment.id,
            http_status=response.status_code,
            body=response.text,
            payload=payload if error is None else None,
            error=error,
        )

    def _default_agent(self) -> int:
        with self.state.lock:
            for user in sorted(self.state.account(self.subdomain).users.values(), key=lambda u: u.id):
                if user.role in ("agent", "admin") and user.active:
                    return user.id
        raise DriverError("the account has no agent")

    # ------------------------------------------------------------------ events, clickthrough, healthcheck
    def send_events(self, events: list[dict[str, Any]]) -> requests.Response:
        """POST ``{"events": events}`` to event_callback_url (events as built by ``make_event``)."""
        return self.http.post(
            self._url("event_callback_url"),
            data=json.dumps({"events": events}),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )

    def make_event(self, type_id: str, data: dict[str, Any], error: str | None = None) -> dict[str, Any]:
        return self.state.make_event(self.subdomain, self._instance(), type_id, data, error)

    def flush_events(self) -> requests.Response | None:
        """Send every event Zendesk has queued for the instance (instance created, resources created,
        pull requests...), aggregated in one request as Zendesk does."""
        events = self.state.take_events(self._instance().instance_push_id)
        if not events:
            return None
        return self.send_events(events)

    def clickthrough(self, external_id: str) -> requests.Response:
        instance = self._instance()
        return self.http.get(
            self._url("clickthrough_url"),
            params={"external_id": external_id, "metadata": instance.metadata, "state": instance.state},
            allow_redirects=False,
            timeout=self.timeout,
        )

    def healthcheck(self) -> requests.Response:
        instance = self._instance()
        return self.http.get(
            self._url("healthcheck_url"),
            params={"metadata": instance.metadata, "state": instance.state},
            timeout=self.timeout,
        )
