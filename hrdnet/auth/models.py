"""Users, one-time e-mail tokens and API tokens."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdnet.access import Role
from hrdnet.auth import totp_keys
from hrdnet.extensions import db
from hrdnet.models_base import UTCDateTime
from hrdnet.timeutil import utcnow

ROLES_SQL = ", ".join(f"'{r.value}'" for r in Role)


def new_pseudonym() -> str:
    return secrets.token_hex(16)


class User(UserMixin, db.Model):
    """A person who signs in. Provider staff belong to a provider, auditors to a ministry.

    The organisation link lives on the user (one organisation per account). An organisation's own admin
    can later be a further role with the same link, without changing this table's shape.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLES_SQL})", name="role_known"),
        CheckConstraint(
            "(role = 'provider' AND provider_id IS NOT NULL AND ministry_id IS NULL)"
            " OR (role = 'auditor' AND ministry_id IS NOT NULL AND provider_id IS NULL)"
            " OR (role IN ('learner', 'admin') AND provider_id IS NULL AND ministry_id IS NULL)",
            name="org_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date | None] = mapped_column(Date)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    ministry_id: Mapped[int | None] = mapped_column(ForeignKey("ministries.id"), index=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Encrypted with TOTP_ENCRYPTION_KEYS (auth/totp_keys.py); read and set it through `totp_secret`.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # The only identifier the audit log stores; erasing the person leaves the chain intact.
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True, default=new_pseudonym)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The key of the server-side session a login just opened (auth/sessions.py); not a column.
    session_key = None
    # When this session last re-entered the password on a form that asks for it (sessions.REAUTH_WINDOW), as
    # the user loader read it for this request; not a column.
    password_confirmed_at = None

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: the opaque session key, never a lasting user secret."""
        if not self.session_key:
            raise RuntimeError("open a server-side session (sessions.open_session) before login_user()")
        return self.session_key

    @property
    def totp_secret(self) -> str | None:
        return totp_keys.decrypt_or_none(self.totp_secret_encrypted)

    @totp_secret.setter
    def totp_secret(self, secret: str | None) -> None:
        self.totp_secret_encrypted = totp_keys.encrypt(secret) if secret else None

    @property
    def has_totp(self) -> bool:
        return self.totp_secret_encrypted is not None

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """True: a User is current_user only when a loader found its session or token valid and the user active
        (sessions.user_for_session, services.user_for_api_token). Answered without the row, so a request that
        committed (which expires every loaded row) does not read the user again for its response headers."""
        return True

    @property
    def needs_totp(self) -> bool:
        return self.role in (Role.ADMIN, Role.AUDITOR)

    @property
    def display_name(self) -> str:
        from hrdnet.privacy import mask_name

        return mask_name(self.name)


class EmailToken(db.Model):
    """A one-time link sent by e-mail (verify address, reset password, accept invitation).

    Only a hash of the token is stored, so a database leak reveals no usable link.
    """

    __tablename__ = "email_tokens"
    __table_args__ = (CheckConstraint("purpose IN ('verify', 'reset', 'invite')", name="purpose_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    """A bearer token for the JSON API. Stored hashed; revocable; shown to its owner only once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
