"""Red-team finding 1: a new login that types another person's name, birth date and phone must not reach
that person's card. The second login's link waits for an admin's review; the first login's owner is told by
e-mail; every step is audit-logged with pseudonyms only.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hrdnet.access import Role
from hrdnet.audit import AuditEntry
from hrdnet.extensions import db
from hrdnet.privacy import mask_email
from tests.conftest import csrf_token
from tests.support.pages import page
from tests.support.vouchers import ACTOR
from vouchers.cards import operations as cards
from vouchers.cards.models import IdentityLink, LinkStatus

VICTIM = {"name": "김피해", "birth_date": "1990-05-17", "phone": "010-2222-3333"}


@pytest.fixture
def victim(world):
    """A learner who verified with VICTIM's details and holds a card."""
    from datetime import date

    from hrdnet.db import unit_of_work
    from vouchers.cards.models import CardKind

    user = world.make_user("learner", email="victim@example.com")
    with unit_of_work(write_lock=True):
        cards.verify_identity(
            user.id, name=VICTIM["name"], birth_date=date(1990, 5, 17), phone=VICTIM["phone"], actor=ACTOR
        )
        person = cards.require_person(user.id)
        cards.record_status(
            person.id, employment_status="unemployed", groups=set(), effective_from=date.today(), actor=ACTOR
        )
        cards.issue_card(person.id, kind=CardKind.CARD, today=date.today(), actor=ACTOR)
    return user


def claim_identity(client, details: dict):
    return client.post("/me/identity", data={**details, "csrf_token": csrf_token(client, "/me/identity")})


@pytest.mark.both_dbs
def test_a_second_login_with_someone_elses_details_does_not_reach_their_card(
    client, world, victim, login, mailbox, db_backend
):
    mailbox()  # the victim's own sign-up mails are not what this test reads
    before = {m["Message-ID"] for m in mailbox()}
    attacker = login(world.make_user("learner", email="attacker@example.com"))

    response = claim_identity(client, VICTIM)

    assert response.status_code == 302 and response.headers["Location"] == "/me/identity"
    assert cards.person_of(attacker.id) is None
    link = db.session.get(IdentityLink, attacker.id)
    assert link.status == LinkStatus.PENDING and link.person_id == cards.require_person(victim.id).id
    assert "관리자가 본인 여부를 확인한 뒤에" in page(client.get("/me/identity"))
    card_page = page(client.get("/me/card"))
    assert "발급된 카드가 없습니다" in card_page and "3,000,000원" not in card_page
    run = world.run()
    enrol_page = page(client.get(f"/runs/{run.id}/enrol"))
    assert "본인인증 하기" in enrol_page and 'name="password"' not in enrol_page  # refused before any form

    new_mail = [m for m in mailbox() if m["Message-ID"] not in before]
    assert [m["To"] for m in new_mail] == ["victim@example.com"]
    assert "본인 연결을 요청했습니다" in new_mail[0].get_content()

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "identity.link_requested"))
    assert entry.actor == attacker.pseudonym and json.loads(entry.data) == {"user": attacker.pseudonym}
    assert "김피해" not in str(entry.data) and "attacker@example.com" not in str(entry.data)


def test_asking_again_sends_no_second_notice(client, world, victim, login, mailbox):
    login(world.make_user("learner", email="again@example.com"))
    claim_identity(client, VICTIM)
    first = len(mailbox())
    for _ in range(3):
        claim_identity(client, VICTIM)
    assert len(mailbox()) == first


