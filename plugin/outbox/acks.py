"""The public acknowledgement of a ``#handoff`` in the customer's language (``mappings/handoff.yaml``).

The company edits the templates (the file, or its own copy named by the ``handoff_acks`` setting); a
changed file is read again on the next handoff, and a broken edit keeps the last good templates (logged
once) rather than failing the agent's reply. The language is the one triage detected for the post the
agent answers, else the network's tag; anything not in the file gets its ``fallback`` (English).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

import mappings
from plugin.models import Reply

if TYPE_CHECKING:
    from plugin.runtime import Runtime

log = logging.getLogger(__name__)
DEFAULT_PATH = Path(mappings.__file__).resolve().parent / "handoff.yaml"
ENGLISH = "Thanks for reaching out! We've sent you a private message so we can sort this out safely."
MAX_ACK = 280  # the shortest public limit (X): an acknowledgement must fit everywhere in one post


@dataclass(frozen=True)
class Templates:
    fallback: str
    by_language: dict[str, str]

    def for_language(self, lang: str | None) -> str:
        code = base_language(lang)
        return self.by_language.get(code or "") or self.by_language.get(self.fallback) or ENGLISH


def base_language(lang: str | None) -> str | None:
    """``pt-BR`` / ``pt_BR`` / ``PT`` -> ``pt``; None for no language (X's ``und``, ``zxx``, ``qme``...)."""
    if not lang:
        return None
    code = lang.replace("_", "-").split("-")[0].strip().lower()
    return code if len(code) == 2 and code.isalpha() else None


def parse_templates(data: Any, where: str) -> Templates:
    if not isinstance(data, dict) or not isinstance(data.get("acknowledgements"), dict):
        raise ValueError(f"{where}: needs an 'acknowledgements' mapping of language code -> text")
    found: dict[str, str] = {}
    for key, text in data["acknowledgements"].items():
        code = base_language(str(key))
        if code is None or code != str(key).lower():
            raise ValueError(f"{where}: {key!r} is not a two-letter language code")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: the {key} acknowledgement must be non-empty text")
        if len(text.strip()) > MAX_ACK:
            raise ValueError(f"{where}: the {key} acknowledgement is {len(text.strip())} characters, limit {MAX_ACK}")
        found[code] = text.strip()
    fallback = str(data.get("fallback") or "en").lower()
    if fallback not in found:
        raise ValueError(f"{where}: fallback {fallback!r} has no acknowledgement")
    return Templates(fallback=fallback, by_language=found)


class AckTemplates:
    """The templates of one file, read again when its modification time or size changes."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else DEFAULT_PATH
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._templates = Templates(fallback="en", by_language={"en": ENGLISH})

    def current(self) -> Templates:
        try:
            stat = self.path.stat()
        except OSError as exc:
            log.error("handoff acknowledgements %s unreadable, using the last good ones: %s", self.path, exc)
            return self._templates
        stamp = (stat.st_mtime, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp  # a broken edit is reported once, not on every handoff
                try:
                    text = self.path.read_text(encoding="utf-8")
                    self._templates = parse_templates(yaml.safe_load(text), str(self.path))
                except (OSError, ValueError, yaml.YAMLError) as exc:
                    log.error("handoff acknowledgements not reloaded, keeping the last good ones: %s", exc)
            return self._templates

    def acknowledgement(self, lang: str | None) -> str:
        return self.current().for_language(lang)


_cache: dict[str, AckTemplates] = {}
_cache_lock = threading.Lock()


def templates_at(path: str) -> AckTemplates:
    """One ``AckTemplates`` per file per process (``path`` empty = the installed mappings/handoff.yaml)."""
    with _cache_lock:
        found = _cache.get(path)
        if found is None:
            found = _cache[path] = AckTemplates(path or None)
        return found


def customer_language(labels: dict[str, Any] | None, network_lang: str | None) -> str | None:
    """Triage's language for the post (it knows the tenant's languages), else the network's tag."""
    detected = (labels or {}).get("language")
    return base_language(detected if isinstance(detected, str) else None) or base_language(network_lang)


def for_reply(runtime: Runtime, tenant_id: int, reply: Reply) -> str:
    """The acknowledgement for a handoff answering ``reply.in_reply_to``, in its author's language."""
    answered = runtime.store.inbox.find(tenant_id, reply.network, reply.in_reply_to) if reply.in_reply_to else None
    lang = customer_language(answered.labels, answered.mention().lang) if answered is not None else None
    return templates_at(runtime.settings.handoff_acks).acknowledgement(lang)
