"""Account services: plain values in, domain errors out; they flush but never commit."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

import pyotp
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from hrdnet import audit, mail, outbox
from hrdnet.access import Role
from hrdnet.auth import organisations, sessions
from hrdnet.auth.errors import (
    AccountDisabled,
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidLink,
    InvalidOtp,
    UnknownOrganisation,
    WrongPassword,
)
from hrdnet.auth.models import ApiToken, EmailToken, User
from hrdnet.bounds import fits
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow

log = logging.getLogger(__name__)


def _hasher() -> PasswordHasher:
    """Argon2id with RFC 9106's low-memory profile; tests may pick a cheaper one (PASSWORD_HASH_PROFILE)."""
    profile = current_app.config.get("PASSWORD_HASH_PROFILE", "RFC_9106_LOW_MEMORY")
    return PasswordHasher.from_parameters(getattr(profiles, profile))


def _dummy_hash() -> str:
    """Verifying against this when the e-mail is unknown makes both answers take equally long."""
    cache = current_app.extensions.setdefault("hrdnet_dummy_hash", {})
    if "hash" not in cache:
        cache["hash"] = _hasher().hash(secrets.token_urlsafe(16))
    return cache["hash"]


TOTP_ISSUER = "hrdnet"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _actor(user: User | None) -> str:
    return user.pseudonym if user else audit.SYSTEM_ACTOR


_SELF = object()  # the user acted on their own account; actor=None means the system (command line)


def _audit(action: str, user: User, *, actor: User | None | object = _SELF, **data) -> None:
    actor = user if actor is _SELF else actor
    audit.append(action, actor=_actor(actor), subject_type="user", subject_id=user.pseudonym, data=data)


# -- creating accounts -------------------------------------------------------------------------------


def _add_user(user: User) -> User:
    """Insert a user; the unique index on e-mail settles races between two sign-ups."""
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise EmailTaken() from None
    return user


def register_learner(*, email: str, name: str, phone: str, birth_date: date, password: str) -> User | None:
    """Create an unverified learner and queue the verification e-mail.

    An address that already has an account gets the same answer (the caller cannot tell the two apart,
    so sign-up reveals no accounts) and its owner a notice instead; the password is hashed either way so
    both paths cost the same. Returns the new user, or None when the address was taken.
    """
    password_hash = hash_password(password)
    try:
        user = _add_user(
            User(
                email=normalise_email(email),
                name=name.strip(),
                phone=phone,
                birth_date=birth_date,
                password_hash=password_hash,
                role=Role.LEARNER,
            )
        )
    except EmailTaken:
        _notify_owner_of_signup_attempt(email)
        return None
    _audit("user.signup", user, role=user.role)
    _send_link(user, "verify")
    return user


def register_organisation_contact(*, email: str, name: str, password: str, role: Role | str, org_code: str) -> User:
    """The first account of an organisation registering itself (a training provider): unverified until the
    e-mailed link is used. Unlike a learner's sign-up, a taken address is said plainly (EmailTaken): the
    organisation needs an address of its own, and the form is behind the organisation's details."""
    role = Role(role)
    user = _add_user(
        User(
            email=normalise_email(email),
            name=name.strip(),
            password_hash=hash_password(password),
            role=role,
            **_organisation_ids(role, org_code),
        )
    )
    _audit("user.signup", user, role=user.role, provider_id=user.provider_id)
    _send_link(user, "verify")
    return user


def _notify_owner_of_signup_attempt(email: str) -> None:
    """Tell the owner someone tried to sign up with their address (at most RESET_MAILS_PER_HOUR an hour)."""
    owner = find_user_by_email(email)
    if owner is None:  # pragma: no cover - the unique index said the address was taken
        return
    _audit("user.signup_repeated", owner, actor=None)
    recent = db.session.scalar(
        select(func.count())
        .select_from(audit.AuditEntry)
        .where(
            audit.AuditEntry.action == "user.signup_repeated",
            audit.AuditEntry.subject_id == owner.pseudonym,
            audit.AuditEntry.at > utcnow() - timedelta(hours=1),
        )
    )
    if recent > current_app.config["RESET_MAILS_PER_HOUR"]:
        log.info("sign-up notice for user %s not sent: hourly cap reached", owner.pseudonym)
        return
    mail.queue(
        owner.email,
        "[hrdnet] 이 주소로 가입 시도가 있었습니다",
        "signup_attempt",
        login_url=f"{current_app.config['SITE_URL']}/login",
        reset_url=f"{current_app.config['SITE_URL']}/password/forgot",
    )


