"""URL routing for the fake Salesforce (REST data API, OAuth, SOAP login, /_sandbox control)."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

_DATA = "/services/data/v<version>"

url_map = Map(
    [
        Rule("/services/data", endpoint="versions", methods=["GET"]),
        Rule(_DATA, endpoint="resources", methods=["GET"]),
        Rule(f"{_DATA}/sobjects", endpoint="describe_global", methods=["GET"]),
        Rule(f"{_DATA}/sobjects/<sobject>", endpoint="sobject_root", methods=["GET", "POST"]),
        Rule(f"{_DATA}/sobjects/<sobject>/describe", endpoint="describe", methods=["GET"]),
        Rule(f"{_DATA}/sobjects/<sobject>/<record_id>", endpoint="record", methods=["GET", "PATCH", "DELETE"]),
        Rule(
            f"{_DATA}/sobjects/<sobject>/<field>/<path:value>",
            endpoint="by_external_id",
            methods=["GET", "PATCH", "DELETE"],
        ),
        Rule(f"{_DATA}/query", endpoint="query", methods=["GET"], defaults={"include_deleted": False}),
        Rule(f"{_DATA}/queryAll", endpoint="query", methods=["GET"], defaults={"include_deleted": True}),
        Rule(f"{_DATA}/query/<locator>", endpoint="query_more", methods=["GET"]),
        Rule(f"{_DATA}/queryAll/<locator>", endpoint="query_more", methods=["GET"]),
        Rule(f"{_DATA}/composite", endpoint="composite", methods=["POST"]),  # composite.py
        Rule(f"{_DATA}/composite/sobjects", endpoint="collections", methods=["POST", "PATCH", "DELETE"]),
        Rule(f"{_DATA}/composite/sobjects/<sobject>", endpoint="collections_retrieve", methods=["GET", "POST"]),
        Rule(f"{_DATA}/composite/sobjects/<sobject>/<field>", endpoint="collections_upsert", methods=["PATCH"]),
        Rule(f"{_DATA}/limits", endpoint="limits", methods=["GET"]),
        Rule("/cometd/<version>", endpoint="cometd", methods=["POST"]),  # Streaming API (cometd.py)
        Rule("/services/oauth2/token", endpoint="oauth_token", methods=["POST"]),
        Rule("/services/oauth2/authorize", endpoint="oauth_authorize", methods=["GET", "POST"]),
        Rule("/services/oauth2/revoke", endpoint="oauth_revoke", methods=["POST"]),
        Rule("/services/oauth2/introspect", endpoint="oauth_introspect", methods=["POST"]),
        Rule("/services/Soap/u/<version>", endpoint="soap_login", methods=["POST"]),
        Rule("/services/Soap/u/<version>/<org_id>", endpoint="soap_login", methods=["POST"]),
        # Control surface for tests and the demo (reset, faults... are sandbox.base's).
        Rule("/_sandbox/orgs", endpoint="ctl_orgs", methods=["GET", "POST"]),
        Rule("/_sandbox/users", endpoint="ctl_users", methods=["POST"]),
        Rule("/_sandbox/apps", endpoint="ctl_apps", methods=["POST"]),
        Rule("/_sandbox/records/<sobject>", endpoint="ctl_records", methods=["GET", "POST"]),
        Rule("/_sandbox/sessions/expire", endpoint="ctl_expire", methods=["POST"]),
        Rule("/_sandbox/sessions/timeout", endpoint="ctl_session_timeout", methods=["POST"]),
        Rule("/_sandbox/limits", endpoint="ctl_limits", methods=["POST"]),
        Rule("/_sandbox/features", endpoint="ctl_features", methods=["POST"]),
        Rule("/_sandbox/duplicate_rules", endpoint="ctl_duplicate_rules", methods=["POST"]),
        Rule("/_sandbox/streaming", endpoint="ctl_streaming", methods=["POST"]),
        Rule("/_sandbox/calls", endpoint="ctl_calls", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
)
