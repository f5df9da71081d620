"""Provider registration and vetting, staff, and claims of feed runs.

A provider registers itself (business registration number with its check digit, unique; address and region;
representative; a contact whose e-mail a one-time link confirms) and stays *pending* until an admin verifies
it: documents uploaded, an out-of-band check recorded (e.g. the 국세청 business-status lookup and a call to
the number on record). Only verified providers submit runs (courses.portal.services).

Its first account is the provider's admin: it invites and removes its own staff (of its provider only) and
says who takes attendance. A verified provider claims the runs feeds already brought in under its source id
(HRD-Net trainstCstId); when an admin confirms, the feed's provider record hands over its source ids and
courses. The runs keep their provenance (source records untouched) and the feed keeps owning its fields.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from courses import changes, errors, matching
from courses.models import Course, Provider, ProviderSourceId
from courses.portal.models import DOCUMENT_KINDS, ProviderClaim, ProviderDocument, ProviderStaff
from hrdnet import audit
from hrdnet.access import Role
from hrdnet.auth import services as auth
from hrdnet.auth import sessions
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow

WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
DOCUMENT_TYPES = {b"%PDF": ".pdf", b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg"}


def digits(business_number: str) -> str:
    return re.sub(r"\D", "", business_number or "")


def valid_business_number(business_number: str) -> bool:
    """The 10-digit 사업자등록번호 and its check digit (weights 1,3,7,1,3,7,1,3,5, plus ⌊5·d9 / 10⌋)."""
    number = digits(business_number)
    if len(number) != 10:
        return False
    d = [int(c) for c in number]
    total = sum(a * w for a, w in zip(d, WEIGHTS, strict=False)) + (d[8] * 5) // 10
    return (10 - total % 10) % 10 == d[9]


def _log(action: str, provider_id: int, actor: str, **data) -> None:
    audit.append(action, actor=actor, subject_type="provider", subject_id=provider_id, data=data)


def register(
    *,
    name: str,
    business_number: str,
    address: str,
    region_code: str,
    representative: str,
    contact_name: str,
    contact_email: str,
    password: str,
) -> Provider:
    """A pending provider and its admin account (unverified until the e-mailed link is used)."""
    if not valid_business_number(business_number):
        raise errors.BusinessNumberInvalid()
    provider = Provider(
        name=name.strip(),
        name_key=matching.normalise_name(name),
        business_number=digits(business_number),
        address=address.strip(),
        region_code=region_code,
        representative=representative.strip(),
        contact_email=auth.normalise_email(contact_email),
        registered_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(provider)
            db.session.flush()
    except IntegrityError:
        raise errors.BusinessNumberTaken() from None
    user = auth.register_organisation_contact(
        email=contact_email, name=contact_name, password=password, role=Role.PROVIDER, org_code=str(provider.id)
    )
    db.session.add(ProviderStaff(user_id=user.id, provider_id=provider.id, is_admin=True, takes_attendance=True))
    _log("provider.registered", provider.id, user.pseudonym, business_number=provider.business_number)
    return provider


def pending_providers() -> list[Provider]:
    return db.session.scalars(
        select(Provider)
        .where(Provider.registered_at.is_not(None), Provider.verified_at.is_(None))
        .order_by(Provider.registered_at)
    ).all()


def documents(provider_id: int) -> list[ProviderDocument]:
    return db.session.scalars(
        select(ProviderDocument).where(ProviderDocument.provider_id == provider_id).order_by(ProviderDocument.id)
    ).all()


def upload_document(provider_id: int, kind: str, filename: str, data: bytes, *, actor: str) -> ProviderDocument:
    """Keep a vetting document by its hash under the instance folder (PDF, PNG or JPG by their first bytes)."""
    suffix = next((ext for magic, ext in DOCUMENT_TYPES.items() if data.startswith(magic)), None)
    if suffix is None or kind not in DOCUMENT_KINDS:
        raise errors.DocumentRefused()
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(current_app.instance_path) / "provider-documents" / str(provider_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{digest}{suffix}").write_bytes(data)
    document = ProviderDocument(
        provider_id=provider_id,
        kind=kind,
        filename=Path(filename or "document").name[:200],
        sha256=digest,
        size=len(data),
        uploaded_by=actor,
    )
    db.session.add(document)
    db.session.flush()
    _log("provider.document_uploaded", provider_id, actor, kind=kind, sha256=digest)
    return document


def verify(provider_id: int, *, note: str, actor: str) -> Provider:
    """An admin verifies a pending provider: its documents were seen and the out-of-band check is recorded."""
    provider = db.session.get(Provider, provider_id)
    if provider is None or provider.registered_at is None:
        raise errors.ProviderNotFound()
    if provider.verified:
        return provider
    note = (note or "").strip()
    if not note or not documents(provider_id):
        raise errors.CannotVerify()
    provider.verified_at, provider.verified_by, provider.verification_note = utcnow(), actor, note[:1000]
    _log("provider.verified", provider_id, actor, documents=len(documents(provider_id)))
    return provider


# -- staff -----------------------------------------------------------------------------------------------


def _require_admin(user_id: int, provider_id: int) -> None:
    if not db.session.scalar(
        select(ProviderStaff.is_admin).where(ProviderStaff.user_id == user_id, ProviderStaff.provider_id == provider_id)
    ):
        raise errors.NotProviderAdmin()


def staff(provider_id: int) -> list[tuple[User, ProviderStaff | None]]:
    return db.session.execute(
        select(User, ProviderStaff)
        .outerjoin(ProviderStaff, ProviderStaff.user_id == User.id)
        .where(User.provider_id == provider_id, User.active.is_(True))
        .order_by(User.id)
    ).all()


def invite_staff(provider_id: int, *, email: str, name: str, takes_attendance: bool, by: User) -> User:
    """The provider's admin adds a colleague; they get an invitation link to choose a password."""
    _require_admin(by.id, provider_id)
    user = auth.create_user(email=email, role=Role.PROVIDER, name=name, org_code=str(provider_id), created_by=by)
    db.session.add(
        ProviderStaff(user_id=user.id, provider_id=provider_id, is_admin=False, takes_attendance=takes_attendance)
    )
    _log("provider.staff_invited", provider_id, by.pseudonym, user=user.pseudonym, takes_attendance=takes_attendance)
    return user


