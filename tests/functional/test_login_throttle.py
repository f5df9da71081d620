"""Password and TOTP guessing is slowed per account and per address, and nobody can lock the owner out.

Red-team findings 5 (the token endpoint had no per-account limit), 6 (no limit on TOTP guesses) and 7 (20
failures locked the owner out for an hour). The throttle's clock (hrdnet.auth.throttle.utcnow) is moved by
hand, so every scenario is replayed exactly, without sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from hrdnet.auth import throttle
from hrdnet.auth.models import ApiToken
from hrdnet.auth.sessions import PendingLogin
from hrdnet.auth.views import PENDING_LOGIN
from hrdnet.extensions import db, limiter
from hrdnet.timeutil import utcnow
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token
from tests.support.pages import error_message

TOKEN_URL = "/api/v1/auth/token"
WRONG = "임의의-틀린-비밀번호-123"
ATTACKERS = [f"203.0.113.{n}" for n in range(1, 7)]
ANOTHER_ATTACKER = "203.0.113.99"
VICTIM_ADDRESS = "198.51.100.7"


@pytest.fixture
def clock(clock):
    """The suite's clock (tests/conftest.py), which the throttle reads: it stands still until the test moves it."""
    return clock.drive(throttle)


@pytest.fixture
def flood_guard_off(monkeypatch):
    """Switch off flask-limiter's coarse per-address guard, which counts in wall-clock time the test cannot
    move, so that a scenario spread over simulated minutes exercises the throttle alone."""
    monkeypatch.setattr(limiter, "enabled", False)


@pytest.fixture
def password_checks(monkeypatch):
    """How many argon2 verifications ran: the structural proof that a refused attempt checked nothing."""
    calls = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, hash_, password):
        calls.append(1)
        return real_verify(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return calls


def api_login(client, email, password, address, **extra):
    return client.post(
        TOKEN_URL, json={"email": email, "password": password, **extra}, environ_base={"REMOTE_ADDR": address}
    )


def page_login(client, email, password, address):
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")},
        environ_base={"REMOTE_ADDR": address},
    )


def retry_after(response) -> int:
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    return int(response.headers["Retry-After"])


# -- finding 5: one per-account counter, shared by the login page and the token endpoint --------------


def test_sixty_api_guesses_in_a_burst_from_six_addresses_check_six_passwords_and_the_right_one_waits(
    client, make_user, clock, password_checks
):
    user = make_user("learner")
    statuses = []
    for n in range(60):  # the red team's burst: 60 requests in 1.5 seconds
        statuses.append(api_login(client, user.email, f"{WRONG}{n}", ATTACKERS[n % 6]).status_code)
        clock.advance(0.025)

    assert statuses[:5] == [401] * 5
    assert statuses.count(401) == 6  # five free failures, and one more once the first second had passed
    assert statuses.count(429) == 54
    assert len(password_checks) == 6  # a refused attempt is answered before the password is looked at

    # From a seventh address, so that the per-address flood guard (10 a minute) plays no part.
    right = api_login(client, user.email, PASSWORD, ANOTHER_ATTACKER)
    assert right.status_code == 429
    assert 1 <= retry_after(right) <= 30
    error = right.get_json()["error"]
    assert error["code"] == "too_many_requests"
    assert "잠시 후 다시 시도해 주세요" in error["message"] and "초 후" in error["message"]
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
    assert len(password_checks) == 6


def test_an_attacker_who_waits_as_told_needs_half_an_hour_for_sixty_guesses(client, make_user, clock, flood_guard_off):
    user = make_user("learner")
    guesses, started = 0, clock.now
    while guesses < 60:
        response = api_login(client, user.email, f"{WRONG}{guesses}", ATTACKERS[guesses % 6])
        if response.status_code == 429:
            clock.advance(retry_after(response))
            continue
        assert response.status_code == 401
        guesses += 1
    assert clock.now - started >= timedelta(minutes=25)


def test_failures_on_the_page_and_through_the_api_add_up(client, make_user, clock, flood_guard_off):
    user = make_user("learner")
    assert [page_login(client, user.email, WRONG, address).status_code for address in ATTACKERS[:3]] == [401] * 3
    assert [api_login(client, user.email, WRONG, address).status_code for address in ATTACKERS[3:5]] == [401] * 2

    on_the_page = page_login(client, user.email, WRONG, ATTACKERS[5])
    assert retry_after(on_the_page) >= 1
    assert "잠시 후 다시 시도해 주세요" in error_message(on_the_page)
    assert retry_after(api_login(client, user.email, WRONG, ATTACKERS[5])) >= 1


def test_a_success_clears_the_addresss_counter_and_does_not_count(client, make_user, clock, flood_guard_off):
    user = make_user("learner")
    for _ in range(2):
        assert [api_login(client, user.email, WRONG, VICTIM_ADDRESS).status_code for _ in range(2)] == [401] * 2
        assert api_login(client, user.email, PASSWORD, VICTIM_ADDRESS).status_code == 201
        clock.advance(1)
    # Four failures and two successes from one address: no delay (three pair failures would start one).
    assert api_login(client, user.email, WRONG, VICTIM_ADDRESS).status_code == 401


def test_unknown_addresses_are_slowed_down_exactly_like_known_ones(client, make_user, clock, flood_guard_off):
    user = make_user("learner")
    known = [api_login(client, user.email, WRONG, ATTACKERS[n % 6]).status_code for n in range(8)]
    unknown = [api_login(client, "nobody@example.com", WRONG, ATTACKERS[n % 6]).status_code for n in range(8)]
    assert known == unknown == [401] * 5 + [429] * 3


