"""Server-side login sessions and pending second-factor logins.

The Flask session cookie is signed, not secret: anyone holding SECRET_KEY can read or forge it, and a copy
of it works wherever it is replayed. So the cookie carries only an opaque random key, and the server keeps
the state: a `user_sessions` row per login (revoked at logout, password change or reset, role change) and a
`pending_logins` row between the password and the TOTP code. Only SHA-256 hashes of the keys are stored, so
a database leak gives no usable cookie. Lookups only read: the user loader runs on every request, GETs too.

Services here take plain values, flush and never commit (the caller owns the unit of work).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.auth import totp_keys
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

PENDING_LOGIN_SECONDS = 300  # how long the password step waits for the TOTP code
# A form that spends money (enrolling) asks for the password again at most once per this window after the
# last time it was entered there in the same session: argon2 on every enrolment costs ≈ 200 ms of CPU.
REAUTH_WINDOW = timedelta(minutes=10)


def _new_key() -> tuple[str, str]:
    key = secrets.token_urlsafe(32)
    return key, _hash(key)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class UserSession(db.Model):
    """One signed-in browser. The cookie holds the key; this row says whether it still counts."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(32))  # password, password+totp, ... (as audited)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last time the password was re-entered on a form that asks for it (REAUTH_WINDOW); None: never.
    password_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PendingLogin(db.Model):
    """A password step waiting for its TOTP code; grants nothing by itself."""

    __tablename__ = "pending_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    next_path: Mapped[str] = mapped_column(String(2048))  # already checked by safe_next
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The secret being enrolled (first login of a staff account), encrypted like users.totp_secret_encrypted.
    # Chosen at the password step so that showing the enrolment page (a GET) writes nothing.
    enrolment_secret_encrypted: Mapped[str | None] = mapped_column(String(255))

    @property
    def enrolment_secret(self) -> str | None:
        return totp_keys.decrypt_or_none(self.enrolment_secret_encrypted)


# -- signed-in sessions ------------------------------------------------------------------------------


def open_session(user_id: int, *, method: str) -> str:
    """Record a new login and return the key for the cookie (shown nowhere else)."""
    now = utcnow()
    # Expired rows of this user go when they log in again: the table stays as small as the live logins.
    db.session.execute(delete(UserSession).where(UserSession.user_id == user_id, UserSession.expires_at <= now))
    key, key_hash = _new_key()
    lifetime = timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    db.session.add(
        UserSession(key_hash=key_hash, user_id=user_id, method=method, created_at=now, expires_at=now + lifetime)
    )
    db.session.flush()
    return key


def user_for_session(key: str) -> User | None:
    """The active user whose unrevoked, unexpired session has this key; reads only. The user carries, for this
    request, when the session last re-entered the password (`password_confirmed_at`, see REAUTH_WINDOW)."""
    row = db.session.execute(
        select(User, UserSession.password_confirmed_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.key_hash == _hash(key),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
            User.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    user, confirmed_at = row
    user.password_confirmed_at = confirmed_at
    return user


def password_recently_confirmed(confirmed_at: datetime | None) -> bool:
    """Whether the password was re-entered in this session less than REAUTH_WINDOW ago."""
    return confirmed_at is not None and utcnow() - confirmed_at < REAUTH_WINDOW


def note_password_confirmed(key: str) -> None:
    """The password was just re-entered in this session: the window starts again now."""
    db.session.execute(
        update(UserSession).where(UserSession.key_hash == _hash(key)).values(password_confirmed_at=utcnow())
    )


def revoke_session(key: str) -> None:
    """End one session (logout): its cookie, wherever a copy of it is, signs no one in any more."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.key_hash == _hash(key), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_all_sessions(user_id: int) -> int:
    """End every session and pending login of a user (password change or reset, role change)."""
    revoked = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    db.session.execute(delete(PendingLogin).where(PendingLogin.user_id == user_id))
    return revoked


# -- between the password and the TOTP code -----------------------------------------------------------


def start_pending_login(user_id: int, *, next_path: str, enrolment_secret: str | None) -> str:
    """Remember a passed password step; returns the key for the cookie. An older pending step of the
    same user ends (one second-factor attempt at a time)."""
    now = utcnow()
    db.session.execute(delete(PendingLogin).where(PendingLogin.user_id == user_id))
    key, key_hash = _new_key()
    db.session.add(
        PendingLogin(
            key_hash=key_hash,
            user_id=user_id,
            next_path=next_path,
            created_at=now,
            expires_at=now + timedelta(seconds=PENDING_LOGIN_SECONDS),
            enrolment_secret_encrypted=totp_keys.encrypt(enrolment_secret) if enrolment_secret else None,
        )
    )
    db.session.flush()
    return key


def pending_login(key: str | None) -> PendingLogin | None:
    """The unexpired pending login of this key (of an active user); reads only."""
    if not key:
        return None
    return db.session.scalar(
        select(PendingLogin)
        .join(User, User.id == PendingLogin.user_id)
        .where(PendingLogin.key_hash == _hash(key), PendingLogin.expires_at > utcnow(), User.active.is_(True))
    )


def end_pending_login(key: str) -> None:
    """The pending login is over (passed, expired, or too many wrong codes): its cookie key is worthless."""
    db.session.execute(delete(PendingLogin).where(PendingLogin.key_hash == _hash(key)))
