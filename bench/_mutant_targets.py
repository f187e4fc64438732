"""What ``python -m bench mutants`` mutates, and which tests judge each module's mutants.

The modules that carry promises (issue 12): the outbox (a reply is posted at most once, never in
public with personal data), signature verification (nobody but the network or Zendesk is believed),
worker poll cursors (nothing skipped, nothing lost after an error), Zendesk pull/push, identity undo,
Salesforce inbound. Where only part of a module carries the promise, ``functions`` names it
(qualified names; a class name takes all its methods). ``tests`` are the test files (or node ids)
that exercise the module: the whole suite per mutant would take days on two shared cores. They run
in-process only: tests that start ``horseshoe serve`` in a subprocess would not see the mutant.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    functions: tuple[str, ...] | None
    tests: tuple[str, ...]
    timeout: float = 0.0  # seconds per mutant; 0: from the baseline run (3 x its time + 30 s)
    # Hand-written mutants (name, old text, new text): mistakes the operators do not make.
    named: tuple[tuple[str, str, str], ...] = ()

    @property
    def path(self) -> str:
        return self.module.replace(".", "/") + ".py"


TARGETS: tuple[Target, ...] = (
    Target(
        "outbox.replies",
        "plugin.outbox.replies",
        None,
        ("tests/core/test_outbox.py", "tests/reliability/test_promises.py",
         "tests/security/test_findings.py::test_finding_5_pii_guard_in_the_outbox",
         "tests/connectors/meta/test_double_post.py", "tests/core/test_outbox_outcomes.py",
         "tests/core/test_unquoted.py",
         "tests/dashboard/test_rating_writes.py::test_a_question_that_cannot_be_sent_is_recorded_and_counted_until_a_"
         "retry_gets_it_through",
         "tests/dashboard/test_rating_writes.py::test_a_question_whose_attempt_outlived_its_lease_and_was_not_sent_is_"
         "recorded_failed",
         "tests/dashboard/test_rating_writes.py::test_a_question_refused_without_a_reason_is_recorded_as_not_sent",
         "tests/core/test_budget_worker.py::test_polls_and_replies_spend_from_the_account_budget",
         "tests/core/test_hookspecs.py::test_every_hook_is_exercised"),
        named=(
            # Issue 12: an unexpected connector exception during a reply retried instead of uncertain.
            ("unexpected exception retried (pending) instead of uncertain",
             "not retried to avoid a double post\"\n        _finish(runtime, reply_id, owner, reply.network, "
             "ReplyStatus.UNCERTAIN, last_error=error)",
             "not retried to avoid a double post\"\n        _finish(runtime, reply_id, owner, reply.network, "
             "ReplyStatus.PENDING, next_attempt_at=utcnow(), last_error=error)"),
        ),
    ),
    Target("outbox.unquoted", "plugin.outbox.unquoted", None, ("tests/core/test_unquoted.py",)),
    Target("outbox.guard", "plugin.outbox.guard", None,
           ("tests/core/test_reply_guard_rules.py",
            "tests/security/test_findings.py::test_finding_5_pii_guard_in_the_outbox")),
    Target(
        "trust",
        "plugin.trust",
        None,
        ("tests/security/test_tokens.py", "tests/security/test_findings.py", "tests/web/test_attachments.py",
         "tests/security/test_trust_grants.py"),
    ),
    Target(
        "zendesk.trust",
        "plugin.zendesk.trust",
        None,
        ("tests/security/test_tokens.py", "tests/security/test_findings.py",
         "tests/web/test_admin_account_form.py", "tests/security/test_zendesk_trust.py"),
    ),
    Target(
        "meta.signature",
        "connectors.meta.webhook",
        ("sign_body", "is_handshake", "verify_meta_request", "handshake_result", "MetaWebhookConnector.verify_request"),
        ("tests/security/test_webhook_signatures.py", "tests/connectors/meta/test_webhook_auth.py",
         "tests/connectors/meta/test_webhook_methods.py",
         "tests/reliability/test_promises.py::test_an_empty_meta_app_secret_is_not_a_signing_key"),
        named=(
            # Issue 12: an empty Meta app secret accepted as a valid signing key.
            ("empty app secret accepted", "if not secret or not signature.startswith", "if not signature.startswith"),
        ),
    ),
    Target("x.webhook", "connectors.x.webhook", None, ("tests/security/test_webhook_signatures.py",
                                                       "tests/connectors/x/test_x_webhook.py")),
    Target("telegram.verify", "connectors.telegram.connector", ("TelegramConnector.verify_request",),
           ("tests/security/test_webhook_signatures.py", "tests/connectors/telegram/test_parse.py")),
    Target("vk.verify", "connectors.vk.connector", ("VKConnector._body", "VKConnector.verify_request"),
           ("tests/security/test_webhook_signatures.py", "tests/connectors/vk/test_parse.py")),
    Target("mastodon.verify", "connectors.mastodon.connector", ("MastodonConnector.verify_request",),
           ("tests/security/test_webhook_signatures.py", "tests/connectors/mastodon/test_connector.py")),
    Target("bluesky.verify", "connectors.bluesky.connector", ("BlueskyConnector.verify_request",),
           ("tests/security/test_webhook_signatures.py", "tests/connectors/bluesky/test_connector.py")),
    Target(
        "worker.cursors",
        "plugin.worker.loop",
        ("Worker.poll_due", "Worker.wake_polls", "Worker._poll_account"),
        ("tests/reliability/test_promises.py", "tests/core/test_poll_schedule.py",
         "tests/core/test_health_attention.py", "tests/core/test_item_boundary.py",
         "tests/core/test_concurrent_workers.py"),
        named=(
            # Issue 12: a poll error resetting the account's cursor (Facebook's fresh cursor is "now").
            ("poll error resets the cursor",
             "account_id, next_poll=when, owner=self.owner, failures=failures, last_error=str(exc)",
             "account_id, next_poll=when, owner=self.owner, failures=failures, last_error=str(exc), cursor=None"),
            # Issue 12: a worker that never saves its poll cursor.
            ("cursor never saved",
             "owner=self.owner, cursor=page.cursor, failures=0, last_error=None",
             "owner=self.owner, failures=0, last_error=None"),
        ),
    ),
    Target(
        "store.cursors",
        "plugin.store.accounts",
        ("AccountRepository.claim_due_polls", "AccountRepository.renew_polls",
         "AccountRepository.cursor", "AccountRepository.release_cursor",
         "AccountRepository.save_cursor", "AccountRepository.wake_poll",
         "AccountRepository.wake_polls"),
        ("tests/reliability/test_promises.py", "tests/core/test_poll_schedule.py",
         "tests/core/test_repositories.py", "tests/core/test_concurrent_workers.py"),
    ),
    Target("zendesk.push", "plugin.zendesk.push", None,
           ("tests/sandbox_zendesk/test_push_outcomes.py", "tests/sandbox_zendesk/test_push.py",
            "tests/sandbox_zendesk/test_push_sink.py")),
    Target(
        "zendesk.views",
        "plugin.zendesk.views",
        ("pull", "ReplyTarget", "_find_target", "_agent_files", "channelback", "events", "_plugin_event",
         "_confirm_uninstall"),
        ("tests/reliability/test_crm_promises.py", "tests/security/test_findings.py",
         "tests/web/test_attachments.py", "tests/reliability/test_zendesk_channelback.py",
         "tests/reliability/test_zendesk_events.py"),
        named=(
            # Issue 12: an empty Zendesk pull page resetting the cursor to the start.
            ("empty pull page resets the cursor", "rows[-1].id if rows else cursor", "rows[-1].id if rows else 0"),
        ),
    ),
    Target(
        "identity.undo",
        "plugin.identity.plugin",
        ("IdentityPlugin.undo",),
        ("tests/identity/test_undo_failure.py", "tests/identity/test_undo_records.py",
            "tests/identity/test_undo_records_salesforce.py",
         "tests/identity/test_zendesk_identity.py", "tests/identity/test_salesforce_identity.py",
         "tests/identity/test_identity_web.py"),
    ),
    Target("identity.undo_zendesk", "plugin.identity.zendesk", ("ZendeskIdentityAdapter.undo",),
           ("tests/identity/test_undo_failure.py", "tests/identity/test_undo_records.py",
            "tests/identity/test_undo_records_salesforce.py",
            "tests/identity/test_zendesk_identity.py")),
    Target("identity.undo_salesforce", "plugin.identity.salesforce", ("SalesforceIdentityAdapter.undo",),
           ("tests/identity/test_undo_failure.py", "tests/identity/test_undo_records.py",
            "tests/identity/test_undo_records_salesforce.py",
            "tests/identity/test_salesforce_identity.py")),
    Target(
        "salesforce.inbound",
        "plugin.salesforce.inbound",
        None,
        ("tests/salesforce/test_inbound.py", "tests/salesforce/test_reopen_status.py",
         "tests/salesforce/test_lease_takeover.py", "tests/salesforce/test_fidelity.py",
         "tests/salesforce/test_inbound_threads.py", "tests/salesforce/test_inbound_outcomes.py",
         "tests/salesforce/test_inbound_networks.py", "tests/salesforce/test_inbound_adoption.py"),
    ),
    Target(
        "salesforce.casestatus",
        "plugin.salesforce.casestatus",
        None,
        ("tests/salesforce/test_reopen_status.py", "tests/salesforce/test_case_status_cache.py"),
        named=(
            # Issue 12: the Salesforce ``reopen_status`` setting ignored.
            ("reopen_status setting ignored", "    if configured:\n        return str(configured)\n", ""),
        ),
    ),
)  # fmt: skip


def by_name(name: str) -> Target:
    for target in TARGETS:
        if target.name == name:
            return target
    raise KeyError(f"no mutation target {name!r}; known: {', '.join(t.name for t in TARGETS)}")
