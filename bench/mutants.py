"""``python -m bench mutants [--module NAME ...] [--quick] [--jobs 2]``: mutation testing of the modules
that carry promises (issue 12), each judged by its own test set (``bench/_mutant_targets.py``).

For each module: a baseline run of its tests with the module unchanged (must pass; records which test
reaches which line), then every one-line mutant (``bench/_mutate.py``) is loaded in place of the
module by a pytest plugin (``bench/_mutant_hook.py``, nothing is written to the tree) and judged by
``pytest -x -q -p no:cacheprovider`` over the tests that reach its line, with a per-mutant timeout,
at most ``--jobs`` (default 2) at once. A mutant is *killed* when a test fails, *timeout* when the
tests hang (counted as detected), *survived* when they pass or no test reaches its line. Survivors
listed in ``bench/_mutant_equivalent.py`` with a reason are *equivalent* (no test can tell them
apart) and leave the score: ``score = (killed + timeout) / (mutants - equivalent)``.

Prints a table per module and every survivor, writes ``test-artifacts/mutants/NAME.json``, and ends with one JSON
line ``{"mutants", "killed", "survived", "timeout", "equivalent", "score", "per_module"}``.
``--quick``: only ``outbox.guard``. ``--sample N``: every Nth mutant (and every named one), an
estimate for a busy machine. ``--mutant N`` with one ``--module``: just that
mutant, its source shown (to prove a test kills it).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import _mutate
from bench._mutant_equivalent import EQUIVALENT
from bench._mutant_targets import TARGETS, Target, by_name

ROOT = Path(__file__).resolve().parent.parent
QUICK = ("outbox.guard",)


@dataclass
class Outcome:
    mutant: _mutate.Mutant
    status: str  # killed | survived | timeout | no_tests | equivalent | error
    seconds: float = 0.0
    reason: str = ""


@dataclass
class Summary:
    mutants: int = 0
    killed: int = 0
    survived: int = 0  # including no_tests
    timeout: int = 0
    equivalent: int = 0
    no_tests: int = 0
    error: str = ""
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def score(self) -> float:
        judged = self.mutants - self.equivalent
        return round((self.killed + self.timeout) / judged, 4) if judged else 1.0

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mutants": self.mutants, "killed": self.killed, "survived": self.survived, "timeout": self.timeout,
            "equivalent": self.equivalent, "no_tests": self.no_tests, "score": self.score,
        }  # fmt: skip
        if self.error:
            out["error"] = self.error
        return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--module", action="append", default=None, help="a target name (repeatable); default all")
    parser.add_argument("--jobs", type=int, default=2, help="mutants judged at once (at most 2 on this machine)")
    parser.add_argument("--mutant", type=int, default=None, help="with one --module: judge only mutant N")
    parser.add_argument(
        "--sample", type=int, default=1, help="judge every Nth mutant (and every named one): a quicker estimate"
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="carry over mutants killed in the last saved run (same key) and judge only the rest",
    )  # fmt: skip
    parser.add_argument(
        "--tests", action="append", default=None,
        help="with --resume: re-judge the survivors with these tests only (repeatable; a kill is a kill)",
    )  # fmt: skip
    parser.add_argument("--list", dest="list_only", action="store_true", help="list the mutants, run nothing")


class _ForkServer:
    """One ``bench._mutant_forkserver`` process: third-party imports paid once, a fork per mutant."""

    def __init__(self, root: Path, slot: str) -> None:
        # SQLite only (a mutant is judged by behaviour, not by the database), and bytecode caches on:
        # otherwise every child compiles the whole host again (the mutant itself is never written).
        skip = {"HORSESHOE_TEST_POSTGRES_URL", "PYTHONDONTWRITEBYTECODE"}
        env = {k: v for k, v in os.environ.items() if k not in skip}
        env["PYTHONPATH"] = os.pathsep.join([str(root), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.basetemp = Path(tempfile.gettempdir()) / f"horseshoe-mutants-{os.getpid()}-{slot}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench._mutant_forkserver"], cwd=root, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._read()  # {"ready": true}

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the mutation fork server died")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self, tests: list[str], spec: dict[str, Any], timeout: float) -> tuple[str, float, str]:
        """Run ``tests`` with one mutant (or none) installed; (status, seconds, last output line)."""
        args = [
            "-x", "-q", "-p", "no:cacheprovider", "-p", "bench._mutant_hook", f"--basetemp={self.basetemp}",
            "-o", "addopts=", *tests,
        ]  # fmt: skip
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"spec": spec, "args": args, "timeout": timeout}) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        rc, seconds, last = answer["rc"], float(answer["seconds"]), str(answer["last"])
        if rc is None:
            return "timeout", seconds, last
        if rc == 0:
            return "survived", seconds, last
        if rc in (1, 2, 3):  # failed, interrupted (a collection error), internal error
            return "killed", seconds, last
        return "error", seconds, f"pytest exit {rc}: {last}"

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        shutil.rmtree(self.basetemp, ignore_errors=True)


def _tests_for(mutant: _mutate.Mutant, lines: dict[str, list[str]], all_tests: tuple[str, ...]) -> list[str]:
    """The tests that ran any line of the mutant's statement; all of them if it ran at import."""
    reached: set[str] = set()
    for line in range(mutant.span[0], mutant.span[1] + 1):
        reached.update(lines.get(str(line), []))
    if "" in reached:
        return list(all_tests)
    return sorted(reached)


