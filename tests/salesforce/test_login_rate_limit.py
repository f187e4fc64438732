"""A 429 from Salesforce's login host is a momentary rate limit, not bad credentials.

Found by ``bench faults``: treated as ``AuthError``, every delivery of the org waited 15 minutes
("needs an admin") after one throttled login, although the next login would have succeeded."""

from __future__ import annotations

import pytest

from plugin.errors import AuthError, RateLimited
from plugin.salesforce.sink import SalesforceSink
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


@pytest.mark.parametrize("status", [429, "429_bare"])
def test_a_throttled_login_is_rate_limited_and_the_next_one_delivers(
    sink: SalesforceSink, sfenv: SfEnv, status: int | str
) -> None:
    conn = connection(sfenv)
    sfenv.plan.configure(scripted=[status])  # the first call of a fresh sink is the login
    with pytest.raises(RateLimited) as info:
        sink.deliver(conn, [item(make_mention("m1"))])
    assert not isinstance(info.value, AuthError)
    assert sink.deliver(conn, [item(make_mention("m1"))])[0].status == "delivered"


def test_a_refused_password_is_still_an_auth_error(sink: SalesforceSink, sfenv: SfEnv) -> None:
    with pytest.raises(AuthError):
        sink.deliver(connection(sfenv, password="wrong"), [item(make_mention("m1"))])
