"""Field-level validation and value conversion for record writes, in Salesforce's error vocabulary."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from . import ids
from .exceptions import SalesforceError
from .schema import TEXT_TYPES, FieldDef, SObjectSchema
from .soql import format_datetime, parse_datetime

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _parser_error(kind: str, value: Any) -> SalesforceError:
    return SalesforceError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} or request may be missing "
        "a required field",
    )


def label(fd: FieldDef) -> str:
    return fd.label or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", fd.name.removesuffix("Id").removesuffix("__c"))


def to_python(fd: FieldDef, value: Any) -> Any:
    """Convert a JSON value to the stored Python value for ``fd``; raise Salesforce's parse error."""
    if value is None:
        return None
    if fd.type == "boolean":
        if not isinstance(value, bool):
            raise _parser_error("boolean", value)
        return value
    if fd.type == "int":
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise _parser_error("int", value)
        return int(value)
    if fd.type in ("double", "currency", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _parser_error("double", value)
        return float(value)
    if fd.type == "datetime":
        try:
            return parse_datetime(str(value))
        except ValueError as err:
            raise _parser_error("datetime", value) from err
    if fd.type == "date":
        try:
            return date.fromisoformat(str(value))
        except ValueError as err:
            raise _parser_error("date", value) from err
    if isinstance(value, dict | list):
        raise _parser_error(fd.type, value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def check_field_value(fd: FieldDef, value: Any) -> None:
    """Length, picklist and format rules for one non-null value."""
    if value is None:
        return
    if fd.type in TEXT_TYPES and fd.length and isinstance(value, str) and len(value) > fd.length:
        raise SalesforceError(
            "STRING_TOO_LONG",
            f"{label(fd)}: data value too large: {value} (max length={fd.length})",
            fields=[fd.name],
        )
    if fd.type == "picklist" and fd.restricted and value not in fd.picklist:
        raise SalesforceError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{label(fd)}: bad value for restricted picklist field: {value}",
            fields=[fd.name],
        )
    if fd.type == "email" and not _EMAIL_RE.match(value):
        raise SalesforceError("INVALID_EMAIL_ADDRESS", f"{label(fd)}: invalid email address: {value}", fields=[fd.name])


def resolve_fields(schema: SObjectSchema, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Map request keys to canonical field names and Python values; reject unknown/read-only fields."""
    values: dict[str, Any] = {}
    read_only: list[str] = []
    for key, raw in body.items():
        if key == "attributes":
            continue
        fd = schema.field(key)
        if fd is None:
            raise SalesforceError("INVALID_FIELD", f"No such column '{key}' on sobject of type {schema.name}")
        if fd.name == "Id":
            if creating:
                raise SalesforceError("INVALID_FIELD", "cannot specify Id in an insert call", fields=[])
            continue
        if (creating and not fd.createable) or (not creating and not fd.updateable):
            read_only.append(fd.name)
            continue
        values[fd.name] = to_python(fd, raw)
    if read_only:
        raise SalesforceError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            fields=read_only,
        )
    return values


def check_reference_shape(fd: FieldDef, value: str, prefixes: dict[str, str]) -> str:
    """Return the 18-char Id or raise MALFORMED_ID / FIELD_INTEGRITY_EXCEPTION for a lookup value."""
    normalized = ids.normalize(value)
    if normalized is None:
        raise SalesforceError("MALFORMED_ID", f"{label(fd)}: id value of incorrect type: {value}", fields=[fd.name])
    target = prefixes.get(ids.key_prefix(normalized))
    if target not in fd.reference_to:
        raise SalesforceError(
            "FIELD_INTEGRITY_EXCEPTION", f"{label(fd)}: id value of incorrect type: {value}", fields=[fd.name]
        )
    return normalized
