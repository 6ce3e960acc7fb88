"""An API request's input: the JSON body and the query string, validated by pydantic models;
malformed JSON, oversized bodies and NUL characters are refused with field details."""

import json
import math

from flask import request
from pydantic import ValidationError

from .errors import ApiError, from_pydantic


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _float(text):
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


def read_json(required=True):
    """The request body as JSON: 400 for malformed JSON (with line and column), 413 past
    MAX_CONTENT_LENGTH. Text with NUL characters is refused (PostgreSQL cannot store it)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ApiError(
                400, "The request body is empty; send a JSON object.", details=[{"field": "body", "reason": "empty"}]
            )
        return None
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_float)
    except UnicodeDecodeError:
        raise ApiError(
            400, "The request body is not UTF-8 text.", details=[{"field": "body", "reason": "not UTF-8"}]
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            400, f"The request body is not valid JSON: {exc}.", details=[{"field": "body", "reason": str(exc)}]
        ) from None
    bad = _nul_path(data, "")
    if bad is not None:
        raise ApiError(
            422,
            "Text may not contain NUL characters.",
            details=[{"field": bad or "body", "reason": "contains a NUL character"}],
        )
    return data


def _nul_path(value, path):
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return sub
            found = _nul_path(item, sub)
            if found is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            found = _nul_path(item, f"{path}.{n}" if path else str(n))
            if found is not None:
                return found
    return None


def parse_body(model):
    data = read_json()
    if model is dict:
        if not isinstance(data, dict):
            raise ApiError(
                422,
                "The request body must be a JSON object.",
                details=[{"field": "body", "reason": "must be an object"}],
            )
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc) from None


def parse_query(model):
    values = {}
    for key in request.args:
        items = request.args.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    bad = _nul_path(values, "")
    if bad is not None:
        raise ApiError(
            422,
            "Query parameters may not contain NUL characters.",
            details=[{"field": bad, "reason": "contains a NUL character"}],
        )
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise from_pydantic(exc, where="query") from None
