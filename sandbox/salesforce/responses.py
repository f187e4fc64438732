"""HTTP handlers: the REST data API subset (login and /_sandbox control come from login.py, control.py).

Every REST response made in an org's context carries ``Sforce-Limit-Info: api-usage=used/limit``
(REST API Developer Guide, "Limit Info Header"). Error bodies are Salesforce's JSON error arrays.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from sandbox.base import FakeApp

from . import exceptions as exc
from .cometd import StreamingHandlers
from .composite import CompositeHandlers
from .control import ControlHandlers
from .exceptions import SalesforceError
from .login import LoginHandlers
from .models import Org, SalesforceState, WriteOptions
from .records import to_json
from .schema import FieldDef, SObjectSchema
from .soql import Evaluator, parse
from .urls import url_map
from .wire import errors_response as _errors
from .wire import json_body as _json

MAX_COLLECTION = 200
DEFAULT_BATCH = 2000
_SEASONS = ("Winter", "Spring", "Summer")
_Op = Callable[[], tuple[str, bool | None]]  # one write in a collection: (record id, created?)
SUPPORTED_VERSIONS = [f"{v}.0" for v in range(20, 63)]


def version_label(version: str) -> str:
    """API 20.0 was Winter '11; each later version is the next of Winter/Spring/Summer."""
    steps = int(float(version)) - 20
    season = _SEASONS[steps % 3]
    year = 11 + steps // 3
    return f"{season} '{year:02d}"


@dataclass
class Ctx:
    org: Org
    user_id: str
    version: str
    site_url: str

    def sobject_url(self, sobject: str, record_id: str | None = None) -> str:
        base = f"/services/data/v{self.version}/sobjects/{sobject}"
        return f"{base}/{record_id}" if record_id else base


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError as err:
        raise SalesforceError("JSON_PARSER_ERROR", f"Unexpected character in request body: {err}") from err


def _options(request: Request) -> WriteOptions:
    header = request.headers.get("Sforce-Duplicate-Rule-Header", "")
    settings = {}
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        settings[key.strip().lower()] = value.strip().lower() == "true"
    return WriteOptions(allow_save_duplicates=settings.get("allowsave", False))


def _batch_size(request: Request) -> int:
    header = request.headers.get("Sforce-Query-Options", "")
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            # Documented range: minimum 200, maximum (and default) 2,000.
            return max(200, min(DEFAULT_BATCH, int(value.strip())))
    return DEFAULT_BATCH


