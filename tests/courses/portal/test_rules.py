"""Every rule a run submission must meet, one case each: the broken value, the field it lands on, the message.

The form, the API and the services all apply courses.portal.rules.check; the form's own type checks and the
draft/submit difference are tested over HTTP below.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from courses.portal import rules
from courses.portal.models import Submission
from hrdnet.extensions import db
from tests.conftest import csrf_token
from tests.support.portal import form_data, run_values, verify


def _broken(today, **changes):
    return run_values(today, **changes)


CASES = {
    "title missing": (dict(title=""), "title", "입력해 주세요"),
    "programme unknown": (dict(programme="X9999"), "programme", "등록된 사업"),
    "ncs not a 세분류": (dict(ncs="2001"), "ncs", "NCS 세분류"),
    "ncs unknown": (dict(ncs="99999999"), "ncs", "NCS 세분류"),
    "region unknown": (dict(region="99999"), "region", "시·도"),
    "mode unknown": (dict(mode="moon"), "mode", "훈련 방식"),
    "weekend unknown": (dict(weekend="never"), "weekend", "훈련 요일"),
    "classroom without address": (dict(address=None), "address", "주소가 필요"),
    "end before start": ("end_before_start", "end_date", "종료일은 시작일과 같거나 그 뒤"),
    "window out of order": ("window_reversed", "apply_until", "모집 시작일과 같거나 그 뒤"),
    "window after start": ("window_after_start", "apply_until", "훈련 시작일 이전"),
    "training day outside the run": ("day_outside", "training_days", "훈련 기간 밖"),
    "hours per day above the limit": (dict(hours_per_day=9), "hours_per_day", "8시간 이하"),
    "hours per day zero": (dict(hours_per_day=0), "hours_per_day", "1시간 이상"),
    "capacity zero": (dict(capacity=0), "capacity", "1명 이상"),
    "fee above the programme's limit": (dict(fee=18_000_001, support_amount=0), "fee", "18,000,000원 이하"),
    "fee below the programme's limit": (dict(fee=999_999, support_amount=0), "fee", "1,000,000원 이상"),
    "support above the fee": (dict(support_amount=9_000_001), "support_amount", "훈련비를 넘을 수 없"),
}


def _values(today, change):
    values = run_values(today)
    start = values["start_date"]
    if change == "end_before_start":
        return values | {"end_date": start - timedelta(days=1)}
    if change == "window_reversed":
        return values | {"apply_from": start - timedelta(days=3), "apply_until": start - timedelta(days=5)}
    if change == "window_after_start":
        return values | {"apply_until": start + timedelta(days=1)}
    if change == "day_outside":
        return values | {"training_days": [start, values["end_date"] + timedelta(days=1)]}
    return values | change


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_refuses_its_broken_value(app, today, make_provider, case):
    change, field, fragment = CASES[case]
    provider = make_provider()
    assert rules.check(run_values(today), provider_id=provider.id) == {}
    problems = rules.check(_values(today, change), provider_id=provider.id)
    assert list(problems) == [field], problems
    assert any(fragment in message for message in problems[field]), problems


def test_the_fee_limits_are_the_programmes_own():
    assert rules.limits_for("C0105").max_fee == 500_000
    assert rules.limits_for("C0104").max_fee == 18_000_000
    assert rules.limits_for("NOT-LISTED") == rules.limits_for(None)


def _provider(make_user, login):
    user = make_user("provider")
    verify(user.provider_id)
    return login(user)


def _post(client, data, path="/provider/submissions/new"):
    return client.post(path, data=data | {"csrf_token": csrf_token(client, path)})


def test_a_draft_saves_incomplete_and_submitting_it_checks_everything(client, make_user, login, today):
    _provider(make_user, login)
    draft = _post(client, {"title": "초안만 있는 과정", "save": "1"})
    assert draft.status_code == 302
    submission = db.session.scalar(select(Submission))
    assert (submission.state, submission.title) == ("draft", "초안만 있는 과정")
    path = f"/provider/submissions/{submission.id}/edit"
    refused = _post(client, {"title": "초안만 있는 과정", "submit": "1"}, path)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and page.count("제출하려면 이 항목을 입력해 주세요.") >= 10
    db.session.expire_all()
    assert db.session.get(Submission, submission.id).state == "draft"


def test_the_form_explains_values_of_the_wrong_type_in_korean(client, make_user, login, today):
    _provider(make_user, login)
    data = form_data(run_values(today), "save") | {"start_date": "3월 2일", "fee": "구백만", "training_days": "내일"}
    page = _post(client, data).get_data(as_text=True)
    assert "올바르지 않은 날짜 값입니다" in page and "올바르지 않은 정수 값입니다" in page
    assert "2026-03-02 처럼" in page
    assert db.session.scalar(select(Submission.id)) is None


def test_a_second_run_with_the_same_title_and_start_is_refused(client, make_user, login, today):
    _provider(make_user, login)
    assert _post(client, form_data(run_values(today))).status_code == 302
    again = _post(client, form_data(run_values(today, title="생성형 AI 서비스 개발자 양성과정 (2기)")))
    assert again.status_code == 409 and "이미 제출했습니다" in again.get_data(as_text=True)
    assert (
        _post(
            client, form_data(run_values(today, start_date=run_values(today)["start_date"] + timedelta(days=7)))
        ).status_code
        == 302
    )
