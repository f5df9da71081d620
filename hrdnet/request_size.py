"""How large a request body may be: MAX_CONTENT_LENGTH for the whole site, a smaller or larger limit per view.

Werkzeug enforces the limit on the stream itself: a Content-Length above it is refused before one byte is
read, and a body without Content-Length (chunked) is cut off as soon as it passes the limit. Either way the
answer is 413 (hrdnet.errors renders it: JSON under /api/ and /webhooks/, the Korean error page elsewhere).

A body without Content-Length is read at most up to the limit: views that read the raw body use read_body(),
which answers 413 for one that reached it (forms are parsed from what fits; a proxy in front that buffers
bodies, as nginx does by default, sends Content-Length anyway).

The request's limit is fixed when its stream is first opened, so a view's own limit is applied by a
before_request hook that runs before anything (CSRF, the form, the view) reads the body.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

LIMIT_ATTR = "hrdnet_body_limit_setting"


def body_limit(setting: str) -> Callable[[Callable], Callable]:
    """This view's body may be at most app.config[setting] bytes, instead of MAX_CONTENT_LENGTH."""

    def mark(view: Callable) -> Callable:
        setattr(view, LIMIT_ATTR, setting)
        return view

    return mark


def apply_body_limit() -> None:
    """before_request: give the matched view its own limit, if it declared one."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    setting = getattr(view, LIMIT_ATTR, None)
    if setting is not None:
        request.max_content_length = current_app.config[setting]


def read_body() -> bytes:
    """The raw body, or 413 when it reaches the request's limit, also when it came without Content-Length.

    Werkzeug's limited stream refuses a Content-Length above the limit before reading, but a chunked body
    read to its end just stops at the limit, quietly. A view that reads the raw body (and cannot tell a cut
    body from a whole one, like a signature check) reads it here: a body that filled the limit is refused.
    """
    data = request.stream.read()
    limit = request.max_content_length
    if limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def init_app(app: Flask) -> None:
    """Register the hook; call before any other before_request hook (they may read the body)."""
    app.before_request(apply_body_limit)
