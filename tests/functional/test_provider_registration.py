"""Provider registration and vetting over HTTP: the business number's check digit and uniqueness, the e-mail
confirmation, pending until an admin verifies with documents and an out-of-band check, the provider's admin
inviting and removing its own staff, and a claim of feed runs confirmed by an admin."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from courses.models import Course, Provider, ProviderSourceId
from courses.portal import registration
from hrdnet.audit import AuditEntry
from hrdnet.auth.models import User
from hrdnet.extensions import db
from tests.conftest import PASSWORD, csrf_token
from tests.functional.mail_links import mailed_link, submit_link

VALID = "123-45-67891"  # 1·1+2·3+3·7+4·1+5·3+6·7+7·1+8·3+9·5 + ⌊9·5/10⌋ = 169 → check digit 1
PDF = b"%PDF-1.4\n% vetting document\n"


@pytest.mark.parametrize(
    ("number", "valid"),
    [(VALID, True), ("1234567891", True), ("1234567890", False), ("123456789", False), ("220-81-62517", True)],
)
def test_the_check_digit_of_a_business_number(number, valid):
    assert registration.valid_business_number(number) is valid


def _register(client, **fields):
    data = {
        "name": "(주)새싹코딩",
        "business_number": VALID,
        "representative": "이대표",
        "region": "11",
        "address": "서울특별시 중구 세종대로 110",
        "contact_name": "박담당",
        "contact_email": "admin@saessak.example",
        "password": PASSWORD,
        "agree_privacy": "y",
    } | fields
    return client.post("/provider/register", data=data | {"csrf_token": csrf_token(client, "/provider/register")})


def test_register_confirm_upload_verify_and_manage_staff(app, client, login, make_user, mailbox):
    refused = _register(client, business_number="123-45-67890")
    assert refused.status_code == 422 and "사업자등록번호가 올바르지 않습니다" in refused.get_data(as_text=True)
    assert _register(client).status_code == 302
    provider = db.session.scalar(select(Provider).where(Provider.business_number == "1234567891"))
    assert provider.registered_at is not None and provider.verified_at is None
    taken = _register(client, contact_email="other@saessak.example")
    assert taken.status_code == 409 and "이미 등록된 사업자등록번호" in taken.get_data(as_text=True)

    [message] = [m for m in mailbox() if m["To"] == "admin@saessak.example"]
    assert submit_link(client, mailed_link(message, "/verify")).status_code in (200, 302)
    admin_user = db.session.scalar(select(User).where(User.email == "admin@saessak.example"))
    login(admin_user)
    assert "관리자가 훈련기관을 확인하면" in client.get("/provider/").get_data(as_text=True)
    upload = client.post(
        "/provider/documents",
        data={
            "csrf_token": csrf_token(client, "/provider/documents"),
            "kind": "business_registration",
            "file": (io.BytesIO(PDF), "사업자등록증.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    not_a_document = client.post(
        "/provider/documents",
        data={
            "csrf_token": csrf_token(client, "/provider/documents"),
            "kind": "other",
            "file": (io.BytesIO(b"MZ\x90"), "run.exe"),
        },
        content_type="multipart/form-data",
    )
    assert not_a_document.status_code == 422

    invite = client.post(
        "/provider/staff",
        data={
            "csrf_token": csrf_token(client, "/provider/staff"),
            "email": "t@saessak.example",
            "name": "최출석",
            "takes_attendance": "y",
        },
    )
    assert invite.status_code == 302
    colleague = db.session.scalar(select(User).where(User.email == "t@saessak.example"))
    assert colleague.provider_id == provider.id
    stranger = make_user("provider")
    token = csrf_token(client, "/provider/staff")
    assert client.post(f"/provider/staff/{stranger.id}/remove", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/provider/staff/{colleague.id}/remove", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, colleague.id).active is False and db.session.get(User, stranger.id).active is True
    client.get("/logout")

    login(make_user("admin"))
    assert "(주)새싹코딩" in client.get("/admin/providers/").get_data(as_text=True)
    path = f"/admin/providers/{provider.id}"
    assert client.post(path, data={"csrf_token": csrf_token(client, path), "note": ""}).status_code == 422
    note = "국세청 사업자 상태 조회: 계속사업자. 대표번호 02-000-0000 통화로 대표자 확인."
    assert client.post(path, data={"csrf_token": csrf_token(client, path), "note": note}).status_code == 302
    db.session.expire_all()
    verified = db.session.get(Provider, provider.id)
    assert verified.verified_at is not None and verified.verification_note == note
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "provider")).all()
    assert actions == [
        "provider.registered",
        "provider.document_uploaded",
        "provider.staff_invited",
        "provider.staff_removed",
        "provider.verified",
    ]


def test_a_claim_moves_the_feed_providers_courses_once_an_admin_confirms(app, client, login, make_user, catalog):
    feed_provider = catalog.provider("새싹코딩(피드)")
    db.session.add(ProviderSourceId(provider_id=feed_provider.id, source="hrdnet", external_id="500020036211"))
    course = catalog.course(provider=feed_provider)
    run = catalog.run(course)
    staff = make_user("provider")
    db.session.get(Provider, staff.provider_id).verified_at = db.func.now()
    db.session.commit()
    login(staff)
    claimed = client.post(
        "/provider/claims", data={"csrf_token": csrf_token(client, "/provider/claims"), "external_id": "500020036211"}
    )
    assert claimed.status_code == 302
    assert db.session.get(Course, course.id).provider_id == feed_provider.id  # nothing moves before an admin says so
    client.get("/logout")
    login(make_user("admin"))
    claim_id = registration.pending_claims()[0].id
    token = csrf_token(client, "/admin/providers/")
    assert client.post(f"/admin/claims/{claim_id}/confirm", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Course, course.id).provider_id == staff.provider_id
    assert (
        db.session.scalar(select(ProviderSourceId.provider_id).where(ProviderSourceId.external_id == "500020036211"))
        == staff.provider_id
    )
    assert client.get(f"/runs/{run.id}").status_code == 200  # the run keeps its page and provenance