class Handlers(LoginHandlers, ControlHandlers, StreamingHandlers, CompositeHandlers, FakeApp[SalesforceState]):
    """The REST data API; OAuth/SOAP login, the /_sandbox control routes and Composite come from the mixins."""

    versions = tuple(SUPPORTED_VERSIONS)

    # -- dispatch --------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        path = request.path
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]  # simple-salesforce sends e.g. ".../sobjects/Contact/" and ".../query/"
        adapter = url_map.bind("localhost")
        try:
            rule, args = adapter.match(path, method=request.method, return_rule=True)
        except NotFound:
            return _errors(exc.not_found())
        except MethodNotAllowed:
            return _json(
                [
                    {
                        "errorCode": "METHOD_NOT_ALLOWED",
                        "message": f"HTTP Method '{request.method}' not "
                        "allowed. Allowed are " + ", ".join(sorted(adapter.allowed_methods(path))),
                    }
                ],
                405,
            )
        self.state.count_call(f"{request.method} {rule.rule}")
        endpoint = str(rule.endpoint)
        handler: Callable[..., Response] = getattr(self, f"do_{endpoint}")
        if endpoint.startswith(("ctl_", "oauth_", "soap_")) or endpoint in ("versions", "cometd"):
            return handler(request, **args)
        return self._authenticated(request, handler, dict(args))

    def _authenticated(self, request: Request, handler: Callable[..., Response], args: dict[str, Any]) -> Response:
        version = args.pop("version")
        auth_header = request.headers.get("Authorization", "")
        scheme, _, token = auth_header.partition(" ")
        session = self.state.session_for(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        if session is None:
            return _errors(exc.invalid_session())
        org = self.state.orgs[session.org_id]
        if not self.state.consume_api_call(org):
            response = _errors(exc.request_limit_exceeded())
        elif version not in SUPPORTED_VERSIONS:
            response = _errors(exc.not_found())
        else:
            ctx = Ctx(org, session.user_id, version, request.host_url.rstrip("/"))
            try:
                with self.state.lock:
                    response = handler(request, ctx, **args)
            except SalesforceError as err:
                response = _errors(err)
        response.headers["Sforce-Limit-Info"] = f"api-usage={org.api_used}/{org.api_limit}"
        return response

    # -- discovery -------------------------------------------------------------------------------
    def do_versions(self, request: Request) -> Response:
        return _json([
            {"label": version_label(v), "url": f"/services/data/v{v}", "version": v} for v in SUPPORTED_VERSIONS
        ])  # fmt: skip

    def do_resources(self, request: Request, ctx: Ctx) -> Response:
        base = f"/services/data/v{ctx.version}"
        names = ("sobjects", "query", "queryAll", "composite", "limits")
        return _json({name: f"{base}/{name}" for name in names})

    def _global_entry(self, ctx: Ctx, schema: SObjectSchema) -> dict[str, Any]:
        url = ctx.sobject_url(schema.name)
        return {
            "name": schema.name,
            "label": schema.label,
            "labelPlural": schema.label_plural,
            "keyPrefix": schema.key_prefix,
            "custom": False,
            "createable": schema.name != "User",
            "updateable": True,
            "deletable": schema.name != "User",
            "queryable": True,
            "retrieveable": True,
            "urls": {"sobject": url, "describe": f"{url}/describe", "rowTemplate": f"{url}/{{ID}}"},
        }

    def do_describe_global(self, request: Request, ctx: Ctx) -> Response:
        schemas = ctx.org.visible_schemas().values()
        return _json({
            "encoding": "UTF-8",
            "maxBatchSize": MAX_COLLECTION,
            "sobjects": [self._global_entry(ctx, s) for s in sorted(schemas, key=lambda s: s.name)],
        })  # fmt: skip

    def _schema(self, ctx: Ctx, sobject: str) -> SObjectSchema:
        schema = ctx.org.schema(sobject)
        if schema is None:
            raise exc.not_found()
        return schema

    def do_describe(self, request: Request, ctx: Ctx, sobject: str) -> Response:
        schema = self._schema(ctx, sobject)
        body = self._global_entry(ctx, schema)
        body["fields"] = [fd.describe() for fd in schema.fields.values()]
        return _json(body)

    def do_sobject_root(self, request: Request, ctx: Ctx, sobject: str) -> Response:
        schema = self._schema(ctx, sobject)
        if request.method == "GET":
            return _json({"objectDescribe": self._global_entry(ctx, schema), "recentItems": []})
        body = _body(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from the request body")
        record_id = self.state.insert(ctx.org, schema.name, body, ctx.user_id, _options(request))
        return _json({"id": record_id, "success": True, "errors": []}, 201)

    # -- single records --------------------------------------------------------------------------
    def _shape_record(self, ctx: Ctx, schema: SObjectSchema, values: dict[str, Any],
                      fields: list[FieldDef] | None = None) -> dict[str, Any]:  # fmt: skip
        out: dict[str, Any] = {"attributes": {"type": schema.name, "url": ctx.sobject_url(schema.name, values["Id"])}}
        for fd in fields if fields is not None else schema.fields.values():
            out[fd.name] = to_json(values.get(fd.name))
        return out

    def _field_list(self, schema: SObjectSchema, raw: str | None) -> list[FieldDef] | None:
        if not raw:
            return None
        fields = []
        for name in raw.split(","):
            fd = schema.field(name.strip())
            if fd is None:
                raise SalesforceError("INVALID_FIELD", f"No such column '{name.strip()}' on sobject of type "
                                      f"{schema.name}")  # fmt: skip
            fields.append(fd)
        return fields

    def _live(self, ctx: Ctx, schema: SObjectSchema, record_id: str) -> dict[str, Any]:
        rec = self.state.get_record(ctx.org, record_id, include_deleted=True)
        if rec is None or rec.sobject != schema.name:
            raise exc.not_found()
        if rec.deleted:
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", fields=[], status=404)
        return rec.values

    def do_record(self, request: Request, ctx: Ctx, sobject: str, record_id: str) -> Response:
        schema = self._schema(ctx, sobject)
        values = self._live(ctx, schema, record_id)
        if request.method == "GET":
            fields = self._field_list(schema, request.args.get("fields"))
            return _json(self._shape_record(ctx, schema, values, fields))
        if request.method == "DELETE":
            self.state.delete(ctx.org, schema.name, values["Id"], ctx.user_id)
            return Response(status=204)
        body = _body(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from the request body")
        self.state.update(ctx.org, schema.name, values["Id"], body, ctx.user_id, _options(request))
        return Response(status=204)

    def _external_field(self, schema: SObjectSchema, name: str) -> FieldDef:
        fd = schema.field(name)
        if fd is None or not (fd.external_id or fd.id_lookup):
            raise SalesforceError(
                "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}", status=404
            )
        return fd

    def do_by_external_id(self, request: Request, ctx: Ctx, sobject: str, field: str, value: str) -> Response:
        schema = self._schema(ctx, sobject)
        fd = self._external_field(schema, field)
        matches = self.state.find_by_field(ctx.org, schema.name, fd, value)
        if len(matches) > 1:
            return _json([ctx.sobject_url(schema.name, m.values["Id"]) for m in matches], 300)
        if request.method == "GET":
            if not matches:
                raise exc.not_found()
            return _json(self._shape_record(ctx, schema, matches[0].values))
        if request.method == "DELETE":
            if not matches:
                raise exc.not_found()
            self.state.delete(ctx.org, schema.name, matches[0].values["Id"], ctx.user_id)
            return Response(status=204)
        body = _body(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from the request body")
        record_id, created = self._upsert_one(ctx, schema, fd, value, body, _options(request))
        return _json({"id": record_id, "success": True, "errors": [], "created": created}, 201 if created else 200)

    def _upsert_one(self, ctx: Ctx, schema: SObjectSchema, fd: FieldDef, value: Any, body: dict[str, Any],
                    options: WriteOptions) -> tuple[str, bool]:  # fmt: skip
        if value in (None, ""):
            raise SalesforceError("MISSING_ARGUMENT", f"{fd.name} not specified", fields=[])
        matches = self.state.find_by_field(ctx.org, schema.name, fd, str(value))
        if len(matches) > 1:
            found = ", ".join(m.values["Id"] for m in matches)
            raise SalesforceError("DUPLICATE_EXTERNAL_ID", f"{fd.name}: more than one record found for external id "
                                  f"field: [{found}]", fields=[fd.name])  # fmt: skip
        body = {k: v for k, v in body.items() if k != "attributes"}
        if matches:
            body.pop(fd.name, None)
            return self.state.update(ctx.org, schema.name, matches[0].values["Id"], body, ctx.user_id, options), False
        if fd.name == "Id":
            raise exc.not_found()
        body[fd.name] = value
        return self.state.insert(ctx.org, schema.name, body, ctx.user_id, options), True

    # -- SOQL ------------------------------------------------------------------------------------
    def do_query(self, request: Request, ctx: Ctx, include_deleted: bool) -> Response:
        text = request.args.get("q")
        if not text:
            raise exc.malformed_query("A query string must be provided.")
        query = parse(text)
        records = ctx.org.records

        def resolver(record_id: str) -> dict[str, Any] | None:
            rec = records.get(record_id)
            return rec.values if rec is not None and not rec.deleted else None

        evaluator = Evaluator(query, ctx.org.visible_schemas(), resolver, self.state.clock())
        schema = evaluator.schema
        rows = [
            r.values for r in records.values()
            if r.sobject == schema.name and (include_deleted or not r.deleted) and evaluator.matches(r.values)
        ]  # fmt: skip
        rows = evaluator.sort(rows)[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        if query.is_count:
            return _json({"totalSize": len(rows), "done": True, "records": []})
        if any(item.aggregate for item in query.select):
            aggregate: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for n, item in enumerate(query.select):
                if item.aggregate != "count" or item.field is None:
                    raise exc.malformed_query("Field must be grouped or aggregated: " + (item.field.path if item.field
                                              else "COUNT()"))  # fmt: skip
                ref = item.field
                aggregate[item.alias or f"expr{n}"] = sum(1 for r in rows if evaluator.value(r, ref) is not None)
            return _json({"totalSize": 1, "done": True, "records": [aggregate]})
        shaped = [self._shape_query_row(ctx, evaluator, schema, r) for r in rows]
        return self._page(ctx, shaped, 0, _batch_size(request), include_deleted, None)

    def _shape_query_row(self, ctx: Ctx, evaluator: Evaluator, schema: SObjectSchema,
                         values: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        out: dict[str, Any] = {"attributes": {"type": schema.name, "url": ctx.sobject_url(schema.name, values["Id"])}}
        for item in evaluator.query.select:
            assert item.field is not None
            resolved = evaluator.resolve(item.field)
            cursor_out = out
            cursor_rec: dict[str, Any] | None = values
            for step in resolved.path[:-1]:
                rel = step.relationship_name or step.name
                target_id = cursor_rec.get(step.name) if cursor_rec else None
                target = ctx.org.records.get(target_id) if target_id else None
                if target is None or target.deleted:
                    cursor_out.setdefault(rel, None)
                    cursor_rec = None
                    break
                if cursor_out.get(rel) is None:
                    cursor_out[rel] = {
                        "attributes": {
                            "type": target.sobject,
                            "url": ctx.sobject_url(target.sobject, target.values["Id"]),
                        }
                    }
                cursor_out = cursor_out[rel]
                cursor_rec = target.values
            if cursor_rec is not None:
                leaf = resolved.path[-1]
                cursor_out[leaf.name] = to_json(cursor_rec.get(leaf.name))
        return out

    def _page(self, ctx: Ctx, rows: list[dict[str, Any]], offset: int, batch: int, include_deleted: bool,
              locator: str | None) -> Response:  # fmt: skip
        chunk = rows[offset : offset + batch]
        body: dict[str, Any] = {"totalSize": len(rows), "done": offset + batch >= len(rows), "records": chunk}
        if not body["done"]:
            locator = locator or self.state.store_cursor(ctx.org, rows, batch)
            resource = "queryAll" if include_deleted else "query"
            body["nextRecordsUrl"] = f"/services/data/v{ctx.version}/{resource}/{locator}-{offset + batch}"
        return _json(body)

    def do_query_more(self, request: Request, ctx: Ctx, locator: str) -> Response:
        cursor_id, _, offset_text = locator.partition("-")
        cursor = self.state.cursor(cursor_id)
        if cursor is None or cursor[0] != ctx.org.id or not offset_text.isdigit():
            raise SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator")
        _, rows, batch = cursor
        return self._page(ctx, rows, int(offset_text), batch, "/queryAll/" in request.path, cursor_id)

    # -- sObject Collections ---------------------------------------------------------------------
    def _run_batch(self, ctx: Ctx, ops: list[Callable[[], tuple[str, bool | None]]], ids_hint: list[str | None],
                   all_or_none: bool) -> list[dict[str, Any]]:  # fmt: skip
        snapshot = self.state.checkpoint(ctx.org) if all_or_none else None
        outcomes: list[tuple[str, bool | None] | SalesforceError] = []
        for op in ops:
            try:
                outcomes.append(op())
            except SalesforceError as err:
                outcomes.append(err)
        failed = any(isinstance(o, SalesforceError) for o in outcomes)
        if snapshot is not None and failed:
            self.state.restore(ctx.org, snapshot)
        elif snapshot is not None:
            self.state.commit(snapshot)
        results: list[dict[str, Any]] = []
        for outcome, hint in zip(outcomes, ids_hint, strict=True):
            if isinstance(outcome, SalesforceError):
                result: dict[str, Any] = {"success": False, "errors": [outcome.collection_body()]}
                if hint:
                    result = {"id": hint, **result}
            elif all_or_none and failed:
                result = {"success": False, "errors": [exc.ROLLED_BACK.collection_body()]}
                if hint:
                    result = {"id": hint, **result}
            else:
                record_id, created = outcome
                result = {"id": record_id, "success": True, "errors": []}
                if created is not None:
                    result["created"] = created
            results.append(result)
        return results

    @staticmethod
    def _too_many() -> SalesforceError:
        return SalesforceError(
            "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
        )

    def _collection_body(self, request: Request) -> tuple[list[dict[str, Any]], bool]:
        body = _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceError("JSON_PARSER_ERROR", "Cannot deserialize the request body: expected records list")
        records = body["records"]
        if len(records) > MAX_COLLECTION:
            raise self._too_many()
        for record in records:
            if not isinstance(record, dict) or not (record.get("attributes") or {}).get("type"):
                raise SalesforceError("INVALID_TYPE", "Must send a concrete entity type.")
        return records, bool(body.get("allOrNone", False))

    def _typed(self, ctx: Ctx, sobject: str) -> str:
        schema = ctx.org.schema(sobject)
        if schema is None:
            raise SalesforceError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.", fields=[])
        return schema.name

    def do_collections(self, request: Request, ctx: Ctx) -> Response:
        options = _options(request)
        if request.method == "DELETE":
            raw = [i for i in request.args.get("ids", "").split(",") if i]
            if len(raw) > MAX_COLLECTION:
                raise self._too_many()
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            delete_ops = [self._delete_op(ctx, rid) for rid in raw]
            return _json(self._run_batch(ctx, delete_ops, list(raw), all_or_none))
        records, all_or_none = self._collection_body(request)
        if request.method == "POST":
            create_ops = [self._create_op(ctx, r, options) for r in records]
            return _json(self._run_batch(ctx, create_ops, [None] * len(records), all_or_none))
        update_ops = [self._update_op(ctx, r, options) for r in records]
        hints = [str(r["Id"]) if r.get("Id") else None for r in records]
        return _json(self._run_batch(ctx, update_ops, hints, all_or_none))

    def _create_op(self, ctx: Ctx, record: dict[str, Any], options: WriteOptions) -> _Op:
        def op() -> tuple[str, bool | None]:
            sobject = self._typed(ctx, record["attributes"]["type"])
            return self.state.insert(ctx.org, sobject, record, ctx.user_id, options), None

        return op

    def _update_op(self, ctx: Ctx, record: dict[str, Any], options: WriteOptions) -> _Op:
        def op() -> tuple[str, bool | None]:
            sobject = self._typed(ctx, record["attributes"]["type"])
            record_id = record.get("Id")
            if not record_id:
                raise SalesforceError("MISSING_ARGUMENT", "Id not specified in an update call", fields=[])
            return self.state.update(ctx.org, sobject, str(record_id), record, ctx.user_id, options), None

        return op

    def _delete_op(self, ctx: Ctx, record_id: str) -> Callable[[], tuple[str, bool | None]]:
        def op() -> tuple[str, bool | None]:
            return self.state.delete(ctx.org, None, record_id, ctx.user_id), None

        return op

    def do_collections_retrieve(self, request: Request, ctx: Ctx, sobject: str) -> Response:
        schema = self._schema(ctx, sobject)
        if request.method == "POST":
            body = _body(request) or {}
            wanted, fields_raw = list(body.get("ids", [])), ",".join(body.get("fields", []))
        else:
            wanted = [i for i in request.args.get("ids", "").split(",") if i]
            fields_raw = request.args.get("fields", "")
        if not fields_raw:
            raise SalesforceError("MISSING_ARGUMENT", "fields parameter is required", fields=[])
        if len(wanted) > 2000:
            raise self._too_many()
        fields = self._field_list(schema, fields_raw)
        out: list[dict[str, Any] | None] = []
        for rid in wanted:
            rec = self.state.get_record(ctx.org, rid)
            out.append(self._shape_record(ctx, schema, rec.values, fields)
                       if rec is not None and rec.sobject == schema.name else None)  # fmt: skip
        return _json(out)

    def do_collections_upsert(self, request: Request, ctx: Ctx, sobject: str, field: str) -> Response:
        schema = self._schema(ctx, sobject)
        fd = self._external_field(schema, field)
        records, all_or_none = self._collection_body(request)
        options = _options(request)

        def make(record: dict[str, Any]) -> Callable[[], tuple[str, bool | None]]:
            def op() -> tuple[str, bool | None]:
                if self._typed(ctx, record["attributes"]["type"]) != schema.name:
                    raise SalesforceError("INVALID_TYPE", "Records must all be of the type in the URL", fields=[])
                value = next((v for k, v in record.items() if k.lower() == fd.name.lower()), None)
                record_id, created = self._upsert_one(ctx, schema, fd, value, record, options)
                return record_id, created

            return op

        return _json(self._run_batch(ctx, [make(r) for r in records], [None] * len(records), all_or_none))

    def do_limits(self, request: Request, ctx: Ctx) -> Response:
        org = ctx.org
        # The request being answered already counts, as it does in the header.
        return _json({"DailyApiRequests": {"Max": org.api_limit, "Remaining": max(0, org.api_limit - org.api_used)}})
