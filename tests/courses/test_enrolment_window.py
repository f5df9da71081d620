"""When a run can be enrolled (courses.enrolment_window): the application window, the recruitment status
derived from it on each boundary day, the provider's own window, and what the run page and the run API show.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from courses import enrolment_window, errors, reference, services
from courses.enrolment_window import derive, window_for
from hrdnet import audit, outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from tests.support.pages import page, text_of

START = date(2027, 4, 5)  # a Monday
END = START + timedelta(days=59)
DAY = timedelta(days=1)
LOGIN_TO_ENROL = "하면 내 카드 잔액을 반영한 금액을 보고 바로 신청할 수 있습니다"


def rules():
    return reference.application_window_rules()


def status(today: date, *, lifecycle="open", seats=20, programme="C0061", start=START, end=END, **window):
    return derive(
        lifecycle=lifecycle,
        start=start,
        end=end,
        seats_left=seats,
        window=window_for(start, programme, **window),
        today=today,
    )


# -- the window ------------------------------------------------------------------------------------------------


def test_the_default_window_closes_the_day_before_the_start_and_opens_weeks_before():
    general = window_for(START, "C0061")
    assert (general.opens, general.closes, general.set_by) == (START - 60 * DAY, START - DAY, "programme")
    assert window_for(START, None) == general  # a run with no programme gets the default too
    remote = window_for(START, "C0055")  # remote courses: applications close about ten days before
    assert (remote.opens, remote.closes) == (START - 40 * DAY, START - 10 * DAY)


def test_the_providers_dates_replace_the_programmes():
    both = window_for(START, "C0061", apply_from=START - 20 * DAY, apply_until=START - 5 * DAY)
    assert (both.opens, both.closes, both.set_by) == (START - 20 * DAY, START - 5 * DAY, "provider")
    # one end set: the other is the default ...
    assert window_for(START, "C0061", apply_until=START - 7 * DAY).opens == START - 60 * DAY
    assert window_for(START, "C0061", apply_from=START - 30 * DAY).closes == START - DAY
    # ... unless that puts the window out of order: then it keeps the default length from the provider's end
    early = window_for(START, "C0061", apply_until=START - 100 * DAY)
    assert (early.opens, early.closes) == (START - 159 * DAY, START - 100 * DAY)
    # a start date moved earlier after the provider set the window: it never runs past the start
    moved = window_for(START, "C0061", apply_from=START - 3 * DAY, apply_until=START + 10 * DAY)
    assert (moved.opens, moved.closes) == (START - 3 * DAY, START)


@pytest.mark.parametrize(
    ("apply_from", "apply_until", "message"),
    [
        (None, START + DAY, "모집 마감일(2027-04-06(화))은 훈련 시작일(2027-04-05(월))이나 그 전이어야 합니다."),
        (START + DAY, None, "모집 시작일(2027-04-06(화))은 훈련 시작일(2027-04-05(월))보다 늦을 수 없습니다."),
        (START - DAY, START - 2 * DAY, "모집 시작일(2027-04-04(일))이 모집 마감일(2027-04-03(토))보다 늦습니다."),
    ],
)
def test_an_impossible_window_is_refused_in_korean(apply_from, apply_until, message):
    with pytest.raises(errors.InvalidApplicationWindow) as refused:
        enrolment_window.check_window(START, apply_from, apply_until)
    assert refused.value.message == message and refused.value.status == 422


def test_a_window_may_close_on_the_start_date_and_last_one_day():
    enrolment_window.check_window(START, START, START)
    enrolment_window.check_window(START, None, START)
    enrolment_window.check_window(START, START - 9 * DAY, None)


# -- the status on each boundary day ----------------------------------------------------------------------------


def test_each_boundary_day_of_a_default_window():
    opens, closes = START - 60 * DAY, START - DAY
    soon = closes - rules().closing_soon_days * DAY  # the first day of 마감 임박
    expected = [
        (opens - DAY, "upcoming", "모집 예정", False, None),
        (opens, "open", "모집 중", True, f"마감 D-{(closes - opens).days}"),
        (soon - DAY, "open", "모집 중", True, f"마감 D-{rules().closing_soon_days + 1}"),
        (soon, "closing_soon", "마감 임박", True, f"마감 D-{rules().closing_soon_days}"),
        (closes, "closing_soon", "마감 임박", True, "오늘 마감"),
        (START, "in_training", "훈련 중", False, None),
        (START + DAY, "in_training", "훈련 중", False, None),
        (END, "in_training", "훈련 중", False, None),
        (END + DAY, "finished", "종료", False, None),
    ]
    for today, code, label, enrollable, deadline in expected:
        seen = status(today)
        assert (seen.code, seen.label, seen.enrollable, seen.deadline) == (code, label, enrollable, deadline), today
        assert (seen.opens, seen.closes) == (opens, closes)
        assert seen.window_open is enrollable, today


def test_days_to_close_count_down_to_zero_and_stop_when_recruiting_stops():
    closes = START - DAY
    assert status(START - 70 * DAY).closes_in_days == 69  # upcoming: the deadline is known already
    assert status(closes - 2 * DAY).closes_in_days == 2
    assert status(closes).closes_in_days == 0
    assert status(START).closes_in_days is None
    assert status(END + DAY).closes_in_days is None


def test_between_an_early_close_and_the_start_the_run_is_closed():
    remote_closes = START - 10 * DAY
    assert status(remote_closes, programme="C0055").code == "closing_soon"
    after = status(remote_closes + DAY, programme="C0055")
    assert (after.code, after.label, after.enrollable, after.window_open) == ("closed", "마감", False, False)
    assert after.reason == "모집이 마감되었습니다(모집 기간 2027-02-24(수) ~ 2027-03-26(금))."
    assert status(START - DAY, programme="C0055").code == "closed"
    assert status(START, programme="C0055").code == "in_training"


def test_seats_decide_between_open_closing_soon_and_closed():
    middle = START - 30 * DAY
    few = rules().closing_soon_seats
    assert status(middle, seats=few + 1).code == "open"
    assert status(middle, seats=few).code == "closing_soon"
    assert status(middle, seats=1).code == "closing_soon"
    full = status(middle, seats=0)
    assert (full.code, full.label, full.enrollable) == ("closed", "마감", False)
    assert full.window_open  # full, not closed: a seat given back can still be taken (run_full, not enrolment_closed)
    assert full.reason == "남은 자리가 없어 모집이 마감되었습니다."


def test_the_lifecycle_keeps_its_own_word_where_it_decides():
    middle = START - 30 * DAY
    closed = status(middle, lifecycle="closed")
    assert (closed.code, closed.label, closed.window_open, closed.reason) == (
        "closed",
        "마감",
        False,
        "모집이 마감되었습니다.",
    )
    assert status(START + DAY, lifecycle="closed").code == "in_training"
    cancelled = status(middle, lifecycle="cancelled")
    assert (cancelled.code, cancelled.label, cancelled.enrollable) == ("cancelled", "폐강", False)
    assert status(END + DAY, lifecycle="cancelled").code == "cancelled"
    for lifecycle, label in (("draft", "작성 중"), ("submitted", "승인 대기"), ("rejected", "반려")):
        unpublished = status(middle, lifecycle=lifecycle)
        assert (unpublished.code, unpublished.label, unpublished.enrollable) == (lifecycle, label, False)


def test_a_provider_may_keep_the_window_open_on_the_first_day():
    on_start = status(START, apply_until=START)
    assert (on_start.code, on_start.enrollable, on_start.deadline) == ("closing_soon", True, "오늘 마감")
    assert status(START + DAY, apply_until=START).code == "in_training"


def test_reasons_say_when_one_can_apply():
    assert status(START - 61 * DAY).reason == (
        "모집 예정: 2027-02-04(목)부터 신청할 수 있습니다(모집 기간 2027-02-04(목) ~ 2027-04-04(일))."
    )
    assert status(START).reason == (
        "모집 기간(2027-02-04(목) ~ 2027-04-04(일))이 아닙니다. 훈련이 2027-04-05(월)에 시작되었습니다."
    )
    assert status(START - 10 * DAY).reason == ""


# -- the rule file ------------------------------------------------------------------------------------------------


def test_the_rule_file_refuses_misspelt_keys_and_unknown_programmes():
    shipped = reference.APPLICATION_WINDOWS_FILE.read_text(encoding="utf-8")
    assert reference.parse_application_windows(shipped.encode(), source="x.toml").closing_soon_seats == 5
    misspelt = shipped.replace("closes_days_before_start = 10", "close_days_before_start = 10")
    with pytest.raises(reference.ApplicationWindowsError, match=r"x\.toml: \[\[windows\]\] #1: unknown key"):
        reference.parse_application_windows(misspelt.encode(), source="x.toml")
    unknown = shipped.replace('"C0031F"', '"C0031X"')
    with pytest.raises(reference.ApplicationWindowsError, match="unknown programme 'C0031X'"):
        reference.parse_application_windows(unknown.encode(), source="x.toml")
    backwards = shipped.replace("opens_days_before_start = 60", "opens_days_before_start = 0")
    with pytest.raises(reference.ApplicationWindowsError, match="cannot close before it opens"):
        reference.parse_application_windows(backwards.encode(), source="x.toml")


# -- the provider's window through the service ---------------------------------------------------------------


def test_setting_a_window_validates_audits_and_tells_the_search_index(app, catalog, today):
    run = catalog.run(start=today + 30 * DAY)
    with unit_of_work(write_lock=True):
        services.set_application_window(run.id, today - 5 * DAY, today + 20 * DAY, actor="provider:1")
    db.session.refresh(run)
    assert (run.apply_from, run.apply_until) == (today - 5 * DAY, today + 20 * DAY)
    assert enrolment_window.status_of(run, today).closes == today + 20 * DAY
    entry = db.session.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id.desc())).first()
    assert (entry.action, entry.subject_id) == ("run.application_window_set", str(run.id))
    topics = db.session.scalars(select(outbox.OutboxItem.topic)).all()
    assert "catalog.runs_changed" in topics
    with pytest.raises(errors.InvalidApplicationWindow), unit_of_work(write_lock=True):
        services.set_application_window(run.id, None, today + 31 * DAY, actor="provider:1")
    db.session.refresh(run)
    assert run.apply_until == today + 20 * DAY  # the refused window changed nothing
    with unit_of_work(write_lock=True):
        services.set_application_window(run.id, None, None, actor="provider:1")  # back to the programme's
    db.session.refresh(run)
    assert enrolment_window.status_of(run, today).window.set_by == "programme"


# -- what pages and the API show -----------------------------------------------------------------------------


def test_the_api_says_a_started_run_cannot_be_enrolled(client, catalog, today):
    started = catalog.run(start=today - 3 * DAY)
    body = client.get(f"/api/v1/runs/{started.id}").get_json()
    assert body["enrollable"] is False
    assert body["status"] == "open"  # the lifecycle: published, not cancelled
    recruitment = body["recruitment"]
    assert (recruitment["status"], recruitment["label"], recruitment["closes_in_days"]) == (
        "in_training",
        "훈련 중",
        None,
    )
    assert recruitment["closes"] == (today - 4 * DAY).isoformat()
    assert recruitment["reason"].startswith("모집 기간(")


def test_the_api_gives_an_open_runs_window_and_days_to_close(client, catalog, today):
    run = catalog.run(start=today + 20 * DAY)  # KDT: the default window, 60 days to the day before the start
    body = client.get(f"/api/v1/runs/{run.id}").get_json()
    assert body["enrollable"] is True
    assert body["recruitment"] == {
        "status": "open",
        "label": "모집 중",
        "opens": (today - 40 * DAY).isoformat(),
        "closes": (today + 19 * DAY).isoformat(),
        "closes_in_days": 19,
        "deadline": "마감 D-19",
        "window_set_by": "programme",
        "reason": "",
    }
    upcoming = client.get(f"/api/v1/runs/{catalog.run(start=today + 90 * DAY).id}").get_json()
    assert upcoming["enrollable"] is False and upcoming["recruitment"]["status"] == "upcoming"


def test_the_run_page_of_a_started_run_says_in_training_and_offers_no_enrolment(client, catalog, today):
    started = catalog.run(start=today - 3 * DAY)
    text = text_of(client.get(f"/runs/{started.id}"))
    assert "훈련 중" in text
    assert "모집 중" not in text
    assert LOGIN_TO_ENROL not in text
    assert "훈련이 " + (today - 3 * DAY).isoformat() in text  # the reason, with the start date


def test_the_run_page_shows_the_closing_date_and_a_d_day(client, catalog, today):
    soon = catalog.run(start=today + 3 * DAY)  # the window's last day is in two days
    text = text_of(client.get(f"/runs/{soon.id}"))
    assert "마감 임박" in text and "마감 D-2" in text
    assert LOGIN_TO_ENROL in text
    assert f"{(today + 2 * DAY).isoformat()}" in text
    upcoming = catalog.run(start=today + 90 * DAY)
    text = text_of(client.get(f"/runs/{upcoming.id}"))
    assert "모집 예정" in text and f"{(today + 30 * DAY).isoformat()}" in text and "부터 신청" in text
    assert LOGIN_TO_ENROL not in text


def _cards(response) -> dict[int, str]:
    """Each run card of a list page, by run id (its HTML)."""
    cards = page(response).split('<li class="run-card">')[1:]
    return {int(re.search(r'href="/runs/(\d+)"', card).group(1)): card for card in cards}


def test_browse_lists_show_each_runs_own_status(client, catalog, today):
    course = catalog.course()
    started = catalog.run(course, start=today - 10 * DAY)
    recruiting = catalog.run(course, start=today + 20 * DAY)
    full = catalog.run(course, start=today + 25 * DAY, capacity=20, source_enrolled=20, local_enrolled=0)
    default = _cards(client.get(f"/providers/{course.provider_id}"))
    assert set(default) == {recruiting.id}  # runs a learner can no longer apply for are hidden by default
    cards = _cards(client.get(f"/providers/{course.provider_id}?old=1"))
    assert ">훈련 중</span>" in cards[started.id] and "모집 중" not in cards[started.id]
    assert ">모집 중</span>" in cards[recruiting.id] and "마감 D-19" in cards[recruiting.id]
    assert ">마감</span>" in cards[full.id] and "마감 D-" not in cards[full.id]
