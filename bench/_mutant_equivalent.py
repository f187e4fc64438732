"""Surviving mutants no test can tell apart from the original, each with the reason.

Keyed by target name, then by ``Mutant.key`` (``function | operator | original line``), which stays
valid when unrelated lines move. A survivor listed here leaves the score of ``python -m bench
mutants``; everything else that survives is a missing test. Keep reasons to one line.

"Literal-only" below: the mutant turns a missing value's empty default into the text ``"XX"``; the
only input that tells it apart is that literal itself (as a secret, token or signature), which no
caller can know; the refusal of a missing value is tested.
"""

from __future__ import annotations

EQUIVALENT: dict[str, dict[str, str]] = {
    "meta.signature": {
        "verify_meta_request | '' -> 'XX' | expected = secrets.get(VERIFY_TOKEN) or \"\"":
            "literal-only: a handshake is refused without a configured token unless it sends 'XX'",
        "verify_meta_request | '' -> 'XX' | given = request.query.get(\"hub.verify_token\") or \"\"":
            "literal-only: a missing hub.verify_token never equals a configured token (unless it is 'XX')",
        "verify_meta_request | '' -> 'XX' | secret = secrets.get(APP_SECRET) or \"\"":
            "literal-only: without an app secret only a body signed with the key 'XX' would verify",
        "verify_meta_request | '' -> 'XX' | signature = header(request.headers, SIGNATURE_HEADER) or \"\"":
            "'XX' does not start with 'sha256=' either: refused on the same line",
        "verify_meta_request | 'sha256=' -> '' | if not secret or not signature.startswith(\"sha256=\"):":
            "the full-string compare_digest below includes the 'sha256=' prefix: unprefixed values still fail",
        "verify_meta_request | return None | return False":
            "None is as falsy as False; every caller tests `not verify_request(...)` (plugin/web/webhooks.py)",
    },
    "worker.cursors": {
        "Worker.poll_due | remove call | beat.release([account_id])":
            "renewal only updates leases this owner still holds; a finished poll released its lease, so no row changes",
        "Worker._poll_account | 0 -> 1 | if found is None or not found[0].enabled or found[0].network not in "
        "runtime.registry.connectors:":
            "found[1] is the account's AccountContext, whose .network is the same network (the `.enabled` one dies)",
        "Worker._poll_account | 0.0 -> 1.0 | retry_after = max(retry_after or 0.0, 900.0)  # needs an admin; look "
        "again later":
            "max(..., 900.0) makes any missing hint below 900 s irrelevant, 0 or 1 alike",
    },
    "telegram.verify": {
        "TelegramConnector.verify_request | return None | return False":
            "None is as falsy as False; every caller tests `not verify_request(...)` (plugin/web/webhooks.py)",
        "TelegramConnector.verify_request | remove break | break":
            "the secret header comes once; only a plain dict with two spellings of it differs (first vs last)",
    },
    "trust": {
        "Level | 'instance' -> '' | INSTANCE = \"instance\"  # one channel instance: its own accounts' mentions and "
        "replies":
            "levels are compared by identity (`is Level.TENANT`); the value is never stored, sent or compared",
        "Level | 'tenant' -> '' | TENANT = \"tenant\"  # the tenant's admin: every account, REST credentials, "
        "identity data":
            "levels are compared by identity (`is Level.TENANT`); the value is never stored, sent or compared",
        "Via | 'metadata' -> '' | METADATA = \"metadata\"":
            "never compared; its only copy, the admin session's 'via' claim (zendesk/admin.py), is read by nothing",
        "Via | 'zendesk_token' -> '' | ZENDESK_TOKEN = \"zendesk_token\"":
            "never compared; its only copy, the admin session's 'via' claim (zendesk/admin.py), is read by nothing",
        "Via | 'install_code' -> '' | INSTALL_CODE = \"install_code\"":
            "never compared; its only copy, the admin session's 'via' claim (zendesk/admin.py), is read by nothing",
        "Via | 'file_link' -> '' | FILE_LINK = \"file_link\"":
            "never compared, never stored: a file link's trust only scopes the download to its account",
    },
    "zendesk.trust": {
        "from_metadata | is -> is not | if level is Level.TENANT and granted.level is not Level.TENANT:":
            "_from_meta always grants Level.TENANT (README: metadata reaches the identity page), so the right side is "
            "always false",
        "from_metadata | Level.TENANT -> Level.INSTANCE | if level is Level.TENANT and granted.level is not "
        "Level.TENANT:":
            "the first TENANT: the right side is always false, as above (the same key for the second TENANT is killed)",
        "from_metadata | remove raise | raise Unauthorized(\"this needs the tenant's admin; reopen the integration in "
        "Zendesk\", status=403)":
            "unreachable: metadata always grants Level.TENANT (see above), so no request gets here",
        "from_metadata | 403 -> 404 | raise Unauthorized(\"this needs the tenant's admin; reopen the integration in "
        "Zendesk\", status=403)":
            "unreachable: metadata always grants Level.TENANT (see above), so no request gets here",
        "from_admin_session | 0 -> 1 | if flow.get(\"kind\") != \"zd-admin\" or int(flow.get(\"exp\", 0)) < "
        "time.time():":
            "a session without 'exp' expired in 1970 either way (0 or 1 s after the epoch)",
        "from_admin_session | '' -> 'XX' | subdomain = check_subdomain(str(flow.get(\"t\", \"\")))":
            "'XX' is no subdomain (upper case) either: a session without 't' is refused with the same 400",
    },
    "vk.verify": {
        "VKConnector.verify_request | return None | return False":
            "(all four refusals) None is as falsy as False; every caller tests truthiness (plugin/web/webhooks.py)",
    },
    "outbox.replies": {
        "_hand_off | and -> or | assert sent.external_id is not None and acked.external_id is not None":
            "a sent row always has its external id (PostResult.external_id is required): both or neither are None",
        "_answers_deleted | return None | return False":
            "its one caller tests it in an `and` of an `if`: None is as falsy as False",
    },
    "zendesk.push": {
        'ZendeskPushClient._post | \'application/json\' -> \'\' | headers={"Authorization": f"Bearer {self._token}", '
        '"Accept": "application/json"},':
            "the push and validate_token endpoints answer JSON (or nothing) whatever the Accept header says",
        "ZendeskSink._push | True -> False | for item, resource in zip(items, resources, strict=True):":
            "resources and items are appended together just above: the two lists always have the same length",
    },
    "zendesk.views": {
        "pull | True -> False | for row, mention in zip(rows, mentions, strict=True):":
            "mentions is built from rows one for one just above: the two lists always have the same length",
        "pull | '' -> 'XX' | key = (mention.network, mention.parent_id or \"\")":
            "only a mention without parent_id gets the default, and parent_known() answers False for it first",
        "channelback | '' -> 'XX' | account=\"\",  # filled from the account row by the connector's context":
            "the placeholder is overwritten by the account row's external_id before the reply is used",
        "channelback | 0 -> 1 | reply = reply.model_copy(update={\"account\": found[0].external_id})":
            "found[1] is that row's AccountContext, built with the row's own external_id",
        "_find_target | '' -> 'XX' | row = store.inbox.find(tenant_id, network, str(row.mention().extra.get(\"about\") "
        "or \"\"))":
            "literal-only: every notice names the post it is about; else only a mention with the id 'XX' differs",
        "_confirm_uninstall | remove continue | continue":
            "the try statement ends the loop body: after `except AuthError` the loop goes on either way",
        "events | True -> False | size = len(request.get_data(cache=True))":
            "json_body() read and cached the body already; get_data returns the cached bytes either way",
    },
    "x.webhook": {
        "verify_signature | return None | return False":
            "None is as falsy as False; XConnector.verify_request and every caller test truthiness",
    },
    "salesforce.inbound": {
        "<module> | 'Contact' -> '' | PARENT_TYPES = {\"contact\": \"Contact\", \"lead\": \"Lead\", \"account\": "
        "\"Account\"}":
            "PARENT_TYPES' values are never read, only its keys (`match.record_type.lower() in PARENT_TYPES`)",
        "<module> | 'Lead' -> '' | PARENT_TYPES = {\"contact\": \"Contact\", \"lead\": \"Lead\", \"account\": "
        "\"Account\"}":
            "PARENT_TYPES' values are never read, only its keys (`match.record_type.lower() in PARENT_TYPES`)",
        "<module> | 'Account' -> '' | PARENT_TYPES = {\"contact\": \"Contact\", \"lead\": \"Lead\", \"account\": "
        "\"Account\"}":
            "PARENT_TYPES' values are never read, only its keys (`match.record_type.lower() in PARENT_TYPES`)",
        "parse_sf_datetime | remove continue | continue":
            "`continue` is the last statement of the loop body: the loop tries the next format either way",
        "InboundBatch._fail | '' -> 'XX' | code, text = \"\", result_or_text":
            "never reached (every caller passes a collections result, a dict); 'XX' is no retriable code either",
        "InboundBatch._existing_posts | 'Provider' -> '' | if row.get(\"Provider\") != \"Other\":":
            "an 'Other' row kept lands under ('Other', raw id), a key no look-up uses ('Other' keys are "
            "'network:id')",
        "InboundBatch._existing_posts | 'Other' -> '' | if row.get(\"Provider\") != \"Other\":":
            "an 'Other' row kept lands under ('Other', raw id), a key no look-up uses ('Other' keys are "
            "'network:id')",
        "InboundBatch._personas | 'Provider' -> '' | if row.get(\"Provider\") != \"Other\":":
            "an 'Other' row kept lands under ('Other', raw id), a key no look-up uses ('Other' keys are "
            "'network:id')",
        "InboundBatch._personas | 'Other' -> '' | if row.get(\"Provider\") != \"Other\":":
            "an 'Other' row kept lands under ('Other', raw id), a key no look-up uses ('Other' keys are "
            "'network:id')",
        "InboundBatch._existing_posts | '' -> 'XX' | found.setdefault((str(row.get(\"Provider\") or \"\"), "
        "str(row[\"ExternalPostId\"])), row)":
            "no look-up key has the Provider '' or 'XX': a row without Provider is never matched either way",
        "InboundBatch._personas | '' -> 'XX' | personas.setdefault((str(row.get(\"Provider\") or \"\"), "
        "str(row.get(\"ExternalId\"))), row)":
            "no look-up key has the Provider '' or 'XX': a row without Provider is never matched either way",
        "InboundBatch._cases | '' -> 'XX' | key = (str(row[\"PersonaId\"]), str(row.get(\"Provider\") or \"\"), "
        "str(row.get(\"Recipient\") or \"\"))":
            "(Provider and Recipient) no look-up key has '' or 'XX' there: our posts always carry both (account "
            "is required)",
        "InboundBatch._our_other_posts | '' -> 'XX' | network = named[0] if len(named) == 1 else \"\"":
            "'XX' is no network either: (network, id) is in `parents` for neither '' nor 'XX'",
        "InboundBatch._create_personas | True -> False | for index, result in zip(need_contact, "
        "self.api.collection(\"POST\", bodies), strict=True):":
            "SalesforceApi.collection raises unless it got one result per record: the lengths always match",
        "InboundBatch._create_personas | True -> False | for index, result in zip(ready, "
        "self.api.collection(\"POST\", bodies) if bodies else [], strict=True):":
            "SalesforceApi.collection raises unless it got one result per record: the lengths always match",
        "InboundBatch._write_cases | True -> False | for case, result in zip(new_cases, "
        "self.api.collection(\"POST\", bodies), strict=True):":
            "SalesforceApi.collection raises unless it got one result per record: the lengths always match",
        "InboundBatch._write_cases | True -> False | for case_id, result in zip(ids, "
        "self.api.collection(\"PATCH\", bodies), strict=True):":
            "SalesforceApi.collection raises unless it got one result per record: the lengths always match",
        "InboundBatch._write_posts | True -> False | for w, result in zip(creates, self.api.collection(\"POST\", "
        "bodies) if bodies else [], strict=True):":
            "SalesforceApi.collection raises unless it got one result per record: the lengths always match",
        "InboundBatch._write_posts | True -> False | for w, result in zip(updates, self.api.collection(\"PATCH\", "
        "patch) if patch else [], strict=True):":
            "SalesforceApi.collection raises unless it got one result per record: the lengths always match",
        "InboundBatch._cases | '' -> 'XX' | found = latest.get((w.persona_id or \"\", w.key[0], "
        "str(w.fields.get(\"Recipient\") or \"\")))":
            "(persona_id, Recipient) both always set here: a persona that failed leaves its item done; account is "
            "required",
        "InboundBatch._choose | '' -> 'XX' | thread_key = (w.persona_id or \"\", w.key[0], "
        "str(w.fields.get(\"Recipient\") or \"\"))":
            "(persona_id, Recipient) both always set here: a persona that failed leaves its item done; account is "
            "required",
        "InboundBatch._choose | remove continue | continue":
            "_cases gets only items not done and nothing fails one before _choose: the `continue` is never taken",
        "InboundBatch._choose | '' -> 'XX' | candidate: dict[str, Any] | None = "
        "cases.get(candidates.get(w.item.delivery_id, \"\"))":
            "no Case has the id '' or 'XX': cases.get() answers None either way",
        "InboundBatch._write_posts | and -> or | if w.case and w.case[0] == \"id\":":
            "a post being created always has w.case == ('id', ...) (a failed new Case fails its items): `or` "
            "agrees",
        "InboundBatch._write_posts | 'Provider' -> '' | **{k: v for k, v in w.fields.items() if k not in "
        "(\"IsOutbound\", \"Provider\", \"ExternalPostId\")}}":
            "the record found has this very Provider/ExternalPostId (its look-up key; R6PostId ones we wrote "
            "alike)",
        "InboundBatch._write_posts | 'ExternalPostId' -> '' | **{k: v for k, v in w.fields.items() if k not in "
        "(\"IsOutbound\", \"Provider\", \"ExternalPostId\")}}":
            "the record found has this very Provider/ExternalPostId (its look-up key; R6PostId ones we wrote "
            "alike)",
    },
}  # fmt: skip
