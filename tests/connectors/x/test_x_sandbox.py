"""The fake itself, driven over HTTP with requests: validation, auth, headers, control surface."""

from __future__ import annotations

import requests

from sandbox.x.responses import encode_token

from .conftest import APP_TOKEN, BRAND_TOKEN


def get(sandbox, path, token=APP_TOKEN, **params):
    return requests.get(
        sandbox.server.url + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


def test_rate_limit_headers_on_every_response(sandbox):
    r = get(sandbox, f"/2/users/{sandbox.brand_id}/mentions")
    assert r.status_code == 200
    assert r.headers["x-rate-limit-limit"] == "450"  # app-only mentions limit
    assert r.headers["x-rate-limit-remaining"] == "449"
    assert int(r.headers["x-rate-limit-reset"]) > 0
    assert r.json() == {"meta": {"result_count": 0}}


def test_max_results_validated(sandbox):
    r = get(sandbox, f"/2/users/{sandbox.brand_id}/mentions", max_results="4")
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "Invalid Request" and body["type"].endswith("/invalid-request")
    assert body["errors"][0]["parameters"] == {"max_results": ["4"]}
    assert r.headers["content-type"].startswith("application/problem+json")


def test_unknown_fields_and_tokens_rejected(sandbox):
    r = get(sandbox, f"/2/users/{sandbox.brand_id}/mentions", **{"tweet.fields": "bogus"})
    assert r.status_code == 400 and "bogus" in r.json()["errors"][0]["message"]
    r = get(sandbox, f"/2/users/{sandbox.brand_id}/mentions", pagination_token="!!")
    assert r.status_code == 400
    r = get(sandbox, "/2/users/me", token="who")
    assert r.status_code == 401 and r.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }


def test_mentions_paging_meta_and_includes(sandbox):
    ids = [sandbox.state.inject_mention("alice", f"hi {n}", to_user="acme")["id"] for n in range(7)]
    params = {"max_results": "5", "expansions": "author_id", "tweet.fields": "created_at", "user.fields": "username"}
    r = get(sandbox, f"/2/users/{sandbox.brand_id}/mentions", **params).json()
    assert [t["id"] for t in r["data"]] == ids[::-1][:5]  # newest first
    assert r["meta"]["newest_id"] == ids[-1] and r["meta"]["oldest_id"] == ids[2]
    assert r["meta"]["result_count"] == 5 and r["meta"]["next_token"] == encode_token(ids[2])
    assert r["includes"]["users"] == [{"id": sandbox.alice_id, "name": "Alice A.", "username": "alice"}]
    assert set(r["data"][0]) == {"id", "text", "edit_history_tweet_ids", "author_id", "created_at"}
    page2 = get(sandbox, f"/2/users/{sandbox.brand_id}/mentions", pagination_token=r["meta"]["next_token"], **params)
    assert [t["id"] for t in page2.json()["data"]] == ids[1::-1]
    assert "next_token" not in page2.json()["meta"]
    since = get(sandbox, f"/2/users/{sandbox.brand_id}/mentions", since_id=ids[4], until_id=ids[6]).json()
    assert [t["id"] for t in since["data"]] == [ids[5]]


def test_lookups(sandbox):
    post = sandbox.state.inject_mention("alice", "hello @acme")
    r = get(sandbox, f"/2/tweets/{post['id']}", expansions="author_id").json()
    assert r["data"]["id"] == post["id"] and r["includes"]["users"][0]["username"] == "alice"
    missing = get(sandbox, "/2/tweets/123").json()
    assert missing["errors"][0]["title"] == "Not Found Error"
    assert get(sandbox, "/2/users/by/username/ALICE").json()["data"]["id"] == sandbox.alice_id
    assert get(sandbox, "/2/users/me", token=BRAND_TOKEN).json()["data"]["username"] == "acme"
    me = get(sandbox, "/2/users/me")
    assert me.status_code == 403 and me.json()["title"] == "Unsupported Authentication"


def test_dm_events_endpoint(sandbox):
    sandbox.state.inject_dm("alice", "acme", "one")
    sandbox.state.inject_dm("bob", "acme", "two")
    sandbox.state.inject_dm("alice", "bob", "not ours")
    r = get(sandbox, "/2/dm_events", token=BRAND_TOKEN, expansions="sender_id", **{"dm_event.fields": "sender_id"})
    body = r.json()
    assert [e["text"] for e in body["data"]] == ["two", "one"]
    assert {u["username"] for u in body["includes"]["users"]} == {"alice", "bob"}
    assert r.headers["x-rate-limit-limit"] == "15"
    assert get(sandbox, "/2/dm_events").status_code == 403  # app-only cannot read DMs


def test_control_surface_over_http(sandbox):
    base = sandbox.server.url + "/_sandbox"
    r = requests.post(base + "/users", json={"username": "carol", "token": "carol-token"}, timeout=5)
    assert r.status_code == 201 and r.json()["tokens"] == ["carol-token"]
    r = requests.post(base + "/mentions", json={"from_user": "carol", "text": "help", "to_user": "acme"}, timeout=5)
    assert r.status_code == 201 and r.json()["data"]["text"] == "@acme help"
    r = requests.post(base + "/dms", json={"from_user": "carol", "to_user": "acme", "text": "psst"}, timeout=5)
    assert r.status_code == 201
    requests.post(
        sandbox.server.url + f"/2/dm_conversations/with/{r.json()['data']['sender_id']}/messages",
        json={"text": "hello carol"},
        headers={"Authorization": f"Bearer {BRAND_TOKEN}"},
        timeout=5,
    ).raise_for_status()
    posted = requests.get(base + "/posted", params={"user": "acme"}, timeout=5).json()["posted"]
    assert [p["kind"] for p in posted] == ["dm"]
    users = requests.get(base + "/users", timeout=5).json()
    assert {u["username"] for u in users["users"]} >= {"acme", "alice", "bob", "carol"}
    assert requests.post(base + "/mentions", json={"from_user": "nobody", "text": "x"}, timeout=5).status_code == 400
    assert requests.post(base + "/reset", json={}, timeout=5).status_code == 200
    assert sandbox.state.posts == {} and "carol" in {u.username for u in sandbox.state.users.values()}


def test_faults_over_http_use_x_shapes(sandbox):
    requests.post(sandbox.server.url + "/_sandbox/faults", json={"scripted": [429], "retry_after": 3}, timeout=5)
    r = get(sandbox, "/2/users/me", token=BRAND_TOKEN)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    assert r.json() == {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    requests.post(sandbox.server.url + "/_sandbox/faults", json={"scripted": [503]}, timeout=5)
    r = get(sandbox, "/2/users/me", token=BRAND_TOKEN)
    assert r.status_code == 503 and r.json()["title"] == "Service Unavailable"
