"""Per-sObject schemas: fields, types, lengths, required-ness, picklists, references.

Field names, types and lengths follow the Salesforce Field Reference / Object Reference pages for each
object (see tests/fixtures/salesforce/SOURCE.md for the pages). "Required" follows the describe rule:
createable, not nillable and not defaulted on create. Only the subset of each object horseshoe touches
(plus the system fields every object has) is modelled; custom fields can be added per org.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# Social network values documented for SocialPost.Provider / SocialPersona.Provider (Connect API
# "Social Post Capability" provider list, which mirrors the picklist).
PROVIDERS = [
    "Facebook", "GooglePlus", "Instagram", "InstagramBusiness", "KakaoTalk", "Kik", "Line", "LinkedIn",
    "Messenger", "Other", "Pinterest", "QQ", "Rypple", "SinaWeibo", "SMS", "Snapchat", "Telegram",
    "Twitter", "VKontakte", "WeChat", "WhatsApp", "YouTube",
]  # fmt: skip
# SocialPost.MessageType values documented for the Social Post Capability (API 38.0+).
MESSAGE_TYPES = ["Comment", "Direct", "Post", "PrivateMessage", "Reply", "Retweet", "Tweet"]
# SocialPost.Status: outbound lifecycle used by Social Customer Service. Not restricted, so an org
# accepts other values over the API exactly as an unrestricted picklist does; tests can restrict it.
SOCIAL_POST_STATUSES = [
    "Pending", "Sent", "Failed", "Deleted", "Unknown", "ApprovalPending", "ApprovalDeclined",
    "ApprovalRecalled",
]  # fmt: skip
ATTACHMENT_TYPES = ["APPLICATION", "AUDIO", "IMAGE", "LINK", "TEXT", "UNKNOWN", "VIDEO"]
CASE_STATUSES = ["New", "Working", "Escalated", "Closed"]
# The org's CaseStatus records behind Case.Status (Object Reference "CaseStatus": MasterLabel, IsClosed,
# IsDefault, SortOrder; query-only over the API). A standard org: New is the default, Closed closes.
DEFAULT_CASE_STATUSES: list[tuple[str, bool, bool]] = [  # (MasterLabel, IsDefault, IsClosed)
    ("New", True, False),
    ("Working", False, False),
    ("Escalated", False, False),
    ("Closed", False, True),
]
CASE_ORIGINS = ["Phone", "Email", "Web"]
CASE_PRIORITIES = ["High", "Medium", "Low"]
LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "id", "reference"}
SYSTEM_FIELDS = {
    "Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
    "SystemModstamp",
}  # fmt: skip


@dataclass
class FieldDef:
    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False
    default: Any = None
    picklist: list[str] = field(default_factory=list)
    restricted: bool = False
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    external_id: bool = False
    id_lookup: bool = False
    unique: bool = False

    @property
    def required(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted,
            "defaultValue": self.default,
            "externalId": self.external_id,
            "idLookup": self.id_lookup,
            "unique": self.unique,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default, "label": v, "validFor": None, "value": v}
                for v in self.picklist
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "custom": self.name.endswith("__c"),
        }


@dataclass
class SObjectSchema:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldDef]
    # Feature the org must have for this object to exist (e.g. "social" = Social Customer Service).
    feature: str | None = None

    def field(self, name: str) -> FieldDef | None:
        """Case-insensitive field lookup, as the API does."""
        found = self.fields.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        for candidate in self.fields.values():
            if candidate.name.lower() == lowered:
                return candidate
        return None

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        for candidate in self.fields.values():
            if candidate.relationship_name and candidate.relationship_name.lower() == lowered:
                return candidate
        return None


def _s(name: str, length: int, **kw: Any) -> FieldDef:
    return FieldDef(name, "string", length=length, **kw)


def _ref(name: str, to: list[str], rel: str | None, **kw: Any) -> FieldDef:
    return FieldDef(name, "reference", length=18, reference_to=to, relationship_name=rel, **kw)


def _pick(name: str, values: list[str], **kw: Any) -> FieldDef:
    return FieldDef(name, "picklist", length=255, picklist=values, **kw)


def _system_fields() -> list[FieldDef]:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    return [
        FieldDef("Id", "id", length=18, nillable=False, defaulted=True, id_lookup=True, **ro),
        FieldDef("IsDeleted", "boolean", nillable=False, defaulted=True, default=False, **ro),
        FieldDef("CreatedDate", "datetime", nillable=False, defaulted=True, **ro),
        _ref("CreatedById", ["User"], "CreatedBy", nillable=False, defaulted=True, **ro),
        FieldDef("LastModifiedDate", "datetime", nillable=False, defaulted=True, **ro),
        _ref("LastModifiedById", ["User"], "LastModifiedBy", nillable=False, defaulted=True, **ro),
        FieldDef("SystemModstamp", "datetime", nillable=False, defaulted=True, **ro),
    ]


def _owner() -> FieldDef:
    return _ref("OwnerId", ["User"], "Owner", nillable=False, defaulted=True)


def _obj(name: str, label: str, plural: str, prefix: str, fields: list[FieldDef], **kw: Any) -> SObjectSchema:
    all_fields = _system_fields() + fields
    return SObjectSchema(name, label, plural, prefix, {f.name: f for f in all_fields}, **kw)


def standard_schemas() -> dict[str, SObjectSchema]:
    """A fresh copy of the standard objects (each org owns and may extend its copy)."""
    account = _obj("Account", "Account", "Accounts", "001", [
        _s("Name", 255, nillable=False, id_lookup=True),
        FieldDef("Phone", "phone", length=40),
        FieldDef("Website", "url", length=255),
        _pick("Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Other"]),
        _pick("Industry", ["Banking", "Retail", "Technology", "Telecommunications", "Other"]),
        FieldDef("Description", "textarea", length=32000),
        _owner(),
    ])  # fmt: skip
    contact = _obj("Contact", "Contact", "Contacts", "003", [
        _s("FirstName", 40),
        _s("LastName", 80, nillable=False),
        _s("Name", 121, createable=False, updateable=False),
        FieldDef("Email", "email", length=80, id_lookup=True),
        FieldDef("Phone", "phone", length=40),
        FieldDef("MobilePhone", "phone", length=40),
        _ref("AccountId", ["Account"], "Account"),
        _s("Title", 128),
        FieldDef("Description", "textarea", length=32000),
        _owner(),
    ])  # fmt: skip
    lead = _obj("Lead", "Lead", "Leads", "00Q", [
        _s("FirstName", 40),
        _s("LastName", 80, nillable=False),
        _s("Name", 121, createable=False, updateable=False),
        _s("Company", 255, nillable=False),
        FieldDef("Email", "email", length=80, id_lookup=True),
        FieldDef("Phone", "phone", length=40),
        _pick("Status", LEAD_STATUSES, nillable=False, defaulted=True, default="Open - Not Contacted"),
        _pick("LeadSource", ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]),
        FieldDef("Description", "textarea", length=32000),
        _owner(),
    ])  # fmt: skip
    case = _obj("Case", "Case", "Cases", "500", [
        _s("CaseNumber", 30, createable=False, updateable=False, defaulted=True, id_lookup=True),
        _s("Subject", 255),
        FieldDef("Description", "textarea", length=32000),
        _pick("Status", CASE_STATUSES, defaulted=True, default="New"),
        _pick("Origin", CASE_ORIGINS),
        _pick("Priority", CASE_PRIORITIES, defaulted=True, default="Medium"),
        _pick("Type", ["Mechanical", "Electrical", "Electronic", "Structural", "Other"]),
        _pick("Reason", ["Installation", "Equipment Complexity", "Performance", "Breakdown", "Other"]),
        _ref("ContactId", ["Contact"], "Contact"),
        _ref("AccountId", ["Account"], "Account"),
        _ref("ParentId", ["Case"], "Parent"),
        _s("SuppliedName", 80),
        FieldDef("SuppliedEmail", "email", length=80),
        FieldDef("IsClosed", "boolean", createable=False, updateable=False, nillable=False, defaulted=True,
                 default=False),
        FieldDef("IsEscalated", "boolean", nillable=False, defaulted=True, default=False),
        FieldDef("ClosedDate", "datetime", createable=False, updateable=False),
        _owner(),
    ])  # fmt: skip
    persona = _obj("SocialPersona", "Social Persona", "Social Personas", "0SP", [
        _s("Name", 255, nillable=False),
        _ref("ParentId", ["Account", "Contact", "Lead", "SocialPost"], "Parent", nillable=False),
        _pick("Provider", PROVIDERS, nillable=False),
        _s("ExternalId", 255),
        # Field Reference "SocialPersona": ExternalPictureURL and ProfileUrl are url(255).
        FieldDef("ExternalPictureURL", "url", length=255),
        FieldDef("ProfileUrl", "url", length=255),
        # Where Provider is Other: the actual network (MediaProvider) and Social Studio's source id
        # (R6SourceId), which is what tells two "Other" personas with the same ExternalId apart.
        _pick("MediaProvider", []),
        _s("R6SourceId", 255),
        _s("RealName", 255),
        FieldDef("Bio", "textarea", length=32000),
        FieldDef("Followers", "int"),
        FieldDef("Following", "int"),
        FieldDef("IsDefault", "boolean", nillable=False, defaulted=True, default=False),
        FieldDef("IsVerified", "boolean", nillable=False, defaulted=True, default=False),
        _s("AuthorLabels", 255),
    ], feature="social")  # fmt: skip
    post = _obj("SocialPost", "Social Post", "Social Posts", "0ST", [
        _s("Name", 255, nillable=False),
        FieldDef("Content", "textarea", length=32000),
        _s("Headline", 255),
        _s("Handle", 255),
        _s("ExternalPostId", 255),
        _s("R6PostId", 255),
        _s("R6SourceId", 255),
        _pick("MediaProvider", []),
        _s("ResponseContextExternalId", 255),
        _pick("Provider", PROVIDERS),
        _pick("MessageType", MESSAGE_TYPES),
        _pick("Status", SOCIAL_POST_STATUSES),
        _s("StatusMessage", 1000),
        FieldDef("IsOutbound", "boolean", nillable=False, defaulted=True, default=False),
        FieldDef("Posted", "datetime"),
        FieldDef("PostUrl", "url", length=1024),
        _s("Recipient", 255),
        _s("Language", 255),
        _pick("Sentiment", ["Positive", "Neutral", "Negative"]),
        FieldDef("Classification", "picklist", length=40, picklist=[]),  # values are the org's
        _s("KeywordGroupName", 255),
        FieldDef("AttachmentUrl", "url", length=255),
        _pick("AttachmentType", ATTACHMENT_TYPES, restricted=True),
        _ref("PersonaId", ["SocialPersona"], "Persona"),
        _ref("WhoId", ["Account", "Contact", "Lead"], "Who"),
        _ref("ParentId", ["Case"], "Parent"),
        _ref("ReplyToId", ["SocialPost"], "ReplyTo"),
        _owner(),
    ], feature="social")  # fmt: skip
    user = _obj("User", "User", "Users", "005", [
        _s("Username", 80, nillable=False, id_lookup=True),
        _s("Name", 121, createable=False, updateable=False),
        FieldDef("Email", "email", length=128, nillable=False),
        FieldDef("IsActive", "boolean", nillable=False, defaulted=True, default=True),
    ])  # fmt: skip
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    case_status = _obj("CaseStatus", "Case Status Value", "Case Status Values", "01J", [
        _s("MasterLabel", 255, **ro),
        _s("ApiName", 255, **ro),
        FieldDef("SortOrder", "int", **ro),
        FieldDef("IsClosed", "boolean", nillable=False, defaulted=True, default=False, **ro),
        FieldDef("IsDefault", "boolean", nillable=False, defaulted=True, default=False, **ro),
    ])  # fmt: skip
    # Object Reference "CaseComment": ParentId (the Case, required), CommentBody (textarea, 4,000 bytes
    # in the API), IsPublished (false = an internal comment the customer never sees; default false).
    case_comment = _obj("CaseComment", "Case Comment", "Case Comments", "00a", [
        _ref("ParentId", ["Case"], "Parent", nillable=False),
        FieldDef("CommentBody", "textarea", length=4000),
        FieldDef("IsPublished", "boolean", nillable=False, defaulted=True, default=False),
    ])  # fmt: skip
    schemas = [account, contact, lead, case, persona, post, user, case_status, case_comment]
    return {s.name: copy.deepcopy(s) for s in schemas}
