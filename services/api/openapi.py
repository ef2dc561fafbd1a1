"""`/api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the routes the app really mounts.

Every `ApiRoute` carries its `Operation` (services/api/routing.py): the same pydantic models that
validate requests and responses give the schemas here, via pydantic's JSON Schema (which is the
dialect of OpenAPI 3.1), so the document cannot drift from the server. What pydantic leaves out is
added here: a date's bounds (`formatMinimum`/`formatMaximum`) and routing's refusal of NUL characters
(a `pattern` on every free string a request carries). Rules pydantic cannot see (validators) state
themselves in their models (`Stated`, `json_schema_extra`). tests/integration/api/test_contract_limits.py
breaks every limit the document states and expects the server's 422.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount

from .errors import PROBLEM_MEDIA_TYPE, TITLES, Problem
from .routing import ApiRoute, Call, Operation, endpoint

REF = "#/components/schemas/{model}"
_SUCCESS = {200: "OK", 201: "Created", 204: "No content"}
NO_NUL = r"^[^\x00]*$"  # routing refuses text with NUL characters (PostgreSQL text cannot hold them)
_FORMAT_BOUNDS = {"ge": "formatMinimum", "le": "formatMaximum", "gt": "formatExclusiveMinimum",
                  "lt": "formatExclusiveMaximum"}


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema with the bounds of dates and times, which pydantic enforces but does not state."""

    def date_schema(self, schema: core_schema.DateSchema) -> JsonSchemaValue:
        return _bounded(super().date_schema(schema), schema)

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        return _bounded(super().datetime_schema(schema), schema)


def _bounded(json_schema: JsonSchemaValue, schema: Any) -> JsonSchemaValue:
    for key, keyword in _FORMAT_BOUNDS.items():
        if schema.get(key) is not None:
            json_schema[keyword] = schema[key].isoformat()
    return json_schema


def _reachable(schema: dict[str, Any], schemas: dict[str, Any], seen: set[str]) -> Iterator[dict[str, Any]]:
    """Every (sub)schema of `schema`, following references into `schemas` once each."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            yield from _reachable(schemas[name], schemas, seen)
        return
    yield schema
    for key in ("properties", "$defs"):
        for sub in schema.get(key, {}).values():
            yield from _reachable(sub, schemas, seen)
    for key in ("items", "additionalProperties", "if", "then", "else", "not", "contains"):
        if isinstance(schema.get(key), dict):
            yield from _reachable(schema[key], schemas, seen)
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for sub in schema.get(key, []):
            yield from _reachable(sub, schemas, seen)


def _state_no_nul(requests: list[tuple[str, dict[str, Any], bool]], schemas: dict[str, Any]) -> None:
    """Say on every free string and object key of a request what routing enforces: no NUL characters.
    `requests`: (operation id, schema, whether routing refuses NUL in it)."""
    taking = {id(sub) for _, schema, refused in requests if not refused for sub in _reachable(schema, schemas, set())}
    seen: set[str] = set()
    for operation_id, schema, refused in requests:
        if not refused:
            continue
        for sub in _reachable(schema, schemas, seen):
            if id(sub) in taking:
                raise ValueError(f"{operation_id} shares a request schema with an operation that takes NUL")
            if sub.get("type") == "string" and not {"pattern", "format", "enum", "const"} & sub.keys():
                sub["pattern"] = NO_NUL
            if sub.get("type") == "object" and isinstance(sub.get("additionalProperties"), dict):
                sub.setdefault("propertyNames", {"pattern": NO_NUL})


def operations(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Operation]]:
    """(full path, operation) for every API route, descending into mounts."""
    for route in routes:
        if isinstance(route, ApiRoute):
            yield prefix, route.operation
        elif isinstance(route, Mount) and route.routes:
            yield from operations(route.routes, prefix + route.path)


def document(routes: Iterable[BaseRoute], *, title: str = "Grassroots (下基层) API",
             version: str = "1") -> dict[str, Any]:
    found = list(operations(routes))
    seen: dict[str, str] = {}
    for prefix, op in found:
        if op.operation_id in seen:
            raise ValueError(f"two operations named {op.operation_id}: {seen[op.operation_id]} and {prefix}{op.path}")
        seen[op.operation_id] = prefix + op.path

    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for _, op in found:
        wanted += [(model, "validation") for model in (op.body, op.query) if model is not None]
        if op.response is not None:
            wanted.append((op.response, "serialization"))
    refs, defs = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF, schema_generator=_Schemas)
    schemas = defs.get("$defs", {})

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return refs[(model, mode)]

    # Routing refuses NUL in every query, and in bodies unless the operation answers it itself (sync, per command).
    _state_no_nul([(op.operation_id, ref(op.query, "validation"), True) for _, op in found if op.query is not None]
                  + [(op.operation_id, ref(op.body, "validation"), op.reject_nul) for _, op in found
                     if op.body is not None], schemas)

    problem = {"content": {PROBLEM_MEDIA_TYPE: {"schema": ref(Problem, "serialization")}}}
    paths: dict[str, dict[str, Any]] = {}
    for prefix, op in found:
        item: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
        if op.description:
            item["description"] = op.description
        if op.tags:
            item["tags"] = list(op.tags)
        parameters = [{"name": name, "in": "path", "required": True, "schema": schema}
                      for name, schema in op.path_parameters()]
        if op.query is not None:
            query_schema = schemas[ref(op.query, "validation")["$ref"].rsplit("/", 1)[1]]
            required = set(query_schema.get("required", []))
            for name, schema in query_schema.get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": name in required, "schema": schema})
        if parameters:
            item["parameters"] = parameters
        if op.body is not None:
            item["requestBody"] = {"required": True,
                                   "content": {"application/json": {"schema": ref(op.body, "validation")}}}
        elif op.upload:
            item["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}}
        success: dict[str, Any] = {"description": _SUCCESS.get(op.status, "OK")}
        if op.response is not None:
            success["content"] = {"application/json": {"schema": ref(op.response, "serialization")}}
        elif op.content:
            success["content"] = {media: dict(spec) for media, spec in op.content.items()}
        responses = {str(op.status): success}
        for status in sorted(op.error_statuses()):
            responses[str(status)] = {"description": TITLES.get(status, ("Error",))[0], **problem}
            if status in (429, 503):
                responses[str(status)]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                               "description": "seconds to wait"}}
        item["responses"] = responses
        if op.roles is not None:
            item["security"] = [{"bearer": []}]
            item["description"] = (item.get("description", "") + f"\n\nRoles: {', '.join(sorted(op.roles))}.").strip()
        paths.setdefault(prefix + op.openapi_path, {})[op.method.lower()] = item

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Errors are RFC 9457 problem details with `detail` (English) and `detail_zh` (中文)."},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "the token from POST /api/v1/session"}}},
    }


@endpoint("GET", "/openapi.json", tags=["meta"], content={"application/json": {"schema": {"type": "object"}}},
          summary="This document")
async def openapi_json(call: Call) -> JSONResponse:
    state = call.app_state
    if getattr(state, "openapi", None) is None:
        state.openapi = document(call.request.app.routes)
    return JSONResponse(state.openapi)


routes = [openapi_json]
