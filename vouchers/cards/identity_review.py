"""Review of a further login's link to an already verified person.

A person holds one card, reached by every login linked to them. If the verification service cannot prove
that the person is present (the development stand-in never can), linking a second login on the strength of
a name, a birth date and a phone number would hand the card to anyone who knows them. So that link waits
here, `pending`, until an admin has checked out of band that the same person asks; the owners of the
person's other logins are told by e-mail at once, and every step is audit-logged with pseudonyms only.

Services take plain values and flush, never commit; the caller owns the unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from hrdnet import audit, mail
from hrdnet.auth.models import User
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from vouchers import errors
from vouchers.cards.models import IdentityLink, LinkStatus, Person

PER_PAGE = 20

# What the owners of a person's other logins are told (subject, template).
_NOTICES = {
    "requested": ("[hrdnet] 다른 계정이 회원님의 본인 정보로 연결을 요청했습니다", "identity_link_requested"),
    "linked": ("[hrdnet] 다른 계정이 회원님의 본인 정보로 연결되었습니다", "identity_link_linked"),
}
_DECISIONS = {
    True: ("[hrdnet] 본인 연결 요청이 승인되었습니다", "identity_link_approved"),
    False: ("[hrdnet] 본인 연결 요청이 거절되었습니다", "identity_link_rejected"),
}


def active_logins(person_id: int, *, besides: int) -> list[User]:
    """The other logins that already act for this person."""
    return list(
        db.session.scalars(
            select(User)
            .join(IdentityLink, IdentityLink.user_id == User.id)
            .where(IdentityLink.person_id == person_id, IdentityLink.status == LinkStatus.ACTIVE, User.id != besides)
            .order_by(User.id)
        )
    )


def request_review(user_id: int, person: Person, link: IdentityLink | None, *, actor: str) -> IdentityLink:
    """Record (once) that this login asks to act for an already linked person, and tell the other owners.

    Asking again for the same person while pending, or after a rejection, changes nothing and sends nothing:
    retrying must not turn into a way of flooding the owner's mailbox.
    """
    if link is not None and link.person_id == person.id:
        return link
    if link is None:
        link = IdentityLink(user_id=user_id, person_id=person.id, status=LinkStatus.PENDING)
        db.session.add(link)
    else:  # an earlier request of this login for someone else is replaced by this one
        link.person_id, link.status = person.id, LinkStatus.PENDING
        link.verified_at, link.decided_at, link.decided_by, link.reason = utcnow(), None, None, None
    db.session.flush()
    audit.append(
        "identity.link_requested",
        actor=actor,
        subject_type="person",
        subject_id=person.person_key[:16],
        data={"user": db.session.get(User, user_id).pseudonym},
    )
    tell_other_logins(active_logins(person.id, besides=user_id), "requested")
    return link


def tell_other_logins(users: list[User], notice: str) -> None:
    subject, template = _NOTICES[notice]
    for user in users:
        mail.queue(user.email, subject, template, name=user.display_name)


@dataclass(frozen=True)
class ReviewRow:
    """One pending request as the admin sees it: masked contact details, pseudonymous person code."""

    user_id: int
    requester: User
    person_code: str
    birth_year: int | None
    other_logins: list[User]
    requested_at: object


def pending(page: int) -> tuple[Pagination, list[ReviewRow]]:
    """Pending requests, oldest first."""
    found = db.paginate(
        select(IdentityLink)
        .where(IdentityLink.status == LinkStatus.PENDING)
        .order_by(IdentityLink.verified_at, IdentityLink.user_id),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    rows = []
    for link in found.items:
        person = db.session.get(Person, link.person_id)
        rows.append(
            ReviewRow(
                link.user_id,
                db.session.get(User, link.user_id),
                person.person_key[:10],
                person.birth_date.year if person.birth_date else None,
                active_logins(person.id, besides=link.user_id),
                link.verified_at,
            )
        )
    return found, rows


def pending_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(IdentityLink).where(IdentityLink.status == LinkStatus.PENDING)
    )


def decide(user_id: int, *, approve: bool, actor: str, reason: str | None) -> IdentityLink:
    """An admin's decision on a pending request; the requester is told, and on approval the other owners too."""
    link = db.session.get(IdentityLink, user_id, with_for_update=True)
    if link is None or link.status != LinkStatus.PENDING:
        raise errors.IdentityLinkNotPending()
    link.status = LinkStatus.ACTIVE if approve else LinkStatus.REJECTED
    link.decided_at, link.decided_by, link.reason = utcnow(), actor, reason
    db.session.flush()
    person = db.session.get(Person, link.person_id)
    requester = db.session.get(User, user_id)
    audit.append(
        "identity.link_approved" if approve else "identity.link_rejected",
        actor=actor,
        subject_type="person",
        subject_id=person.person_key[:16],
        data={"user": requester.pseudonym},
    )
    subject, template = _DECISIONS[approve]
    mail.queue(requester.email, subject, template, name=requester.display_name, reason=reason)
    if approve:
        tell_other_logins(active_logins(person.id, besides=user_id), "linked")
    return link


def link_of(user_id: int) -> IdentityLink | None:
    return db.session.get(IdentityLink, user_id)
