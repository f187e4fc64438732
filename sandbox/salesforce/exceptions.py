"""Salesforce's own error shapes.

REST errors are a JSON array of ``{"message", "errorCode", "fields"}`` objects (REST API Developer Guide,
"Status Codes and Error Responses"); inside sObject Collections results the same error is keyed
``statusCode`` instead of ``errorCode`` (SaveResult.errors). OAuth errors are ``{"error",
"error_description"}``; SOAP login faults are a SOAP Fault with ``sf:exceptionCode``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SalesforceError(Exception):
    """One REST error; ``status`` is the HTTP status the whole response gets when it is raised."""

    error_code: str
    message: str
    fields: list[str] | None = None
    status: int = 400
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.error_code}: {self.message}")

    def rest_body(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.extra)
        body["message"] = self.message
        body["errorCode"] = self.error_code
        if self.fields is not None:
            body["fields"] = list(self.fields)
        return body

    def collection_body(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.extra)
        body["statusCode"] = self.error_code
        body["message"] = self.message
        body["fields"] = list(self.fields or [])
        return body


@dataclass
class OAuthError(Exception):
    error: str
    description: str
    status: int = 400

    def __post_init__(self) -> None:
        super().__init__(f"{self.error}: {self.description}")


@dataclass
class SoapLoginFault(Exception):
    code: str
    message: str

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.message}")


# Messages as Salesforce words them (kept in one place so tests and handlers agree).
def not_found() -> SalesforceError:
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def invalid_session() -> SalesforceError:
    return SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", status=401)


def request_limit_exceeded() -> SalesforceError:
    return SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403)


def entity_deleted() -> SalesforceError:
    return SalesforceError("ENTITY_IS_DELETED", "entity is deleted", fields=[])


def malformed_id(label: str, value: str) -> SalesforceError:
    return SalesforceError("MALFORMED_ID", f"{label} ID: id value of incorrect type: {value}", fields=["Id"])


def invalid_type_soql(query: str, name: str, column: int) -> SalesforceError:
    return SalesforceError(
        "INVALID_TYPE",
        f"\n{query}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\nsObject type '{name}' is not "
        "supported. If you are attempting to use a custom object, be sure to append the '__c' after the "
        "entity name. Please reference your WSDL or the describe call for the appropriate names.",
    )


def no_such_column(query: str, name: str, entity: str, column: int) -> SalesforceError:
    return SalesforceError(
        "INVALID_FIELD",
        f"\n{query}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\nNo such column '{name}' on "
        f"entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' "
        "after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
    )


def malformed_query(message: str) -> SalesforceError:
    return SalesforceError("MALFORMED_QUERY", message)


ROLLED_BACK = SalesforceError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
    fields=[],
)
