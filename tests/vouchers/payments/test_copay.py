"""Co-payment with Stripe (issue #7), against a real localstripe process on 127.0.0.1 (with its stripe-compat
shim: Idempotency-Key honoured, lists filtered by `created`, as on Stripe).

Webhooks are real: localstripe signs and POSTs its events to a loopback receiver, and the tests hand those
exact bytes and headers to POST /webhooks/stripe — as many times and in whatever order the test wants.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hrdnet import outbox
from hrdnet.audit import AuditEntry
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from hrdnet.timeutil import kst_today, utcnow
from tests.conftest import csrf_token
from tests.support.localstripe import (
    TEST_PUBLISHABLE_KEY,
    TEST_SECRET_KEY,
    configure_webhook,
    running_localstripe,
    stripe_client,
)
from vouchers import checkout
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments.models import Enrolment, EnrolmentEvent
from vouchers.ledger.models import Transfer
from vouchers.payments import jobs as payment_jobs
from vouchers.payments import operations as payments
from vouchers.payments.gateway import CardDeclined, ProcessorUnavailable, gateway
from vouchers.payments.models import Payment, PaymentEvent, PaymentFlag

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"
CARD_3DS = "4000002760003184"
EVENTS = ["payment_intent.succeeded", "payment_intent.payment_failed"]


@pytest.fixture(scope="module")
def localstripe_compat():
    """This module's own localstripe (stripe-compat): its payments and refunds stay out of the spike's."""
    pytest.importorskip("localstripe")
    with running_localstripe(stripe_compat=True) as base_url:
        yield base_url


@pytest.fixture
def webhook_secret() -> str:
    return "whsec_" + uuid.uuid4().hex


@pytest.fixture
def app_config(app_config, localstripe_compat, webhook_secret):
    return {
        **app_config,
        "PAYMENT_BACKEND": "stripe",
        "STRIPE_API_BASE": localstripe_compat,
        "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": TEST_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_JS_URL": f"{localstripe_compat}/js.stripe.com/v3/",
        "STRIPE_TIMEOUT_SECONDS": 2.0,
    }


@pytest.fixture
def hooks(localstripe_compat, webhook_receiver, webhook_secret):
    """localstripe's webhooks for this test, delivered to a loopback receiver (silenced afterwards)."""
    name = "copay-" + uuid.uuid4().hex[:8]
    configure_webhook(localstripe_compat, name, webhook_receiver.url, webhook_secret, events=EVENTS)
    yield webhook_receiver
    configure_webhook(localstripe_compat, name, webhook_receiver.url, webhook_secret, events=[])


def delivery_for(hooks, ref: str, type_: str = "payment_intent.succeeded"):
    def matches(d):
        event = json.loads(d.body)
        return event["data"]["object"]["id"] == ref and event["type"] == type_

    return hooks.wait_for(matches)


def post_webhook(client, body: bytes, signature: str):
    return client.post(
        "/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json; charset=utf-8"},
    )


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def card_token(client, number: str) -> str:
    return client.v1.tokens.create({"card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}).id


def pay_at_processor(client, ref: str, number: str = CARD_OK):
    """What the browser does with real Stripe.js (confirmCardPayment): our server hears of it only through
    the webhook and the return page."""
    method = client.v1.payment_methods.create(
        {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    client.v1.payment_intents.update(ref, {"payment_method": method.id})
    return client.v1.payment_intents.confirm(ref)


def held(world):
    """A learner with a held enrolment whose PaymentIntent is open at localstripe."""
    user = world.learner()
    enrolment = world.enrol(user, world.run())
    payment = payments.current_payment(enrolment.id)
    assert enrolment.status == "held" and enrolment.self_pay > 0
    assert payment.status == "pending" and payment.processor_ref.startswith("pi_")
    assert payment.client_secret.startswith(payment.processor_ref)
    # Loaded, then let go of the session: delivering the outbox may rebuild the search index in this process
    # (the seat the enrolment took is announced), which empties the session; these stay readable.
    db.session.expunge(enrolment)
    db.session.expunge(payment)
    return user, enrolment, payment


def return_page(client, enrolment_id: int):
    """What the browser does on the return page: its POST asks the processor and records the answer (a GET only
    shows what is recorded); the page it is redirected to."""
    path = f"/me/enrolments/{enrolment_id}/pay/done"
    response = client.post(path, data={"csrf_token": csrf_token(client, "/me/identity")})
    assert response.status_code == 303 and response.headers["Location"] == path
    return client.get(path)


def money(world, user):
    f = world.figures(user)
    return f.available, f.held, f.spent


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def assert_confirmed_once(enrolment_id: int, payment_id: int):
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment_id).status == "confirmed"
    assert db.session.get(Payment, payment_id).status == "succeeded"
    assert count(EnrolmentEvent, EnrolmentEvent.enrolment_id == enrolment_id, EnrolmentEvent.event == "pay") == 1
    assert count(Transfer, Transfer.key == f"enrolment:{enrolment_id}:copay") == 1
    assert count(Transfer, Transfer.key == f"enrolment:{enrolment_id}:capture") == 1
    assert count(AuditEntry, AuditEntry.action == "enrolment.pay", AuditEntry.subject_id == str(enrolment_id)) == 1


# -- exactly once -----------------------------------------------------------------------------------------


@pytest.mark.both_dbs
@pytest.mark.parametrize("order", ["RWWW", "WRWW", "WWRW", "WWWR"])
def test_same_webhook_three_times_with_the_return_page_in_every_order_confirms_once(
    order, app, world, client, login, hooks, localstripe_compat
):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    available, held_amount, _ = money(world, user)
    login(user)
    assert pay_at_processor(stripe, payment.processor_ref).status == "succeeded"
    delivery = delivery_for(hooks, payment.processor_ref)
    outcomes = []
    for step in order:
        if step == "W":
            response = post_webhook(client, delivery.body, delivery.headers["Stripe-Signature"])
            assert response.status_code == 200
            outcomes.append(response.get_json()["outcome"])
        else:
            response = return_page(client, enrolment.id)
            assert response.status_code == 200
            assert "수강 신청이 확정되었습니다" in response.get_data(as_text=True)
    assert outcomes.count("duplicate") == 2
    assert_confirmed_once(enrolment.id, payment.id)
    assert count(PaymentEvent) == 1
    assert money(world, user) == (available, 0, held_amount)  # the hold became the spend, once
    assert count(PaymentFlag) == 0


@pytest.mark.both_dbs
def test_webhook_and_return_page_racing_fulfil_once(app, world, client, login, hooks, localstripe_compat):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    login(user)
    pay_at_processor(stripe, payment.processor_ref)
    delivery = delivery_for(hooks, payment.processor_ref)
    webhook_client = app.test_client()
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def webhook():
        with app.app_context():
            barrier.wait(10)
            results["webhook"] = post_webhook(
                webhook_client, delivery.body, delivery.headers["Stripe-Signature"]
            ).status_code
            db.session.remove()

    def returning_browser():
        with app.app_context():
            barrier.wait(10)
            results["page"] = return_page(client, enrolment.id).status_code
            db.session.remove()

    db.session.rollback()
    threads = [threading.Thread(target=webhook), threading.Thread(target=returning_browser)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {"webhook": 200, "page": 200}
    assert_confirmed_once(enrolment.id, payment.id)


# -- signatures -----------------------------------------------------------------------------------------------


def test_tampered_wrong_secret_stale_or_missing_signature_is_refused_and_changes_nothing(
    app, world, client, hooks, localstripe_compat, webhook_secret, caplog
):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    before = money(world, user)
    pay_at_processor(stripe, payment.processor_ref)
    delivery = delivery_for(hooks, payment.processor_ref)
    body, signature = delivery.body, delivery.headers["Stripe-Signature"]
    amount = str(enrolment.self_pay).encode()
    cases = {
        "tampered": (body.replace(amount, str(enrolment.self_pay + 1).encode()), signature),
        "wrong secret": (body, sign(body, "whsec_wrong")),
        "stale": (body, sign(body, webhook_secret, at=int(time.time()) - 3600)),
        "from the future": (body, sign(body, webhook_secret, at=int(time.time()) + 3600)),
        "missing": (body, ""),
        "garbage": (body, "t=abc,v1=zz"),
    }
    assert body.count(amount) >= 1
    for name, (payload, sig) in cases.items():
        response = post_webhook(client, payload, sig)
        assert response.status_code == 400, name
        assert response.get_json()["error"]["code"] == "invalid_signature"
    assert "stripe webhook refused" in caplog.text
    assert count(PaymentEvent) == 0
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment.id).status == "held"
    assert db.session.get(Payment, payment.id).status == "pending"
    assert money(world, user) == before
    # The genuine delivery still works afterwards.
    assert post_webhook(client, body, signature).status_code == 200
    assert_confirmed_once(enrolment.id, payment.id)


# -- paying through the page: decline, 3-D Secure, processor down --------------------------------------------


def post_card(client, enrolment_id: int, token: str):
    path = f"/me/enrolments/{enrolment_id}/pay"
    return client.post(path, data={"card_token": token, "csrf_token": csrf_token(client, path)})


def test_pay_page_loads_stripe_js_from_the_configured_origin_and_the_csp_allows_exactly_it(
    app, world, client, login, localstripe_compat
):
    user, enrolment, payment = held(world)
    login(user)
    response = client.get(f"/me/enrolments/{enrolment.id}/pay")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<script src="{localstripe_compat}/js.stripe.com/v3/"></script>' in page
    assert 'data-publishable-key="pk_test_localstripe"' in page
    assert f"{enrolment.self_pay:,}원 결제하기" in page
    csp = response.headers["Content-Security-Policy"]
    assert f"script-src 'self' {localstripe_compat};" in csp
    assert f"frame-src {localstripe_compat}" in csp and f"connect-src 'self' {localstripe_compat}" in csp
    assert csp.count("http") == 3  # no other origin
    assert client.get("/payments/pay.js").status_code == 200
    # Another learner cannot see it.
    other = world.learner()
    client.get("/logout")
    login(other)
    assert client.get(f"/me/enrolments/{enrolment.id}/pay").status_code == 404


def test_csp_has_no_other_origin_with_the_local_backend(app, client):
    app.config["PAYMENT_BACKEND"] = "local"
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "http" not in csp and "script-src 'self';" in csp


def test_declined_card_keeps_the_hold_shows_korean_reason_and_a_retry_pays(
    app, world, client, login, hooks, localstripe_compat
):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    before = money(world, user)
    login(user)
    response = post_card(client, enrolment.id, card_token(stripe, CARD_DECLINED))
    page = response.get_data(as_text=True)
    assert response.status_code == 402
    assert "카드 결제가 거절되었습니다. 다른 카드로 다시 시도해 주세요." in page
    assert money(world, user) == before
    assert f"{enrolment.self_pay:,}원 결제하기" in page  # the form is back, on a new attempt
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment.id).status == "held"
    declined = db.session.get(Payment, payment.id)
    assert declined.status == "failed" and declined.failure_message.startswith("카드 결제가 거절")
    # The processor's payment_failed event is recorded; the hold stays (the learner may retry).
    failed = delivery_for(hooks, payment.processor_ref, "payment_intent.payment_failed")
    response = post_webhook(client, failed.body, failed.headers["Stripe-Signature"])
    assert response.get_json()["outcome"] == "declined"
    assert money(world, user) == before
    outbox.deliver_pending()  # the declined attempt's PaymentIntent is cancelled
    assert stripe.v1.payment_intents.retrieve(payment.processor_ref).status == "canceled"
    # Retry with another card: a new attempt (its own PaymentIntent and key) on the same held enrolment.
    response = post_card(client, enrolment.id, card_token(stripe, CARD_OK))
    assert response.status_code == 302 and response.headers["Location"].endswith("/pay/done")
    retry = payments.current_payment(enrolment.id)
    assert retry.id != payment.id and retry.idempotency_key != payment.idempotency_key
    assert_confirmed_once(enrolment.id, retry.id)
    assert money(world, user) == (before[0], 0, before[1])


def test_declined_three_times_releases_the_hold_and_cancels_the_payment(app, world, client, hooks, localstripe_compat):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    available, held_amount, spent = money(world, user)
    refs = []
    for _ in range(checkout.MAX_DECLINES):
        attempt = checkout.prepare(enrolment.id, actor="test")
        refs.append(attempt.processor_ref)
        with pytest.raises(CardDeclined):
            checkout.pay_with_card(attempt.id, card_token(stripe, CARD_DECLINED), actor="test")
    outcomes = [
        post_webhook(client, d.body, d.headers["Stripe-Signature"]).get_json()["outcome"]
        for d in (delivery_for(hooks, ref, "payment_intent.payment_failed") for ref in refs)
    ]
    assert outcomes == ["declined", "declined", "declined: hold released"], outcomes
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment.id).status == "expired"
    assert money(world, user) == (available + held_amount, 0, spent)
    outbox.deliver_pending()
    assert {stripe.v1.payment_intents.retrieve(ref).status for ref in refs} == {"canceled"}


def test_3d_secure_waits_for_authentication_then_confirms(app, world, client, login, localstripe_compat):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    before = money(world, user)
    login(user)
    response = post_card(client, enrolment.id, card_token(stripe, CARD_3DS))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-requires-action="1"' in page and "본인 인증(3-D Secure)" in page
    assert money(world, user) == before
    # The return page before authentication: still waiting, nothing changed.
    page = return_page(client, enrolment.id).get_data(as_text=True)
    assert "결제가 아직 완료되지 않았습니다" in page
    assert money(world, user) == before
    # What the Stripe.js stand-in does when the learner completes authentication.
    stripe.raw_request(
        "post",
        f"/v1/payment_intents/{payment.processor_ref}/_authenticate",
        client_secret=payment.client_secret,
        success="true",
    )
    page = return_page(client, enrolment.id).get_data(as_text=True)
    assert "수강 신청이 확정되었습니다" in page
    assert_confirmed_once(enrolment.id, payment.id)


@pytest.fixture
def dead_port():
    """An address where nothing answers (bound, never listening: connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def silent_server():
    """An address that accepts connections and never answers (a timeout)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.mark.parametrize("outage", ["dead_port", "silent_server"])
def test_processor_down_keeps_the_hold_and_retry_reuses_the_idempotency_key(
    outage, request, app, world, client, login, localstripe_compat
):
    stripe = stripe_client(localstripe_compat)
    user = world.learner()
    run = world.run()
    with unit_of_work(write_lock=True):
        enrolment = enrolments.enrol(
            user.id, run.id, request_key="down-1", now=utcnow(), today=kst_today(), actor="test"
        )
        payment = checkout.begin(enrolment, actor="test")
        enrolment_id, payment_id, key = enrolment.id, payment.id, payment.idempotency_key
    before = money(world, user)
    existing = {pi.id for pi in stripe.v1.payment_intents.list({"limit": 100}).auto_paging_iter()}
    app.config["STRIPE_API_BASE"] = request.getfixturevalue(outage)
    with pytest.raises(ProcessorUnavailable) as caught:
        checkout.process(payment_id, actor="test")
    assert "이중으로 청구되지 않습니다" in caught.value.message
    db.session.rollback()
    assert db.session.get(Payment, payment_id).processor_ref is None
    assert db.session.get(Payment, payment_id).status == "pending"
    assert money(world, user) == before
    # Paying from the pay page says so, in Korean, and keeps the enrolment held (its GET only shows the form).
    login(user)
    page = post_card(client, enrolment_id, card_token(stripe, CARD_OK)).get_data(as_text=True)
    assert "결제 처리 기관이 응답하지 않습니다" in page
    db.session.rollback()
    assert db.session.get(Payment, payment_id).processor_ref is None and money(world, user) == before
    # Suppose the processor did receive our request before the outage hid its answer:
    app.config["STRIPE_API_BASE"] = localstripe_compat
    made = gateway().create_payment(
        amount=enrolment.self_pay,
        idempotency_key=key,
        description="",
        metadata={"enrolment_id": str(enrolment_id), "payment_id": str(payment_id)},
    )
    # The retry sends the same key and gets that same PaymentIntent back: one charge, never two.
    paid = checkout.process(payment_id, actor="test")
    assert paid.processor_ref == made.ref
    # Paying while the processor is down again: nothing changes, the learner sees why.
    app.config["STRIPE_API_BASE"] = request.getfixturevalue(outage)
    response = post_card(client, enrolment_id, card_token(stripe, CARD_OK))
    assert "결제 처리 기관이 응답하지 않습니다" in response.get_data(as_text=True)
    assert money(world, user) == before
    app.config["STRIPE_API_BASE"] = localstripe_compat
    assert post_card(client, enrolment_id, card_token(stripe, CARD_OK)).status_code == 302
    assert_confirmed_once(enrolment_id, payment_id)
    new = [pi.id for pi in stripe.v1.payment_intents.list({"limit": 100}).auto_paging_iter() if pi.id not in existing]
    assert new == [made.ref]  # one PaymentIntent for all those attempts


# -- expiry, late success ---------------------------------------------------------------------------------------


def expire(enrolment):
    with unit_of_work(write_lock=True):
        assert enrolments.expire_due(enrolment.expires_at + timedelta(seconds=1)) >= 1


def test_hold_expiry_cancels_the_payment_intent(app, world, localstripe_compat):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    available, held_amount, spent = money(world, user)
    expire(enrolment)
    assert checkout.cancel_abandoned() == 1
    outbox.deliver_pending()
    assert stripe.v1.payment_intents.retrieve(payment.processor_ref).status == "canceled"
    db.session.rollback()
    assert db.session.get(Payment, payment.id).status == "canceled"
    assert money(world, user) == (available + held_amount, 0, spent)
    with pytest.raises(checkout.PaymentClosed):
        checkout.pay_with_card(payment.id, card_token(stripe, CARD_OK), actor="test")


def test_payment_succeeding_after_the_hold_expired_is_refunded_in_full_and_flagged(
    app, world, client, hooks, localstripe_compat
):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    available, held_amount, spent = money(world, user)
    expire(enrolment)
    pay_at_processor(stripe, payment.processor_ref)  # the learner paid at the last second
    delivery = delivery_for(hooks, payment.processor_ref)
    assert post_webhook(client, delivery.body, delivery.headers["Stripe-Signature"]).status_code == 200
    db.session.rollback()
    assert db.session.get(Enrolment, enrolment.id).status == "expired"
    paid = db.session.get(Payment, payment.id)
    assert (paid.status, paid.refunded) == ("succeeded", paid.amount)
    paid_amount = paid.amount
    flags = db.session.scalars(select(PaymentFlag)).all()
    assert [f.kind for f in flags] == ["late_success_refunded"]
    assert count(Transfer, Transfer.key == f"enrolment:{enrolment.id}:copay") == 0
    assert money(world, user) == (available + held_amount, 0, spent)
    outbox.deliver_pending()
    outbox.deliver_pending()
    refunds = stripe.v1.refunds.list({"payment_intent": payment.processor_ref}).data
    assert [r.amount for r in refunds] == [paid_amount]
    # The cancel job does not touch a payment that succeeded.
    assert checkout.cancel_abandoned() == 0


# -- refunds ----------------------------------------------------------------------------------------------------


@pytest.mark.both_dbs
def test_cancel_within_free_window_refunds_exactly_the_self_pay_once(app, world, localstripe_compat):
    stripe = stripe_client(localstripe_compat)
    user, enrolment, payment = held(world)
    available, held_amount, spent = money(world, user)
    checkout.pay_with_card(payment.id, card_token(stripe, CARD_OK), actor="test")
    assert_confirmed_once(enrolment.id, payment.id)
    with unit_of_work(write_lock=True):
        preview = checkout.cancel(enrolment.id, on=kst_today(), actor="test")
    assert preview.free and preview.self_pay_refund == enrolment.self_pay
    assert preview.card_return == enrolment.card_draw
    assert money(world, user) == (available + held_amount, 0, spent)
    db.session.rollback()
    assert db.session.get(Payment, payment.id).refunded == enrolment.self_pay
    assert count(Transfer, Transfer.key == f"enrolment:{enrolment.id}:copay-refund") == 1
    item = db.session.scalars(select(outbox.OutboxItem).where(outbox.OutboxItem.topic == payments.REFUND_TOPIC)).one()
    payload = json.loads(item.payload)
    db.session.rollback()
    outbox.deliver_pending()
    # Delivered again (at-least-once outbox): the processor still has one refund.
    payment_jobs.send_refund(payload)
    refunds = stripe.v1.refunds.list({"payment_intent": payment.processor_ref}).data
    assert [r.amount for r in refunds] == [enrolment.self_pay]
    # Never more than was paid: localstripe would accept it, we do not send it.
    with pytest.raises(payment_jobs.RefundRefused):
        payment_jobs.send_refund({**payload, "amount": 1, "idempotency_key": "refund-extra"})
    with unit_of_work(write_lock=True), pytest.raises(ValueError):
        payments.refund_self_pay(enrolment.id, 1)
    assert len(stripe.v1.refunds.list({"payment_intent": payment.processor_ref}).data) == 1


# -- reconciliation ---------------------------------------------------------------------------------------------


def test_reconciliation_reports_each_kind_of_mismatch(app, world, runner, client, login_as, localstripe_compat):
    with running_localstripe(stripe_compat=True) as own:  # an empty processor: only this test's payments
        app.config["STRIPE_API_BASE"] = own
        stripe = stripe_client(own)
        # matched: paid and confirmed
        _, ok, ok_payment = held(world)
        checkout.pay_with_card(ok_payment.id, card_token(stripe, CARD_OK), actor="test")
        # amount differs: paid and confirmed, then refunded at the processor behind the ledger's back
        _, partly, partly_payment = held(world)
        checkout.pay_with_card(partly_payment.id, card_token(stripe, CARD_OK), actor="test")
        stripe.v1.refunds.create({"payment_intent": partly_payment.processor_ref, "amount": 1_000})
        # enrolled but not paid: confirmed in our books without a successful payment
        _, unpaid, unpaid_payment = held(world)
        with unit_of_work(write_lock=True):
            checkout.fulfil(unpaid_payment.id, actor="test", today=world.today)
        # paid but not enrolled: a payment at the processor no enrolment knows
        stray = stripe.v1.payment_intents.create(
            {
                "amount": 77_000,
                "currency": "krw",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": {"payment_id": "999999"},
            }
        )
        result = runner.invoke(args=["payments", "reconcile", "--date", kst_today().isoformat()])
        assert result.exit_code == 1, result.output
        report = json.loads(
            db.session.scalars(select(payments.db.Model.metadata.tables["reconciliation_reports"].c.body)).all()[-1]
        )
        found = {(m["kind"], m["payment_ref"]) for m in report}
        assert found == {
            ("amount_differs", partly_payment.processor_ref),
            ("enrolled_not_paid", unpaid_payment.processor_ref),
            ("paid_not_enrolled", stray.id),
        }, report
        assert "reconciliation MISMATCH" in result.output and "paid_not_enrolled" in result.output
        login_as("admin")
        page = client.get("/admin/payments/reconcile").get_data(as_text=True)
        for label in ("결제됐으나 수강 확정 없음", "수강 확정됐으나 결제 없음", "금액 불일치", stray.id):
            assert label in page
        assert ok.id not in {m["enrolment_id"] for m in report}
