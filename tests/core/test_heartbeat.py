"""The heartbeat tells a lease lost from a lease released: only the first is a warning."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from plugin.heartbeat import Heartbeat


def test_work_released_while_a_renewal_ran_is_finished_not_lost(caplog: pytest.LogCaptureFixture) -> None:
    beats: list[Heartbeat] = []

    def renew(ids: Sequence[int]) -> set[int]:
        # Meanwhile the worker released 1 and 2 and wrote their results (a finish releases the lease);
        # 3 was really taken over by another worker.
        beats[0].release([1, 2])
        return {4} & set(ids)

    beats.append(Heartbeat(renew, [1, 2, 3, 4], lease_seconds=3600))
    with beats[0] as beat:
        assert beat.held() == {4}
    assert beat.lost == {3}
    assert [r.getMessage() for r in caplog.records] == ["lease lost on 1 item(s) still in progress: [3]"]
