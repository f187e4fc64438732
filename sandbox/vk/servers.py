"""The Callback API's server settings as the API manages them (dev.vk.com/ru/method/groups):

``groups.getCallbackConfirmationCode`` → ``{"code"}``; ``groups.addCallbackServer(url, title,
secret_key)`` → ``{"server_id"}``, after which VK asks the URL to confirm (a ``confirmation`` event
answered with the code); ``groups.getCallbackServers`` lists them with their ``status`` ("ok" once
confirmed, "failed" otherwise); ``groups.setCallbackSettings(server_id, api_version, <event>=1|0)``
chooses the events sent, ``groups.getCallbackSettings`` reads them back.
"""

from __future__ import annotations

from typing import Any

import requests

from .exceptions import access_denied, bad_param
from .models import VKState

TITLE_MAX = 14  # "title: server title, up to 14 characters"
SECRET_MAX = 50


def _group(state: VKState, params: dict[str, Any]) -> int:
    try:
        group = int(str(params.get("group_id") or ""))
    except ValueError:
        raise bad_param("group_id") from None
    if group != state.group_id:
        raise access_denied("no access to this community")
    return group


def confirmation_code(state: VKState, params: dict[str, Any]) -> dict[str, Any]:
    _group(state, params)
    return {"code": state.confirmation_code}


def add_server(state: VKState, params: dict[str, Any]) -> dict[str, Any]:
    _group(state, params)
    url, title = str(params.get("url") or ""), str(params.get("title") or "")
    secret = str(params.get("secret_key") or "")
    if not url.startswith(("http://", "https://")):
        raise bad_param("url")
    if not title or len(title) > TITLE_MAX:
        raise bad_param("title")
    if len(secret) > SECRET_MAX or not secret.isalnum():
        raise bad_param("secret_key")
    with state.lock:
        server_id = len(state.callback_servers) + 1
        state.callback_servers[server_id] = {"id": server_id, "title": title, "creator_id": 1, "url": url,
                                             "secret_key": secret, "status": "unconfigured"}  # fmt: skip
        state.secret = secret
        state.set_callback_server(url)
    # VK checks the address at once: the server must answer the confirmation code.
    try:
        confirmed = state.confirm_callback()
    except requests.RequestException:
        confirmed = False  # unreachable: the server stays "failed" until the address is fixed
    with state.lock:
        state.callback_servers[server_id]["status"] = "ok" if confirmed else "failed"
    return {"server_id": server_id}


def get_servers(state: VKState, params: dict[str, Any]) -> dict[str, Any]:
    _group(state, params)
    with state.lock:
        items = [dict(server) for server in state.callback_servers.values()]
    return {"count": len(items), "items": items}


def set_settings(state: VKState, params: dict[str, Any]) -> int:
    _group(state, params)
    try:
        server_id = int(str(params.get("server_id") or ""))
    except ValueError:
        raise bad_param("server_id") from None
    if server_id not in state.callback_servers:
        raise bad_param("server_id")
    skip = {"group_id", "server_id", "api_version", "access_token", "v"}
    with state.lock:
        state.callback_settings[server_id] = {
            "api_version": str(params.get("api_version") or state.api_version),
            "events": {k: int(str(v) == "1") for k, v in params.items() if k not in skip},
        }
    return 1


def get_settings(state: VKState, params: dict[str, Any]) -> dict[str, Any]:
    _group(state, params)
    found = state.callback_settings.get(int(str(params.get("server_id") or 0)))
    if found is None:
        raise bad_param("server_id")
    return dict(found)
