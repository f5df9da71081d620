"""Finding 13: one-time link tokens stay out of access logs, survive being opened, and are used once by the POST.

Mails link to /password/reset#t=TOKEN (and /verify#t=TOKEN): a browser never sends the fragment, so the token
reaches neither the server's access log nor a proxy's nor a Referer header. Links mailed before, with the token
in the path, still open their page, and the logs show `[redacted]` instead of the token.
"""

from __future__ import annotations

import logging
import re
import threading

import pytest
import requests
from sqlalchemy import event, select
from werkzeug.serving import make_server

from hrdnet.auth.models import EmailToken
from hrdnet.extensions import db
from tests.conftest import PASSWORD, csrf_token
from tests.functional.mail_links import mailed_link, split_link, submit_link
from tests.support.signup import sign_up

NEW_PASSWORD = "new-secret-passphrase-42"


@pytest.fixture
def live_site(app):
    """The app behind a real werkzeug server on loopback, so its real access log is written."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text).group(1)


def request_reset(browser, site, email, mailbox) -> str:
    form = browser.get(f"{site}/password/forgot")
    browser.post(f"{site}/password/forgot", data={"email": email, "csrf_token": csrf_of(form)})
    db.session.commit()  # end the test's read transaction: see what the server committed
    return mailed_link(mailbox()[-1], "/password/reset")


def logged_messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_a_whole_reset_journey_leaves_no_token_in_any_log(live_site, make_user, mailbox, caplog):
    caplog.set_level(logging.INFO)
    user = make_user("learner")
    browser = requests.Session()
    link = request_reset(browser, live_site, user.email, mailbox)
    _, token = split_link(link)

    shown = browser.get(live_site + link)  # what a browser requests: the fragment stays behind
    assert shown.status_code == 200
    done = browser.post(
        shown.url,
        allow_redirects=False,
        data={"token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, "csrf_token": csrf_of(shown)},
    )
    assert done.status_code == 302
    login = browser.get(f"{live_site}/login")
    assert (
        browser.post(
            f"{live_site}/login",
            allow_redirects=False,
            data={"email": user.email, "password": NEW_PASSWORD, "csrf_token": csrf_of(login)},
        ).status_code
        == 302
    )

    messages = logged_messages(caplog)
    assert any("GET /password/reset" in m for m in messages)  # the access log was captured
    assert not [m for m in messages if token in m]
    assert link.startswith("/password/reset#t=")  # the token never was in a requested URL


def test_an_old_style_link_still_opens_but_its_token_is_scrubbed_from_the_access_log(
    live_site, make_user, mailbox, caplog
):
    caplog.set_level(logging.INFO)
    user = make_user("learner")
    browser = requests.Session()
    _, token = split_link(request_reset(browser, live_site, user.email, mailbox))

    old_style = browser.get(f"{live_site}/password/reset/{token}")
    assert old_style.status_code == 200
    assert 'action="/password/reset"' in old_style.text  # its form posts to the token-free address

    messages = logged_messages(caplog)
    assert any("GET /password/reset/[redacted] HTTP" in m for m in messages)
    assert not [m for m in messages if token in m]


@pytest.fixture
def statements(app):
    """The INSERT/UPDATE/DELETE statements the app runs while the test watches."""
    writes = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield writes
    event.remove(db.engine, "before_cursor_execute", record)


def test_opening_a_link_writes_nothing_and_only_the_post_uses_it_once(client, make_user, mailbox, statements):
    user = make_user("learner")
    client.post("/password/forgot", data={"email": user.email, "csrf_token": csrf_token(client, "/password/forgot")})
    link = mailed_link(mailbox()[-1], "/password/reset")
    _, token = split_link(link)

    statements.clear()
    for path in (link, f"/password/reset/{token}", link):  # a mail scanner, the person, a reload
        assert client.get(path).status_code == 200
    assert statements == []
    assert db.session.scalar(select(EmailToken.used_at).where(EmailToken.purpose == "reset")) is None

    assert submit_link(client, link, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD).status_code == 302
    assert db.session.scalar(select(EmailToken.used_at).where(EmailToken.purpose == "reset")) is not None
    again = submit_link(client, link, password="yet-another-passphrase-7", password_confirm="yet-another-passphrase-7")
    assert again.status_code == 400
    assert (
        client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
        ).status_code
        == 401
    )


def test_the_verification_page_works_without_javascript_by_pasting_the_code(client, mailbox):
    sign_up(client, "new@example.com")
    message = mailbox()[-1]
    _, token = split_link(mailed_link(message, "/verify"))
    assert f"확인 코드: {token}" in message.get_content()  # the mail gives the code on its own line too

    page = client.get("/verify")
    assert page.status_code == 200 and 'name="token"' in page.get_data(as_text=True)
    missing = client.post("/verify", data={"csrf_token": csrf_token(client, "/verify")})
    assert missing.status_code == 400
    assert "확인 코드를 붙여 넣어 주세요" in missing.get_data(as_text=True)
    pasted = client.post("/verify", data={"token": token, "csrf_token": csrf_token(client, "/verify")})
    assert pasted.status_code == 302
