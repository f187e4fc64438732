"""HTML form fields from a pydantic model, and the model back from the submitted form.

A connector declares what an admin enters as pydantic models (``credentials_model``,
``settings_model``); this module turns a model's JSON schema into form fields and a submitted form into
a validated model, with every problem attached to the field it concerns. It only describes fields;
templates render them (Jinja escapes every label, value and message).

Mapping: ``title`` -> label, ``description`` -> help text, ``SecretStr`` -> password input that is
never filled back in, ``bool`` -> checkbox, ``int`` -> number (with min/max), enum or ``Literal`` ->
select, a list -> text of comma-separated items, anything else -> text. A field without a default is
required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, ValidationError

Kind = Literal["text", "password", "checkbox", "number", "select", "list"]


@dataclass(frozen=True)
class FormField:
    """One input, as a template needs it."""

    name: str  # the model's field name
    input_name: str  # the HTML name: "<prefix>.<name>"
    label: str
    help: str
    kind: Kind
    required: bool
    value: str = ""  # what to show in the input ("" for a secret, always)
    checked: bool = False
    options: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    error: str = ""


@dataclass
class FormErrors(Exception):
    """Validation failed: messages per field name, and those that concern no field (an unknown key)."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{name}: {message}" for name, message in self.fields.items()] + self.general
        return "; ".join(parts)


def _resolve(schema: Mapping[str, Any], prop: Mapping[str, Any]) -> dict[str, Any]:
    """The property's own schema: ``$ref`` followed, ``X | None`` unwrapped."""
    resolved = dict(prop)
    if "anyOf" in resolved:
        kinds = [s for s in resolved["anyOf"] if s.get("type") != "null"]
        if len(kinds) == 1:
            resolved = {**{k: v for k, v in resolved.items() if k != "anyOf"}, **kinds[0]}
    ref = resolved.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {})[ref.rsplit("/", 1)[1]]
        resolved = {**target, **{k: v for k, v in resolved.items() if k != "$ref"}}
    return resolved


def _kind(prop: Mapping[str, Any]) -> Kind:
    if prop.get("format") == "password" or prop.get("writeOnly"):
        return "password"
    if "enum" in prop:
        return "select"
    if prop.get("type") == "boolean":
        return "checkbox"
    if prop.get("type") == "integer":
        return "number"
    if prop.get("type") == "array":
        return "list"
    return "text"


def _shown(value: Any) -> str:
    if value is None or isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item) for item in value)
    return str(getattr(value, "value", value))  # an Enum member shows its value


def form_fields(
    model: type[BaseModel],
    prefix: str,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    from_form: bool = False,
) -> list[FormField]:
    """The model's fields, in declaration order, filled with ``values`` (secrets never are).

    ``from_form``: the values are a submitted form's (``submitted``), where an unchecked checkbox is
    simply absent, so absent means unchecked rather than the default.
    """
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    values, errors = values or {}, errors or {}
    found: list[FormField] = []
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(schema, raw)
        kind = _kind(prop)
        default = prop.get("default")
        given = values.get(name, "" if from_form and kind == "checkbox" else default)
        shown = "" if kind == "password" else _shown(given)
        found.append(
            FormField(
                name=name,
                input_name=f"{prefix}.{name}",
                label=str(raw.get("title") or prop.get("title") or name),
                help=str(raw.get("description") or ""),
                kind=kind,
                required=name in required,
                value=shown,
                checked=kind == "checkbox" and shown in ("true", "on", "1"),
                options=tuple(str(o) for o in prop.get("enum", ())),
                minimum=prop.get("minimum") if kind == "number" else None,
                maximum=prop.get("maximum") if kind == "number" else None,
                error=errors.get(name, ""),
            )
        )
    return found


def submitted(form: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Every ``<prefix>.<name>`` value of a submitted form (a MultiDict or a plain mapping), unchecked."""
    start = f"{prefix}."
    return {key[len(start) :]: str(value) for key, value in form.items() if key.startswith(start)}


def parse(model: type[BaseModel], form: Mapping[str, Any], prefix: str) -> BaseModel:
    """Validate the ``<prefix>.*`` part of a submitted form with ``model``; raises ``FormErrors``.

    An empty input means "not given" (the default applies, or a required field is reported missing);
    an unchecked checkbox sends nothing, so a boolean field absent from the form is False. Keys the
    model does not know stay in, so a model that forbids extras refuses them by name.
    """
    schema = model.model_json_schema()
    raw = submitted(form, prefix)
    data: dict[str, Any] = {key: value for key, value in raw.items() if value.strip() != ""}
    for name, prop in schema.get("properties", {}).items():
        kind = _kind(_resolve(schema, prop))
        if kind == "checkbox":
            data[name] = raw.get(name, "").lower() in ("on", "true", "1", "yes")
        elif kind == "list" and name in data:
            data[name] = [item.strip() for item in data[name].split(",") if item.strip()]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _errors(exc, set(schema.get("properties", {}))) from exc


def _errors(exc: ValidationError, known: set[str]) -> FormErrors:
    errors = FormErrors()
    for error in exc.errors(include_url=False, include_input=False):
        where = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden" or where not in known:
            errors.general.append(f"unknown field {where!r}")
        elif where not in errors.fields:  # the first problem of a field is the one to fix first
            errors.fields[where] = "this field is required" if error["type"] == "missing" else error["msg"]
    return errors


def secret_values(instance: BaseModel) -> dict[str, Any]:
    """The model's values with secrets revealed and unset optionals dropped: what gets stored."""
    values: dict[str, Any] = {}
    for name in type(instance).model_fields:
        value = getattr(instance, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        values[name] = getattr(value, "value", value)  # an Enum member is stored as its value
    return values


def encode(prefix: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Form fields for ``values`` as a browser would submit them (for scripts and tests posting the form)."""
    encoded: dict[str, str] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                encoded[f"{prefix}.{name}"] = "on"
            continue
        encoded[f"{prefix}.{name}"] = _shown(value)
    return encoded
