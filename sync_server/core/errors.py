"""One error shape for every refusal: ``{"error": CODE, "message": TEXT}`` (plus extra keys).

``CODE`` is stable for programs and comes from the one catalogue of codes (``ERR``,
sync_server.core.error_codes, with each code's status and its meaning in English and Chinese);
``message`` is English for logs and developers. Phones translate by code.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .error_codes import ERR


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def not_found() -> ApiError:
    """Answered for unknown ids AND for ids out of the caller's scope: byte-identical on purpose."""
    return ApiError(404, ERR.not_found, "not found")


def unauthorized() -> ApiError:
    return ApiError(
        401,
        ERR.unauthorized,
        "missing, unknown or revoked token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def too_many_attempts(wait: int) -> ApiError:
    """A sign-in or enrollment throttled: when to try again, in seconds."""
    return ApiError(429, ERR.too_many_attempts, f"too many failed attempts; try again in {wait} seconds",
                    headers={"Retry-After": str(wait)})


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _validation_response(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    """One clear refusal for what FastAPI's request validation found."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(error_body(ERR.malformed_json, "the request body is not valid JSON"), status_code=400)
    body_level = [e for e in errors if tuple(e.get("loc", ())) == ("body",)]
    if body_level and not _is_json(request.headers.get("content-type")):
        # FastAPI reads a body sent without a JSON content type as bytes, then says "Input should be a
        # valid dictionary": true but useless to the sender.
        return JSONResponse(
            error_body(ERR.unsupported_media_type, "send the body as JSON with Content-Type: application/json"),
            status_code=415,
        )
    text = [e for e in errors if e.get("type") == ERR.invalid_text]
    if text:
        return JSONResponse(error_body(ERR.invalid_text, str(text[0].get("msg"))), status_code=422)
    locations = {e.get("loc", ("",))[0] for e in errors}
    if locations == {"header"}:
        names = sorted({str(e["loc"][1]) for e in errors if len(e.get("loc", ())) > 1})
        return JSONResponse(
            error_body(ERR.missing_header, f"header {', '.join(names)} must be a non-negative integer"),
            status_code=400,
        )
    parts = []
    for e in errors[:10]:
        loc = [str(p) for p in e.get("loc", ())]
        if loc[:1] == ["body"]:
            loc = loc[1:]
        where = ".".join(loc)
        if not where and e.get("type") in ("dict_type", "model_attributes_type"):
            parts.append("the body must be a JSON object")
        elif not where and e.get("type") == "missing":
            parts.append("the body is missing: send a JSON object")
        else:
            parts.append(f"{where or 'body'}: {e.get('msg')}")
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:50]]
    return JSONResponse(
        error_body(ERR.invalid_request, "; ".join(parts) or "invalid request", detail=detail),
        status_code=422,
    )


def domain_refusal(exc: ValueError) -> ApiError | None:
    """The refusal a domain rule's exception stands for, or None for any other ValueError.

    Routes turn the rules' refusals into an ApiError themselves (the co-insurance routes through
    their ``_run``); this is the net under them, so that a refusal a route forgot to catch is
    still a 4xx with a stable code and never a 500. A plain ValueError stays a 500: it is a bug.
    """
    from claimcore.authority import VoteError

    from ..fund.rules import FundError
    from ..reports.rules import ReportError
    from .domain import DomainError

    if isinstance(exc, DomainError):  # a code outside the catalogue, a field the contract refuses
        return ApiError(422, exc.code, str(exc))
    if isinstance(exc, VoteError):  # the pool's shares cannot carry a share-weighted vote
        return ApiError(409, ERR.shares_incomplete, f"the pool's shares cannot carry a vote: {exc}")
    if isinstance(exc, FundError):  # the fund's books refuse it (shares, an unsettled year, ...)
        return ApiError(409, ERR.fund_error, str(exc))
    if isinstance(exc, ReportError):  # a report period that does not exist
        return ApiError(422, ERR.invalid_request, str(exc))
    return None


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves for this path.

    Starlette names only the first partially matching route's methods (``Allow: HEAD`` for a blob
    that also takes GET and PATCH), and FastAPI nests included routers, so ask the app's routes
    whether each method would be a full match.
    """
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, **exc.extra), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(ValueError)
    async def _domain(_request: Request, exc: ValueError) -> JSONResponse:
        refusal = domain_refusal(exc)
        if refusal is None:
            raise exc  # not a refusal: the server error it is (500, logged)
        return JSONResponse(error_body(refusal.code, refusal.message), status_code=refusal.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(request, list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 400:
            # FastAPI's answer when the body cannot be decoded at all: not UTF-8, or JSON nested so
            # deep that the parser gives up.
            return JSONResponse(
                error_body(ERR.malformed_json, "the request body is not valid JSON (UTF-8, not nested too deeply)"),
                status_code=400,
            )
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        codes = {404: ERR.not_found, 405: ERR.method_not_allowed, 401: ERR.unauthorized, 403: ERR.forbidden}
        code = codes.get(exc.status_code, ERR.http_error)
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers or None)
