"""The learner's card and enrolment pages and the admin's application queue, through HTTP on a real database.

Learners, cards and runs come from the voucher `world` (real services); everything else happens the way a
browser does it: forms with their CSRF tokens, the password asked again before enrolling, redirects.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from hrdnet.access import Role
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.conftest import PASSWORD, csrf_token
from tests.support.pages import (
    enrol_by_page,
    enrol_form,
    error_message,
    error_summary,
    field_errors,
    main_text,
    page,
    text_of,
)
from tests.support.vouchers import ACTOR
from vouchers import checkout
from vouchers.cards import operations as cards
from vouchers.cards.models import ApplicationStatus, CardApplication
from vouchers.cards.quote import quote
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.ledger import operations as ledger
from vouchers.ledger.models import Hold
from vouchers.web import read_models

PAGES = [
    "/me/identity",
    "/me/card/apply",
    "/me/card",
    "/me/enrolments",
    "/runs/{run}/enrol",
    "/me/enrolments/{enrolment}/cancel",
]


def enrolment_count(user_id: int | None = None) -> int:
    query = select(func.count()).select_from(Enrolment)
    if user_id is not None:
        query = query.where(Enrolment.user_id == user_id)
    return db.session.scalar(query)


# -- access ---------------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(client, world):
    run = world.run()
    for path in PAGES + ["/admin/cards/applications"]:
        response = client.get(path.format(run=run.id, enrolment=1))
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    assert client.post(f"/runs/{run.id}/enrol").status_code == 302


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.AUDITOR, Role.ADMIN])
def test_only_learners_reach_the_learner_pages(client, world, login_as, role):
    run = world.run()
    login_as(role)
    for path in PAGES:
        assert client.get(path.format(run=run.id, enrolment=1)).status_code == 403, path


def test_learners_may_not_open_the_admin_queue(client, world, login):
    login(world.learner())
    assert client.get("/admin/cards/applications").status_code == 403
    assert client.post("/admin/cards/applications/1", data={"decision": "approve"}).status_code in (400, 403)


def test_navigation_shows_the_card_and_enrolment_pages(client, world, login, login_as):
    login(world.learner())
    body = page(client.get("/me"))
    assert 'href="/me/card"' in body and "내 카드" in body and 'href="/me/enrolments"' in body
    client.post("/logout", data={"csrf_token": csrf_token(client, "/me")})
    login_as(Role.ADMIN)
    assert "카드 신청 심사" in page(client.get("/admin/"))


# -- identity, application, approval -------------------------------------------------------------------------


def test_identity_then_application_then_approval(client, world, login, login_as, app):
    learner = world.learner(card=False)
    # world.learner verified through the service already; a fresh login shows the whole path from the start
    newcomer = world.make_user("learner", email="newcomer@example.com")
    login(newcomer)

    response = client.get("/me/card/apply")
    assert response.status_code == 302 and response.headers["Location"] == "/me/identity"
    identity_page = client.get("/me/identity")
    assert "개발·시연용 대체 본인인증" in text_of(identity_page)
    assert "본인인증을 해 주세요" in text_of(identity_page)

    empty = text_of(client.get("/me/card"))
    assert "발급된 카드가 없습니다" in empty and "본인인증 하기" in empty

    response = client.post(
        "/me/identity", data={"name": "홍길동", "birth_date": "1990-05-17", "phone": "010-1234-5678"}
    )
    assert response.status_code == 400  # no CSRF token
    assert cards.person_of(newcomer.id) is None
    response = client.post(
        "/me/identity",
        data={
            "name": "홍길동",
            "birth_date": "1990-05-17",
            "phone": "010-1234-5678",
            "csrf_token": csrf_token(client, "/me/identity"),
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/me/card/apply"
    assert cards.person_of(newcomer.id) is not None

    empty = text_of(client.get("/me/card"))
    assert "발급된 카드가 없습니다" in empty and "카드 신청하기" in empty

    form = text_of(client.get("/me/card/apply"))
    assert "만 15세 이상 74세 이하" in form and "3,000,000원" in form and "공무원(현직)" in form
    assert "기초생활수급자" in form and "실업자(구직자)" in form
    response = client.post(
        "/me/card/apply",
        data={
            "employment_status": "unemployed",
            "groups": ["disabled"],
            "confirm": "y",
            "csrf_token": csrf_token(client, "/me/card/apply"),
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/me/card"
    assert "카드 신청" in text_of(client.get("/me/card")) and "심사하고 있습니다" in text_of(client.get("/me/card"))
    application = db.session.scalar(select(CardApplication).where(CardApplication.user_id == newcomer.id))
    assert application.status == ApplicationStatus.SUBMITTED and application.groups == "disabled"

    # the admin sees the application pseudonymously, and approves it
    client.post("/logout", data={"csrf_token": csrf_token(client, "/me")})
    login_as(Role.ADMIN)
    queue = client.get("/admin/cards/applications")
    assert queue.status_code == 200
    queue_text = main_text(queue)  # the header greets the admin (also 홍길동 in tests) by name
    assert "장애인" in queue_text and "실업자(구직자)" in queue_text and "1990" in queue_text
    assert "홍길동" not in queue_text and "newcomer@example.com" not in queue_text and "010-1234" not in queue_text
    assert "1990-05-17" not in queue_text
    token = csrf_token(client, "/admin/cards/applications")
    response = client.post(
        f"/admin/cards/applications/{application.id}", data={"decision": "approve", "csrf_token": token}
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == ApplicationStatus.APPROVED and application.card_id is not None
    assert "신청이 없습니다" in text_of(client.get("/admin/cards/applications"))
    assert "승인" in text_of(client.get("/admin/cards/applications?status=approved"))
    assert learner.person_id  # the other learner was untouched


def test_a_rejection_needs_a_reason_and_is_shown_to_the_learner(client, world, login, login_as, today):
    learner = world.learner(card=False)
    with unit_of_work(write_lock=True):
        application = cards.apply_for_card(
            learner.id, employment_status="employed", groups=set(), excluded=set(), today=today, actor=ACTOR
        )
    login_as(Role.ADMIN)
    token = csrf_token(client, "/admin/cards/applications")
    client.post(f"/admin/cards/applications/{application.id}", data={"decision": "reject", "csrf_token": token})
    db.session.refresh(application)
    assert application.status == ApplicationStatus.SUBMITTED
    client.post(
        f"/admin/cards/applications/{application.id}",
        data={"decision": "reject", "reason": "증빙 서류 미제출", "csrf_token": token},
    )
    db.session.refresh(application)
    assert application.status == ApplicationStatus.REJECTED
    client.post("/logout", data={"csrf_token": token})
    login(learner)
    assert "반려되었습니다: 증빙 서류 미제출" in text_of(client.get("/me/card"))


def test_declaring_an_excluded_group_is_refused_on_the_form(client, world, login):
    learner = world.learner(card=False)
    login(learner)
    response = client.post(
        "/me/card/apply",
        data={
            "employment_status": "employed",
            "excluded": ["public_servant"],
            "confirm": "y",
            "csrf_token": csrf_token(client, "/me/card/apply"),
        },
    )
    assert response.status_code == 422
    assert "공무원(현직)은(는) 카드 발급 대상이 아닙니다." in error_summary(response)
    assert db.session.scalar(select(func.count()).select_from(CardApplication)) == 0


def test_a_learner_with_a_card_is_told_so_on_the_application_page(client, world, login):
    login(world.learner())
    assert "이미 사용 중인 카드가 있습니다" in text_of(client.get("/me/card/apply"))


# -- the price on the run page, the enrol page and the API -----------------------------------------------------


def test_the_run_page_shows_the_learners_own_price_and_the_same_numbers_as_the_api_and_enrol_page(
    client, world, login, app, today
):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    anonymous = text_of(client.get(f"/runs/{run.id}"))
    assert "감면 대상이 아닌 훈련생 기준 자비부담금" in anonymous and "카드 사용액" not in anonymous
    assert "하면 내 카드 잔액을 반영한 금액을 보고 바로 신청할 수 있습니다" in anonymous

    login(learner)
    response = client.get(f"/runs/{run.id}")
    text = text_of(response)
    assert "내가 낼 금액 150,000원 지금 결제할 자비부담금 · 내일배움카드에서 850,000원" in text
    assert "내일배움카드에서 빠지는 금액 (정부 지원금, 현금으로 내지 않음) 850,000원" in text
    assert "신청 후 카드 잔액 2,150,000원" in text
    assert f'href="/runs/{run.id}/enrol"' in page(response)

    expected = quote(run, learner.person_id, today).as_dict()
    from hrdnet.auth import services as auth_services

    with unit_of_work(write_lock=True):
        token = auth_services.issue_api_token(learner, "test").token
    price = client.get(f"/api/v1/runs/{run.id}", headers={"Authorization": f"Bearer {token}"}).get_json()["price"]
    assert price["basis"] == "learner"
    for field in ("fee", "self_pay", "card_draw", "balance_after", "government_share", "explanation"):
        assert price[field] == expected[field], field
    assert (price["self_pay"], price["card_draw"], price["balance_after"]) == (150_000, 850_000, 2_150_000)
    assert client.get(f"/api/v1/runs/{run.id}").get_json()["price"]["basis"] == "generic"

    enrol_text = text_of(client.get(f"/runs/{run.id}/enrol"))
    assert "훈련비 1,000,000원 = 지금 결제 150,000원 + 카드 850,000원. 같은 돈을 두 번 내지 않습니다." in enrol_text
    assert expected["explanation"] in enrol_text
    assert "까지 취소하면 카드 사용액은 카드로 돌아가고 자비부담금은 모두 환불됩니다" in enrol_text


def test_a_refused_quote_is_explained_and_offers_no_enrol_button(client, world, login):
    learner = world.learner(limit=100_000)
    run = world.run(fee=1_000_000)
    login(learner)
    response = client.get(f"/runs/{run.id}")
    assert "카드 잔액(100,000원)이 정부 지원금(850,000원)보다 적어 신청할 수 없습니다." in text_of(response)
    assert f'href="/runs/{run.id}/enrol"' not in page(response)
    enrol_page = client.get(f"/runs/{run.id}/enrol")
    assert "카드 잔액 부족" in text_of(enrol_page) and 'name="password"' not in page(enrol_page)


def test_a_learner_without_identity_is_offered_identity_on_the_run_page(client, world, login):
    newcomer = world.make_user("learner", email="plain@example.com")
    run = world.run()
    login(newcomer)
    response = client.get(f"/runs/{run.id}")
    assert "본인인증을 먼저 해 주세요." in text_of(response)
    assert 'href="/me/identity"' in page(response)


# -- enrolling ----------------------------------------------------------------------------------------------------


@pytest.mark.both_dbs
def test_enrol_with_password_then_my_enrolments_and_my_card(client, world, login):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    login(learner)
    response = enrol_by_page(client, run.id)
    assert response.status_code == 302 and response.headers["Location"] == "/me/enrolments"
    listing = client.get("/me/enrolments")
    text = text_of(listing)
    assert "수강 신청이 확정되었습니다. 카드 사용 850,000원, 자비부담 150,000원." in text
    assert "수강 확정" in text and "카드 사용액 850,000원" in text and "자비부담금 150,000원" in text
    assert "수강 신청(카드 금액 보류)" in text and "자비부담금 결제 완료" in text
    assert "수강 취소" in text

    card = text_of(client.get("/me/card"))
    assert "사용 가능 잔액 2,150,000원" in card and "사용한 금액 850,000원" in card
    assert "수강 신청 보류: 클라우드 네이티브 백엔드 개발자 양성과정" in card
    assert "−850,000원 2,150,000원" in card
    assert "내일배움카드 발급 (지원 한도 3,000,000원)" in card and "+3,000,000원 3,000,000원" in card
    figures = world.figures(learner)
    assert (figures.available, figures.held, figures.spent) == (2_150_000, 0, 850_000) and figures.balanced


@pytest.mark.both_dbs
def test_a_wrong_password_enrols_nothing(client, world, login):
    learner = world.learner()
    run = world.run()
    login(learner)
    response = enrol_by_page(client, run.id, password="not-my-password")
    assert response.status_code == 400
    assert field_errors(response, "password") == ["비밀번호가 맞지 않습니다."]
    assert enrolment_count() == 0 and world.figures(learner).available == 3_000_000


def test_enrolling_needs_the_csrf_token(client, world, login):
    learner = world.learner()
    run = world.run()
    login(learner)
    form = enrol_form(client, run.id)
    response = client.post(f"/runs/{run.id}/enrol", data={"request_key": form["request_key"], "password": PASSWORD})
    assert response.status_code == 400 and "보안 토큰" in error_message(response)
    assert enrolment_count() == 0


@pytest.mark.both_dbs
def test_a_double_click_sends_the_same_key_and_enrols_once(client, world, login):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    login(learner)
    form = {**enrol_form(client, run.id), "password": PASSWORD}
    first = client.post(f"/runs/{run.id}/enrol", data=form)
    second = client.post(f"/runs/{run.id}/enrol", data=form)
    assert first.status_code == second.status_code == 302
    assert enrolment_count() == 1
    assert db.session.scalar(select(func.count()).select_from(Hold)) == 1
    figures = world.figures(learner)
    assert figures.available == 2_150_000 and figures.balanced
    assert ledger.verify().ok


def test_an_enrol_refusal_is_explained_before_the_password(client, world, login):
    """The submitted refusal's page is tests/vouchers/web/test_refusals.py's."""
    learner = world.learner()
    run = world.run()
    world.enrol(learner, run)
    login(learner)
    response = client.get(f"/runs/{run.id}/enrol")
    assert "이미 신청한 회차입니다." in text_of(response) and 'name="password"' not in page(response)
    assert enrolment_count() == 1


# -- my enrolments and cancelling -----------------------------------------------------------------------------------


def test_my_enrolments_empty_state(client, world, login):
    login(world.learner())
    text = text_of(client.get("/me/enrolments"))
    assert "아직 수강 신청한 과정이 없습니다" in text and "훈련과정 찾기" in text


@pytest.mark.both_dbs
def test_cancel_shows_the_preview_then_returns_the_money(client, world, login):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    enrolment = world.enrol(learner, run)
    login(learner)
    preview = client.get(f"/me/enrolments/{enrolment.id}/cancel")
    text = text_of(preview)
    assert "무료 취소 기간" in text and "낸 금액이 모두 돌아옵니다" in text
    assert "카드로 돌아오는 금액 850,000원" in text and "환불되는 자비부담금 150,000원" in text
    assert "중도탈락 제재" not in text  # a free withdrawal is never sanctioned

    assert client.post(f"/me/enrolments/{enrolment.id}/cancel").status_code == 400  # no CSRF token
    assert enrolments.get(enrolment.id).status == EnrolmentStatus.CONFIRMED

    token = csrf_token(client, f"/me/enrolments/{enrolment.id}/cancel")
    response = client.post(f"/me/enrolments/{enrolment.id}/cancel", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/me/enrolments"
    assert enrolments.get(enrolment.id).status == EnrolmentStatus.WITHDRAWN
    text = text_of(client.get("/me/enrolments"))
    assert "카드로 850,000원이 돌아가고, 자비부담금 150,000원을 환불합니다." in text
    assert "취소" in text and "카드로 돌려받은 금액 850,000원" in text
    card = text_of(client.get("/me/card"))
    assert "사용 가능 잔액 3,000,000원" in card and "수강 취소로 카드 금액 850,000원 반환" in card
    assert world.figures(learner).available == 3_000_000
    # cancelled already: nothing more to cancel
    assert client.get(f"/me/enrolments/{enrolment.id}/cancel").status_code == 409


def test_someone_elses_enrolment_is_not_found(client, world, login):
    owner, other = world.learner(), world.learner()
    enrolment = world.enrol(owner, world.run())
    login(other)
    assert client.get(f"/me/enrolments/{enrolment.id}/cancel").status_code == 404
    assert (
        client.post(
            f"/me/enrolments/{enrolment.id}/cancel", data={"csrf_token": csrf_token(client, "/me/enrolments")}
        ).status_code
        == 404
    )
    assert enrolments.get(enrolment.id).status == EnrolmentStatus.CONFIRMED
    assert "아직 수강 신청한 과정이 없습니다" in text_of(client.get("/me/enrolments"))


# -- the card page -----------------------------------------------------------------------------------------------------


def test_card_history_pages_back_with_plain_korean_lines(client, world, login, monkeypatch, today):
    monkeypatch.setattr(read_models, "HISTORY_PAGE", 2)
    learner = world.learner()
    enrolment = world.enrol(learner, world.run())
    with unit_of_work(write_lock=True):
        checkout.cancel(enrolment.id, on=today, actor=ACTOR)
    login(learner)
    first = client.get("/me/card")
    text = text_of(first)
    assert "수강 취소로 카드 금액 850,000원 반환" in text and "수강 신청 보류" in text
    assert "내일배움카드 발급 (지원 한도" not in text
    more = re.search(r'href="(/me/card\?[^"]*before=\d+[^"]*)"', page(first))
    assert more, "no link to older lines"
    older = text_of(client.get(more.group(1).replace("&amp;", "&")))
    assert "내일배움카드 발급 (지원 한도 3,000,000원)" in older and "수강 취소로" not in older
    assert "최근 내역으로" in older


def test_a_suspended_card_and_the_kdigital_account_are_shown(client, world, login, today):
    from datetime import timedelta

    learner = world.learner(kdigital=True)
    with unit_of_work(write_lock=True):
        cards.suspend(world.card(learner).id, until=today + timedelta(days=30), reason="2번째 중도탈락", actor=ACTOR)
    login(learner)
    text = text_of(client.get("/me/card"))
    assert f"사용 정지 ({today + timedelta(days=30):%Y-%m-%d}까지)" in text and "2번째 중도탈락" in text
    assert "K-디지털 크레딧" in text and "500,000원" in text


def test_an_unpaid_enrolment_waits_for_its_payment(client, world, login, monkeypatch, app):
    """When the processor has not collected the self-pay yet, the card share stays held and the learner is sent to
    the payment page if the site has one, else to their enrolments with a note."""
    monkeypatch.setattr(checkout, "process", lambda payment_id, *, actor, today=None: None)
    learner = world.learner()
    run = world.run(fee=1_000_000)
    login(learner)
    response = enrol_by_page(client, run.id)
    assert response.status_code == 302
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == learner.id))
    assert enrolment.status == EnrolmentStatus.HELD
    figures = world.figures(learner)
    assert (figures.available, figures.held) == (2_150_000, 850_000)
    if "payments.pay" in app.view_functions:
        assert response.headers["Location"] != "/me/enrolments"
    else:
        assert response.headers["Location"] == "/me/enrolments"
        text = text_of(client.get("/me/enrolments"))
        assert "자비부담금 결제가 끝나면 확정됩니다" in text and "결제 대기" in text


def test_cancelling_an_unpaid_enrolment_says_the_hold_is_released(client, world, login):
    learner = world.learner()
    enrolment = world.enrol(learner, world.run(fee=1_000_000), pay=False)
    login(learner)
    text = text_of(client.get(f"/me/enrolments/{enrolment.id}/cancel"))
    assert "결제 대기(보류)로 잡혀 있던 카드 사용액 850,000원이 풀립니다" in text
    assert "카드로 돌아오는 금액 850,000원" in text
    token = csrf_token(client, f"/me/enrolments/{enrolment.id}/cancel")
    client.post(f"/me/enrolments/{enrolment.id}/cancel", data={"csrf_token": token})
    assert "카드로 850,000원이 돌아가고, 자비부담금 0원을 환불합니다." in text_of(client.get("/me/enrolments"))
    assert world.figures(learner).available == 3_000_000
