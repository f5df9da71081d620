"""The learner's price box says what is paid now, what comes off the card and why, without one number
labelled twice (the government share used to read as if it were charged on top of the card draw)."""

from __future__ import annotations

import re

from tests.support.pages import page, text_of
from tests.support.vouchers import VoucherWorld


def price_box(response) -> str:
    match = re.search(r'<section class="run-summary">(.*?)</section>', page(response), re.S)
    assert match, "no price box"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_the_price_box_separates_paying_now_from_the_card_draw(client, login, world: VoucherWorld):
    learner = world.learner()
    run = world.run(fee=1_000_000)
    login(learner)

    box = price_box(client.get(f"/runs/{run.id}"))

    assert "지금 결제할 금액 (자비부담금, 결제 카드로) 150,000원" in box
    assert "내일배움카드에서 빠지는 금액 (정부 지원금, 현금으로 내지 않음) 850,000원" in box
    assert "정부 지원금 850,000원" not in box  # the same money is not shown as a second charge
    assert box.count("850,000원") == 3  # the headline note, the card line and the sum, each as the card draw
    assert "훈련비 1,000,000원 = 지금 결제 150,000원 + 카드 850,000원" in box


def test_the_enrol_button_comes_before_the_split(client, login, world: VoucherWorld):
    """On a 390×844 phone the button must not sit under the whole split (the browser check is the journey's)."""
    learner = world.learner()
    run = world.run()
    login(learner)
    body = page(client.get(f"/runs/{run.id}"))
    assert body.index(f'href="/runs/{run.id}/enrol"') < body.index("run-price--learner")
    assert "수강 신청" in text_of(client.get(f"/runs/{run.id}"))
