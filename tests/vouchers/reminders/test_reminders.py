"""Favourites and reminders: each kind made once (in-app and by e-mail through the outbox), none when the
learner turned the kind off, on a real database."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from courses import calendar
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.outbox import OutboxItem
from hrdnet.timeutil import utcnow
from tests.conftest import csrf_token
from tests.support.pages import page, text_of
from tests.support.vouchers import VoucherWorld
from vouchers.reminders import operations as reminders
from vouchers.reminders.models import Notification


def send(today, now=None) -> int:
    with unit_of_work(write_lock=True):
        return reminders.send_due(today, now or utcnow())


def notes(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def mails_to(user) -> list[dict]:
    items = db.session.scalars(select(OutboxItem).where(OutboxItem.topic == "mail.send"))
    payloads = [json.loads(item.payload) for item in items]
    return [payload for payload in payloads if payload["to"] == user.email]


def test_a_course_starting_tomorrow_is_reminded_once_in_app_and_by_mail(world: VoucherWorld, today):
    learner = world.learner()
    run = world.run(start=today + timedelta(days=14))
    world.enrol(learner, run)

    assert send(today) == 0  # two weeks out: nothing yet
    day_before = run.start_date - timedelta(days=1)
    assert send(day_before) == 1
    assert send(day_before) == 0  # the worker runs again: nothing twice

    (note,) = notes(learner)
    assert note.kind == "starts_tomorrow" and "내일" in note.text and note.path == "/me"
    (mail,) = [m for m in mails_to(learner) if "개강" in m["body"]]
    assert "/me" in mail["body"] and "알림 설정" in mail["body"]


def test_a_kind_turned_off_makes_neither_reminder_nor_mail(world: VoucherWorld, today):
    learner = world.learner()
    run = world.run(start=today + timedelta(days=14))
    world.enrol(learner, run)
    with unit_of_work(write_lock=True):
        reminders.set_enabled(learner.id, set(reminders.KINDS) - {"starts_tomorrow"})
    assert send(run.start_date - timedelta(days=1)) == 0
    assert notes(learner) == []


def test_card_expiry_unpaid_hold_and_low_attendance(world: VoucherWorld, today):
    learner = world.learner()
    card = world.card(learner)
    assert send(card.expires_on - timedelta(days=100)) == 0
    assert send(card.expires_on - timedelta(days=80)) == 1  # the 90-day warning
    assert send(card.expires_on - timedelta(days=20)) == 1  # the 30-day warning

    held = world.enrol(learner, world.run(), pay=False)
    assert send(today, held.expires_at - timedelta(minutes=5)) == 1
    assert any(n.kind == "hold_expiring" for n in notes(learner))

    run = world.run(start=today + timedelta(days=14), days=60)
    enrolment = world.enrol(learner, run)
    days = calendar.days_between(run, run.start_date, run.end_date)[:4]
    world.mark(enrolment, days[:2])
    world.mark(enrolment, days[2:4], "absent")  # 2 of 4: 50 %
    assert send(days[3] + timedelta(days=1)) >= 1
    (low,) = [n for n in notes(learner) if n.kind == "low_attendance"]
    assert "1단위기간 출석률이 50%" in low.text


def test_favourites_through_the_pages_and_their_closing_reminder(client, login, world: VoucherWorld, today):
    learner = world.learner()
    run = world.run(apply_until=today + timedelta(days=2))
    login(learner)

    token = csrf_token(client, f"/runs/{run.id}")
    assert "관심 과정에 담기" in text_of(client.get(f"/runs/{run.id}"))
    assert client.post(f"/me/favourites/{run.id}").status_code in (303, 400)  # no token: nothing changes
    assert not reminders.is_favourite(learner.id, run.id)
    response = client.post(f"/me/favourites/{run.id}", data={"csrf_token": token})
    assert response.status_code == 303 and reminders.is_favourite(learner.id, run.id)
    assert "관심 과정에서 빼기" in text_of(client.get(f"/runs/{run.id}"))
    assert f"{run.course.title} {run.run_number}회차" in text_of(client.get("/me/favourites"))

    assert send(today) == 1
    (note,) = notes(learner)
    assert note.kind == "favourite_closing" and "마감 D-2" in note.text
    assert note.text in text_of(client.get("/me"))  # the dashboard shows it while unread
    assert note.text in text_of(client.get("/me/notifications"))


def test_the_settings_page_turns_kinds_off(client, login, world: VoucherWorld):
    learner = world.learner()
    login(learner)
    body = page(client.get("/me/notifications"))
    assert body.count('type="checkbox"') == len(reminders.KINDS) and body.count("checked") == len(reminders.KINDS)
    token = csrf_token(client, "/me/notifications")
    response = client.post("/me/notifications", data={"csrf_token": token, "kinds": ["card_expiring"]})
    assert response.status_code == 303
    assert reminders.disabled_kinds(learner.id) == set(reminders.KINDS) - {"card_expiring"}
