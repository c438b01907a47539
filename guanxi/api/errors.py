"""One error format for the whole API: `{"error": {"code": ..., "message": ..., "fields": {path: [messages]}}}`.

Every failure a client can meet answers in it: input that does not parse or validate (400, with field paths such
as `identities[0].value`), a refused token (401), a role that may not do this (403), an id outside the token's
workspace or an unknown URL (404), a method the route lacks (405), a body over the upload limit (413), a value no
column can hold (422: NUL or lone surrogates in text, integers beyond 64 bits, dates at year 1 or 9999, too many
items; see guanxi.api.input_limits), and anything unexpected (500, logged).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from guanxi.api.input_limits import ERROR_TYPE, Unprocessable
from guanxi.workspaces.permissions import PermissionDenied

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("guanxi.api")

# Where ninja says an input came from; the client only needs the path inside it.
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}

_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 422: "invalid", 429: "throttled",
}


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorOut(Schema):
    """What every failed request answers."""

    error: ErrorDetail


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_json(status: int, message: str, code: str | None = None) -> JsonResponse:
    """An error answered outside ninja's views (unknown URL, wrong method)."""
    return JsonResponse(error_body(code or _CODES.get(status, "error"), message), status=status,
                        json_dumps_params={"ensure_ascii": False})


def field_path(loc: Iterable) -> str:
    """('body', 'payload', 'identities', 0, 'value') → 'identities[0].value'; a whole missing body → '__all__'."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)  # the view's parameter name, which the client never sees
    path = ""
    for part in parts:
        if isinstance(part, str) and ("[" in part or "(" in part):
            continue  # pydantic's name for one member of a union type, e.g. "function-after[...]"
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or NON_FIELD_ERRORS


def _validation_fields(errors: list[dict]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(field_path(error.get("loc", ())), []).append(str(error.get("msg", "")))
    return fields


def install(api: "NinjaAPI") -> None:
    """Register the handlers that put every error of `api` into the one format."""

    def respond(request: HttpRequest, status: int, code: str, message: str, fields=None) -> HttpResponse:
        return api.create_response(request, error_body(code, message, fields), status=status)

    def invalid(request, status: int, fields: dict[str, list[str]]) -> HttpResponse:
        path, messages = next(iter(fields.items()), ("", [_("The request has invalid fields.")]))
        message = f"{path}: {messages[0]}" if path and path != NON_FIELD_ERRORS else messages[0]
        return respond(request, status, "invalid", message, fields)

    @api.exception_handler(NinjaValidationError)
    def invalid_input(request, exc: NinjaValidationError):
        # A value that parses but fits no column (input_limits) is 422; a malformed or missing one is 400.
        status = 422 if any(error.get("type") == ERROR_TYPE for error in exc.errors) else 400
        return invalid(request, status, _validation_fields(exc.errors))

    @api.exception_handler(Unprocessable)
    def unprocessable(request, exc: Unprocessable):
        return invalid(request, 422, exc.fields)

    @api.exception_handler(RequestDataTooBig)
    def too_large(request, exc: RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return respond(request, 413, "too_large",
                       _("The request body is larger than %(limit)s bytes.") % {"limit": limit})

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request, exc: SuspiciousOperation):
        # Too many query or form fields, a malformed multipart body: the request's fault, said in one line.
        return respond(request, 400, "bad_request", str(exc) or _("The request is malformed."))

    @api.exception_handler(DataError)
    @api.exception_handler(OverflowError)
    def out_of_range(request, exc: Exception):
        # The last line of defence behind input_limits and the schemas' bounds: a value the database (or SQLite's
        # 64-bit integers) refused. Nothing was saved: the statement failed inside the request's transaction.
        logger.warning("value out of range on %s %s: %s", request.method, request.path, exc)
        return respond(request, 422, "invalid", _("A value in the request is out of range for what can be stored."))

    @api.exception_handler(DjangoValidationError)
    def refused_by_service(request, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = exc.message_dict
            message = next(iter(next(iter(fields.values()), [])), "") or _("The request has invalid fields.")
        else:
            fields, message = {}, " ".join(exc.messages)
        return respond(request, 400, "invalid", message, fields)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc: AuthenticationError):
        response = respond(request, 401, "unauthorized",
                           _("Send a valid API token: Authorization: Bearer <token>."))
        response["WWW-Authenticate"] = 'Bearer realm="guanxi"'
        return response

    @api.exception_handler(PermissionDenied)
    def refused_role(request, exc: PermissionDenied):
        return respond(request, 403, "forbidden", str(exc) or _("Your role may not do this."))

    @api.exception_handler(DjangoPermissionDenied)
    def refused(request, exc: DjangoPermissionDenied):
        return respond(request, 403, "forbidden", str(exc) or _("Your role may not do this."))

    @api.exception_handler(ObjectDoesNotExist)
    def missing(request, exc: ObjectDoesNotExist):
        # Another workspace's object lands here too, and must look exactly like one that never existed.
        model = type(exc).__qualname__.split(".")[0]
        return respond(request, 404, "not_found", _("No such %(thing)s.") % {"thing": model.lower()})

    @api.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return respond(request, 404, "not_found", _("Not found."))

    @api.exception_handler(IntegrityError)
    def conflict(request, exc: IntegrityError):
        logger.warning("integrity error on %s %s: %s", request.method, request.path, exc)
        return respond(request, 409, "conflict", _("This conflicts with data saved at the same time; try again."))

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, Unprocessable):  # ninja wraps whatever its body parser raises in a 400
            return unprocessable(request, exc.__cause__)
        status = exc.status_code
        return respond(request, status, _CODES.get(status, "error"), str(exc))

    install_busy_handler(api)

    @api.exception_handler(Exception)
    def unexpected(request, exc: Exception):
        logger.exception("API error on %s %s", request.method, request.path)
        return respond(request, 500, "server_error", _("Something went wrong on our side; it has been logged."))


def install_busy_handler(api: "NinjaAPI") -> None:
    """A write that could not get the database lock answers 503 with Retry-After: nothing changed, retry later."""
    from django.db import OperationalError

    from guanxi.database_busy import RETRY_AFTER_SECONDS, is_database_busy

    @api.exception_handler(OperationalError)
    def database_busy(request, exc: OperationalError):
        if not is_database_busy(exc):
            logger.exception("API error on %s %s", request.method, request.path)
            return api.create_response(request, error_body(
                "server_error", _("Something went wrong on our side; it has been logged.")), status=500)
        logger.warning("database busy on %s %s: %s", request.method, request.path, exc)
        response = api.create_response(request, error_body(
            "busy", _("The database is busy with another change (an import?); nothing was saved. Try again in a "
                      "few seconds.")), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
