"""pytest plugin of ``python -m bench mutants``: loads ONE mutant of one module in place of the module.

Loaded with ``-p bench._mutant_hook`` (early, before any test or conftest imports the host), it reads
``HORSESHOE_MUTANT`` = ``{"module": "plugin.outbox.guard", "path": ".../guard.py", "index": 5,
"functions": [...] | null, "report": "/tmp/x.json"}`` and installs an import finder that compiles
the mutated AST under the module's real file name. Nothing is written to the working tree, so two
mutants can run at once. With ``"index": null`` it loads the module unchanged and records which of
its lines each test executed (the baseline run: a mutant then runs only the tests that reach its
line, and one on a line no test reaches is reported as survived without running). The report file
says whether the module was imported at all, so a test set that never touches its module is caught
rather than counted as killing nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
from types import ModuleType
from typing import Any

import coverage

from bench import _mutate

_SPEC = json.loads(os.environ.get("HORSESHOE_MUTANT", "null"))
_state: dict[str, Any] = {"imported": False}
_coverage: coverage.Coverage | None = None  # the baseline run's: line -> test node ids ("" = at import)


class _Loader(importlib.abc.Loader):
    def __init__(self, path: str) -> None:
        self.path = path

    def create_module(self, spec: Any) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        with open(self.path, encoding="utf-8") as handle:
            source = handle.read()
        functions = frozenset(_SPEC["functions"]) if _SPEC.get("functions") else None
        index = _SPEC.get("index")
        if _SPEC.get("replace"):
            code = compile(_mutate.apply_named(source, *_SPEC["replace"]), self.path, "exec")
        elif index is not None:
            code = compile(_mutate.apply(source, index, functions), self.path, "exec")
        else:
            code = compile(source, self.path, "exec")
        _state["imported"] = True
        exec(code, module.__dict__)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != _SPEC["module"]:
            return None
        return importlib.util.spec_from_file_location(fullname, _SPEC["path"], loader=_Loader(_SPEC["path"]))


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    if _coverage is not None:
        _coverage.switch_context(nodeid)


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    if _coverage is not None:
        _coverage.switch_context("")


def _install() -> None:
    if _SPEC is None:
        return
    if _SPEC["module"] in sys.modules:
        raise RuntimeError(f"{_SPEC['module']} was imported before the mutant could be installed")
    sys.meta_path.insert(0, _Finder())
    if _SPEC.get("index") is None and _SPEC.get("report"):
        global _coverage
        # coverage.py's C tracer, one context per test: which test reached which line of the module.
        _coverage = coverage.Coverage(data_file=None, include=[_SPEC["path"]], branch=False)
        _coverage.start()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _SPEC is None or not _SPEC.get("report"):
        return
    lines: dict[str, list[str]] = {}
    if _coverage is not None:
        _coverage.stop()
        data = _coverage.get_data()
        for measured in data.measured_files():
            for line, contexts in data.contexts_by_lineno(measured).items():
                lines.setdefault(str(line), []).extend(sorted(contexts))
    with open(_SPEC["report"], "w", encoding="utf-8") as handle:
        json.dump({"imported": _state["imported"], "lines": lines}, handle)


_install()
