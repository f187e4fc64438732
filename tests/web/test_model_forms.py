"""plugin.web.model_forms: form fields from a connector model, and the model back from a form."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import pytest
from pydantic import Field, SecretStr

from plugin.connector import ConnectorModel
from plugin.web import model_forms
from plugin.web.model_forms import FormErrors


class Region(StrEnum):
    EU = "eu"
    US = "us"


class Every(ConnectorModel):
    token: SecretStr = Field(title="API token", description="From the developer console.")
    spare: SecretStr | None = Field(default=None, title="Spare token")
    handle: str = Field(title="Handle")
    note: str | None = None
    page_size: int = Field(default=50, ge=1, le=100, title="Page size")
    dms: bool = Field(default=True, title="Direct messages")
    beta: bool = False
    region: Region = Field(default=Region.EU, title="Region")
    tier: Literal["free", "pro"] = "free"
    langs: list[str] = Field(default=["en", "de"], title="Languages")


def _by_name(fields: list[model_forms.FormField]) -> dict[str, model_forms.FormField]:
    return {f.name: f for f in fields}


def test_every_field_type_maps_to_its_input() -> None:
    fields = _by_name(model_forms.form_fields(Every, "credentials.echo"))
    assert list(fields) == ["token", "spare", "handle", "note", "page_size", "dms", "beta", "region", "tier", "langs"]
    token = fields["token"]
    assert (token.kind, token.label, token.help, token.required) == (
        "password", "API token", "From the developer console.", True
    )  # fmt: skip
    assert token.input_name == "credentials.echo.token"
    assert fields["spare"].kind == "password" and not fields["spare"].required
    assert (fields["handle"].kind, fields["handle"].required) == ("text", True)
    assert (fields["note"].kind, fields["note"].label, fields["note"].required) == ("text", "Note", False)
    size = fields["page_size"]
    assert (size.kind, size.minimum, size.maximum, size.value) == ("number", 1, 100, "50")
    assert fields["dms"].kind == "checkbox" and fields["dms"].checked
    assert fields["beta"].kind == "checkbox" and not fields["beta"].checked
    assert (fields["region"].kind, fields["region"].options, fields["region"].value) == ("select", ("eu", "us"), "eu")
    assert (fields["tier"].kind, fields["tier"].options) == ("select", ("free", "pro"))
    assert (fields["langs"].kind, fields["langs"].value) == ("list", "en, de")


def test_a_valid_form_gives_the_model_and_the_stored_values() -> None:
    form = {
        "credentials.echo.token": "s3cret",
        "credentials.echo.handle": "acme",
        "credentials.echo.note": "",  # empty = not given
        "credentials.echo.page_size": "20",
        "credentials.echo.beta": "on",  # dms unchecked: absent from the form
        "credentials.echo.region": "us",
        "credentials.echo.langs": " pl,, tr ",
        "settings.echo.ignored": "another prefix is not ours",
    }
    parsed = model_forms.parse(Every, form, "credentials.echo")
    assert isinstance(parsed, Every)
    assert (parsed.page_size, parsed.dms, parsed.beta, parsed.region) == (20, False, True, Region.US)
    assert model_forms.secret_values(parsed) == {
        "token": "s3cret", "handle": "acme", "page_size": 20, "dms": False, "beta": True, "region": "us",
        "tier": "free", "langs": ["pl", "tr"],
    }  # fmt: skip


def test_missing_required_and_bad_values_are_reported_next_to_their_fields() -> None:
    form = {"credentials.echo.page_size": "0", "credentials.echo.region": "mars", "credentials.echo.handle": " "}
    with pytest.raises(FormErrors) as caught:
        model_forms.parse(Every, form, "credentials.echo")
    errors = caught.value
    assert set(errors.fields) == {"token", "handle", "page_size", "region"} and errors.general == []
    assert errors.fields["token"] == "this field is required"
    assert "greater than or equal to 1" in errors.fields["page_size"]
    typed = model_forms.submitted(form, "credentials.echo")
    fields = _by_name(model_forms.form_fields(Every, "credentials.echo", typed, errors.fields, from_form=True))
    assert fields["page_size"].error and fields["page_size"].value == "0"  # what was typed, to correct it
    assert not fields["dms"].checked  # left unchecked stays unchecked (its default is True)


def test_a_wrong_key_is_refused_by_name() -> None:
    form = {"credentials.echo.token": "t", "credentials.echo.handle": "h", "credentials.echo.tokn": "typo"}
    with pytest.raises(FormErrors) as caught:
        model_forms.parse(Every, form, "credentials.echo")
    assert caught.value.general == ["unknown field 'tokn'"] and caught.value.fields == {}


def test_secrets_are_never_rendered_back() -> None:
    typed = {"token": "s3cret-typed", "spare": "spare-typed", "handle": "acme"}
    fields = _by_name(model_forms.form_fields(Every, "c", typed, {"handle": "bad"}))
    assert fields["token"].value == "" and fields["spare"].value == ""
    assert fields["handle"].value == "acme"
    stored = Every.model_validate({"token": "s3cret-model", "handle": "h"})
    assert "s3cret-model" not in repr(stored)
    assert all(f.value != "s3cret-model" for f in model_forms.form_fields(Every, "c", dict(stored)))


def test_encode_is_what_a_browser_submits() -> None:
    encoded = model_forms.encode("settings.echo", {"page_size": 5, "dms": False, "beta": True, "langs": ["fi"]})
    assert encoded == {"settings.echo.page_size": "5", "settings.echo.beta": "on", "settings.echo.langs": "fi"}
    required = {"settings.echo.token": "t", "settings.echo.handle": "h"}
    parsed = model_forms.parse(Every, {**encoded, **required}, "settings.echo")
    assert isinstance(parsed, Every) and not parsed.dms and parsed.beta and parsed.langs == ["fi"]
