"""Password-reset mail bombing (finding 8) and account enumeration through sign-up and reset (finding 12)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, func, select

from hrdnet import outbox
from hrdnet.auth.models import User
from hrdnet.extensions import db
from tests.conftest import csrf_token
from tests.functional.mail_links import mailed_link, submit_link
from tests.support.pages import error_message, page, without_csrf
from tests.support.signup import sign_up

NEW_PASSWORD = "new-secret-passphrase-42"
LINK_GONE = "링크가 만료되었거나 이미 사용되었습니다"


def ask_for_reset(client, email, address="127.0.0.1"):
    return client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": csrf_token(client, "/password/forgot")},
        environ_base={"REMOTE_ADDR": address},
    )


def choose_password(client, link):
    return submit_link(client, link, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)


# -- finding 8: mail bombing ----------------------------------------------------------------------------


@pytest.mark.both_dbs
def test_forty_reset_requests_send_three_mails_and_only_the_newest_link_works(client, make_user, mailbox):
    user = make_user("learner")
    # From 40 addresses, so the per-address limit ("5 per hour") does not stop the flood before the cap.
    answers = [ask_for_reset(client, user.email, address=f"203.0.113.{n}") for n in range(1, 41)]
    assert {(r.status_code, r.headers["Location"]) for r in answers} == {(302, "/check-mail?reason=reset")}

    messages = [m for m in mailbox() if m["To"] == user.email]
    assert len(messages) == 3  # RESET_MAILS_PER_HOUR
    links = [mailed_link(m, "/password/reset") for m in messages]
    for old in links[:-1]:
        refused = choose_password(client, old)
        assert refused.status_code == 400
        assert LINK_GONE in error_message(refused)
    assert choose_password(client, links[-1]).status_code == 302


def test_a_new_reset_link_replaces_the_previous_one(client, make_user, mailbox):
    user = make_user("learner")
    ask_for_reset(client, user.email)
    (first,) = mailbox()
    ask_for_reset(client, user.email)
    second = next(m for m in mailbox() if m["Message-ID"] != first["Message-ID"])
    assert choose_password(client, mailed_link(first, "/password/reset")).status_code == 400
    assert choose_password(client, mailed_link(second, "/password/reset")).status_code == 302


# -- finding 12: enumeration ----------------------------------------------------------------------------


@pytest.fixture
def statements(app):
    """The SQL statements (without their parameters) the database receives, in order."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(client, make_user, statements):
    user = make_user("learner")
    work = {}
    for label, email in (("known", user.email), ("unknown", "nobody@example.com")):
        token = csrf_token(client, "/password/forgot")
        statements.clear()
        response = client.post("/password/forgot", data={"email": email, "csrf_token": token})
        work[label] = (response.status_code, response.headers["Location"], list(statements))
    assert work["known"] == work["unknown"]
    assert any("outbox" in s for s in work["known"][2])  # the request only queues the job
    assert not any("users" in s or "email_tokens" in s for s in work["known"][2])


@pytest.fixture
def password_hashes(monkeypatch):
    calls = []
    real_hash = PasswordHasher.hash

    def counting_hash(self, password, *, salt=None):
        calls.append(1)
        return real_hash(self, password, salt=salt)

    monkeypatch.setattr(PasswordHasher, "hash", counting_hash)
    return calls


def test_signing_up_with_a_taken_address_looks_the_same_and_mails_the_owner(
    client, make_user, mailbox, password_hashes
):
    owner = make_user("learner", email="taken@example.com")
    outbox_before = db.session.scalar(select(func.count()).select_from(outbox.OutboxItem))

    password_hashes.clear()
    fresh = sign_up(client, "fresh@example.com")
    hashes_fresh = len(password_hashes)
    password_hashes.clear()
    other = "someone-elses-passphrase-9"
    taken = sign_up(client, "Taken@Example.com", password=other, password_confirm=other)
    hashes_taken = len(password_hashes)

    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert without_csrf(page(client.get(taken.headers["Location"]))) == without_csrf(
        page(client.get(fresh.headers["Location"]))
    )
    assert hashes_taken == hashes_fresh == 1  # the password is hashed either way
    assert db.session.scalar(select(func.count()).select_from(outbox.OutboxItem)) == outbox_before + 2

    notice = [m for m in mailbox() if m["To"] == owner.email]
    assert len(notice) == 1
    body = notice[0].get_content()
    assert "이 주소로 가입 시도가 있었습니다" in body
    assert "로그인하거나" in body and "비밀번호를 재설정하세요" in body
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == owner.email)) == 1
    assert db.session.scalar(select(User).where(User.email == owner.email)).password_hash == owner.password_hash


def test_repeated_sign_ups_with_a_taken_address_mail_the_owner_at_most_three_times(
    client, make_user, mailbox, monkeypatch
):
    from hrdnet.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # the per-address sign-up limit would stop this test first
    owner = make_user("learner", email="taken@example.com")
    for _ in range(10):
        assert sign_up(client, owner.email).status_code == 302
    assert len([m for m in mailbox() if m["To"] == owner.email]) == 3
