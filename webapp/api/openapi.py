"""The OpenAPI 3.1 document, built from the operations declared in the route registry."""

import re

from .registry import MAX_INT, ROUTES


def _flask_to_openapi(rule):
    params = []

    def sub(match):
        converter, name = match.group(1), match.group(2)
        params.append((name, converter))
        return "{" + name + "}"

    path = re.sub(r"<(?:(\w+):)?(\w+)>", sub, rule)
    return path, params


SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (profile page, or POST /api/tokens).",
    },
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "A signed-in browser session; changes need the X-CSRFToken header.",
    },
}


def openapi(title, version, description, servers=None):
    components = {"Error": _error_schema()}

    def ref(model):
        return _schema_ref(model, components)

    paths = {}
    for op in ROUTES:
        path, path_params = _flask_to_openapi("/api" + op.rule)
        paths.setdefault(path, {})[op.method.lower()] = _entry(op, path_params, components, ref)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": servers or [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }


def _schema_ref(model, components):
    """The schema of a body or response model, its definitions kept in `components`."""
    if model is None:
        return {"type": "object"}
    if model is dict:
        return {"type": "object", "additionalProperties": True}
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _entry(op, path_params, components, ref):
    """The document's entry for one operation."""
    parameters = _parameters(op, path_params, components)
    entry = {"operationId": op.endpoint, "tags": [op.tag], "summary": op.summary, "responses": _responses(op, ref)}
    if op.description:
        entry["description"] = op.description
    if parameters:
        entry["parameters"] = parameters
    if op.body is not None:
        entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
    elif op.body_doc is not None:
        entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body_doc}}}
    if op.role:
        entry["description"] = (entry.get("description", "") + f"\n\nRequires the **{op.role}** role.").strip()
        entry["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
    else:
        entry["security"] = []
    return entry


def _parameters(op, path_params, components):
    """An operation's path, query and header parameters (the query model's shared schemas go
    to `components`)."""
    parameters = []
    for name, converter in path_params:
        schema = (
            {"type": "integer", "minimum": 1, "maximum": MAX_INT}
            if converter == "int"
            else {"type": "string", "minLength": 1}
        )
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    if op.query is not None:
        qschema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in qschema.pop("$defs", {}).items():
            components.setdefault(name, sub)
        required = set(qschema.get("required", []))
        for name, prop in qschema.get("properties", {}).items():
            description = prop.pop("description", None)
            prop.pop("title", None)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                param["description"] = description
            parameters.append(param)
    if op.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Repeat a request safely: the same key returns the first answer (for 24 hours).",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
            }
        )
    return parameters + op.extra_parameters


def _responses(op, ref):
    """An operation's success answer and the error answers it can give."""
    success = {"description": "OK" if op.status != 201 else "Created"}
    if op.status != 204:
        success["content"] = {
            op.produces: {"schema": ref(op.response) if op.produces == "application/json" else {"type": "string"}}
        }
    responses = {str(op.status): success}
    errors = {
        400: "Malformed request (not JSON, empty body)",
        404: "Unknown id",
        422: "Invalid fields: details lists each field and the reason",
    }
    if op.role:
        errors.update({401: "Not signed in / no valid API token", 403: "Your role does not allow this"})
    if op.body is not None or op.body_doc is not None:
        errors[413] = "Body larger than the limit"
    if op.idempotent:
        errors[409] = "A request with the same Idempotency-Key is still running"
    errors.update(op.responses)
    for code, text in sorted(errors.items()):
        responses.setdefault(
            str(code),
            {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        )
    return responses


def _error_schema():
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {
                        "anyOf": [
                            {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                                },
                            },
                            {"type": "object"},
                            {"type": "null"},
                        ]
                    },
                },
            }
        },
    }
