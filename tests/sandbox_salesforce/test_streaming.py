"""The fake's Streaming API: Change Data Capture events over Bayeux long polling, as documented
(message structure, replay extension, 72-hour retention, errors), driven over real HTTPS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .conftest import Client, Env

CHANNEL = "/data/SocialPostChangeEvent"


class Bayeux:
    """The plain protocol, as a CometD client sends it (the cookie jar keeps BAYEUX_BROWSER)."""

    def __init__(self, env: Env, token: str, version: str = "62.0"):
        self.http = env.session()
        self.url = f"{env.base}/cometd/{version}"
        self.headers = {"Authorization": f"OAuth {token}"}
        self.client_id = ""

    def send(self, **message: Any) -> list[dict[str, Any]]:
        answer = self.http.post(self.url, json=[message], headers=self.headers, timeout=10)
        assert answer.status_code == 200, answer.text
        body: list[dict[str, Any]] = answer.json()
        return body

    def handshake(self) -> dict[str, Any]:
        [answer] = self.send(channel="/meta/handshake", version="1.0", supportedConnectionTypes=["long-polling"])
        self.client_id = answer.get("clientId", "")
        return answer

    def subscribe(self, replay: Any) -> dict[str, Any]:
        [answer] = self.send(channel="/meta/subscribe", clientId=self.client_id, subscription=CHANNEL,
                             ext={"replay": {CHANNEL: replay}})  # fmt: skip
        return answer

    def connect(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        messages = self.send(channel="/meta/connect", clientId=self.client_id, connectionType="long-polling")
        return [m["data"] for m in messages if m["channel"] == CHANNEL], messages[-1]


def _select(env: Env) -> None:
    env.state.changes.select_entities(env.org.id, ["SocialPost"])
    env.state.changes.connect_timeout = 0.2


def _post(sf: Client, **fields: Any) -> str:
    body = {"Name": "Reply", "Content": "hi", "IsOutbound": True, "Status": "Pending", "Provider": "Twitter", **fields}
    return str(sf.SocialPost.create(body)["id"])


def test_change_events_carry_the_documented_header_and_replay_ids(env: Env, sf: Client) -> None:
    _select(env)
    bayeux = Bayeux(env, env.state.open_session(env.user).token)
    assert bayeux.handshake()["successful"]
    assert bayeux.subscribe(-1)["successful"]
    post_id = _post(sf)
    sf.SocialPost.update(post_id, {"Status": "Sent"})
    events, meta = bayeux.connect()
    assert meta["successful"] and meta["advice"] == {"reconnect": "retry", "interval": 0, "timeout": 200}
    created, updated = events
    header = created["payload"]["ChangeEventHeader"]
    assert (header["entityName"], header["changeType"], header["recordIds"]) == ("SocialPost", "CREATE", [post_id])
    assert isinstance(header["commitTimestamp"], int) and header["changedFields"] == []
    assert created["payload"]["IsOutbound"] is True and created["payload"]["Status"] == "Pending"
    assert updated["payload"]["ChangeEventHeader"]["changeType"] == "UPDATE"
    assert set(updated["payload"]["ChangeEventHeader"]["changedFields"]) == {"Status", "LastModifiedDate"}
    assert updated["payload"]["Status"] == "Sent" and "Content" not in updated["payload"]
    assert updated["event"]["replayId"] == created["event"]["replayId"] + 1
    assert bayeux.connect()[0] == []  # delivered once; the long poll then times out empty


def test_replay_from_an_id_all_retained_and_an_id_past_retention(env: Env, sf: Client) -> None:
    _select(env)
    first, second = _post(sf), _post(sf)
    token = env.state.open_session(env.user).token
    everything = Bayeux(env, token)
    everything.handshake()
    assert everything.subscribe(-2)["successful"]
    events, _meta = everything.connect()
    assert [e["payload"]["ChangeEventHeader"]["recordIds"] for e in events] == [[first], [second]]
    after_first = Bayeux(env, token)
    after_first.handshake()
    after_first.subscribe(events[0]["event"]["replayId"])
    assert [e["payload"]["ChangeEventHeader"]["recordIds"] for e in after_first.connect()[0]] == [[second]]
    # 73 hours later the events are gone: replaying from them is refused as documented.
    later = env.state.clock() + timedelta(hours=73)
    env.state.clock = lambda: later
    stale = Bayeux(env, env.state.open_session(env.user).token)
    stale.handshake()
    refused = stale.subscribe(events[0]["event"]["replayId"])
    assert not refused["successful"] and refused["error"].startswith("400::The replayId {")
    assert stale.subscribe(-2)["successful"] and stale.connect()[0] == []


def test_an_org_that_did_not_select_the_object_refuses_the_subscription(env: Env, sf: Client) -> None:
    bayeux = Bayeux(env, env.state.open_session(env.user).token)
    bayeux.handshake()
    refused = bayeux.subscribe(-1)
    assert not refused["successful"]
    assert refused["error"] == "400::The channel you requested to subscribe to does not exist {" + CHANNEL + "}"
    _post(sf)  # not selected: no event is published at all
    assert env.state.changes.published == 0


def test_unknown_clients_and_invalid_sessions_are_told_how_to_reconnect(env: Env) -> None:
    _select(env)
    bayeux = Bayeux(env, env.state.open_session(env.user).token)
    bayeux.handshake()
    bayeux.subscribe(-1)
    env.state.changes.drop_clients(env.org.id)
    _events, meta = bayeux.connect()
    assert (meta["error"], meta["advice"]["reconnect"]) == ("403::Unknown client", "handshake")
    bayeux.handshake()
    env.state.expire_sessions(org_id=env.org.id)
    _events, meta = bayeux.connect()
    assert (meta["error"], meta["advice"]["reconnect"]) == ("401::Authentication invalid", "none")
    [denied] = bayeux.send(channel="/meta/handshake", version="1.0", supportedConnectionTypes=["long-polling"])
    assert denied["error"] == "403::Handshake denied"
    assert denied["ext"]["sfdc"]["failureReason"] == "401::Authentication invalid"


def test_bad_requests_get_a_clear_400(env: Env) -> None:
    http = env.session()
    assert http.post(f"{env.base}/cometd/x", json=[], timeout=10).status_code == 400
    assert http.post(f"{env.base}/cometd/20.0", json=[], timeout=10).status_code == 400
    assert http.post(f"{env.base}/cometd/62.0", data="{not json", timeout=10).status_code == 400
    assert http.post(f"{env.base}/cometd/62.0", json=[{"no": "channel"}], timeout=10).status_code == 400