def test_the_api_token_of_a_pending_login_sees_no_card(client, world, victim, login):
    attacker = login(world.make_user("learner", email="api-attacker@example.com"))
    claim_identity(client, VICTIM)
    token = client.post("/api/v1/auth/token", json={"email": attacker.email, "password": "correct-horse-battery"})
    response = client.get("/api/v1/me/card", headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert response.status_code in (403, 404)
    assert response.get_json()["error"]["code"] in ("identity_required", "card_not_found")


@pytest.mark.both_dbs
def test_an_admin_approves_after_checking_and_everyone_is_told(
    client, world, victim, login, login_as, mailbox, db_backend
):
    owner = login(world.make_user("learner", email="second-phone@example.com"))
    claim_identity(client, VICTIM)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/me")})
    mailbox()
    seen = {m["Message-ID"] for m in mailbox()}

    admin = login_as(Role.ADMIN)
    queue = page(client.get("/admin/identity-links"))
    assert mask_email("second-phone@example.com") in queue and mask_email("victim@example.com") in queue
    assert "second-phone@example.com" not in queue and "김피해" not in queue
    response = client.post(
        f"/admin/identity-links/{owner.id}",
        data={"decision": "approve", "csrf_token": csrf_token(client, "/admin/identity-links")},
    )
    assert response.status_code == 302

    assert cards.person_of(owner.id).id == cards.require_person(victim.id).id
    told = {m["To"]: m.get_content() for m in mailbox() if m["Message-ID"] not in seen}
    assert "승인되었습니다" in told["second-phone@example.com"]
    assert "연결되었습니다" in told["victim@example.com"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "identity.link_approved"))
    assert entry.actor == admin.pseudonym and json.loads(entry.data) == {"user": owner.pseudonym}
    assert "검토할 요청이 없습니다" in page(client.get("/admin/identity-links"))


def test_a_rejected_request_stays_unlinked_and_cannot_be_decided_twice(client, world, victim, login, login_as, mailbox):
    attacker = login(world.make_user("learner", email="rejected@example.com"))
    claim_identity(client, VICTIM)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/me")})
    login_as(Role.ADMIN)
    token = csrf_token(client, "/admin/identity-links")
    missing_reason = client.post(
        f"/admin/identity-links/{attacker.id}", data={"decision": "reject", "csrf_token": token}
    )
    assert missing_reason.status_code == 303 and db.session.get(IdentityLink, attacker.id).status == LinkStatus.PENDING
    client.post(
        f"/admin/identity-links/{attacker.id}",
        data={"decision": "reject", "reason": "기존 계정 주인이 요청하지 않았다고 확인함", "csrf_token": token},
    )

    assert db.session.get(IdentityLink, attacker.id).status == LinkStatus.REJECTED
    assert cards.person_of(attacker.id) is None
    assert "거절되었습니다" in {m["To"]: m.get_content() for m in mailbox()}["rejected@example.com"]
    again = client.post(f"/admin/identity-links/{attacker.id}", data={"decision": "approve", "csrf_token": token})
    assert again.status_code == 409 and cards.person_of(attacker.id) is None


@pytest.mark.parametrize("role", [Role.LEARNER, Role.PROVIDER, Role.AUDITOR])
def test_only_admins_review_links(client, login_as, role):
    login_as(role)
    assert client.get("/admin/identity-links").status_code == 403
    assert client.post("/admin/identity-links/1", data={"decision": "approve"}).status_code in (400, 403)


def test_the_first_login_of_a_person_is_linked_at_once(client, world, login):
    newcomer = login(world.make_user("learner", email="first@example.com"))
    response = claim_identity(client, {"name": "이처음", "birth_date": "1991-01-02", "phone": "010-9999-0000"})
    assert response.status_code == 302 and response.headers["Location"] == "/me/card/apply"
    assert cards.person_of(newcomer.id) is not None


def test_strong_proof_from_the_service_links_a_further_login_at_once_and_tells_the_owner(
    app, world, victim, mailbox, monkeypatch
):
    """A verification service that proves the person is present (strong) needs no admin; the owner still hears."""
    from datetime import date

    from hrdnet.db import unit_of_work
    from vouchers.cards import identity

    local = identity.LocalIdentityVerifier()

    class StrongService:  # what a contracted service answers: the same CI for the same person, strong proof
        def verify(self, **details):
            return identity.VerifiedIdentity(
                ci=local.verify(**details).ci, birth_date=details["birth_date"], strong=True
            )

    monkeypatch.setattr(identity, "verifier", StrongService)
    mailbox()
    seen = {m["Message-ID"] for m in mailbox()}
    second = world.make_user("learner", email="strong@example.com")
    with unit_of_work(write_lock=True):
        link = cards.verify_identity(
            second.id, name=VICTIM["name"], birth_date=date(1990, 5, 17), phone=VICTIM["phone"], actor=ACTOR
        )
    assert link.active and cards.person_of(second.id).id == cards.require_person(victim.id).id
    assert [m["To"] for m in mailbox() if m["Message-ID"] not in seen] == ["victim@example.com"]
