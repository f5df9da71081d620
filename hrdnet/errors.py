"""One root for every domain error, and the error responses of the whole site.

A DomainError carries an HTTP status, a stable machine code and a Korean message for the user. Pages get a
Korean error page; everything under /api/ gets `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of all domain errors. Subclasses set status, code and a Korean message."""

    status: int = 400
    code: str = "bad_request"
    message: str = "요청을 처리할 수 없습니다."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}


class NotFound(DomainError):
    status, code, message = 404, "not_found", "요청하신 항목을 찾을 수 없습니다."


class Forbidden(DomainError):
    status, code, message = 403, "forbidden", "이 작업을 할 권한이 없습니다."


class Conflict(DomainError):
    status, code, message = 409, "conflict", "이미 처리되었거나 다른 요청과 충돌했습니다."


# Korean titles and messages for HTTP errors raised outside the domain (routing, CSRF, limits, crashes).
HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "잘못된 요청입니다", "입력 내용을 확인한 뒤 다시 시도해 주세요."),
    401: ("unauthorized", "로그인이 필요합니다", "로그인한 뒤 다시 시도해 주세요."),
    403: ("forbidden", "접근 권한이 없습니다", "이 페이지를 볼 수 있는 권한이 없습니다."),
    404: ("not_found", "페이지를 찾을 수 없습니다", "주소가 바뀌었거나 삭제된 페이지입니다."),
    405: ("method_not_allowed", "허용되지 않는 요청입니다", "이 주소에서는 이 방식의 요청을 받을 수 없습니다."),
    409: ("conflict", "요청이 충돌했습니다", "이미 처리되었거나 다른 요청과 충돌했습니다."),
    413: (
        "too_large",
        "요청이 너무 큽니다",
        "보내신 내용의 크기가 허용 범위를 넘었습니다. 내용을 줄여 다시 보내 주세요.",
    ),
    422: ("validation_error", "입력값이 올바르지 않습니다", "입력 내용을 확인해 주세요."),
    429: ("too_many_requests", "요청이 너무 많습니다", "시도 횟수가 너무 많습니다. 잠시 후 다시 시도해 주세요."),
    500: (
        "server_error",
        "일시적인 오류가 발생했습니다",
        "잠시 후 다시 시도해 주세요. 문제가 계속되면 관리자에게 알려 주세요.",
    ),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def error_response(status: int, code: str, message: str, *, title: str | None = None, details=None):
    if wants_json():
        body = {"error": {"code": code, "message": message}}
        if details:
            body["error"]["details"] = details
        return make_response(jsonify(body), status)
    default_title = HTTP_MESSAGES.get(status, HTTP_MESSAGES[400])[1]
    page = render_template("errors/error.html", status=status, title=title or default_title, message=message)
    return make_response(page, status)


def _http_error(exc: HTTPException):
    status = exc.code or 500
    code, title, message = HTTP_MESSAGES.get(status, HTTP_MESSAGES[400 if status < 500 else 500])
    details = None
    data = getattr(exc, "data", None)  # webargs/flask-smorest put field errors here
    if isinstance(data, dict) and data.get("messages"):
        details = data["messages"]
    if status == 400 and getattr(exc, "description", "").startswith("The CSRF"):
        message = "보안 토큰이 만료되었거나 없습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."
    response = error_response(status, code, message, title=title, details=details)
    for name, value in exc.get_headers():  # keep protocol headers such as Allow and Retry-After
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message, details=exc.details or None)

    app.register_error_handler(HTTPException, _http_error)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return _http_error(exc)
        # Log the type and place only: exception messages may echo user input (personal data).
        log.error(
            "unhandled %s at %s %s",
            type(exc).__name__,
            request.method,
            request.path,
            exc_info=app.config.get("HRDNET_ENV") != "production",
        )
        return _http_error(InternalServerError())