def judge_target(
    target: Target,
    root: Path = ROOT,
    jobs: int = 2,
    only: int | None = None,
    progress: bool = True,
    sample: int = 1,
    carried: dict[str, str] | None = None,
) -> Summary:
    """Baseline, then every mutant of ``target`` (or only mutant ``only``; or every ``sample``-th)."""
    source = (root / target.path).read_text(encoding="utf-8")
    functions = frozenset(target.functions) if target.functions else None
    found = _all_mutants(target, source, functions)
    first_named = len(found) - len(target.named)
    replacements = {first_named + i: [old, new] for i, (_name, old, new) in enumerate(target.named)}
    if only is not None:
        found = [m for m in found if m.index == only]
    elif sample > 1:
        found = [m for m in found if m.index % sample == 0 or m.function == "<named>"]
    path = str((root / target.path).resolve())
    spec_base = {"module": target.module, "path": path, "functions": sorted(functions) if functions else None}
    servers: queue.Queue[_ForkServer] = queue.Queue()
    for slot in range(max(1, min(jobs, 2))):
        servers.put(_ForkServer(root, str(slot)))
    try:
        return _judge_all(target, found, spec_base, replacements, servers, progress, carried or {})
    finally:
        while not servers.empty():
            servers.get().close()


def _judge_all(
    target: Target,
    found: list[_mutate.Mutant],
    spec_base: dict[str, Any],
    replacements: dict[int, list[str]],
    servers: queue.Queue[_ForkServer],
    progress: bool,
    carried: dict[str, str],
) -> Summary:
    summary = Summary(mutants=len(found))
    server = servers.get()
    with tempfile.TemporaryDirectory(prefix="horseshoe-mutants-") as scratch:
        report = Path(scratch) / "baseline.json"
        status, seconds, last = server.run(
            list(target.tests), {**spec_base, "index": None, "report": str(report)}, 3600
        )
        baseline: dict[str, Any] = {"imported": False, "lines": {}}
        if report.exists():
            baseline = json.loads(report.read_text())
    servers.put(server)
    if status != "survived" or not baseline["imported"]:
        why = last if status != "survived" else f"its tests never import {target.module}"
        summary.error = f"baseline {status}: {why}"
        return summary
    timeout = target.timeout or seconds * 3 + 30
    equivalent = EQUIVALENT.get(target.name, {})
    if progress:
        print(f"{target.name}: baseline {seconds:.0f} s, {len(found)} mutants, timeout {timeout:.0f} s", flush=True)

    def judge(mutant: _mutate.Mutant) -> Outcome:
        if carried.get(mutant.key) in ("killed", "timeout"):
            # Killed by the last run's tests; tests were only added since, so it still is.
            return Outcome(mutant, carried[mutant.key], reason="carried over from the last run")
        tests = _tests_for(mutant, baseline["lines"], target.tests)
        if not tests:
            return Outcome(mutant, "no_tests")
        spec = {**spec_base, "index": mutant.index, "report": None, "replace": replacements.get(mutant.index)}
        server = servers.get()
        try:
            status, took, last = server.run(tests, spec, timeout)
        finally:
            servers.put(server)
        return Outcome(mutant, status, round(took, 1), last)

    with ThreadPoolExecutor(max_workers=servers.qsize()) as pool:
        for outcome in pool.map(judge, found):
            if outcome.status in ("survived", "no_tests") and outcome.mutant.key in equivalent:
                outcome.reason = equivalent[outcome.mutant.key]
                outcome.status = "equivalent"
            summary.outcomes.append(outcome)
            if progress and outcome.status not in ("killed",):
                print(f"  {outcome.status:10} {_describe(target, outcome.mutant)}", flush=True)
    for outcome in summary.outcomes:
        if outcome.status == "killed":
            summary.killed += 1
        elif outcome.status == "timeout":
            summary.timeout += 1
        elif outcome.status == "equivalent":
            summary.equivalent += 1
        elif outcome.status == "error":
            summary.error = f"mutant {outcome.mutant.index}: {outcome.reason}"
            summary.survived += 1
        else:
            summary.survived += 1
            summary.no_tests += outcome.status == "no_tests"
    return summary


