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
}  # fmt: skip
