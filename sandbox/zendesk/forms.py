"""A browser's view of HTML forms, enough to walk an integration's admin UI (stdlib html.parser).

Collects every ``<form>`` with its action, method and the successful controls a browser would
submit: ``input`` (text/hidden/email/password/number/url..., checked checkbox/radio), ``select``
(selected option, else the first) and ``textarea``. Submit buttons are not included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_SKIPPED_INPUT_TYPES = {"submit", "button", "reset", "image", "file"}


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    field_names: list[str] = field(default_factory=list)

    def values(self, overrides: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """Default values with ``overrides`` applied to controls the form has (a browser cannot submit
        a control that is not on the page). A checkbox left unchecked by default is submitted when an
        override names it."""
        overrides = dict(overrides or {})
        out: list[tuple[str, str]] = []
        for name, value in self.fields:
            out.append((name, overrides.pop(name, value)))
        out.extend((name, value) for name, value in overrides.items() if name in self.field_names)
        return out


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen: str | None = None
        self._option_value: str | None = None
        self._option_selected = False
        self._option_text: list[str] = []
        self._in_option = False
        self._textarea: str | None = None
        self._textarea_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            self._form.field_names.append(name)
            if kind in _SKIPPED_INPUT_TYPES:
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self._form.fields.append((name, a.get("value", default)))
        elif tag == "select" and name:
            self._form.field_names.append(name)
            self._select, self._select_first, self._select_chosen = name, None, None
        elif tag == "option" and self._select is not None:
            self._in_option = True
            self._option_value = a.get("value")
            self._option_selected = "selected" in a
            self._option_text = []
        elif tag == "textarea" and name:
            self._form.field_names.append(name)
            self._textarea, self._textarea_text = name, []

    def handle_data(self, data: str) -> None:
        if self._in_option:
            self._option_text.append(data)
        if self._textarea is not None:
            self._textarea_text.append(data)

    def _close_option(self) -> None:
        if not self._in_option:
            return
        value = self._option_value if self._option_value is not None else "".join(self._option_text).strip()
        if self._select_first is None:
            self._select_first = value
        if self._option_selected:
            self._select_chosen = value
        self._in_option = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._close_option()
        elif tag == "select" and self._select is not None and self._form is not None:
            self._close_option()
            chosen = self._select_chosen if self._select_chosen is not None else self._select_first
            if chosen is not None:
                self._form.fields.append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, "".join(self._textarea_text)))
            self._textarea = None
        elif tag == "form":
            self._form = None


def parse_forms(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms
