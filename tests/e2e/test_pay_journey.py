"""The whole paid journey in the browser against a real localstripe process (its Stripe.js stand-in included):
enrol → pay the self-pay with a test card → confirmed → card balance and history → cancel within the free
window → the card share comes back and the self-pay is refunded at the processor."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import shot, stripe_settings
from tests.support.localstripe import stripe_client
from vouchers.payments.models import Payment


@pytest.fixture
def app_config(app_config, processor):
    return {**app_config, **stripe_settings(processor)}


@pytest.fixture
def learner_and_run(app, world):
    return world.learner(), world.run(fee=1_000_000)  # 15 % self-pay: 150,000원; card 850,000원


def test_enrol_pay_with_a_test_card_then_cancel_and_get_refunded(
    learner_and_run, page, live_server, processor, app, page_problems
):
    learner, run = learner_and_run
    # The pay page's one other origin: the processor (here localstripe on loopback) and its Stripe.js.
    page_problems.ignore(re.escape(f"request to another origin: GET {processor}/js.stripe.com/v3/"))
    page_problems.ignore(re.escape(f"request to another origin: POST {processor}/v1/tokens"))
    page.goto("/login")
    page.get_by_label("이메일").fill(learner.email)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="로그인").click()

    page.goto(f"/runs/{run.id}/enrol")
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="수강 신청하기").click()
    expect(page).to_have_url(re.compile(r"/me/enrolments/\d+/pay$"))
    shot(page, "pay-page", check_font=False)

    for field, value in (
        ("number", "4242424242424242"),
        ("exp_month", "12"),
        ("exp_year", "30"),
        ("cvc", "123"),
        ("postal_code", "06236"),
    ):
        page.locator(f"#card-element input[placeholder={field}]").fill(value)
    page.get_by_role("button", name="150,000원 결제하기").click()
    expect(page.locator("main")).to_contain_text("수강 확정", timeout=15_000)
    shot(page, "paid", check_font=False)

    page.goto("/me/card")
    expect(page.locator(".voucher-card__available").first).to_contain_text("2,150,000원")
    page.goto("/me/enrolments")
    page.get_by_role("link", name="수강 취소").click()
    page.get_by_role("button", name="수강 취소하기").click()
    expect(page.get_by_role("status").first).to_contain_text("카드로 850,000원이 돌아가고")
    page.goto("/me/card")
    expect(page.locator(".voucher-card__available").first).to_contain_text("3,000,000원")

    with app.app_context():
        payment = Payment.query.one()
        ref = payment.processor_ref
        assert (payment.status, payment.amount, payment.refunded) == ("succeeded", 150_000, 150_000)
    client = stripe_client(processor)
    intent = client.v1.payment_intents.retrieve(ref)
    assert (intent.amount, intent.currency, intent.status) == (150_000, "krw", "succeeded")
    deadline_refunds = [r for r in client.v1.refunds.list({"limit": 100}).auto_paging_iter() if r.payment_intent == ref]
    for _ in range(50):  # the refund leaves through the outbox, which the live server's worker delivers
        if deadline_refunds:
            break
        page.wait_for_timeout(200)
        deadline_refunds = [
            r for r in client.v1.refunds.list({"limit": 100}).auto_paging_iter() if r.payment_intent == ref
        ]
    assert [r.amount for r in deadline_refunds] == [150_000]
