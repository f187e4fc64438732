"""plugin.longreply: numbered threads within a network's own length rule, and at-most-once when a
thread stops half-way."""

from __future__ import annotations

import pytest

from plugin.errors import FatalError, OutcomeUnknown, RetriableError
from plugin.longreply import ThreadPart, post_thread, refuse_if_too_long, split_numbered
from plugin.models import PostResult

TEXT = " ".join(f"word{i}" for i in range(120))  # 838 characters


def test_short_text_is_one_unnumbered_part() -> None:
    assert split_numbered("hello", 10) == ["hello"]


def test_long_text_becomes_numbered_parts_within_the_limit_and_keeps_every_word() -> None:
    parts = split_numbered(TEXT, 280)
    assert len(parts) == 4
    assert [p.split(" ", 1)[0] for p in parts] == ["1/4", "2/4", "3/4", "4/4"]
    assert all(len(p) <= 280 for p in parts)
    assert " ".join(p.split(" ", 1)[1] for p in parts) == TEXT


def test_the_networks_own_measure_decides() -> None:
    # A measure where every character weighs 2 (like CJK on X): twice as many parts.
    parts = split_numbered(TEXT, 280, lambda s: 2 * len(s))
    assert all(2 * len(p) <= 280 for p in parts) and len(parts) == 7


def test_a_word_longer_than_a_post_is_cut() -> None:
    parts = split_numbered("x" * 600, 280)
    assert len(parts) == 3 and "".join(p.split(" ", 1)[1] for p in parts) == "x" * 600


def test_too_long_for_a_thread_is_refused_with_the_limit_named() -> None:
    with pytest.raises(FatalError, match="limit is 280") as refused:
        split_numbered("y " * 5000, 280)
    assert refused.value.code == "too_long"


def test_refusal_without_threads_names_the_network_and_limit() -> None:
    with pytest.raises(FatalError, match="Telegram allows 4096") as refused:
        refuse_if_too_long("z" * 5000, 4096, network="Telegram")
    assert refused.value.code == "too_long"


def _poster(fail_at: int, error: Exception) -> tuple[list[ThreadPart], object]:
    seen: list[ThreadPart] = []

    def post(part: ThreadPart) -> PostResult:
        if part.index == fail_at:
            raise error
        seen.append(part)
        return PostResult(external_id=f"p{part.index}")

    return seen, post


def test_each_part_answers_the_previous_one_and_all_ids_are_returned() -> None:
    seen, post = _poster(0, RuntimeError())
    result = post_thread(["a", "b", "c"], "orig", post, resumable=False)  # type: ignore[arg-type]
    assert [p.in_reply_to for p in seen] == ["orig", "p1", "p2"]
    assert result.external_id == "p1" and result.parts == ["p1", "p2", "p3"]


def test_a_failure_before_anything_was_published_keeps_its_class() -> None:
    _, post = _poster(1, RetriableError("503"))
    with pytest.raises(RetriableError):
        post_thread(["a", "b"], "orig", post, resumable=False)  # type: ignore[arg-type]


def test_a_failure_after_a_published_part_is_never_retried_blindly() -> None:
    _, post = _poster(2, RetriableError("503"))
    with pytest.raises(OutcomeUnknown, match=r"after part 1 of 3 \(published: p1\)"):
        post_thread(["a", "b", "c"], "orig", post, resumable=False)  # type: ignore[arg-type]


def test_resumable_parts_keep_the_retriable_class() -> None:
    _, post = _poster(2, RetriableError("503"))
    with pytest.raises(RetriableError):
        post_thread(["a", "b", "c"], "orig", post, resumable=True)  # type: ignore[arg-type]
