"""Saved searches with alerts (issue 17, point 12) through the Flask client and the real index: saving (CSRF,
sign-in, only one's own), and the alerts job: a new run the saved search finds makes exactly one in-app
notification and one e-mail, a run it does not find none, and none once the learner turns the kind off."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from courses.models import Run
from hrdnet import outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import utcnow
from search import saved
from search.saved import SavedSearch
from tests.conftest import csrf_token
from tests.support.pages import text_of
from vouchers.reminders import operations as reminders
from vouchers.reminders.models import Notification

SEARCH = {"q": "파이썬", "region": "26"}  # the Busan Python course of small_catalog


def save(client, name="부산 파이썬", **fields):
    token = csrf_token(client, "/courses?q=파이썬&region=26")
    return client.post("/me/saved-searches", data={**SEARCH, "name": name, "csrf_token": token, **fields})


def alerts(new_run_time) -> int:
    """The worker's pass just after the new runs were made, then the outbox delivered."""
    db.session.commit()  # the test's own writes (catalog rows, the rebuilt index's state)
    with unit_of_work(write_lock=True):
        made = saved.match_all(new_run_time + timedelta(minutes=1))
    outbox.deliver_pending()
    return made


def notes_of(user_id: int) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)))


def mails_to(email: str) -> list[dict]:
    items = db.session.scalars(select(outbox.OutboxItem).where(outbox.OutboxItem.topic == "mail.send"))
    return [payload for payload in (json.loads(item.payload) for item in items) if payload["to"] == email]


@pytest.mark.both_search_backends
def test_saving_needs_a_learner_and_a_token_and_lists_only_ones_own(client, login, world, small_catalog):
    assert client.post("/me/saved-searches", data={**SEARCH, "name": "x"}).status_code in (302, 401, 403)
    learner = world.learner()
    login(learner)
    assert "이 검색 저장하고 새 회차 알림 받기" in text_of(client.get("/courses?q=파이썬&region=26"))
    client.post("/me/saved-searches", data={**SEARCH, "name": "토큰 없음"})  # no CSRF token: nothing saved
    assert db.session.scalar(select(SavedSearch.id)) is None

    assert save(client).status_code == 303
    (mine,) = saved.of_user(learner.id)
    assert mine.name == "부산 파이썬" and mine.args == SEARCH
    page = client.get("/me/saved-searches").get_data(as_text=True)
    assert "부산 파이썬" in page and "/courses?q=" in page and "region=26" in page

    token = csrf_token(client, "/me/saved-searches")
    client.post(f"/me/saved-searches/{mine.id}/rename", data={"name": "부산 코딩", "csrf_token": token})
    db.session.expire_all()
    assert saved.of_user(learner.id)[0].name == "부산 코딩"

    other = world.learner()
    client.get("/logout")
    login(other)
    token = csrf_token(client, "/me/saved-searches")
    assert "부산 코딩" not in text_of(client.get("/me/saved-searches"))
    assert (
        client.post(f"/me/saved-searches/{mine.id}/rename", data={"name": "남의 것", "csrf_token": token}).status_code
        == 404
    )
    assert client.post(f"/me/saved-searches/{mine.id}/delete", data={"csrf_token": token}).status_code == 404
    client.get("/logout")
    login(learner)
    token = csrf_token(client, "/me/saved-searches")
    assert client.post(f"/me/saved-searches/{mine.id}/delete", data={"csrf_token": token}).status_code == 303
    assert saved.of_user(learner.id) == []