def _all_mutants(target: Target, source: str, functions: frozenset[str] | None) -> list[_mutate.Mutant]:
    found = _mutate.mutants(source, functions)
    return found + _mutate.named(source, target.named, len(found))


def _diff(target: Target, source: str, mutant: _mutate.Mutant, functions: frozenset[str] | None) -> str:
    if mutant.function != "<named>":
        return _mutate.diff(source, mutant.index, functions)
    _name, old, new = target.named[mutant.index - len(_mutate.mutants(source, functions))]
    after = _mutate.apply_named(source, old, new)
    lines = difflib.unified_diff(source.splitlines(), after.splitlines(), "original", "mutant", lineterm="", n=2)
    return "\n".join(lines)


def _describe(target: Target, mutant: _mutate.Mutant) -> str:
    return f"{target.path}:{mutant.line} #{mutant.index} {mutant.key}"


def _print_table(results: dict[str, Summary]) -> None:
    header = f"{'module':26} {'mutants':>7} {'killed':>6} {'survived':>8} {'timeout':>7} {'equiv':>5} {'score':>6}"
    print(header)
    print("-" * len(header))
    for name, s in results.items():
        line = f"{name:26} {s.mutants:7} {s.killed:6} {s.survived:8} {s.timeout:7} {s.equivalent:5} {s.score:6.1%}"
        print(line + (f"  ERROR {s.error}" if s.error else ""))


def run(
    quick: bool = False,
    module: list[str] | None = None,
    jobs: int = 2,
    mutant: int | None = None,
    list_only: bool = False,
    sample: int = 1,
    resume: bool = False,
    tests: list[str] | None = None,
) -> dict[str, Any]:
    names = module or ([*QUICK] if quick else [t.name for t in TARGETS])
    targets = [by_name(name) for name in names]
    if tests:
        if not resume:
            raise SystemExit("--tests only re-judges the survivors of a saved run: use it with --resume")
        targets = [dataclasses.replace(t, tests=tuple(tests)) for t in targets]
    if mutant is not None and len(targets) != 1:
        raise SystemExit("--mutant needs exactly one --module")
    if list_only or mutant is not None:
        count = 0
        for target in targets:
            source = (ROOT / target.path).read_text(encoding="utf-8")
            functions = frozenset(target.functions) if target.functions else None
            for m in _all_mutants(target, source, functions):
                count += 1
                if mutant is None or m.index == mutant:
                    print(_describe(target, m))
                if m.index == mutant:
                    print(_diff(target, source, m, functions))
        if list_only:
            return {"mutants": count}
    results: dict[str, Summary] = {}
    for target in targets:
        carried = _last_run(target) if resume else {}
        results[target.name] = judge_target(target, jobs=jobs, only=mutant, sample=sample, carried=carried)
        if mutant is None:
            _save(target, results[target.name])
    _print_table(results)
    total = Summary()
    for s in results.values():
        total.mutants += s.mutants
        total.killed += s.killed
        total.survived += s.survived
        total.timeout += s.timeout
        total.equivalent += s.equivalent
        total.no_tests += s.no_tests
    figures = total.figures()
    figures["per_module"] = {name: s.figures() for name, s in results.items()}
    if sample > 1:
        figures["sample"] = sample  # every Nth mutant only: an estimate, not the full score
    return figures


def _folder() -> Path:
    return ROOT / "test-artifacts" / "mutants"  # gitignored


def _last_run(target: Target) -> dict[str, str]:
    """Mutant key -> status in the last saved run of ``target`` (empty when there is none)."""
    saved = _folder() / f"{target.name}.json"
    if not saved.exists():
        return {}
    outcomes = json.loads(saved.read_text()).get("outcomes", [])
    keys = [f"{o['function']} | {o['operator']} | {o['original']}" for o in outcomes]
    # A key that names two mutants (the same change twice on one line) is not carried over.
    return {k: o["status"] for k, o in zip(keys, outcomes, strict=True) if keys.count(k) == 1}


def _save(target: Target, summary: Summary) -> None:
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = [{**asdict(o.mutant), "status": o.status, "seconds": o.seconds, "reason": o.reason}
                for o in summary.outcomes]  # fmt: skip
    (folder / f"{target.name}.json").write_text(json.dumps({**summary.figures(), "outcomes": outcomes}, indent=1))
