"""Every refusal to enrol explains itself and offers the next step, on the run page, the enrol page and after
a refused submission; a learner who already enrolled is told so before typing a password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from hrdnet.db import unit_of_work
from tests.conftest import PASSWORD
from tests.support.pages import enrol_by_page, enrol_form, page, text_of
from tests.support.vouchers import ACTOR, VoucherWorld
from vouchers.cards import operations as cards


def refusal_of(response) -> str | None:
    match = re.search(r'data-refusal="([a-z_]+)"', page(response))
    return match.group(1) if match else None


def test_enrolling_twice_explains_and_links_to_the_enrolment(client, login, world: VoucherWorld):
    learner, run = world.learner(), world.run()
    login(learner)
    form = enrol_form(client, run.id)  # the form as the learner opened it before the first enrolment
    assert enrol_by_page(client, run.id).status_code == 302

    run_page = client.get(f"/runs/{run.id}")
    assert "이미 신청함" in text_of(run_page)
    assert f'href="/runs/{run.id}/enrol"' not in page(run_page)
    assert 'href="/me/enrolments"' in page(run_page)

    enrol_page = client.get(f"/runs/{run.id}/enrol")
    assert refusal_of(enrol_page) == "already_enrolled"
    assert 'name="password"' not in page(enrol_page)

    # a second tab that still shows the form: the submission is refused with the same explanation
    response = client.post(
        f"/runs/{run.id}/enrol", data={**form, "request_key": "another-tab-0123456789", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert refusal_of(response) == "already_enrolled"
    body = text_of(response)
    assert "요청이 충돌했습니다" not in body and "내 수강 신청에서 확인하세요" in body
    assert 'href="/me/enrolments"' in page(response) and 'href="/me"' in page(response)


def _full(world, learner):
    return world.run(capacity=5, source_enrolled=5)


def _closed(world, learner):
    return world.run(apply_from=world.today + timedelta(days=3), apply_until=world.today + timedelta(days=9))


def _spent(world, learner):
    """A card with less left than the next run's government share: the first run takes most of it."""
    world.enrol(learner, world.run(fee=3_000_000))
    return world.run(fee=1_000_000)


def _suspended(world, learner):
    with unit_of_work(write_lock=True):
        cards.suspend(world.card(learner).id, until=world.today + timedelta(days=90), reason="중도탈락", actor=ACTOR)
    return world.run()


@pytest.mark.parametrize(
    ("make_run", "code", "next_step", "explanation"),
    [
        (_full, "run_full", "자리가 남은 비슷한 회차 보기", "다른 신청자가 취소하면"),
        (_closed, "enrolment_closed", "신청할 수 있는 비슷한 회차 보기", "모집 기간이 열리면"),
        (_suspended, "card_suspended", "내 카드 정지 기간 보기", "정지가 끝나면"),
        (_spent, "insufficient_balance", "내 카드 잔액 보기", "추가 지원 기준"),
    ],
)
def test_each_refusal_has_its_explanation_and_next_step(
    client, login, world: VoucherWorld, make_run, code, next_step, explanation
):
    learner = world.learner()
    run = make_run(world, learner)
    login(learner)
    for path in (f"/runs/{run.id}", f"/runs/{run.id}/enrol"):
        response = client.get(path)
        assert next_step in text_of(response), path
    enrol_page = client.get(f"/runs/{run.id}/enrol")
    assert refusal_of(enrol_page) == code
    assert explanation in text_of(enrol_page)