def _organisation_ids(role: Role, org_code: str | None) -> dict:
    """provider: org = provider id; auditor: org = ministry code; others have none."""
    if role == Role.PROVIDER:
        number = int(org_code) if org_code and org_code.isdigit() and fits(int(org_code)) else None
        provider_id = organisations.lookup().provider_id(number) if number is not None else None
        if provider_id is None:
            raise UnknownOrganisation("훈련기관 번호를 찾을 수 없습니다.")
        return {"provider_id": provider_id}
    if role == Role.AUDITOR:
        ministry_id = organisations.lookup().ministry_id((org_code or "").upper())
        if ministry_id is None:
            raise UnknownOrganisation("부처 코드를 찾을 수 없습니다.")
        return {"ministry_id": ministry_id}
    if org_code:
        raise UnknownOrganisation("훈련생과 관리자 계정에는 소속 기관을 지정하지 않습니다.")
    return {}


def create_user(
    *,
    email: str,
    role: Role | str,
    name: str,
    org_code: str | None = None,
    password: str | None = None,
    created_by: User | None = None,
) -> User:
    """Create a verified account on an admin's behalf.

    With a password (command line) the account is ready; without one (admin page) the person gets an
    invitation link to choose their own, so no admin ever knows another person's password.
    """
    role = Role(role)
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=role,
        password_hash=hash_password(password or secrets.token_urlsafe(32)),
        email_verified_at=utcnow(),
        **_organisation_ids(role, org_code),
    )
    _add_user(user)
    _audit(
        "user.created",
        user,
        actor=created_by,
        role=role.value,
        provider_id=user.provider_id,
        ministry_id=user.ministry_id,
    )
    if password is None:
        _send_link(user, "invite")
    return user


def change_role(user: User, role: Role | str, *, org_code: str | None, changed_by: User | None) -> None:
    role = Role(role)
    old = user.role
    user.provider_id = user.ministry_id = None
    for key, value in _organisation_ids(role, org_code).items():
        setattr(user, key, value)
    user.role = role
    sessions.revoke_all_sessions(user.id)  # new rights: sign out existing sessions
    db.session.flush()
    _audit("user.role_changed", user, actor=changed_by, old=old, new=role.value)


# -- one-time links ----------------------------------------------------------------------------------

_LINK_MAIL = {
    "verify": ("[hrdnet] 이메일 주소를 인증해 주세요", "verify_email", "auth.verify_email"),
    "reset": ("[hrdnet] 비밀번호 재설정 안내", "reset_password", "auth.reset_password"),
    "invite": ("[hrdnet] 계정이 만들어졌습니다: 비밀번호를 설정해 주세요", "invite", "auth.reset_password"),
}


def _link_lifetime(purpose: str) -> timedelta:
    if purpose == "reset":
        return timedelta(minutes=current_app.config["RESET_TOKEN_MINUTES"])
    return timedelta(hours=current_app.config["EMAIL_TOKEN_HOURS"])


def _send_link(user: User, purpose: str) -> None:
    token = secrets.token_urlsafe(32)
    db.session.add(
        EmailToken(
            user_id=user.id, purpose=purpose, token_hash=sha256(token), expires_at=utcnow() + _link_lifetime(purpose)
        )
    )
    subject, template, endpoint = _LINK_MAIL[purpose]
    path = {"auth.verify_email": "/verify", "auth.reset_password": "/password/reset"}[endpoint]
    link = f"{current_app.config['SITE_URL']}{path}#t={token}"  # a fragment: never sent to the server
    hours = _link_lifetime(purpose).total_seconds() / 3600
    mail.queue(user.email, subject, template, link=link, code=token, valid_for=_describe_lifetime(hours))


def _describe_lifetime(hours: float) -> str:
    return f"{int(hours)}시간" if hours >= 1 else f"{int(hours * 60)}분"


def peek_link(token: str, purposes: tuple[str, ...]) -> EmailToken:
    """The unused, unexpired token (for showing the confirmation form); raises InvalidLink."""
    row = db.session.scalar(
        select(EmailToken).where(EmailToken.token_hash == sha256(token), EmailToken.purpose.in_(purposes))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidLink()
    return row


def _consume_link(token: str, purposes: tuple[str, ...]) -> User:
    """Use a one-time link exactly once (a guarded UPDATE settles double clicks)."""
    row = peek_link(token, purposes)
    used = db.session.execute(
        update(EmailToken).where(EmailToken.id == row.id, EmailToken.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    if used != 1:
        raise InvalidLink()
    return db.session.get(User, row.user_id)


def verify_email(token: str) -> User:
    user = _consume_link(token, ("verify",))
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        _audit("user.email_verified", user)
    return user


def resend_verification(email: str) -> None:
    """Queue a new link for an unverified account; silent otherwise (reveals nothing)."""
    user = find_user_by_email(email)
    if user is not None and user.email_verified_at is None and user.active:
        _send_link(user, "verify")


PASSWORD_RESET_TOPIC = "auth.password_reset"


def request_password_reset(email: str) -> None:
    """Leave the reset to the worker (hrdnet/auth/jobs.py).

    The request only records the wish, so it does exactly the same work for a known and an unknown
    address: neither the answer nor its timing tells whether an account exists.
    """
    outbox.enqueue(PASSWORD_RESET_TOPIC, {"email": normalise_email(email)})


def send_password_reset(email: str) -> bool:
    """Mail a reset link if the account exists and has had fewer than RESET_MAILS_PER_HOUR in the past hour.

    The new link replaces every earlier unused one, so a flood of requests leaves one working link. The
    user's row is locked first: two workers handling requests for the same person count one after the other.
    """
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)).with_for_update())
    if user is None or not user.active:
        return False
    if _reset_links_in_last_hour(user) >= current_app.config["RESET_MAILS_PER_HOUR"]:
        log.info("reset mail for user %s not sent: hourly cap reached", user.pseudonym)
        return False
    db.session.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user.id,
            EmailToken.purpose == "reset",
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > utcnow(),
        )
        .values(expires_at=utcnow())  # superseded: expired now
    )
    _send_link(user, "reset")
    _audit("user.password_reset_requested", user)
    return True


