"""The enrol form asks for the password again once per window (issue 14, point 5): a second enrolment less
than ten minutes after the password was last entered on the form needs none; once the window has passed, it
does again, and a wrong one enrols nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hrdnet.auth import sessions
from hrdnet.extensions import db
from tests.support.clock import Clock
from tests.support.pages import enrol_by_page, enrol_form, field_errors, page
from vouchers.enrolments.models import Enrolment

PASSWORD_FIELD = 'name="password"'


def enrolments_of(user_id: int) -> int:
    count = db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.user_id == user_id))
    db.session.rollback()
    return count


def enrol_without_password(client, run_id: int):
    return client.post(f"/runs/{run_id}/enrol", data=enrol_form(client, run_id))


@pytest.mark.both_dbs
def test_a_second_enrolment_inside_the_window_needs_no_password_and_one_after_it_does(
    client, world, login, monkeypatch
):
    clock = Clock(monkeypatch).drive(sessions)
    learner = world.learner()
    first, second, third, fourth = (world.run(fee=100_000) for _ in range(4))
    login(learner)

    assert PASSWORD_FIELD in page(client.get(f"/runs/{first.id}/enrol"))  # never entered on the form yet
    assert enrol_without_password(client, first.id).status_code == 400
    assert enrolments_of(learner.id) == 0
    assert enrol_by_page(client, first.id).status_code == 302  # the password, entered once

    clock.advance(minutes=9, seconds=59)
    form_page = page(client.get(f"/runs/{second.id}/enrol"))
    assert PASSWORD_FIELD not in form_page and "최근 10분 안에 비밀번호를 확인했으므로" in form_page
    assert enrol_without_password(client, second.id).status_code == 302
    assert enrolments_of(learner.id) == 2

    clock.advance(seconds=1)  # ten minutes after the password was entered: asked again
    assert PASSWORD_FIELD in page(client.get(f"/runs/{third.id}/enrol"))
    refused = enrol_without_password(client, third.id)
    assert refused.status_code == 400 and field_errors(refused, "password")
    refused = enrol_by_page(client, third.id, password="not-my-password")
    assert field_errors(refused, "password") == ["비밀번호가 맞지 않습니다."]
    assert enrolments_of(learner.id) == 2
    assert enrol_by_page(client, third.id).status_code == 302  # entered again: a new window starts now

    clock.advance(minutes=5)
    assert enrol_without_password(client, fourth.id).status_code == 302
    assert enrolments_of(learner.id) == 4
