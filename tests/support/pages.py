"""Small readers of the HTML pages the tests get back through the Flask test client."""

from __future__ import annotations

import html
import re

from tests.conftest import PASSWORD


def page(response) -> str:
    return response.get_data(as_text=True)


def field_errors(response, field: str) -> list[str]:
    """The error messages shown under one form field (the page's <ul id="<field>-error">)."""
    match = re.search(
        r'<ul class="site-field-errors" id="' + re.escape(field) + r'-error">(.*?)</ul>', page(response), re.S
    )
    if match is None:
        return []
    return [html.unescape(m.strip()) for m in re.findall(r"<li[^>]*>(.*?)</li>", match.group(1), re.S)]


def error_summary(response) -> str:
    """The text of the error box at the top of a form ('' when there is none)."""
    match = re.search(r'<div class="site-error-summary".*?</div>', page(response), re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))) if match else ""


def error_message(response) -> str:
    """The message of the site's error page."""
    match = re.search(r'<p class="site-error__message">(.*?)</p>', page(response), re.S)
    assert match, f"not an error page (status {response.status_code})"
    return html.unescape(match.group(1).strip())


def without_csrf(text: str) -> str:
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', 'name="csrf_token"', text)


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("hrdnet_session")
    return cookie.value if cookie else None


def text_of(response) -> str:
    """The page's visible text, tags removed and whitespace collapsed."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page(response), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def run_ids_on(response) -> list[int]:
    """The ids of the runs a catalog or search page lists, in the order shown."""
    return [int(n) for n in re.findall(r'class="run-card__title"><a href="/runs/(\d+)"', page(response))]


def main_text(response) -> str:
    """The visible text of the page's <main> only (not the header, which greets the signed-in user by name)."""
    match = re.search(r"<main\b.*?</main>", page(response), re.S)
    assert match, "no <main> on the page"
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", match.group(0), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def enrol_form(client, run_id: int) -> dict:
    """The enrol confirmation form as the browser got it: CSRF token and the form's own request key."""
    body = page(client.get(f"/runs/{run_id}/enrol"))
    key = re.search(r'name="request_key" type="hidden" value="([^"]+)"', body) or re.search(
        r'value="([^"]+)"[^>]*name="request_key"', body
    )
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body)
    assert key and token, "no enrol form on the page"
    return {"csrf_token": token.group(1), "request_key": key.group(1)}


def enrol_by_page(client, run_id: int, password: str = PASSWORD):
    return client.post(f"/runs/{run_id}/enrol", data={**enrol_form(client, run_id), "password": password})
