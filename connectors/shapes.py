"""What the connectors' pydantic models of documented payload shapes share.

Each network declares its own models (``connectors/<network>/models.py``): only the fields the
connector reads, with the types the network documents; fields the network adds over time are ignored.
``parse_shape`` validates a value against one and turns a refusal into ``BadInput`` naming the path at
fault (``telegram: update.message.chat.id: Input should be a valid integer``), so a webhook with a
wrong value deep inside is a 400 with a reason, never a KeyError or a 500.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from plugin.errors import BadInput


class Shape(BaseModel):
    """Base of a documented shape: unknown keys ignored, values never changed after parsing."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


Model = TypeVar("Model", bound=BaseModel)


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
