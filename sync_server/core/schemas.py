"""Shapes every route shares: the request bodies' base (text a database can store, whole numbers),
the one error body, the declared refusals (``_err``, ``_refusals`` and the common sets such as
``AUTH``, ``JSON_BODY``, ``E422``) that put every error code a route can answer into its OpenAPI
responses (``x-error-codes``), and the integer bounds of the wire."""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .error_codes import ERR

# Every integer that reaches a database column must fit a signed 64-bit INTEGER/BIGINT: a bigger
# one made SQLite raise OverflowError (and PostgreSQL "out of range"), i.e. a 500.
MAX_INT64 = 2**63 - 1


# Integers a client sends (seq, base_version, ids) stop at 2**53 - 1: every JSON parser (and the
# OpenAPI schema's own numbers, often read as doubles) holds them exactly, and no device will
# ever count that far.
MAX_WIRE_INT = 2**53 - 1


SHA256_PATTERN = r"^[0-9a-f]{64}$"


UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


# NUL cannot be stored in PostgreSQL text, and a lone surrogate (valid JSON: "\ud800") cannot be
# encoded as UTF-8 by either database driver: both ended in a 500 after parts of a request ran.
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
_MAYBE_UNSTORABLE = re.compile(r"\\u0000|[\ud800-\udfff]")


def _first_unstorable(value: Any) -> str | None:
    """Where in a parsed JSON value a string (or key) holds NUL or a lone surrogate, else None.

    One search over all the text first (a push carries thousands of strings and almost never
    such a character); only then the walk that names the place. Iterative, so a deeply nested
    body cannot exhaust the stack here.
    """
    try:
        # JSON text keeps a lone surrogate as it is and writes NUL as \u0000 (as it writes a
        # backslash followed by "u0000" as \\u0000: that one only costs the walk below).
        if not _MAYBE_UNSTORABLE.search(json.dumps(value, ensure_ascii=False, check_circular=False)):
            return None
    except (TypeError, ValueError, RecursionError):
        pass  # not plain JSON, or nested deeper than the encoder goes: the walk below decides
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE_TEXT.search(item):
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and _UNSTORABLE_TEXT.search(key):
                    return (where or "body") + " (a key)"
                stack.append((path, child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None


class StorableText(BaseModel):
    """Base of request bodies: refuses text no database can store, before anything runs."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        where = _first_unstorable(data)
        if where is not None:
            # Its own error type, so sync_server.core.errors answers 422 invalid_text rather than a
            # generic invalid_request.
            raise PydanticCustomError(
                ERR.invalid_text, "{where}: text must not contain NUL characters or unpaired UTF-16 surrogates",
                {"where": where})
        return data


def _integral(value: Any) -> Any:
    """JSON has one number type: 7.0 is the integer 7 (and valid for an "integer" schema)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_WIRE_INT:
        return int(value)
    return value


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every refusal. ``error`` is a stable code (docs/api.md lists them); ``message`` is English."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str
    detail: list[ErrorDetail] | None = Field(default=None, description="invalid_request only: what was wrong where")
    offset: int | None = Field(default=None, description="blob uploads: where to resume")


def _err(description: str) -> dict:
    """A declared refusal: ``"code[, code...]: what it means"``.

    The codes also go into the response's ``x-error-codes``, so the schema names every ``error``
    a client can get with that status (tests/sync_server/test_openapi_schemathesis.py holds the
    server and docs/api.md to it).
    """
    codes = [c.strip() for c in description.split(":", 1)[0].split(",")]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in codes), description
    return {"model": ErrorOut, "description": description, "x-error-codes": codes}


E401 = {401: _err("unauthorized: missing, unknown or revoked token"),
        429: _err("too_many_attempts: too many wrong tokens from this address lately; wait Retry-After seconds")}


# Every authenticated route's refusals before its own code runs (401 and the throttle's 429):
# routes of other modules spread this (E401 is the same dict, under its older name).
AUTH = E401


# The refusals any route with a JSON body can give before its own code runs.
JSON_BODY = {
    400: _err("malformed_json: the body is not JSON (or not UTF-8, or nested too deeply)"),
    413: _err("body_too_large: the body is over DAZU_MAX_JSON_BYTES"),
    415: _err("unsupported_media_type: the body is not sent as application/json"),
    422: _err("invalid_request, invalid_text: the body does not have the documented shape (see detail), "
              "or text in it holds NUL or an unpaired surrogate"),
}


E422 = {422: _err("invalid_request: a parameter does not have the documented shape (see detail)")}


def _as_text(value: Any) -> Any:
    """Dates and times travel as ISO 8601 text, as the schema says: pydantic would also read a
    number as seconds since 1970 (0 became 1970-01-01), which no client means."""
    if not isinstance(value, str):
        raise ValueError("an ISO 8601 date or time, as text")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_as_text)]


IsoDateTime = Annotated[dt.datetime, BeforeValidator(_as_text)]


class WholeNumbers(StorableText):
    """A body with integer amounts. JSON has one number type: 273.0 is the integer 273 (valid for
    the "integer" its schema states), so it reaches the amount as 273; 10.5 is still refused."""

    @model_validator(mode="before")
    @classmethod
    def _integral_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: _integral(v) for k, v in data.items()}
        return data


# The refusals of the office's routes below, for their OpenAPI responses.
FORBIDDEN_OFFICE = {403: _err("forbidden: only adjusters and the coordinator")}


FORBIDDEN_READ = {403: _err("forbidden: only adjusters, the coordinator and surveyors")}


# A route without a body still gets one cut off at the JSON cap (sync_server.app.BodyCapMiddleware).
NO_BODY = {413: _err("body_too_large: any body over DAZU_MAX_JSON_BYTES")}


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


_NO_LEAD_409 = {409: _err("no_lead_insurer: no lead insurer is set")}


_CLAIM_404 = {404: _err("not_found: no such claim")}


# A review's arithmetic needs the lead and shares that add up to 100%.
_REVIEW_409 = {409: _err("no_lead_insurer, shares_incomplete: no lead insurer is set; the pool's shares "
                         "cannot carry a vote")}


def _refusals(*parts: dict) -> dict:
    """A route's declared refusals: the parts (the token, a JSON body, the route's own rules)
    merged status by status, their codes and meanings joined, so no part hides another's code."""
    merged: dict[int, tuple[list[str], list[str]]] = {}
    for part in parts:
        for status, response in part.items():
            codes, meanings = merged.setdefault(status, ([], []))
            codes += [c for c in response["x-error-codes"] if c not in codes]
            meanings.append(response["description"].split(":", 1)[1].strip())
    return {status: _err(f"{', '.join(codes)}: {'; '.join(meanings)}") for status, (codes, meanings) in merged.items()}


