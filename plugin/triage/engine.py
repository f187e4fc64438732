"""The built-in triage, composed: language, intent, sentiment, PII, engage, priority, routing.

One ``Triager`` per plugin manager; it holds the rules file (reloaded on change), the shipped model and,
when a runtime exists, the store look-ups (open case, bot loop, echo; per routing pass, see
``plugin.triage.lookups``). Without a store (the ``horseshoe triage`` command) those look-ups answer
"no".
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from plugin.context import Tenant
from plugin.models import Labels, Mention, Visibility
from plugin.store.triage import TriageRepository
from plugin.triage import language as lang
from plugin.triage import pii
from plugin.triage.classifier import Model
from plugin.triage.engage import History, skip_reason
from plugin.triage.intent import decide
from plugin.triage.lookups import PassHistory
from plugin.triage.priority import PriorityInputs, priority
from plugin.triage.rules import RulesFile, TenantRules, fold
from plugin.triage.sentiment import sentiment

OPEN_CASE_DAYS = 7.0  # a customer's earlier routed mention this recent counts as an open case


class Triager:
    def __init__(self, rules: RulesFile, model: Model, repository: TriageRepository | None = None):
        self.rules = rules
        self.model = model
        self.repository = repository

    def history(self, mention: Mention, tenant: Tenant | None, rules: TenantRules, intent: str | None) -> History:
        if self.repository is None or tenant is None:
            return History()
        # An open case only raises the priority of what can be raised (not security: already urgent;
        # not noise): skip that look-up when it cannot change the answer.
        level = rules.priority.by_intent.get(intent or "", "normal")
        want_open_case = rules.priority.open_ticket_bump and level != "urgent" and intent not in ("spam", "chatter")
        loop_minutes, loop_repeats = rules.bot_loop_minutes, rules.bot_loop_repeats
        # Within a routing pass, the pass's reads answer (a few queries for all its mentions).
        batch = PassHistory.for_mention(self.repository, tenant.id, mention)
        look_up = batch.history if batch is not None else partial(self.repository.history, tenant.id)
        found = look_up(
            mention,
            open_days=OPEN_CASE_DAYS,
            loop_minutes=loop_minutes,
            loop_repeats=loop_repeats,
            want_open_case=want_open_case,
        )
        return History(
            has_open_case=found.has_open_case,
            repeated_recently=found.repeated_recently,
            echo_of_our_reply=found.echo_of_our_reply,
            our_account=found.our_account,
        )

    def label(self, mention: Mention, tenant: Tenant | None, now: datetime | None = None) -> Labels:
        rules = self.rules.for_tenant(tenant.key if tenant else None)
        text = mention.text
        folded = fold(text)
        language = lang.detect(text, rules.languages, rules.min_words_for_language, mention.lang)
        predicted = self.model.predict(text) if text.strip() else {}
        verdict = decide(rules, folded, predicted.get("intent", {})) if text.strip() else None
        intent = verdict.intent if verdict else None
        mood = sentiment(text, language, predicted.get("sentiment", {}))
        found = pii.scan(text, regions=rules.phone_regions or pii.DEFAULT_REGIONS, patterns=rules.pii_patterns)
        history = self.history(mention, tenant, rules, intent)
        spam_sure = verdict is not None and (
            verdict.source == "rule"
            or (mention.visibility == Visibility.PUBLIC and verdict.confidence >= rules.spam_skip_confidence)
        )
        reason = skip_reason(mention, rules, folded, intent, spam_sure, history)
        waited = ((now or datetime.now(UTC)) - mention.created_at).total_seconds() / 3600
        level = priority(rules.priority, PriorityInputs(intent, mood.score, max(0.0, waited), history.has_open_case))
        tags: list[str] = ["listening"] if mention.extra.get("listening") else []
        extra: dict[str, object] = {"sentiment_score": mood.score}
        if reason:
            tags.append(f"skip_{reason}")
            extra["skip_reason"] = reason
        if found.findings:
            tags.append("pii")
            if mention.visibility == Visibility.PUBLIC:
                # Agents see this copy; the raw text stays in our store only.
                extra["redacted_text"] = found.redacted()
        if intent == "security":
            tags.extend(rules.security.tags)
            extra["escalate"] = True
            if rules.security.zendesk_group_id:
                extra["zendesk_group_id"] = rules.security.zendesk_group_id
            if rules.security.salesforce_queue_id:
                extra["salesforce_queue_id"] = rules.security.salesforce_queue_id
        if intent == "praise" or mood.label == "positive":
            named = [e.id for e in rules.employees if e.matcher.search(folded)]
            if named:
                extra["praise_employees"] = named
                tags.extend(f"praise_{name}" for name in named)
        if verdict:
            extra["intent_confidence"] = verdict.confidence
            extra["intent_source"] = verdict.source
        return Labels(
            language=language,
            intent=intent,
            sentiment=mood.label if text.strip() else None,
            pii=found.kinds,
            priority=level,
            engage=reason is None,
            tags=tags or None,
            **extra,
        )
