"""Slowing down password and TOTP guessing without letting anyone lock the owner out.

One module serves the HTML login (/login, /login/2fa) and the token endpoint (POST /api/v1/auth/token), so
a failure through either counts against the same counters.

Design
------
Counters. Password failures are counted twice: per account, and per (account, client address) pair. The
account is named by a pseudonym: the user's `pseudonym`, or, for an address nobody registered, a keyed
HMAC of the normalised e-mail, so unknown and known addresses behave exactly alike (no enumeration) and
no e-mail address is stored. Each counter's row key is itself a keyed HMAC of (purpose, account[, client
address]), so the table holds neither pseudonyms nor IP addresses. TOTP failures have one counter per
account.

Delays, not lockouts. After a few free failures, the next attempt must wait a delay that doubles with every
further failure, up to a cap (see the policies below):
- the pair delay grows fast and far (up to 15 minutes): one address that keeps guessing is shut out;
- the account delay is capped low (30 seconds): an attacker spreading guesses over many addresses gets
  at most about two guesses a minute in all, while the owner, from an address that has not failed,
  waits at most those 30 seconds with the right password; nobody can lock them out for an hour.
An attempt inside a delay is refused with 429, Retry-After and a Korean message before the password or
code is looked at, and it does not count as a failure (hammering cannot extend anyone's wait).
TOTP codes: 5 failures, then the account's second factor is refused for 15 minutes and the view ends the
pending login.

Claims. Each attempt is counted *before* the secret is checked (a guarded read-modify-write under a row
lock on PostgreSQL, SQLite's write lock otherwise), so a burst of parallel requests cannot all slip
through the free failures at once. When the secret turns out right (or the attempt fails for a reason
that is not a wrong guess: unverified e-mail, disabled account, missing code) the claim is handed back:
a success clears the pair's counter (and the TOTP counter) and gives the account its one attempt back.

Storage. The counters live in a database table (`auth_throttle`), each claim and settlement in its own
short transaction. The login's own unit of work rolls back on a wrong password, so the count cannot ride
in it; a table shared by every process (SQLite or PostgreSQL alike) needs no extra service, holds across
restarts, and its timestamps come from hrdnet.timeutil.utcnow, which tests move by hand (no sleeps). The
limiter's storage (memory:// per process in development, Redis in production) was the alternative: it
offers counters with wall-clock expiry only, so doubling delays would need timestamps it cannot hold, and
memory:// would give each process its own counts. A scheduled job deletes rows that have gone quiet.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_limiter.util import get_remote_address
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests

from hrdnet.auth.errors import InvalidCredentials, InvalidOtp
from hrdnet.auth.services import find_user_by_email, normalise_email
from hrdnet.db import unit_of_work
from hrdnet.errors import error_response
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow
from hrdnet.worker import scheduled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """How many failures are free, and how long each further attempt must wait."""

    name: str
    free_failures: int
    first_delay: timedelta
    max_delay: timedelta
    forget_after: timedelta  # a counter quiet for this long starts again from zero

    def delay_after(self, failures: int) -> timedelta:
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 30)  # 2**30 s is far beyond any cap
        return min(self.first_delay * 2**doublings, self.max_delay)


PASSWORD_PAIR = Policy(
    "pw-pair",
    free_failures=3,
    first_delay=timedelta(seconds=2),
    max_delay=timedelta(minutes=15),
    forget_after=timedelta(days=1),
)
PASSWORD_ACCOUNT = Policy(
    "pw-account",
    free_failures=5,
    first_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=30),
    forget_after=timedelta(hours=1),
)
TOTP_ACCOUNT = Policy(
    "totp-account",
    free_failures=5,
    first_delay=timedelta(minutes=15),
    max_delay=timedelta(minutes=15),
    forget_after=timedelta(minutes=15),
)
KEEP_ROWS = max(PASSWORD_PAIR.forget_after, PASSWORD_ACCOUNT.forget_after, TOTP_ACCOUNT.forget_after)


class ThrottleCounter(db.Model):
    """One failure counter: a keyed hash of what it counts, never an address or a pseudonym."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TooManyAttempts(TooManyRequests):
    """An attempt inside a delay: 429 with Retry-After, refused before the secret is checked."""

    def __init__(self, wait: timedelta):
        self.seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(retry_after=self.seconds)

    @property
    def message(self) -> str:
        return f"로그인 시도가 너무 많습니다. 잠시 후 다시 시도해 주세요. ({_describe_wait(self.seconds)} 후 가능)"


def _describe_wait(seconds: int) -> str:
    return f"{seconds}초" if seconds < 60 else f"{math.ceil(seconds / 60)}분"