@pytest.mark.both_search_backends
def test_a_new_matching_run_alerts_once_a_non_matching_one_never_and_the_kind_can_be_turned_off(
    client, login, world, catalog, reindex, small_catalog, today
):
    catalog.run(small_catalog["busan"].course, start=today + timedelta(days=33), region_code="26110")
    reindex()  # made before the search is saved: it finds it already, not new
    learner = world.learner()
    learner_id, email = learner.id, learner.email  # the outbox's delivery ends the session's objects
    login(learner)
    save(client)
    (mine,) = saved.of_user(learner.id)
    busan = small_catalog["busan"].course.provider
    later = mine.checked_at + timedelta(seconds=1)
    new = catalog.run(
        catalog.course("파이썬 머신러닝 실무", provider=busan, ncs_code="20010202"),
        start=today + timedelta(days=35),
        region_code="26110",
        created_at=later,
        updated_at=later,
    )
    catalog.run(
        catalog.course("파이썬 자동화", ncs_code="20010202"),
        start=today + timedelta(days=35),
        created_at=later,
        updated_at=later,
    )  # Seoul
    reindex()

    assert alerts(later) == 1
    (note,) = notes_of(learner_id)
    assert note.kind == "saved_search" and note.path == f"/runs/{new.id}" and "부산 파이썬" in note.text
    (mail,) = [m for m in mails_to(email) if "부산 파이썬" in m["body"]]
    assert f"/runs/{new.id}" in mail["body"]
    assert alerts(later) == 0  # the next pass: nothing twice
    assert len(notes_of(learner_id)) == 1

    with unit_of_work(write_lock=True):
        reminders.set_enabled(learner_id, set(reminders.KINDS) - {"saved_search"})
    latest = later + timedelta(minutes=5)
    catalog.run(
        catalog.course("파이썬 데이터 시각화", provider=busan, ncs_code="20010202"),
        start=today + timedelta(days=36),
        region_code="26110",
        created_at=latest,
        updated_at=latest,
    )
    reindex()
    assert alerts(latest) == 1  # found, but the learner turned the kind off: no reminder, no e-mail
    assert len(notes_of(learner_id)) == 1
    assert len([m for m in mails_to(email) if "부산 파이썬" in m["body"]]) == 1


# -- runs that come to match after an edit; more new runs than one look tells of one by one ------------------

FEE_SEARCH = {"q": "파이썬", "fee_band": "1m-3m"}  # 100만~300만원


def save_fee_search(client) -> None:
    token = csrf_token(client, "/courses?q=파이썬")
    response = client.post(
        "/me/saved-searches", data={**FEE_SEARCH, "name": "파이썬 300만원 미만", "csrf_token": token}
    )
    assert response.status_code == 303


def look() -> int:
    """The worker as it runs: the catalog's changes reach the index, then the saved searches look."""
    db.session.commit()
    outbox.deliver_pending()
    with unit_of_work(write_lock=True):
        made = saved.match_all(utcnow())
    outbox.deliver_pending()
    return made


def saved_notes(user_id: int) -> list[Notification]:
    return [note for note in notes_of(user_id) if note.kind == "saved_search"]


@pytest.mark.both_dbs
def test_a_run_an_approved_provider_edit_makes_match_alerts_once_and_never_again(
    client, login, world, catalog, reindex, today
):
    from courses.portal import services as portal
    from tests.support.portal import run_values, verify

    provider = verify(catalog.provider("파이썬 아카데미").id)
    values = run_values(today, title="파이썬 웹 서비스 개발", fee=4_000_000, support_amount=4_000_000)
    with unit_of_work(write_lock=True):
        first = portal.save(provider.id, values, actor="test", submit=True)
        portal.decide(first.id, approve=True, reason="", ministry_id=None, actor="test")
    first_id, run_id = first.id, first.run_id
    already = catalog.run(catalog.course("파이썬 기초"), fee=2_000_000)  # matches when the search is saved
    already_id = already.id
    reindex()
    learner = world.learner()
    learner_id = learner.id
    login(learner)
    save_fee_search(client)
    assert look() == 0

    def edit(**changes) -> None:
        with unit_of_work(write_lock=True):
            revision = portal.save(provider.id, values | changes, actor="test", submission_id=first_id, submit=True)
            portal.decide(revision.id, approve=True, reason="", ministry_id=None, actor="test")

    edit(capacity=30)  # still 400만원: no match, no alert
    with unit_of_work(write_lock=True):
        db.session.get(Run, already_id).capacity += 5  # a run it already found changes: nothing new either
    assert look() == 0

    edit(fee=2_500_000, support_amount=2_500_000)  # now within the band: it comes to match
    assert look() == 1
    (note,) = saved_notes(learner_id)
    assert note.path == f"/runs/{run_id}" and "파이썬 300만원 미만" in note.text

    edit(fee=2_400_000, support_amount=2_400_000)  # still matches: told once
    assert look() == 0
    edit(fee=4_000_000, support_amount=4_000_000)
    assert look() == 0
    edit(fee=2_000_000, support_amount=2_000_000)  # out and back in: still never told twice
    assert look() == 0
    assert len(saved_notes(learner_id)) == 1