# -- finding 7: no lockout of the owner -----------------------------------------------------------------


def test_twenty_failures_from_elsewhere_cannot_keep_the_owner_out(client, make_user, clock):
    user = make_user("learner")
    for n in range(20):  # the red team's 20 failures, each from another address, as fast as allowed
        response = page_login(client, user.email, WRONG, f"203.0.113.{n + 1}")
        if response.status_code == 429:
            clock.advance(retry_after(response))
        else:
            assert response.status_code == 401

    owner = page_login(client, user.email, PASSWORD, VICTIM_ADDRESS)
    if owner.status_code == 429:  # at most the account-wide delay, never an hour
        wait = int(owner.headers.get("Retry-After", 3600))
        assert wait <= 30
        clock.advance(wait)
        owner = page_login(client, user.email, PASSWORD, VICTIM_ADDRESS)
    assert owner.status_code == 302
    assert client.get("/me").status_code == 200


def test_one_address_hammering_the_account_cannot_keep_the_owner_out(client, make_user, clock, flood_guard_off):
    user = make_user("learner")
    for _ in range(40):  # hammering without waiting: refused attempts do not extend the delay
        page_login(client, user.email, WRONG, ATTACKERS[0])
    clock.advance(30)
    assert page_login(client, user.email, PASSWORD, VICTIM_ADDRESS).status_code == 302
    # The attacker's address gets its next guess, then waits longer than before (4 s after 2 s).
    assert page_login(client, user.email, WRONG, ATTACKERS[0]).status_code == 401
    assert retry_after(page_login(client, user.email, WRONG, ATTACKERS[0])) == 4


def test_the_address_that_keeps_failing_waits_longer_and_longer(client, make_user, clock, flood_guard_off):
    user = make_user("learner")
    waits = []
    for _ in range(20):  # each refusal is waited out, then the next guess goes in
        response = api_login(client, user.email, WRONG, ATTACKERS[0])
        if response.status_code == 429:
            waits.append(retry_after(response))
            clock.advance(waits[-1])
    assert len(waits) >= 8
    assert waits == sorted(waits) and waits[-1] >= 4 * 60  # doubling, towards 15 minutes


# -- finding 6: TOTP guesses ----------------------------------------------------------------------------


def wrong_code() -> str:
    totp = pyotp.TOTP(TOTP_SECRET)
    step = totp.timecode(utcnow())
    valid = {totp.generate_otp(s) for s in range(step - 2, step + 3)}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


def enter_code(client, code):
    return client.post("/login/2fa", data={"code": code, "csrf_token": csrf_token(client, "/login/2fa")})


def test_five_wrong_codes_end_the_pending_login_and_throttle_the_second_factor(
    client, make_user, clock, flood_guard_off
):
    admin = make_user("admin")
    assert page_login(client, admin.email, PASSWORD, VICTIM_ADDRESS).headers["Location"] == "/login/2fa"
    assert [enter_code(client, wrong_code()).status_code for _ in range(5)] == [401] * 5

    right = enter_code(client, pyotp.TOTP(TOTP_SECRET).now())
    assert retry_after(right) > 10 * 60  # the second factor rests for 15 minutes
    assert "잠시 후 다시 시도해 주세요" in error_message(right)
    with client.session_transaction() as session:
        assert PENDING_LOGIN not in session
    assert db.session.scalar(select(func.count()).select_from(PendingLogin)) == 0  # ended on the server too
    assert client.get("/login/2fa").headers["Location"] == "/login"
    assert client.get("/admin/").status_code == 302

    # Passing the password again does not reopen the second factor before the pause is over ...
    assert page_login(client, admin.email, PASSWORD, VICTIM_ADDRESS).status_code == 302
    assert enter_code(client, pyotp.TOTP(TOTP_SECRET).now()).status_code == 429
    # ... and after it the right code works again.
    clock.advance(15 * 60)
    assert page_login(client, admin.email, PASSWORD, VICTIM_ADDRESS).status_code == 302
    assert enter_code(client, pyotp.TOTP(TOTP_SECRET).now()).headers["Location"] == "/"
    assert client.get("/admin/").status_code == 200


def test_five_wrong_codes_through_the_api_refuse_the_right_one(client, make_user, clock, flood_guard_off):
    auditor = make_user("auditor")
    for _ in range(5):
        wrong = api_login(client, auditor.email, PASSWORD, VICTIM_ADDRESS, otp=wrong_code())
        assert wrong.status_code == 401
        assert wrong.get_json()["error"]["code"] == "invalid_otp"

    right = api_login(client, auditor.email, PASSWORD, VICTIM_ADDRESS, otp=pyotp.TOTP(TOTP_SECRET).now())
    assert retry_after(right) > 10 * 60
    assert right.get_json()["error"]["code"] == "too_many_requests"
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_codes_on_the_page_and_through_the_api_add_up(client, make_user, clock, flood_guard_off):
    admin = make_user("admin")
    for _ in range(3):
        assert api_login(client, admin.email, PASSWORD, VICTIM_ADDRESS, otp=wrong_code()).status_code == 401
    page_login(client, admin.email, PASSWORD, VICTIM_ADDRESS)
    assert [enter_code(client, wrong_code()).status_code for _ in range(2)] == [401, 401]
    assert enter_code(client, pyotp.TOTP(TOTP_SECRET).now()).status_code == 429