def refusal_response(exc: TooManyAttempts):
    """Error handler for both auth blueprints: the Korean message with the wait, and Retry-After."""
    response = error_response(429, "too_many_requests", exc.message)
    response.headers["Retry-After"] = str(exc.seconds)
    return response


# -- naming what is counted --------------------------------------------------------------------------


def _keyed_hash(*parts: str) -> str:
    # SECRET_KEY keys the hash so nobody can precompute the key of a given address; rotating it only
    # restarts the counters.
    message = "\x1f".join(("hrdnet-throttle", *parts)).encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()


def account_pseudonym(email: str) -> str:
    """The user's pseudonym, or a keyed hash of the normalised address when nobody registered it."""
    user = find_user_by_email(email)
    return user.pseudonym if user is not None else "unknown:" + _keyed_hash("email", normalise_email(email))


def client_address() -> str:
    return get_remote_address() or "unknown"


# -- claiming and settling attempts ------------------------------------------------------------------


@dataclass(frozen=True)
class _Counter:
    policy: Policy
    key: str
    clear_on_success: bool  # False: a success only hands this attempt back (the account-wide counter)


def _locked_row(key: str, now: datetime) -> ThrottleCounter:
    """The counter's row, created if missing, locked until the transaction ends."""
    try:
        with db.session.begin_nested():
            db.session.add(ThrottleCounter(key=key, failures=0, last_attempt_at=now))
    except IntegrityError:
        pass  # it exists (perhaps created a moment ago by a parallel attempt)
    return db.session.scalar(
        select(ThrottleCounter)
        .where(ThrottleCounter.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _current_failures(row: ThrottleCounter, policy: Policy, now: datetime) -> int:
    return 0 if now - row.last_attempt_at >= policy.forget_after else row.failures


def _claim(counters: list[_Counter]) -> None:
    """Count one attempt on every counter, or refuse it (TooManyAttempts) while any of them must wait."""
    now = utcnow()
    with unit_of_work(write_lock=True):
        rows = [(counter, _locked_row(counter.key, now)) for counter in counters]
        waits = [
            row.last_attempt_at + counter.policy.delay_after(_current_failures(row, counter.policy, now)) - now
            for counter, row in rows
        ]
        longest = max(waits)
        if longest > timedelta(0):
            db.session.rollback()  # nothing counted: a refused attempt never extends anyone's wait
            log.info("%s attempt refused for %ss", counters[0].policy.name, math.ceil(longest.total_seconds()))
            raise TooManyAttempts(longest)
        for counter, row in rows:
            row.failures = _current_failures(row, counter.policy, now) + 1
            row.last_attempt_at = now


def _hand_back(counters: list[_Counter]) -> None:
    """The secret was right (or the guess was never judged): undo the claim."""
    with unit_of_work(write_lock=True):
        for counter in counters:
            if counter.clear_on_success:
                db.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == counter.key))
                continue
            row = db.session.scalar(select(ThrottleCounter).where(ThrottleCounter.key == counter.key).with_for_update())
            if row is not None and row.failures > 0:
                row.failures -= 1


@contextmanager
def _attempt(counters: list[_Counter], wrong_guess: type[Exception]) -> Iterator[None]:
    """Claim before the block runs; a `wrong_guess` escaping it keeps the count, anything else hands it back."""
    _claim(counters)
    try:
        yield
    except wrong_guess:
        raise
    except BaseException:
        _hand_back(counters)
        raise
    _hand_back(counters)


def password_attempt(email: str, address: str) -> AbstractContextManager[None]:
    """Wrap checking a password for `email` from client `address` (the HTML login and the API share it)."""
    account = account_pseudonym(email)
    return _attempt(
        [
            _Counter(PASSWORD_PAIR, _keyed_hash(PASSWORD_PAIR.name, account, address), clear_on_success=True),
            _Counter(PASSWORD_ACCOUNT, _keyed_hash(PASSWORD_ACCOUNT.name, account), clear_on_success=False),
        ],
        InvalidCredentials,
    )


def totp_attempt(pseudonym: str) -> AbstractContextManager[None]:
    """Wrap checking a TOTP code of the account with this pseudonym."""
    return _attempt(
        [_Counter(TOTP_ACCOUNT, _keyed_hash(TOTP_ACCOUNT.name, pseudonym), clear_on_success=True)], InvalidOtp
    )


@scheduled("auth.throttle.prune", every=timedelta(hours=1))
def prune_quiet_counters() -> int:
    """Delete counters quiet for longer than any policy remembers (unknown addresses would pile up)."""
    with unit_of_work(write_lock=True) as session:
        return session.execute(
            delete(ThrottleCounter).where(ThrottleCounter.last_attempt_at < utcnow() - KEEP_ROWS)
        ).rowcount