def test_a_run_a_feed_reimport_makes_match_alerts_once(client, login, world, catalog, reindex, today):
    from courses.ingest import importer
    from courses.ingest.records import FeedRecord

    course = catalog.course("파이썬 데이터 분석 실무")
    listing = catalog.listing(course, "msit-swa", title="파이썬 데이터 분석 실무")
    run = catalog.run(course, listing=listing, fee=4_000_000, start=today + timedelta(days=40))
    start, end, number, run_id = run.start_date, run.end_date, run.run_number, run.id
    external_id, title = listing.external_id, listing.title
    reindex()
    learner = world.learner()
    learner_id = learner.id
    login(learner)
    save_fee_search(client)

    def reimport(fee: int) -> None:
        record = FeedRecord(
            position="record 1",
            course_id=external_id,
            run_number=number,
            title=title,
            provider_name="한빛 디지털아카데미",
            provider_id="P-1",
            start_date=start,
            end_date=end,
            fee=fee,
            capacity=30,
            programme_code="C0104",
        )
        result = importer.import_records(
            iter([record]), source="msit-swa", fmt="csv", actor="cli", range_from=None, range_to=None
        )
        assert result.updated == 1

    reimport(4_000_000)  # capacity changed, still 400만원
    assert look() == 0
    reimport(2_000_000)
    assert look() == 1
    (note,) = saved_notes(learner_id)
    assert note.path == f"/runs/{run_id}"
    reimport(2_100_000)
    assert look() == 0
    assert len(saved_notes(learner_id)) == 1


def test_more_new_runs_than_one_look_tells_of_become_one_alert_with_the_count_and_a_link(
    client, login, world, catalog, reindex, today
):
    learner = world.learner()
    learner_id, email = learner.id, learner.email
    login(learner)
    save_fee_search(client)
    (mine,) = saved.of_user(learner_id)
    mine_id = mine.id
    many = saved.ALERTS_PER_LOOK + 5
    for n in range(many):
        catalog.run(catalog.course(f"파이썬 실무 {n}반"), fee=2_000_000, start=today + timedelta(days=30 + n))
    catalog.run(catalog.course("파이썬 고급"), fee=5_000_000)  # outside the band
    reindex()

    assert look() == many
    (note,) = saved_notes(learner_id)
    assert note.text == f"저장한 검색 ‘파이썬 300만원 미만’에 새로 맞는 회차가 {many}건 있습니다."
    assert note.path == f"/me/saved-searches/{mine_id}/results"
    (mail,) = [m for m in mails_to(email) if "파이썬 300만원 미만" in m["body"]]
    assert f"{many}건" in mail["body"] and note.path in mail["body"]
    followed = client.get(note.path)
    assert followed.status_code == 303
    results = client.get(followed.location)
    assert f"검색 결과 {many} 건" in " ".join(text_of(results).split())  # every one of them, behind the link
    assert look() == 0  # told of together: none of them again
    assert len(saved_notes(learner_id)) == 1


def test_without_an_index_a_look_waits_and_loses_nothing(client, login, world, catalog, reindex, today):
    """Saved while there is no index: nothing announced while there is none; then the first look learns what
    the search finds (not news) but judges the runs changed since it was saved."""
    there = catalog.run(catalog.course("파이썬 기초"), fee=1_500_000)  # there before the search: never announced
    there_id = there.id
    learner = world.learner()
    learner_id = learner.id
    login(learner)
    save_fee_search(client)  # no index yet: the search cannot read what it finds
    run = catalog.run(catalog.course("파이썬 실무"), fee=2_000_000)
    run_id = run.id
    (mine,) = saved.of_user(learner_id)
    watermark = mine.checked_at
    with unit_of_work(write_lock=True):
        assert saved.match_all(utcnow()) == 0
    db.session.expire_all()
    assert saved.of_user(learner_id)[0].checked_at == watermark  # not moved past a run it could not see
    reindex()
    assert look() == 1
    (note,) = saved_notes(learner_id)
    assert note.path == f"/runs/{run_id}"
    with unit_of_work(write_lock=True):
        db.session.get(Run, there_id).capacity += 5  # it matched all along: an edit is not news
    reindex()
    assert look() == 0
    assert len(saved_notes(learner_id)) == 1
