"""The OpenAPI 3.1 description of the JSON API (served at ``/openapi.json``).

Written by hand next to the routes it describes; ``tests/test_web_openapi.py`` validates it
and drives the API from it with property-based requests.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from dossier import __version__
from dossier.states import Role, State

_TIME = {"type": ["string", "null"], "format": "date-time"}
_TEXT_OR_NULL = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _items(name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": _ref(name)}}}


def _page(name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "next"],
            "properties": {"items": {"type": "array", "items": _ref(name)},
                           "next": {**_TEXT_OR_NULL,
                                    "description": "pass as `after` for the next page"}}}


_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "the dossier code (mã hồ sơ)"}
_ERRORS = {
    "400": _problem("the body is not what this operation reads"),
    "401": _problem("no or unknown bearer token"),
    "403": _problem("the caller may not do this (another agency, not the owner, a role)"),
    "404": _problem("no such dossier, procedure or file"),
    "409": _problem("not allowed in the dossier's state, a guard not met, or changed by "
                    "someone else first"),
    "413": _problem("the body is larger than the deployment allows"),
    "422": _problem("an argument is malformed"),
    "500": _problem("the server failed; the detail is in its log"),
    "502": _problem("a payment provider or signing service failed"),
    "503": _problem("the database schema needs `dossier db upgrade`"),
}


def _operation(summary: str, ok: dict[str, dict[str, Any]], *,
               parameters: list[dict[str, Any]] | None = None,
               body: dict[str, Any] | None = None, operation_id: str) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "operationId": operation_id,
                          "responses": {**ok, **_ERRORS}}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    return op


def _json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None,
           **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False,
            "schema": schema or {"type": "string"}, "description": description, **extra}


_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object", "required": ["type", "title", "status", "detail", "instance"],
        "description": "RFC 9457 problem details; `detail` never contains an ID number",
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"},
                       "instance": {"type": "string"},
                       "guard": {"type": "string"},
                       "missing": {"type": "array", "items": {"type": "string"}}}},
    "Dossier": {
        "type": "object",
        "required": ["code", "procedure_code", "procedure_version", "agency", "channel",
                     "state", "portal_status", "version", "fee_due", "paid_amount",
                     "applicant", "submitted_at"],
        "properties": {
            "code": {"type": "string"}, "procedure_code": {"type": "string"},
            "procedure_version": {"type": "string"}, "agency": {"type": "string"},
            "channel": {"type": "string"},
            "state": {"type": "string", "enum": [s.value for s in State]},
            "portal_status": {"type": "integer", "minimum": 1, "maximum": 10},
            "resume_state": _TEXT_OR_NULL, "owner": _TEXT_OR_NULL,
            "applicant": {"type": "object",
                          "description": "as submitted, without the ID number"},
            "fee_due": {"type": "integer"}, "paid_amount": {"type": "integer"},
            "version": {"type": "integer"}, "assignee": _TEXT_OR_NULL,
            "step_role": _TEXT_OR_NULL, "submitted_at": {"type": "string",
                                                         "format": "date-time"},
            "received_at": _TIME, "updated_at": _TIME, "closed_at": _TIME, "due_at": _TIME,
            "appointment_at": _TIME, "step_due_at": _TIME, "paused_at": _TIME,
            "timeliness": _TEXT_OR_NULL, "extended": {"type": "boolean"}}},
    "Event": {
        "type": "object", "required": ["seq", "trigger", "target", "actor", "role", "at"],
        "properties": {"seq": {"type": "integer"}, "trigger": {"type": "string"},
                       "source": _TEXT_OR_NULL, "target": {"type": "string"},
                       "actor": {"type": "string"}, "role": {"type": "string"},
                       "on_behalf_of": _TEXT_OR_NULL,
                       "at": {"type": "string", "format": "date-time"},
                       "data": {"type": "object"}, "hash": {"type": "string"}}},
    "Attachment": {
        "type": "object", "required": ["component", "filename", "sha256", "size"],
        "properties": {"component": {"type": "string"}, "filename": {"type": "string"},
                       "sha256": {"type": "string"}, "size": {"type": "integer"},
                       "media_type": {"type": "string"}, "attached_by": {"type": "string"},
                       "attached_at": {"type": "string", "format": "date-time"}}},
    "Document": {
        "type": "object", "required": ["kind", "filename", "sha256", "size"],
        "properties": {"kind": {"type": "string"}, "filename": {"type": "string"},
                       "sha256": {"type": "string"}, "size": {"type": "integer"},
                       "media_type": {"type": "string"}, "signed_by": {"type": "string"},
                       "provider": {"type": "string"},
                       "created_at": {"type": "string", "format": "date-time"},
                       "component": _TEXT_OR_NULL,
                       "number": {"type": ["integer", "null"]}, "book": _TEXT_OR_NULL}},
    "WorkItem": {
        "type": "object", "required": ["dossier", "assigned"],
        "properties": {"dossier": _ref("Dossier"), "assigned": {"type": "boolean"},
                       "remaining_seconds": {"type": ["integer", "null"]},
                       "remaining_text": _TEXT_OR_NULL}},
    "Submission": {
        "type": "object", "required": ["procedure", "applicant", "channel"],
        "properties": {
            "procedure": {"type": "string", "description": "the procedure's code"},
            "applicant": {"type": "object", "required": ["name"],
                          "properties": {"name": {"type": "string"},
                                         "id_number": {"type": "string",
                                                       "pattern": "^([0-9]{9}|[0-9]{12})$"}},
                          "description": "the applicant's details; the ID number is stored "
                                         "by its keyed digest and never sent back"},
            "channel": {"type": "string", "enum": ["counter", "post", "online"]},
            "agency": {"type": ["string", "null"],
                       "description": "the agency a citizen submits to"},
            "fee_basis": {"type": ["object", "null"],
                          "additionalProperties": {"type": "integer"}}}},
    "Firing": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "data": {"type": "object", "description": "what the trigger takes (see "
                     "dossier.trigger_data), e.g. {\"amount\": 50000} for pay"},
            "if_version": {"type": ["integer", "null"],
                           "description": "refuse (409) unless the dossier is still at it"},
            "on_behalf_of": _TEXT_OR_NULL}},
    "Assignment": {
        "type": "object", "required": ["assignee"],
        "properties": {
            "assignee": {"type": ["object", "null"], "required": ["id", "role"],
                         "properties": {"id": {"type": "string"},
                                        "role": {"type": "string",
                                                 "enum": [r.value for r in Role]}},
                         "description": "an officer of the caller's agency; null unassigns"},
            "if_version": {"type": ["integer", "null"]}}},
}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    code = [_CODE]
    dossier = _json("the dossier", _ref("Dossier"))
    bytes_ok = {"200": {"description": "the file",
                        "content": {"application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "dossier", "version": __version__,
                 "description": "Dossiers of the one-stop shop (hồ sơ một cửa). Every error "
                                "is application/problem+json (RFC 9457)."},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/dossiers": {
                "post": _operation("Submit a dossier", {"201": _json("the new dossier",
                                                                     _ref("Dossier"))},
                                   body=_json_body(_ref("Submission")),
                                   operation_id="submit"),
                "get": _operation("Find dossiers, one page at a time",
                                  {"200": _json("one page", _page("Dossier"))},
                                  parameters=[
                                      _query("agency", "the agency's code"),
                                      _query("state", "one or several states",
                                             {"type": "array", "items": {
                                                 "type": "string",
                                                 "enum": [s.value for s in State]}},
                                             style="form", explode=True),
                                      _query("procedure", "the procedure's code"),
                                      _query("channel", "counter, post or online"),
                                      _query("owner", "the citizen account"),
                                      _query("assignee", "the officer's id"),
                                      _query("overdue", "open and past the due date",
                                             {"type": "string", "enum": ["true", "false"]}),
                                      _query("text", "part of the code"),
                                      _query("order", "submitted, updated, due or step_due",
                                             {"type": "string",
                                              "enum": ["submitted", "updated", "due",
                                                       "step_due"]}),
                                      _query("after", "the `next` of the page before"),
                                      _query("limit", "1 to 500",
                                             {"type": "integer", "minimum": 1,
                                              "maximum": 500})],
                                  operation_id="find")},
            "/api/v1/dossiers/{code}": {
                "get": _operation("A dossier", {"200": dossier}, parameters=code,
                                  operation_id="get")},
            "/api/v1/dossiers/{code}/history": {
                "get": _operation("The dossier's events, oldest first",
                                  {"200": _json("the events", _items("Event"))},
                                  parameters=code, operation_id="history")},
            "/api/v1/dossiers/{code}/fire/{trigger}": {
                "post": _operation(
                    "Fire a trigger (receive, pay, approve, return_result, refuse…)",
                    {"200": dossier},
                    parameters=[*code, {"name": "trigger", "in": "path", "required": True,
                                        "schema": {"type": "string"}}],
                    body=_json_body(_ref("Firing"), required=False), operation_id="fire")},
            "/api/v1/dossiers/{code}/assign": {
                "post": _operation("Assign the current step (phân công)", {"200": dossier},
                                   parameters=code, body=_json_body(_ref("Assignment")),
                                   operation_id="assign")},
            "/api/v1/dossiers/{code}/attachments": {
                "get": _operation("The dossier's attached files",
                                  {"200": _json("the files", _items("Attachment"))},
                                  parameters=code, operation_id="attachments"),
                "post": _operation(
                    "Attach a file to a component (the body is the file)",
                    {"201": _json("the stored file", _ref("Attachment"))},
                    parameters=[*code,
                                {**_query("component", "the component's id"),
                                 "required": True},
                                {**_query("filename", "the file's name"), "required": True}],
                    body={"required": True, "content": {"application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    operation_id="attach")},
            "/api/v1/dossiers/{code}/attachments/{sha256}": {
                "get": _operation("An attached file's content", bytes_ok,
                                  parameters=[*code, {"name": "sha256", "in": "path",
                                                      "required": True,
                                                      "schema": {"type": "string"}}],
                                  operation_id="read_attachment")},
            "/api/v1/dossiers/{code}/documents": {
                "get": _operation("The dossier's signed documents",
                                  {"200": _json("the documents", _items("Document"))},
                                  parameters=code, operation_id="documents")},
            "/api/v1/dossiers/{code}/documents/{sha256}": {
                "get": _operation("A signed document's content (PDF)", bytes_ok,
                                  parameters=[*code, {"name": "sha256", "in": "path",
                                                      "required": True,
                                                      "schema": {"type": "string"}}],
                                  operation_id="read_document")},
            "/api/v1/queue": {
                "get": _operation("The caller's work queue, most urgent first",
                                  {"200": _json("one page", _page("WorkItem"))},
                                  parameters=[_query("limit", "1 to 500",
                                                     {"type": "integer", "minimum": 1,
                                                      "maximum": 500}),
                                              _query("after", "the `next` of the page before")],
                                  operation_id="queue")},
        },
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a token of dossier.toml's "
                                                          "[[web.tokens]]"}},
        },
    }
