"""Request bodies have a size limit, enforced before the body is read (red-team finding 9).

The Stripe webhook used to read a whole 300 MB unsigned POST before checking its signature. The bodies here
are streams that make their bytes only when read and count them, so the test allocates nothing large and
can prove how much the server read: nothing when Content-Length says too much, and no more than the limit
(plus one read's buffer) for a chunked body without Content-Length.
"""

from __future__ import annotations

import io

from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.conftest import csrf_token
from tests.support.pages import error_message

MB = 1024 * 1024
ATTACK_SIZE = 300 * MB


class LazyBody(io.RawIOBase):
    """A seekable stream of `size` bytes that exist only when read; `consumed` counts what was read."""

    def __init__(self, size: int, byte: bytes = b"a"):
        self.size, self.byte, self.position, self.consumed = size, byte, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self.size - self.position))
        buffer[:count] = self.byte * count
        self.position += count
        self.consumed += count
        return count


def post_chunked(app, path: str, body: LazyBody, content_type: str = "application/json"):
    """POST with no Content-Length, as a chunked request arrives from a WSGI server (gunicorn, werkzeug's own):
    the server marks the stream as terminated by itself (`wsgi.input_terminated`)."""
    environ = EnvironBuilder(path=path, method="POST", content_type=content_type).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": body, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    app_iter, status, headers = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0]), b"".join(app_iter), headers


# -- the webhook: 64 KB ------------------------------------------------------------------------------------------


def test_an_oversized_webhook_with_content_length_is_refused_unread(client):
    body = LazyBody(ATTACK_SIZE)
    response = client.post(
        "/webhooks/stripe",
        input_stream=body,
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=00"},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert body.consumed == 0


def test_an_oversized_chunked_webhook_is_cut_off_at_the_limit(app):
    body = LazyBody(ATTACK_SIZE)
    status, content, headers = post_chunked(app, "/webhooks/stripe", body)
    assert status == 413
    assert b'"too_large"' in content and headers["Content-Type"] == "application/json"
    limit = app.config["WEBHOOK_MAX_CONTENT_LENGTH"]
    assert limit == 64 * 1024
    assert body.consumed <= limit + 64 * 1024  # the limit plus at most one read's buffer, not 300 MB


def test_a_webhook_within_the_limit_is_read_and_its_signature_checked(client, app):
    body = LazyBody(app.config["WEBHOOK_MAX_CONTENT_LENGTH"] - 1, b" ")
    response = client.post(
        "/webhooks/stripe",
        input_stream=body,
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=00"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert body.consumed == body.size


# -- everything else: 1 MB ---------------------------------------------------------------------------------------


def test_the_site_wide_limit_is_one_megabyte_by_default(app):
    assert app.config["MAX_CONTENT_LENGTH"] == MB


def test_a_form_larger_than_the_limit_is_a_korean_413_page(client):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "a" * (2 * MB), "password": "x", "csrf_token": token})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "요청이 너무 큽니다" in response.get_data(as_text=True)
    assert error_message(response) == "보내신 내용의 크기가 허용 범위를 넘었습니다. 내용을 줄여 다시 보내 주세요."


def test_a_chunked_form_is_read_no_further_than_the_limit(app):
    """A form is parsed from what fits (here: no CSRF token in it, so 400); the rest is never read."""
    body = LazyBody(8 * MB)
    status, _content, _headers = post_chunked(app, "/login", body, "application/x-www-form-urlencoded")
    assert status == 400
    assert body.consumed <= MB


def test_a_json_api_call_larger_than_the_limit_is_a_json_413(client):
    body = LazyBody(2 * MB, b" ")
    response = client.post("/api/v1/auth/token", input_stream=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {
        "error": {
            "code": "too_large",
            "message": ("보내신 내용의 크기가 허용 범위를 넘었습니다. 내용을 줄여 다시 보내 주세요."),
        }
    }
    assert body.consumed == 0


def test_a_signed_in_json_api_call_larger_than_the_limit_is_a_json_413(client, make_user):
    from hrdnet.auth import services
    from hrdnet.db import unit_of_work

    user = make_user("learner")
    with unit_of_work(write_lock=True):
        token = services.issue_api_token(user, "test").token
    body = LazyBody(2 * MB, b" ")
    response = client.post(
        "/api/v1/enrolments",
        input_stream=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert body.consumed == 0