def remove_staff(provider_id: int, user_id: int, *, by: User) -> None:
    """The provider's admin removes a colleague of the same provider (signed out everywhere, account closed)."""
    _require_admin(by.id, provider_id)
    user = db.session.get(User, user_id)
    if user is None or user.provider_id != provider_id or user.id == by.id or not user.active:
        raise errors.StaffNotFound()
    user.active = False
    sessions.revoke_all_sessions(user.id)
    _log("provider.staff_removed", provider_id, by.pseudonym, user=user.pseudonym)


# -- claims of feed runs ------------------------------------------------------------------------------------


def claim(provider_id: int, *, source: str, external_id: str, actor: str) -> ProviderClaim:
    """A verified provider asks for the runs a feed listed under its id; an admin confirms."""
    provider = db.session.get(Provider, provider_id)
    if provider is None or not provider.verified:
        raise errors.ProviderNotVerified()
    row = ProviderClaim(provider_id=provider_id, source=source, external_id=external_id.strip(), claimed_by=actor)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise errors.ClaimExists() from None
    _log("provider.claim_requested", provider_id, actor, source=source, external_id=row.external_id)
    return row


def pending_claims() -> list[ProviderClaim]:
    return db.session.scalars(
        select(ProviderClaim).where(ProviderClaim.status == "pending").order_by(ProviderClaim.id)
    ).all()


def decide_claim(claim_id: int, *, confirm: bool, actor: str) -> ProviderClaim:
    """Confirmed: the feed's provider record hands its source ids and courses to the claiming provider."""
    row = db.session.get(ProviderClaim, claim_id)
    if row is None or row.status != "pending":
        raise errors.ClaimNotFound()
    row.status, row.decided_by, row.decided_at = ("confirmed" if confirm else "refused"), actor, utcnow()
    moved = 0
    if confirm:
        feed_provider_id = db.session.scalar(
            select(ProviderSourceId.provider_id).where(
                ProviderSourceId.source == row.source, ProviderSourceId.external_id == row.external_id
            )
        )
        if feed_provider_id is None:
            db.session.add(
                ProviderSourceId(provider_id=row.provider_id, source=row.source, external_id=row.external_id)
            )
        elif feed_provider_id != row.provider_id:
            moved = _take_over(feed_provider_id, row.provider_id)
    _log(
        f"provider.claim_{row.status}",
        row.provider_id,
        actor,
        source=row.source,
        external_id=row.external_id,
        courses=moved,
    )
    return row


def _take_over(old_id: int, new_id: int) -> int:
    db.session.execute(
        update(ProviderSourceId).where(ProviderSourceId.provider_id == old_id).values(provider_id=new_id)
    )
    courses = db.session.scalars(select(Course).where(Course.provider_id == old_id)).all()
    for course in courses:
        course.provider_id = new_id
        course.match_key = matching.match_key(course.title, new_id)
    db.session.flush()
    changes.provider_changed(new_id)
    changes.provider_changed(old_id)
    return len(courses)
