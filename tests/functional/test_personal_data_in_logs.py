"""No personal data in the application log (finding 14: flask-limiter logged `login:<e-mail>` keys).

One session does what people and attackers do most (sign up, fail logins from several addresses until
slowed down, sign in, ask for a password reset) with every logger at DEBUG, then searches every record.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from hrdnet.auth import throttle
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from tests.conftest import csrf_token
from tests.functional.mail_links import mailed_link, submit_link

EMAIL = "kim.haneul.private@example.com"
NAME = "김하늘"
PHONE = "010-2468-1357"
BIRTH_DATE = "1988-03-27"
PASSWORD = "a-learner-passphrase-77"


@pytest.fixture
def every_log_record(caplog):
    # The root logger, so every logger without a level of its own; SQLAlchemy keeps its own (WARNING), as
    # its SQL echo prints parameters and rows by design and is never switched on in the application log.
    caplog.set_level(logging.DEBUG)
    for name in ("werkzeug", "flask_limiter", "hrdnet", "courses", "vouchers", "search"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def post(client, path, data, address="127.0.0.1"):
    return client.post(
        path, data={**data, "csrf_token": csrf_token(client, path)}, environ_base={"REMOTE_ADDR": address}
    )


def test_a_session_of_sign_up_guessing_login_and_reset_logs_no_personal_data(
    client, mailbox, every_log_record, monkeypatch
):
    signed_up = post(
        client,
        "/signup",
        {
            "email": EMAIL,
            "name": NAME,
            "phone": PHONE,
            "birth_date": BIRTH_DATE,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "agree_privacy": "y",
        },
    )
    assert signed_up.status_code == 302
    link = mailed_link(next(m for m in mailbox() if m["To"] == EMAIL), "/verify")
    assert submit_link(client, link).status_code == 302

    statuses = [
        post(
            client, "/login", {"email": EMAIL, "password": f"wrong-guess-{n}"}, address=f"203.0.113.{n % 4}"
        ).status_code
        for n in range(50)
    ]
    assert 429 in statuses  # guessing was slowed down (and the limits said so in the log)

    monkeypatch.setattr(throttle, "utcnow", lambda: utcnow() + timedelta(minutes=1))  # the owner waits a minute
    assert post(client, "/login", {"email": EMAIL, "password": PASSWORD}, address="198.51.100.7").status_code == 302
    assert client.get("/me").status_code == 200
    assert post(client, "/password/forgot", {"email": EMAIL}).status_code == 302
    assert any(m["To"] == EMAIL and "비밀번호 재설정" in m["Subject"] for m in mailbox())

    user = db.session.query(User).filter_by(email=EMAIL).one()
    assert user.name == NAME

    texts = [f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in every_log_record.records]
    assert any("exceeded" in text for text in texts), "no limit breach was logged: the search would prove little"
    for personal in (EMAIL, EMAIL.split("@")[0], NAME, PHONE, PHONE.replace("-", ""), BIRTH_DATE):
        leaked = [text for text in texts if personal in text]
        assert leaked == [], f"{personal!r} reached the log: {leaked[:3]}"


def test_a_database_error_does_not_repeat_personal_data(app, make_user):
    """What a logged traceback would show of a failed statement: its SQL, never its values."""
    make_user("learner", email=EMAIL)
    db.session.add(User(email=EMAIL, name=NAME, phone=PHONE, password_hash="x", role="learner"))
    with pytest.raises(IntegrityError) as failure:
        db.session.flush()
    db.session.rollback()
    assert "users" in str(failure.value)
    for personal in (EMAIL, NAME, PHONE):
        assert personal not in str(failure.value)
