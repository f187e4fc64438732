"""A connector ("formnet") whose models use every field type the admin form renders.

Built-in connectors' real models arrive separately; this one makes sure each input kind (password,
text, number with bounds, checkbox, select, optional and required) is exercised end to end.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pluggy
from pydantic import Field, SecretStr

from plugin.connector import AccountContext, AccountSettings, Connector, ConnectorModel, PollPage
from plugin.models import Limits, Mention, PostResult, Reply

hookimpl = pluggy.HookimplMarker("horseshoe")


class Region(StrEnum):
    EU = "eu"
    US = "us"


class FormnetCredentials(ConnectorModel):
    token: SecretStr = Field(title="API token", description="Settings → API → token.")
    webhook_secret: SecretStr | None = Field(default=None, title="Webhook secret")
    app_id: str = Field(title="App id", description="Shown beside the token.")


class FormnetSettings(AccountSettings):  # what every settings_model is: the host reads its poll and rate fields
    page_size: int = Field(default=50, ge=1, le=100, title="Page size", description="Items per poll.")
    include_dms: bool = Field(default=True, title="Include direct messages")
    region: Region = Field(default=Region.EU, title="Data region")
    languages: list[str] = Field(default=["en"], title="Languages", description="Only mentions in these.")


class FormnetConnector(Connector):
    name = "formnet"
    display_name = "Formnet (test)"
    credentials_model = FormnetCredentials
    settings_model = FormnetSettings

    def parse_payload(self, payload: Any, account: str | None = None) -> list[Mention]:
        return []

    def poll(self, account: AccountContext, cursor: str | None) -> PollPage:
        return PollPage(mentions=[], cursor=cursor)

    def post_reply(self, account: AccountContext, reply: Reply) -> PostResult:
        return PostResult(external_id="1")

    def limits(self) -> Limits:
        return Limits(max_text_length=280)


class FormnetPlugin:
    @hookimpl
    def horseshoe_register_connectors(self) -> list[Connector]:
        return [FormnetConnector()]
