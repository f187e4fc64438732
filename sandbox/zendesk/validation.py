"""Validation of Channel Framework payloads against the documented limits.

Limits come from the Channel Framework docs ("Push Content to Support": external_resource / author
tables; "Pull requests": response format; "Channelback": request/response; "Metadata and state") and
from zendesk/any_channel_json_schemas (external_resource.json, pull_payload.json, push_parameters.json,
channelback_payload_v2.json). Where the two disagree, the stricter documented figure is used and noted.
The sandbox ships without jsonschema, so the rules are written out here; the tests cross-check them
against the saved schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Request-level limits.
MAX_PUSH_RESOURCES = 256  # push_parameters.json maxItems
MAX_PULL_RESOURCES = 200  # pull endpoint docs: "up to a maximum of 200" (schema allows 256)
MAX_REQUEST_ID = 64  # push_parameters.json request_id maxLength
MAX_INSTANCE_PUSH_ID = 255
MAX_METADATA = 5000  # "Metadata and state": metadata and state are limited to 5000 characters
MAX_STATE = 5000
MAX_INSTANCE_NAME = 255

# external_resource limits (push docs table; schema where the docs give none).
MAX_EXTERNAL_ID = 255
MAX_PARENT_ID = 511  # push docs table (schema: 255)
MAX_THREAD_ID = 255
MAX_MESSAGE = 65535
MAX_AUTHOR_FIELD = 255
MAX_IMAGE_URL = 511  # schema (docs table: 255)
MAX_DISPLAY_INFO = 16
MAX_FIELDS = 64
MAX_FILE_URLS = 10  # push docs table: file_urls max 10
MAX_FILE_URL = 511

# channelback request field limits (channelback docs table).
MAX_CHANNELBACK_MESSAGE = 65535
MAX_REQUEST_UNIQUE_IDENTIFIER = 255


class PayloadInvalid(ValueError):
    """A payload broke a documented rule; the message is the description Zendesk reports."""


def _external_id(value: Any, name: str, max_length: int) -> str:
    # Custom format "external-id" (any_channel_json_schemas README): a non-empty string with no
    # leading/trailing whitespace; the push docs add "Must be ASCII characters".
    if not isinstance(value, str) or not value:
        raise PayloadInvalid(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise PayloadInvalid(f"{name} is too long (maximum is {max_length} characters)")
    if value != value.strip():
        raise PayloadInvalid(f"{name} must not have leading or trailing whitespace")
    if not value.isascii():
        raise PayloadInvalid(f"{name} must be ASCII characters")
    return value


def _string(value: Any, name: str, max_length: int, *, min_length: int = 1) -> str:
    if not isinstance(value, str) or len(value) < min_length:
        raise PayloadInvalid(f"{name} must be a non-empty string" if min_length else f"{name} must be a string")
    if len(value) > max_length:
        raise PayloadInvalid(f"{name} is too long (maximum is {max_length} characters)")
    return value


def parse_timestamp(value: Any, name: str = "created_at") -> datetime:
    """ISO 8601 extended date-time, e.g. '2015-09-08T22:48:09Z' (push docs)."""
    if not isinstance(value, str) or "T" not in value:
        raise PayloadInvalid(f"{name} must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadInvalid(f"{name} must be an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise PayloadInvalid(f"{name} must include a time zone")
    return parsed


def _https_url(value: Any, name: str, max_length: int) -> str:
    # Custom format "https-url" (any_channel_json_schemas README).
    text = _string(value, name, max_length)
    if not text.startswith("https://"):
        raise PayloadInvalid(f"{name} must be an https URL")
    return text


def _field_values(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise PayloadInvalid(f"{name} must be an array")
    if len(value) > MAX_FIELDS:
        raise PayloadInvalid(f"{name} has too many items (maximum is {MAX_FIELDS})")
    for item in value:
        if not isinstance(item, dict) or "id" not in item or "value" not in item:
            raise PayloadInvalid(f"each {name} item needs id and value")
        if not isinstance(item["id"], str | int) or isinstance(item["id"], bool):
            raise PayloadInvalid(f"{name} id must be an integer or string")
    return value


def validate_author(author: Any) -> dict[str, Any]:
    if not isinstance(author, dict):
        raise PayloadInvalid("author must be an object")
    _external_id(author.get("external_id"), "author.external_id", MAX_AUTHOR_FIELD)
    for key in ("name", "locale"):
        if key in author:
            _string(author[key], f"author.{key}", MAX_AUTHOR_FIELD)
    if "image_url" in author:
        _string(author["image_url"], "author.image_url", MAX_IMAGE_URL)
    if "fields" in author:
        _field_values(author["fields"], "author.fields")
    return author


def validate_external_resource(resource: Any) -> dict[str, Any]:
    """Raise ``PayloadInvalid`` unless ``resource`` is a valid external_resource object."""
    if not isinstance(resource, dict):
        raise PayloadInvalid("external resource must be an object")
    for required in ("external_id", "message", "author", "created_at"):
        if required not in resource:
            raise PayloadInvalid(f"{required} is required")
    _external_id(resource["external_id"], "external_id", MAX_EXTERNAL_ID)
    _string(resource["message"], "message", MAX_MESSAGE)
    if "html_message" in resource:
        _string(resource["html_message"], "html_message", MAX_MESSAGE)
    if "parent_id" in resource and resource["parent_id"] is not None:
        _external_id(resource["parent_id"], "parent_id", MAX_PARENT_ID)
    if "thread_id" in resource and resource["thread_id"] is not None:
        _external_id(resource["thread_id"], "thread_id", MAX_THREAD_ID)
    if resource.get("parent_id") is not None and resource.get("thread_id") is not None:
        # Push docs: "Responses may include parent_id or thread_id, but not both."
        raise PayloadInvalid("Responses may include parent_id or thread_id, but not both")
    parse_timestamp(resource["created_at"])
    validate_author(resource["author"])
    if "internal_note" in resource and not isinstance(resource["internal_note"], bool):
        raise PayloadInvalid("internal_note must be a boolean")
    if "allow_channelback" in resource and not isinstance(resource["allow_channelback"], bool):
        raise PayloadInvalid("allow_channelback must be a boolean")
    if "display_info" in resource:
        infos = resource["display_info"]
        if not isinstance(infos, list) or len(infos) > MAX_DISPLAY_INFO:
            raise PayloadInvalid(f"display_info must be an array of at most {MAX_DISPLAY_INFO} items")
        for info in infos:
            if not isinstance(info, dict) or "type" not in info or "data" not in info:
                raise PayloadInvalid("each display_info item needs type and data")
            _string(info["type"], "display_info.type", MAX_AUTHOR_FIELD)
            if not isinstance(info["data"], dict):
                raise PayloadInvalid("display_info.data must be an object")
    if "fields" in resource:
        _field_values(resource["fields"], "fields")
    if "file_urls" in resource:
        urls = resource["file_urls"]
        if not isinstance(urls, list) or len(urls) > MAX_FILE_URLS:
            raise PayloadInvalid(f"file_urls must be an array of at most {MAX_FILE_URLS} URLs")
        for url in urls:
            _https_url(url, "file_urls item", MAX_FILE_URL)
    return resource


def validate_metadata_state(metadata: Any, state: Any) -> None:
    if metadata is not None:
        _string(metadata, "metadata", MAX_METADATA, min_length=0)
    if state is not None:
        _string(state, "state", MAX_STATE, min_length=0)


def validate_pull_response(payload: Any) -> dict[str, Any]:
    """The pull endpoint's answer: {external_resources, state?, metadata_needs_update?, metadata?}.

    Individual resources are validated one by one at import time (each gets its own status), so
    only the envelope is checked here.
    """
    if not isinstance(payload, dict):
        raise PayloadInvalid("pull response must be a JSON object")
    resources = payload.get("external_resources")
    if not isinstance(resources, list):
        raise PayloadInvalid("external_resources is required and must be an array")
    if len(resources) > MAX_PULL_RESOURCES:
        raise PayloadInvalid(f"external_resources has more than {MAX_PULL_RESOURCES} items")
    validate_metadata_state(payload.get("metadata"), payload.get("state"))
    if "metadata_needs_update" in payload and not isinstance(payload["metadata_needs_update"], bool):
        raise PayloadInvalid("metadata_needs_update must be a boolean")
    return payload


def validate_channelback_response(payload: Any) -> dict[str, Any]:
    """channelback_payload_v2.json: {external_id (required), allow_channelback?, metadata_needs_update?,
    metadata?}."""
    if not isinstance(payload, dict):
        raise PayloadInvalid("channelback response must be a JSON object")
    _external_id(payload.get("external_id"), "external_id", MAX_EXTERNAL_ID)
    if "allow_channelback" in payload and not isinstance(payload["allow_channelback"], bool):
        raise PayloadInvalid("allow_channelback must be a boolean")
    if "metadata_needs_update" in payload and not isinstance(payload["metadata_needs_update"], bool):
        raise PayloadInvalid("metadata_needs_update must be a boolean")
    validate_metadata_state(payload.get("metadata"), None)
    return payload


def validate_push_envelope(payload: Any) -> dict[str, Any]:
    """push_parameters.json: {instance_push_id, request_id?, external_resources (<= 256)}."""
    if not isinstance(payload, dict):
        raise PayloadInvalid("request body must be a JSON object")
    _string(payload.get("instance_push_id"), "instance_push_id", MAX_INSTANCE_PUSH_ID)
    if "request_id" in payload and payload["request_id"] is not None:
        _string(payload["request_id"], "request_id", MAX_REQUEST_ID)
    resources = payload.get("external_resources")
    if not isinstance(resources, list):
        raise PayloadInvalid("external_resources is required and must be an array")
    if len(resources) > MAX_PUSH_RESOURCES:
        raise PayloadInvalid(f"external_resources has more than {MAX_PUSH_RESOURCES} items")
    return payload


def validate_manifest(manifest: Any) -> dict[str, Any]:
    """manifest.json: name, id and urls.admin_ui are required."""
    if not isinstance(manifest, dict):
        raise PayloadInvalid("manifest must be a JSON object")
    _string(manifest.get("name"), "name", 255)
    _string(manifest.get("id"), "id", 511)
    urls = manifest.get("urls")
    if not isinstance(urls, dict):
        raise PayloadInvalid("urls is required")
    _string(urls.get("admin_ui"), "urls.admin_ui", 511)
    for key in ("pull_url", "channelback_url", "clickthrough_url", "healthcheck_url", "event_callback_url"):
        if key in urls:
            _string(urls[key], f"urls.{key}", 511)
    return manifest
