"""/me/card's history: each line labelled by what became of it, naming and linking its run's enrolment."""

from __future__ import annotations

import re

from hrdnet.db import unit_of_work
from tests.support.pages import page, text_of
from tests.support.vouchers import ACTOR, VoucherWorld
from vouchers import checkout


def history_rows(response) -> list[str]:
    rows = re.findall(r'<tr class="voucher-history__row">(.*?)</tr>', page(response), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_a_paid_hold_reads_as_paid_and_names_its_run(client, login, world: VoucherWorld):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    enrolment = world.enrol(learner, run)  # paid: the hold was captured
    login(learner)

    response = client.get("/me/card")

    newest = history_rows(response)[0]
    assert "수강료 카드 결제" in newest and "보류" not in newest.split("·")[0]
    assert f"{run.course.title} {run.run_number}회차" in newest
    assert f'href="/me/enrolments#enrolment-{enrolment.id}"' in page(response)


def test_an_unpaid_hold_still_reads_as_waiting_and_a_cancelled_one_as_returned(client, login, world: VoucherWorld):
    learner = world.learner()
    enrolment = world.enrol(learner, world.run(), pay=False)
    login(learner)
    assert "결제 대기(보류)" in history_rows(client.get("/me/card"))[0]

    with unit_of_work(write_lock=True):
        checkout.cancel_own(enrolment.id, learner.id, today=world.today, actor=ACTOR)
    hold_line = history_rows(client.get("/me/card"))[1]  # the newest is the release itself
    assert "보류했다가 돌려받음" in hold_line


def test_the_history_is_a_table_of_labelled_cells_without_a_scrolling_region(client, login, world: VoucherWorld):
    learner = world.learner()
    world.enrol(learner, world.run())
    login(learner)
    body = page(client.get("/me/card"))
    assert 'class="table-wrap"' not in body  # the region the keyboard could not scroll
    assert 'data-label="금액"' in body and 'data-label="거래 후 잔액"' in body
    assert "사용 내역" in text_of(client.get("/me/card"))
