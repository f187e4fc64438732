"""One-line mutations of a Python module, by its AST (the operators of ``python -m bench mutants``).

A mutant is the module with exactly one change: a comparison swapped, ``and``/``or`` swapped, a
``not`` dropped, a constant changed (True/False, a number, a string emptied or filled), a
statement removed (a call, a ``raise``, an augmented assignment, ``continue``/``break``), a return
value replaced by ``None``, ``+``/``-`` swapped. Mutants are numbered in a fixed walk order, so
``apply(source, n)`` rebuilds mutant ``n`` in any process from the same source.

Not mutated, because a change there says nothing about behaviour: docstrings, type annotations,
arguments of logging calls, ``if TYPE_CHECKING:`` blocks, ``__all__``, and any line carrying
``# pragma: no mutate``.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_SWAP_COMPARE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
_SWAP_BINOP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
}  # fmt: skip
_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_LOG_NAMES = {"log", "logger", "logging", "_log", "LOG"}


@dataclass(frozen=True)
class Mutant:
    index: int
    line: int
    function: str  # qualified name of the enclosing function, or "<module>"
    operator: str  # e.g. "== -> !=", "remove call", "return None"
    original: str  # the source line, stripped
    span: tuple[int, int] = (0, 0)  # lines of the statement (a compound one: its header) it sits in

    @property
    def key(self) -> str:
        """Stable across unrelated edits (line numbers move): where, what, on which code."""
        return f"{self.function} | {self.operator} | {self.original}"


Change = Callable[[], None]


def _is_log_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    return node.func.attr in _LOG_METHODS and isinstance(owner, ast.Name) and owner.id in _LOG_NAMES


def _is_member(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
        and not node.value.id.isupper()
        and node.attr.isupper()
        and len(node.attr) > 1
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Walker:
    """Yields (node, qualname, operator, change) for every mutation point, in a fixed order."""

    def __init__(self, tree: ast.Module, lines: list[str], functions: frozenset[str] | None) -> None:
        self.tree = tree
        self.lines = lines
        self.functions = functions
        self._span = (0, 0)
        # Members of enum-like classes the module uses (``ReplyStatus.SENT``): a member may be swapped
        # for another one the module knows, the "wrong status" mistake.
        self.members: dict[str, list[str]] = {}
        for node in ast.walk(tree):
            if _is_member(node):
                assert isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                known = self.members.setdefault(node.value.id, [])
                if node.attr not in known:
                    known.append(node.attr)
        for known in self.members.values():
            known.sort()

    def points(self) -> Iterator[tuple[int, str, str, Change, tuple[int, int]]]:
        # Lazily walked: when a point comes out, _span is the statement being walked.
        for line, qualname, operator, change in self._body(self.tree.body, "<module>", self.functions is None):
            yield line, qualname, operator, change, self._span

    def _in_scope(self, qualname: str) -> bool:
        if self.functions is None:
            return True
        return any(qualname == f or qualname.startswith(f + ".") for f in self.functions)

    def _skipped(self, node: ast.AST) -> bool:
        line = getattr(node, "lineno", 0)
        return 0 < line <= len(self.lines) and "pragma: no mutate" in self.lines[line - 1]

    def _body(self, body: list[ast.stmt], qualname: str, in_scope: bool) -> Iterator[tuple[int, str, str, Change]]:
        for position, stmt in enumerate(body):
            if position == 0 and _is_docstring(stmt):
                continue
            yield from self._stmt(body, position, stmt, qualname, in_scope)

    def _stmt(
        self, body: list[ast.stmt], position: int, stmt: ast.stmt, qualname: str, in_scope: bool
    ) -> Iterator[tuple[int, str, str, Change]]:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = stmt.name if qualname == "<module>" else f"{qualname}.{stmt.name}"
            yield from self._body(stmt.body, inner, self._in_scope(inner))
            return
        if isinstance(stmt, ast.If) and _is_type_checking(stmt):
            return
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets):
            return
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return
        block = getattr(stmt, "body", None)
        header_end = block[0].lineno - 1 if isinstance(block, list) and block else (stmt.end_lineno or stmt.lineno)
        self._span = (stmt.lineno, max(stmt.lineno, header_end))
        if in_scope and not self._skipped(stmt):
            yield from self._statement_points(body, position, stmt, qualname)
        # The text of a raised exception is a message for a human, like a log line.
        strings = not isinstance(stmt, ast.Raise)
        for field, value in ast.iter_fields(stmt):
            if field in ("annotation", "returns", "type_comment"):
                continue
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield from self._nested(value, qualname, in_scope)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.ExceptHandler):
                        if item.type is not None:
                            yield from self._expr(item.type, qualname, in_scope, strings)
                        yield from self._nested(item.body, qualname, in_scope)
                    elif isinstance(item, ast.AST):
                        yield from self._expr(item, qualname, in_scope, strings)
            elif isinstance(value, ast.AST):
                yield from self._expr(value, qualname, in_scope, strings)

    def _nested(self, body: list[ast.stmt], qualname: str, in_scope: bool) -> Iterator[tuple[int, str, str, Change]]:
        for position, stmt in enumerate(body):
            yield from self._stmt(body, position, stmt, qualname, in_scope)

    def _statement_points(
        self, body: list[ast.stmt], position: int, stmt: ast.stmt, qualname: str
    ) -> Iterator[tuple[int, str, str, Change]]:
        line = stmt.lineno

        def remove() -> None:
            body[position] = ast.copy_location(ast.Pass(), stmt)

        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, (ast.Call, ast.Await))
            and not _is_log_call(stmt.value)
        ):
            yield line, qualname, "remove call", remove
        elif isinstance(stmt, ast.Raise):
            yield line, qualname, "remove raise", remove
        elif isinstance(stmt, ast.AugAssign):
            yield line, qualname, "remove augmented assignment", remove
        elif isinstance(stmt, (ast.Continue, ast.Break)):
            yield line, qualname, f"remove {type(stmt).__name__.lower()}", remove
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            if not (isinstance(stmt.value, ast.Constant) and stmt.value.value is None):

                def return_none(node: ast.Return = stmt) -> None:
                    node.value = ast.copy_location(ast.Constant(None), node)

                yield line, qualname, "return None", return_none

    def _expr(
        self, node: ast.AST, qualname: str, in_scope: bool, strings: bool = True
    ) -> Iterator[tuple[int, str, str, Change]]:
        if _is_log_call(node) or isinstance(node, ast.JoinedStr):
            return  # log text and f-string pieces are messages, not behaviour
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and not strings:
            return
        if in_scope and not self._skipped(node):
            yield from self._expr_points(node, qualname)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.expr_context, ast.cmpop, ast.boolop, ast.operator, ast.unaryop)):
                continue
            yield from self._expr(child, qualname, in_scope, strings)

    def _expr_points(self, node: ast.AST, qualname: str) -> Iterator[tuple[int, str, str, Change]]:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                swap = _SWAP_COMPARE.get(type(op))
                if swap is not None:

                    def compare(n: ast.Compare = node, i: int = i, swap: type[ast.cmpop] = swap) -> None:
                        n.ops[i] = swap()

                    yield line, qualname, f"{_op(op)} -> {_op(swap())}", compare
        elif isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And

            def boolop(n: ast.BoolOp = node, other: type[ast.boolop] = other) -> None:
                n.op = other()

            yield line, qualname, f"{_op(node.op)} -> {_op(other())}", boolop
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):

            def drop_not(n: ast.UnaryOp = node) -> None:
                n.__dict__["_drop"] = True  # _DropNot replaces the node by its operand

            yield line, qualname, "drop not", drop_not
        elif isinstance(node, ast.BinOp) and type(node.op) in _SWAP_BINOP:
            swap_bin = _SWAP_BINOP[type(node.op)]

            def binop(n: ast.BinOp = node, swap: type[ast.operator] = swap_bin) -> None:
                n.op = swap()

            yield line, qualname, f"{_op(node.op)} -> {_op(swap_bin())}", binop
        elif isinstance(node, ast.Constant):
            yield from self._constant_points(node, qualname, line)
        elif _is_member(node):
            assert isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            known = self.members[node.value.id]
            if len(known) > 1:
                sibling = known[(known.index(node.attr) + 1) % len(known)]

                def member(n: ast.Attribute = node, sibling: str = sibling) -> None:
                    n.attr = sibling

                yield line, qualname, f"{node.value.id}.{node.attr} -> {node.value.id}.{sibling}", member

    def _constant_points(self, node: ast.Constant, qualname: str, line: int) -> Iterator[tuple[int, str, str, Change]]:
        value = node.value
        replacement: bool | int | float | str
        if isinstance(value, bool):
            replacement = not value
        elif isinstance(value, int):
            replacement = value + 1
        elif isinstance(value, float):
            replacement = value * 2 + 1
        elif isinstance(value, str):
            replacement = "" if value else "XX"
        else:
            return

        def constant(n: ast.Constant = node, r: bool | int | float | str = replacement) -> None:
            n.value = r

        yield line, qualname, f"{value!r} -> {replacement!r}", constant


class _DropNot(ast.NodeTransformer):
    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        return node.operand if node.__dict__.get("_drop") else node


def _op(op: ast.AST) -> str:
    symbols = {
        ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Is: "is",
        ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.And: "and", ast.Or: "or", ast.Add: "+",
        ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    }  # fmt: skip
    return symbols.get(type(op), type(op).__name__)


def mutants(source: str, functions: frozenset[str] | None = None) -> list[Mutant]:
    """Every mutant of ``source`` (only inside ``functions``, qualified names, when given)."""
    lines = source.splitlines()
    tree = ast.parse(source)
    found = []
    for index, (line, qualname, operator, _change, span) in enumerate(_Walker(tree, lines, functions).points()):
        original = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        found.append(Mutant(index, line, qualname, operator, original, span))
    return found


def named(source: str, replacements: tuple[tuple[str, str, str], ...], first_index: int) -> list[Mutant]:
    """Hand-written one-line mutants ``(name, old, new)``: mistakes the AST operators do not make
    (found by earlier measurements, issue 12), numbered after them. ``old`` must occur once."""
    found = []
    for offset, (name, old, _new) in enumerate(replacements):
        if source.count(old) != 1:
            raise ValueError(f"named mutant {name!r}: its text occurs {source.count(old)} times, not once")
        start = source[: source.index(old)].count("\n") + 1
        end = start + old.count("\n")
        original = source.splitlines()[start - 1].strip()
        found.append(Mutant(first_index + offset, start, "<named>", name, original, (start, end)))
    return found


def apply_named(source: str, old: str, new: str) -> str:
    if source.count(old) != 1:
        raise ValueError("a named mutant's text must occur exactly once")
    return source.replace(old, new)


def apply(source: str, index: int, functions: frozenset[str] | None = None) -> ast.Module:
    """The AST of mutant ``index`` of ``source``, ready for ``compile``."""
    tree = ast.parse(source)
    for position, (_line, _qualname, _operator, change, _span) in enumerate(
        _Walker(tree, source.splitlines(), functions).points()
    ):
        if position == index:
            change()
            tree = _DropNot().visit(tree)
            return ast.fix_missing_locations(tree)
    raise IndexError(f"no mutant {index}")


def diff(source: str, index: int, functions: frozenset[str] | None = None) -> str:
    """Mutant ``index`` as a unified diff of the unparsed module (to read a survivor)."""
    before = ast.unparse(ast.parse(source)).splitlines()
    after = ast.unparse(apply(source, index, functions)).splitlines()
    return "\n".join(difflib.unified_diff(before, after, "original", f"mutant {index}", lineterm="", n=2))