def _reset_links_in_last_hour(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(EmailToken)
        .where(
            EmailToken.user_id == user.id,
            EmailToken.purpose == "reset",
            EmailToken.created_at > utcnow() - timedelta(hours=1),
        )
    )


def reset_password(token: str, new_password: str) -> User:
    user = _consume_link(token, ("reset", "invite"))
    user.password_hash = hash_password(new_password)
    if user.email_verified_at is None:  # the link proves the address too
        user.email_verified_at = utcnow()
    _audit("user.password_reset", user, **_sign_out_everywhere(user))
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Replace a signed-in user's password after re-checking the current one; raises WrongPassword."""
    if not password_matches(user, current_password):
        raise WrongPassword()
    user.password_hash = hash_password(new_password)
    _audit("user.password_changed", user, **_sign_out_everywhere(user))


def _sign_out_everywhere(user: User) -> dict[str, int]:
    """A new password ends every browser session and API token: whoever knew the old one is out.
    Returns the counts for the audit entry."""
    revoked_tokens = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    ).rowcount
    return {"sessions_revoked": sessions.revoke_all_sessions(user.id), "api_tokens_revoked": revoked_tokens}


# -- signing in --------------------------------------------------------------------------------------


def authenticate(email: str, password: str) -> User:
    """The user for these credentials, or InvalidCredentials/EmailNotVerified/AccountDisabled."""
    user = find_user_by_email(email)
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        # Not audited: the unit of work rolls back on this error. The app log keeps the pseudonym only.
        if user is not None:
            log.info("failed login for user %s", user.pseudonym)
        raise InvalidCredentials() from None
    if user is None:  # pragma: no cover - the dummy hash never matches a real password
        raise InvalidCredentials()
    if not user.active:
        raise AccountDisabled()
    if user.email_verified_at is None:
        raise EmailNotVerified()
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's own: asked again before an action that spends money (enrolling)."""
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        log.info("password re-check failed for user %s", user.pseudonym)
        return False


def record_login(user: User, *, method: str) -> None:
    _audit("auth.login", user, method=method)


def record_logout(user: User) -> None:
    _audit("auth.logout", user)


def check_totp(user: User, code: str, secret: str | None = None) -> None:
    """Accept a current TOTP code once (a replayed code is refused); raises InvalidOtp."""
    secret = secret or user.totp_secret
    if not secret:
        raise InvalidOtp()
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(utcnow())
    for step in (now_step, now_step - 1, now_step + 1):  # one step of clock drift either way
        if secrets.compare_digest(totp.generate_otp(step), code.strip()):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                break
            user.totp_last_step = step
            return
    raise InvalidOtp()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def enrol_totp(user: User, secret: str, code: str) -> None:
    check_totp(user, code, secret)
    user.totp_secret = secret
    _audit("auth.totp_enrolled", user)


# -- API tokens --------------------------------------------------------------------------------------

API_TOKEN_PREFIX = "hrd_"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


def issue_api_token(user: User, name: str) -> IssuedToken:
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, name=name[:100] or "API", prefix=secret[:12], token_hash=sha256(secret))
    db.session.add(record)
    db.session.flush()
    _audit("auth.api_token_created", user, token_id=record.id)
    return IssuedToken(secret, record)


def user_for_api_token(secret: str) -> tuple[User, ApiToken] | None:
    """The active user of an unrevoked token, and the token, in one statement (Flask-Login keeps the user for
    the rest of the request)."""
    row = db.session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == sha256(secret), ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).first()
    return (row[0], row[1]) if row is not None else None


def revoke_api_token(user: User, token_id: int) -> bool:
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if revoked:
        _audit("auth.api_token_revoked", user, token_id=token_id)
    return revoked == 1


def count_users_by_role() -> dict[str, int]:
    return dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
