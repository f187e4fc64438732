"""The mutation runner of ``python -m bench mutants`` on a tiny module of its own: a mutant a test
catches is killed, a mutant no test notices survives, and code no test reaches is reported as such.
(The runner itself is on demand, not part of the suite: a full run takes hours on two cores.)"""

from __future__ import annotations

from pathlib import Path

from bench import _mutate
from bench._mutant_targets import Target
from bench.mutants import judge_target

TINY = '''\
def clamp(value, limit):
    """The smaller of the two."""
    return value if value <= limit else limit


def shout(flag):
    return not flag


def unreached(n):
    return n + 1
'''

TESTS = """\
from tiny import clamp, shout


def test_clamp():
    assert clamp(1, 5) == 1
    assert clamp(9, 5) == 5


def test_shout_answers():
    assert shout(True) is not None  # a weak test: it cannot tell `not flag` from `flag`
"""


def test_operators_number_mutants_and_rebuild_them_anywhere() -> None:
    found = _mutate.mutants(TINY)
    assert [(m.function, m.operator) for m in found] == [
        ("clamp", "return None"),
        ("clamp", "<= -> >"),
        ("shout", "return None"),
        ("shout", "drop not"),
        ("unreached", "return None"),
        ("unreached", "+ -> -"),
        ("unreached", "1 -> 2"),
    ]
    assert "-    return value if value <= limit else limit" in _mutate.diff(TINY, 1)
    assert "+    return value if value > limit else limit" in _mutate.diff(TINY, 1)
    # Restricting to functions keeps the numbering inside them stable.
    assert [m.operator for m in _mutate.mutants(TINY, frozenset({"shout"}))] == ["return None", "drop not"]


def test_killed_survived_and_unreached_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(TINY)
    (tmp_path / "test_tiny.py").write_text(TESTS)
    target = Target("tiny", "tiny", None, ("test_tiny.py",))

    summary = judge_target(target, root=tmp_path, jobs=1, progress=False)

    status = {(o.mutant.function, o.mutant.operator): o.status for o in summary.outcomes}
    assert status == {
        ("clamp", "return None"): "killed",
        ("clamp", "<= -> >"): "killed",
        ("shout", "return None"): "killed",
        ("shout", "drop not"): "survived",
        ("unreached", "return None"): "no_tests",
        ("unreached", "+ -> -"): "no_tests",
        ("unreached", "1 -> 2"): "no_tests",
    }
    assert (summary.mutants, summary.killed, summary.survived, summary.no_tests) == (7, 3, 4, 3)
    assert summary.score == round(3 / 7, 4)
    assert not summary.error


def test_a_failing_baseline_is_an_error_not_a_score(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(TINY)
    (tmp_path / "test_tiny.py").write_text(
        "from tiny import clamp\n\n\ndef test_wrong():\n    assert clamp(1, 5) == 5\n"
    )
    summary = judge_target(Target("tiny", "tiny", None, ("test_tiny.py",)), root=tmp_path, jobs=1, progress=False)
    assert summary.error.startswith("baseline killed")
    assert summary.outcomes == []
