"""The recent-search query language of the X fake: the subset of X's documented operators ("Search
Posts: build a query") horseshoe's listening uses, matched the way X matches them.

* a keyword matches a whole token, case-insensitively (``acme`` matches "Acme!" but not "acmes");
  a ``#hashtag`` matches the hashtag; a ``"quoted phrase"`` matches the words in order;
* terms side by side are AND; ``OR`` between terms is OR; parentheses group;
* ``-`` negates a term or operator; operators ``from:username``, ``lang:xx``, ``is:retweet``.

A query over 512 characters, an empty one, or unbalanced parentheses is refused as X refuses them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MAX_QUERY = 512
_TOKEN = re.compile(r'\s*(\(|\)|-?"[^"]*"|-?[^\s()"]+)')
_WORD = re.compile(r"[#@]?[\w']+", re.UNICODE)

Test = Callable[[Any], bool]


class QueryError(ValueError):
    pass


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _term(token: str, usernames: Callable[[str], str | None]) -> Test:
    negate = token.startswith("-") and len(token) > 1
    body = token[1:] if negate else token
    test: Test
    if body.startswith('"'):
        phrase = _words(body.strip('"'))
        if not phrase:
            raise QueryError("There were errors processing your request: empty phrase")

        def test(post: Any) -> bool:
            words = _words(post.text)
            return any(words[i : i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1))
    elif body.startswith("from:"):
        name = body[5:].lstrip("@").lower()

        def test(post: Any) -> bool:
            return (usernames(post.author_id) or "").lower() == name
    elif body.startswith("lang:"):
        wanted = body[5:].lower()

        def test(post: Any) -> bool:
            return (post.lang or "").lower() == wanted
    elif body == "is:retweet":

        def test(post: Any) -> bool:
            return bool(getattr(post, "repost_of", None))
    else:
        word = body.lower()

        def test(post: Any) -> bool:
            return word in _words(post.text)

    if negate:
        inner = test
        return lambda post: not inner(post)
    return test


def compile_query(query: str, usernames: Callable[[str], str | None]) -> Test:
    """A predicate over posts (``text``, ``author_id``, ``lang``), or QueryError with X's kind of reason."""
    if not query.strip():
        raise QueryError("query: must not be empty")
    if len(query) > MAX_QUERY:
        raise QueryError(f"query: must be at most {MAX_QUERY} characters")
    tokens = [t for t in _TOKEN.findall(query) if t.strip()]
    position = 0

    def group() -> Test:
        nonlocal position
        alternatives: list[list[Test]] = [[]]
        while position < len(tokens) and tokens[position] != ")":
            token = tokens[position]
            position += 1
            if token == "OR":
                alternatives.append([])
            elif token == "(":
                alternatives[-1].append(group())
                if position >= len(tokens) or tokens[position] != ")":
                    raise QueryError("query: unbalanced parentheses")
                position += 1
            else:
                alternatives[-1].append(_term(token, usernames))
        if any(not terms for terms in alternatives):
            raise QueryError("query: OR needs a term on each side")
        return lambda post: any(all(t(post) for t in terms) for terms in alternatives)

    test = group()
    if position != len(tokens):
        raise QueryError("query: unbalanced parentheses")
    return test
