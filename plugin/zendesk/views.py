"""Zendesk Channel Framework endpoints: manifest, pull, channelback, clickthrough, health, events.

The admin UI lives in ``admin.py``, on the same blueprint. Request and response formats follow the Channel framework
developer docs; every forged or malformed call is answered 4xx with a reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from flask import jsonify, redirect, request

from plugin import egress
from plugin.errors import AuthError, BadInput, FatalError, RetriableError
from plugin.models import Attachment, Labels, Reply, Visibility
from plugin.outbox import replies as outbox
from plugin.pipeline import notices
from plugin.store.statuses import ReplyStatus
from plugin.web.attachments import file_links
from plugin.web.extension import runtime
from plugin.web.forms import form_field, json_body
from plugin.zendesk import budget, links, trust
from plugin.zendesk.blueprint import bp
from plugin.zendesk.instances import instances
from plugin.zendesk.push import ZendeskPushClient
from plugin.zendesk.resources import external_resource, id_problem, namespaced, parent_known, split_namespaced
from plugin.zendesk.tokens import issue_state, read_state

log = logging.getLogger(__name__)

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.json"

# How long a channelback may wait for a network's pacing (a Telegram chat takes a message a second)
# before it answers "retry later": Zendesk needs the posted message's id in the answer, and a short
# wait in this request thread is better than an agent's retry that meets the same limit.
CHANNELBACK_PACING_WAIT = 5.0


def manifest_document(public_url: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    base = public_url.rstrip("/") + "/"
    manifest["urls"] = {key: urljoin(base, path.lstrip("/")) for key, path in manifest["urls"].items()}
    return manifest


@bp.get("/manifest.json")
def manifest() -> Any:
    return jsonify(manifest_document(runtime().settings.public_url))


@bp.route("/healthcheck", methods=["GET", "POST"])
def healthcheck() -> Any:
    return jsonify(status="ok")


@bp.get("/about")
def about() -> Any:
    return jsonify(
        name="horseshoe",
        description="Social mentions from every network as tickets; agents' replies posted back in the same thread.",
    )


@bp.post("/pull")
def pull() -> Any:
    rt = runtime()
    granted = trust.from_metadata(rt, form_field("metadata", max_length=5000))
    tenant_id = granted.tenant_id
    cursor = read_state(rt.box, form_field("state", required=False, max_length=5000), granted.tenant)
    page_size = min(200, rt.settings.pull_page_size)  # Zendesk accepts at most 200 per response
    rows = rt.store.inbox.not_delivered(tenant_id, "zendesk", granted.account_ids, cursor, page_size)
    mentions = [row.mention() for row in rows]
    parents = rt.store.deliveries.parent_states(
        tenant_id, "zendesk", {(m.network, m.parent_id) for m in mentions if m.parent_id}
    )
    in_page = {namespaced(m.network, m.external_id) for m in mentions}
    resources = []
    links = file_links(rt)
    for row, mention in zip(rows, mentions, strict=True):
        key = (mention.network, mention.parent_id or "")
        use_parent = parent_known(mention, parents.get(key), in_page)
        files = partial(links, tenant_id, mention.network, mention.account)
        resource = external_resource(mention, Labels(**(row.labels or {})), use_parent=use_parent, file_url=files)
        if id_problem(resource) is None:  # the push path records why; Zendesk would refuse it
            resources.append(resource)
    new_cursor = rows[-1].id if rows else cursor
    return jsonify(external_resources=resources, state=issue_state(rt.box, granted.tenant, int(new_cursor)))


@dataclass(frozen=True)
class ReplyTarget:
    """What an agent's reply answers: a customer's mention, or one of our own earlier replies."""

    account_id: int
    private: bool
    thread_id: str | None
    customer_id: str | None  # the customer's stable id on the network
    external_id: str  # what the reply answers on the network


def _find_target(tenant_id: int, network: str, external_id: str) -> ReplyTarget:
    store = runtime().store
    row = store.inbox.find(tenant_id, network, external_id)
    if row is not None and notices.is_notice(row.mention()):
        # Zendesk names the ticket's latest resource, here horseshoe's own note: the agent answers the
        # post the note is about (and the outbox holds the reply if that post was deleted).
        row = store.inbox.find(tenant_id, network, str(row.mention().extra.get("about") or ""))
    if row is not None and row.account_id is not None:
        mention = row.mention()
        private = mention.visibility == Visibility.PRIVATE
        return ReplyTarget(row.account_id, private, mention.thread_id, mention.author.external_id, row.external_id)
    sent = store.outbox.find_posted(tenant_id, network, external_id)
    if sent is not None and sent.account_id is not None:
        # Answering our own earlier reply: stay in its conversation, private if it was private.
        earlier = sent.reply()
        private = earlier.visibility == Visibility.PRIVATE
        return ReplyTarget(sent.account_id, private, earlier.thread_id, earlier.recipient_id, external_id)
    raise BadInput(f"nothing known to reply to for parent_id {network}:{external_id}", status=404)


MAX_FILE_URLS = 10  # Channel framework: an agent's comment hands over at most 10 file URLs
MAX_FILE_URL = 511


def _agent_files() -> list[Attachment]:
    """The agent's attachments (``file_urls[]``), each allowed by the egress rule before anything is
    fetched: a URL pointing into our own network is refused here with the reason, never fetched."""
    urls = [u for u in request.form.getlist("file_urls[]") if u]
    if len(urls) > MAX_FILE_URLS:
        raise BadInput(f"field 'file_urls[]' holds {len(urls)} URLs; at most {MAX_FILE_URLS} are accepted")
    allowed = egress.allowed_hosts(runtime().settings.allowed_private_hosts)
    files = []
    for url in urls:
        if len(url) > MAX_FILE_URL:
            raise BadInput(f"a file_urls[] entry is longer than {MAX_FILE_URL} characters")
        files.append(Attachment(url=egress.check_url(url, allowed, what="file_urls[] entry"), type="file"))
    return files


@bp.post("/channelback")
def channelback() -> Any:
    rt = runtime()
    granted = trust.from_metadata(rt, form_field("metadata", max_length=5000))
    tenant_id = granted.tenant_id
    message = form_field("message", max_length=65535)
    assert message is not None
    parent = form_field("parent_id", max_length=511)
    assert parent is not None
    unique = form_field("request_unique_identifier", max_length=255)
    recipient = form_field("recipient_id", required=False, max_length=255)
    files = _agent_files()
    try:
        network, parent_external = split_namespaced(parent)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    target = _find_target(tenant_id, network, parent_external)
    account_id, private = target.account_id, target.private
    granted.require_account(account_id)
    recipient_id = None
    if recipient:
        try:
            recipient_id = split_namespaced(recipient)[1]
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
    reply = Reply(
        network=network,
        account="",  # filled from the account row by the connector's context
        text=message,
        in_reply_to=target.external_id,
        thread_id=target.thread_id,
        recipient_id=recipient_id or target.customer_id,
        visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
        idempotency_key=f"zendesk:{granted.tenant}:{unique}",
        attachments=files,
    )
    found = rt.store.account(account_id)
    if found is None:
        raise BadInput("the account of that thread is no longer connected", status=410)
    reply = reply.model_copy(update={"account": found[0].external_id})
    try:
        state = outbox.enqueue(rt, tenant_id, account_id, reply, source=outbox.CHANNELBACK)
    except FatalError as exc:
        raise BadInput(str(exc), status=409) from exc
    if state.status == ReplyStatus.PENDING:
        state = outbox.attempt(rt, state.id, owner=f"channelback-{state.id}", wait_seconds=CHANNELBACK_PACING_WAIT)
    if state.status == ReplyStatus.SENT:
        assert state.external_id is not None
        return jsonify(external_id=namespaced(network, state.external_id), allow_channelback=True)
    if state.status == ReplyStatus.PENDING:
        headers = {"Retry-After": str(int(state.retry_after or 30))}
        return jsonify(error="temporarily_unavailable", reason=state.error), 503, headers
    if state.status == ReplyStatus.SENDING:
        return jsonify(error="in_progress", reason="this reply is being posted right now"), 409
    return jsonify(error=state.status, reason=state.error), 422


@bp.get("/clickthrough")
def clickthrough() -> Any:
    rt = runtime()
    granted = trust.from_metadata(rt, request.args.get("metadata"))
    external = request.args.get("external_id")
    if not external:
        raise BadInput("external_id is required")
    try:
        network, external_id = split_namespaced(external)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    tenant_id = granted.tenant_id
    mention = rt.store.inbox.find(tenant_id, network, external_id)
    url: object = None
    account_id: int | None = None
    if mention is not None and mention.account_id in granted.account_ids:
        url, account_id = mention.payload.get("url"), mention.account_id
    else:
        sent = rt.store.outbox.find_posted(tenant_id, network, external_id)
        found = sent is not None and sent.account_id in granted.account_ids
        url, account_id = (sent.url, sent.account_id) if found and sent is not None else (None, None)
    if not url or account_id is None:
        raise BadInput("no link known for that external_id", status=404)
    return redirect(links.checked_link(rt, network, account_id, str(url)), code=302)


@bp.post("/events")
def events() -> Any:
    """Event callbacks. Zendesk does not sign them, so they are recorded and only acted on after
    checking with Zendesk itself (e.g. an uninstall is confirmed by the push token no longer working).

    Anyone can call this, so it is bounded: at most ``events_max_per_request`` events, a byte budget
    per tenant per minute, one transaction for the whole request, nothing recorded for a subdomain
    that is not a tenant (no tenant row is ever created here)."""
    rt = runtime()
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BadInput("body must be an object with an 'events' list")
    if len(body["events"]) > rt.settings.events_max_per_request:
        raise BadInput(f"at most {rt.settings.events_max_per_request} events per request", status=413)
    tenants: dict[str, int | None] = {}
    rows: list[tuple[int | None, str, dict[str, Any]]] = []
    known: list[tuple[int, str, dict[str, Any]]] = []
    for event in body["events"]:
        if not isinstance(event, dict) or not isinstance(event.get("type_id"), str):
            raise BadInput("each event needs a string 'type_id'")
        subdomain = event.get("subdomain")
        if not isinstance(subdomain, str) or not trust.SUBDOMAIN.fullmatch(subdomain):
            continue
        if subdomain not in tenants:
            tenants[subdomain] = rt.store.tenant_id(subdomain)
        tenant_id = tenants[subdomain]
        if tenant_id is None:
            continue
        rows.append((tenant_id, f"zendesk:{event['type_id']}", event))
        known.append((tenant_id, subdomain, event))
    size = len(request.get_data(cache=True))
    for subdomain in {s for _, s, _ in known}:
        if not budget.spend(rt.store.callback_budgets, subdomain, size, rt.settings.events_max_bytes_per_tenant):
            reason = f"event budget for {subdomain} used up"
            return jsonify(error="rate_limited", reason=reason), 429, {"Retry-After": "60"}
    rt.store.events.record_many(rows)
    for tenant_id, subdomain, event in known:
        if event["type_id"] == "destroy_integration_instance":
            _confirm_uninstall(tenant_id)
        _plugin_event(subdomain, event)
    return jsonify(received=len(rows), ignored=len(body["events"]) - len(rows))


def _plugin_event(tenant_key: str, event: dict[str, Any]) -> None:
    """Hand each recorded callback to the plugins (the identity plugin acts on identity removals and
    created users, after confirming with Zendesk)."""
    for done in runtime().hooks.crm_event(sink="zendesk", tenant=tenant_key, event=event):
        log.info("zendesk event %s: %s", event["type_id"], done)


def _confirm_uninstall(tenant_id: int) -> None:
    """Forget the instances whose push token Zendesk no longer accepts."""
    rt = runtime()
    config = rt.store.sink_connection(tenant_id, "zendesk")
    if config is None:
        return
    alive = []
    for instance in instances(config):
        try:
            if ZendeskPushClient(instance.client_config(config)).validate_token():
                alive.append(instance)
        except AuthError:
            continue
        except RetriableError as exc:  # Zendesk unreachable: keep it, the next event decides
            log.warning("could not confirm uninstall for tenant %s: %s", tenant_id, exc)
            alive.append(instance)
    if not alive:
        rt.store.disable_sink_connection(tenant_id, "zendesk", "integration instance removed in Zendesk")
        # Uninstall revokes: every metadata, state and admin session issued for the tenant dies.
        trust.revoke(rt, rt.store.tenant_key(tenant_id), "zendesk integration uninstalled")
        return
    kept = {i.push_id for i in alive}
    if kept != {i.push_id for i in instances(config)} and "instances" in config:
        remaining = {k: v for k, v in config["instances"].items() if k in kept}
        rt.store.set_sink_connection(tenant_id, "zendesk", {**config, "instances": remaining})
