"""What the connectors' pydantic models of documented payload shapes share.

Each network declares its own models (``connectors/<network>/models.py``): only the fields the
connector reads, with the types the network documents; fields the network adds over time are ignored.
``parse_shape`` validates a value against one and turns a refusal into ``BadInput`` naming the path at
fault (``telegram: update.message.chat.id: Input should be a valid integer``), so a webhook with a
wrong value deep inside is a 400 with a reason, never a KeyError or a 500.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from plugin.errors import BadInput


class Shape(BaseModel):
    """Base of a documented shape: unknown keys ignored, values never changed after parsing."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


Model = TypeVar("Model", bound=BaseModel)


def text_or_none(value: Any) -> str | None:
    """An id or text the network sends as a string, or as a number once an SDK has read it; never a
    bool, list or object."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be a string, got {type(value).__name__}")
    return str(value)


def required_text(value: Any) -> str:
    text = text_or_none(value)
    if not text:
        raise ValueError("is missing or empty")
    return text


# Field types for the models: optional text, and an id that must be present.
Text = Annotated[str | None, BeforeValidator(text_or_none)]
Id = Annotated[str, BeforeValidator(required_text)]


def error_path(where: str, loc: tuple[int | str, ...]) -> str:
    """``where`` followed by a pydantic error location: ``update.message.entities[0].offset``."""
    path = where
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_shape(network: str, model: type[Model], value: Any, where: str) -> Model:
    """``model`` validated from ``value``, or BadInput naming the network and the first path at fault."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        why = first["msg"].removeprefix("Value error, ")  # our own validators' reasons read as sentences
        raise BadInput(f"{network}: {error_path(where, tuple(first['loc']))}: {why}") from exc
