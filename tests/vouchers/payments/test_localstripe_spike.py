"""Spike: what localstripe (1.15.10) does with the calls the co-payment feature will make through
stripe.StripeClient. Every test runs against a real localstripe process on 127.0.0.1.

Where localstripe differs from Stripe, the test pins localstripe's behaviour and says what Stripe does, so
that a localstripe upgrade that changes it fails here first. KRW is a zero-decimal currency: 50000 is ₩50,000.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
import stripe as stripe_lib

from tests.support.localstripe import TEST_PUBLISHABLE_KEY, configure_webhook

WON = 50_000
CARD_OK = "4242424242424242"
CARD_DECLINED_ON_CHARGE = "4000000000000341"  # Stripe: attaches, then every charge is declined (same here)
CARD_GENERIC_DECLINE = "4000000000000002"  # Stripe: declined on charge; localstripe: declined only on attach
CARD_3DS_REQUIRED = "4000002760003184"  # Stripe: always requires 3-D Secure authentication


def card(client, number: str):
    return client.v1.payment_methods.create(
        {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )


def intent(client, number: str | None = CARD_OK, **params):
    payload = {"amount": WON, "currency": "krw", "metadata": {"enrolment_id": "42"}, **params}
    if number is not None:
        payload["payment_method"] = card(client, number).id
    return client.v1.payment_intents.create(payload)


def paid_intent(client):
    return client.v1.payment_intents.confirm(intent(client).id)


# -- client and stand-ins ------------------------------------------------------------------------------


def test_stripe_client_talks_to_localstripe_and_returns_objects(stripe):
    pi = intent(stripe)
    assert isinstance(pi, stripe_lib.PaymentIntent)
    assert pi.id.startswith("pi_") and pi.object == "payment_intent"
    assert (pi.amount, pi.currency, pi.status) == (WON, "krw", "requires_confirmation")
    assert pi.client_secret.startswith(pi.id + "_secret_")
    assert pi.metadata["enrolment_id"] == "42"
    assert stripe.v1.payment_intents.retrieve(pi.id).id == pi.id


def test_parameters_localstripe_rejects(stripe):
    """localstripe answers 400 "Unexpected <name>" to PaymentIntent parameters it does not model; Stripe
    accepts them all. The feature must not depend on them (or must leave them out against localstripe)."""
    for name, value in [
        ("description", "국민내일배움카드 자부담"),
        ("receipt_email", "a@example.com"),
        ("statement_descriptor", "HRDNET"),
        ("automatic_payment_methods", {"enabled": True}),
        ("return_url", "http://127.0.0.1:5000/pay/done"),
    ]:
        with pytest.raises(stripe_lib.InvalidRequestError, match=f"Unexpected {name}"):
            intent(stripe, **{name: value})
    assert intent(stripe, payment_method_types=["card"]).status == "requires_confirmation"


def test_stripe_js_stand_in_is_served(localstripe):
    with urllib.request.urlopen(f"{localstripe}/js.stripe.com/v3/", timeout=5) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "application/javascript"
        script = response.read().decode()
    assert "confirmCardPayment" in script and "LOCALSTRIPE_BASE_API" in script


# -- confirming --------------------------------------------------------------------------------------


def test_test_card_succeeds(stripe):
    pi = stripe.v1.payment_intents.confirm(intent(stripe).id)
    assert pi.status == "succeeded" and pi.amount == WON
    # localstripe inlines the whole Charge; Stripe sends its id unless `expand=["latest_charge"]`.
    assert isinstance(pi.latest_charge, stripe_lib.Charge)
    assert (pi.latest_charge.amount, pi.latest_charge.currency, pi.latest_charge.paid) == (WON, "krw", True)


def test_create_and_confirm_in_one_call(stripe):
    pi = stripe.v1.payment_intents.create(
        {"amount": WON, "currency": "krw", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert pi.status == "succeeded"


def test_confirm_with_a_payment_method_is_not_implemented(stripe):
    """Stripe allows confirm(id, {"payment_method": ...}); localstripe answers 500 "Not implemented":
    set payment_method when creating (or updating) the intent instead."""
    pi = intent(stripe, number=None)
    assert pi.status == "requires_payment_method"
    with pytest.raises(stripe_lib.APIError, match="Not implemented"):
        stripe.v1.payment_intents.confirm(pi.id, {"payment_method": card(stripe, CARD_OK).id})
    pi = stripe.v1.payment_intents.update(pi.id, {"payment_method": card(stripe, CARD_OK).id})
    assert stripe.v1.payment_intents.confirm(pi.id).status == "succeeded"


def test_declined_card_raises_card_error(stripe):
    pi = intent(stripe, CARD_DECLINED_ON_CHARGE)
    with pytest.raises(stripe_lib.CardError) as caught:
        stripe.v1.payment_intents.confirm(pi.id)
    error = caught.value
    assert (error.http_status, error.code, error.user_message) == (402, "card_declined", "Your card was declined.")
    # Stripe also sends decline_code ("generic_decline"), payment_intent, and type "card_error".
    assert error.error.decline_code is None and error.error.type == "invalid_request_error"
    assert error.error.charge.startswith("ch_")
    pi = stripe.v1.payment_intents.retrieve(pi.id)
    assert pi.status == "requires_payment_method"
    assert (pi.last_payment_error.code, pi.last_payment_error.message) == ("card_declined", "Your card was declined.")


def test_generic_decline_card_declines_only_when_attached(stripe):
    """4000 0000 0000 0002 is declined by Stripe when charged; localstripe declines it only when attached
    to a customer, and charges it. Use 4000 0000 0000 0341 for a decline at confirmation: it behaves so on
    both."""
    assert stripe.v1.payment_intents.confirm(intent(stripe, CARD_GENERIC_DECLINE).id).status == "succeeded"
    customer = stripe.v1.customers.create({"email": "learner@example.com"})
    with pytest.raises(stripe_lib.CardError) as caught:
        stripe.v1.payment_methods.attach(card(stripe, CARD_GENERIC_DECLINE).id, {"customer": customer.id})
    assert caught.value.code == "card_declined"


def test_3d_secure_card_requires_action_then_authenticates(stripe, localstripe):
    pi = stripe.v1.payment_intents.confirm(intent(stripe, CARD_3DS_REQUIRED).id)
    assert pi.status == "requires_action"
    assert pi.next_action.type == "use_stripe_sdk"
    assert pi.next_action.use_stripe_sdk.type == "three_d_secure_redirect"
    # What the Stripe.js stand-in's confirmCardPayment() does after its "Complete authentication" button:
    # POST /v1/payment_intents/<id>/_authenticate?success=true with the client secret and a pk_ key.
    request = urllib.request.Request(
        f"{localstripe}/v1/payment_intents/{pi.id}/_authenticate?success=true",
        data=json.dumps({"key": TEST_PUBLISHABLE_KEY, "client_secret": pi.client_secret}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["status"] == "succeeded"
    assert stripe.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_3d_secure_failure_returns_to_requires_payment_method(stripe):
    pi = stripe.v1.payment_intents.confirm(intent(stripe, CARD_3DS_REQUIRED).id)
    response = stripe.raw_request(
        "post", f"/v1/payment_intents/{pi.id}/_authenticate", client_secret=pi.client_secret, success="false"
    )
    assert response.code == 200
    pi = stripe.v1.payment_intents.retrieve(pi.id)
    assert pi.status == "requires_payment_method" and pi.payment_method is None
    assert pi.last_payment_error.code == "payment_intent_authentication_failure"


# -- idempotency ---------------------------------------------------------------------------------------


def test_localstripe_ignores_idempotency_keys(stripe):
    """Stripe returns the first PaymentIntent again for a repeated Idempotency-Key; localstripe never reads
    the header and creates a second one. (stripe-python sends a fresh key with every POST by itself.)"""
    key = f"enrolment-42-{uuid.uuid4()}"
    params = {"amount": WON, "currency": "krw", "payment_method": "pm_card_visa"}
    first = stripe.v1.payment_intents.create(params, {"idempotency_key": key})
    second = stripe.v1.payment_intents.create(params, {"idempotency_key": key})
    assert first.id != second.id


def test_compat_shim_honours_idempotency_keys(stripe_compat):
    key = f"enrolment-42-{uuid.uuid4()}"
    params = {"amount": WON, "currency": "krw", "payment_method": "pm_card_visa"}
    first = stripe_compat.v1.payment_intents.create(params, {"idempotency_key": key})
    second = stripe_compat.v1.payment_intents.create(params, {"idempotency_key": key})
    assert second.id == first.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    with pytest.raises(stripe_lib.IdempotencyError, match="same parameters"):
        stripe_compat.v1.payment_intents.create({**params, "amount": WON + 1}, {"idempotency_key": key})
    # Errors are replayed too, as on Stripe.
    declined = {
        "amount": WON,
        "currency": "krw",
        "payment_method": card(stripe_compat, CARD_DECLINED_ON_CHARGE).id,
        "confirm": True,
    }
    for _ in range(2):
        with pytest.raises(stripe_lib.CardError):
            stripe_compat.v1.payment_intents.create(declined, {"idempotency_key": key + "-declined"})
    assert stripe_compat.v1.payment_intents.create(params).id != first.id  # a fresh key: a new intent


# -- refunds -------------------------------------------------------------------------------------------


def test_partial_then_full_refund(stripe):
    pi = paid_intent(stripe)
    partial = stripe.v1.refunds.create({"payment_intent": pi.id, "amount": 20_000})
    assert isinstance(partial, stripe_lib.Refund)
    assert (partial.status, partial.amount, partial.currency, partial.payment_intent) == (
        "succeeded",
        20_000,
        "krw",
        pi.id,
    )
    assert partial.charge == pi.latest_charge.id
    rest = stripe.v1.refunds.create({"payment_intent": pi.id})  # no amount: the charge's whole amount (!)
    assert rest.amount == WON  # Stripe: 30000, what is left; localstripe refunds the full amount again
    charge = stripe.v1.charges.retrieve(pi.latest_charge.id)
    assert (charge.amount_refunded, charge.refunded) == (70_000, True)
    assert stripe.v1.payment_intents.retrieve(pi.id).status == "succeeded"  # as on Stripe
    assert {r.id for r in stripe.v1.refunds.list({"payment_intent": pi.id}).data} == {rest.id, partial.id}


def test_refunds_are_not_limited_to_the_amount_paid(stripe):
    """Stripe refuses a refund beyond what is left (400, charge_already_refunded / amount too large);
    localstripe accepts any positive amount: the feature must enforce the limit itself."""
    pi = paid_intent(stripe)
    assert stripe.v1.refunds.create({"payment_intent": pi.id, "amount": WON}).status == "succeeded"
    assert stripe.v1.refunds.create({"payment_intent": pi.id, "amount": WON * 3}).status == "succeeded"


def test_refunding_an_intent_that_never_charged_is_a_server_error(stripe):
    """Stripe: 400 invalid_request_error. localstripe: 500 (it reads latest_charge, which is None)."""
    with pytest.raises(stripe_lib.APIError):
        stripe.v1.refunds.create({"payment_intent": intent(stripe).id})
    declined = intent(stripe, CARD_DECLINED_ON_CHARGE)
    with pytest.raises(stripe_lib.CardError):
        stripe.v1.payment_intents.confirm(declined.id)
    with pytest.raises(stripe_lib.InvalidRequestError, match="Cannot refund a failed payment"):
        stripe.v1.refunds.create({"payment_intent": declined.id})


# -- cancelling ----------------------------------------------------------------------------------------


def test_cancel(stripe):
    assert stripe.v1.payment_intents.cancel(intent(stripe).id).status == "canceled"
    waiting = stripe.v1.payment_intents.confirm(intent(stripe, CARD_3DS_REQUIRED).id)
    cancelled = stripe.v1.payment_intents.cancel(waiting.id)
    assert cancelled.status == "canceled" and cancelled.next_action is None
    with pytest.raises(stripe_lib.InvalidRequestError, match="Bad request"):  # Stripe: a clearer message
        stripe.v1.payment_intents.cancel(paid_intent(stripe).id)


# -- listing for reconciliation ------------------------------------------------------------------------


def test_listing_by_created_is_unsupported_so_filter_client_side(stripe):
    """Stripe filters lists by created[gt|gte|lt|lte]. localstripe: payment intents answer 400 "Unexpected
    created", refunds 500; lists are in creation order (Stripe: newest first), `limit` (default 10),
    `starting_after` and `has_more` work, so auto_paging_iter() and a filter on `created` do."""
    first, second = paid_intent(stripe), paid_intent(stripe)
    refund = stripe.v1.refunds.create({"payment_intent": second.id, "amount": 1_000})
    window = {"gte": first.created, "lte": second.created}
    with pytest.raises(stripe_lib.InvalidRequestError, match="Unexpected created"):
        stripe.v1.payment_intents.list({"created": window})
    with pytest.raises(stripe_lib.APIError):
        stripe.v1.refunds.list({"created": window})

    page = stripe.v1.payment_intents.list({"limit": 1})
    assert len(page.data) == 1 and page.has_more
    in_window = [
        pi.id
        for pi in stripe.v1.payment_intents.list({"limit": 100}).auto_paging_iter()
        if window["gte"] <= pi.created <= window["lte"]
    ]
    assert {first.id, second.id} <= set(in_window)
    refunds = [r.id for r in stripe.v1.refunds.list({"limit": 100}).auto_paging_iter() if window["gte"] <= r.created]
    assert refund.id in refunds
    # Events do filter by created and type.
    events = stripe.v1.events.list({"type": "payment_intent.succeeded", "created": {"gte": first.created}})
    assert {first.id, second.id} <= {e.data.object.id for e in events.auto_paging_iter()}


def test_compat_shim_lists_by_created(stripe_compat):
    first, second = paid_intent(stripe_compat), paid_intent(stripe_compat)
    refund = stripe_compat.v1.refunds.create({"payment_intent": first.id, "amount": 5_000})
    window = {"gte": first.created, "lte": second.created}
    listed = [pi.id for pi in stripe_compat.v1.payment_intents.list({"created": window}).auto_paging_iter()]
    assert {first.id, second.id} <= set(listed)
    assert listed.index(second.id) < listed.index(first.id)  # newest first
    assert stripe_compat.v1.payment_intents.list({"created": {"gt": second.created}}).data == []
    assert refund.id in [r.id for r in stripe_compat.v1.refunds.list({"created": {"gte": refund.created}}).data]
    assert stripe_compat.v1.refunds.list({"created": {"lt": first.created}}).data == []
    with pytest.raises(stripe_lib.InvalidRequestError):
        stripe_compat.v1.payment_intents.list({"created": {"after": first.created}})


# -- webhooks ------------------------------------------------------------------------------------------


def test_webhooks_are_signed_as_stripe_signs_them(stripe, localstripe, webhook_receiver):
    secret = "whsec_" + uuid.uuid4().hex
    name = "spike-" + uuid.uuid4().hex[:8]
    configure_webhook(
        localstripe,
        name,
        webhook_receiver.url,
        secret,
        events=["payment_intent.succeeded", "payment_intent.payment_failed"],
    )
    try:
        paid = paid_intent(stripe)
        declined = intent(stripe, CARD_DECLINED_ON_CHARGE)
        with pytest.raises(stripe_lib.CardError):
            stripe.v1.payment_intents.confirm(declined.id)

        def about(pi_id):
            return lambda d: json.loads(d.body)["data"]["object"]["id"] == pi_id

        # localstripe waits 1 s before each delivery.
        succeeded = webhook_receiver.wait_for(about(paid.id))
        failed = webhook_receiver.wait_for(about(declined.id))
    finally:
        configure_webhook(localstripe, name, webhook_receiver.url, secret, events=[])  # silence it

    assert succeeded.path == "/stripe/webhook"
    assert succeeded.headers["Content-Type"] == "application/json; charset=utf-8"
    assert succeeded.headers["Stripe-Signature"].startswith("t=")
    event = stripe_lib.Webhook.construct_event(succeeded.body, succeeded.headers["Stripe-Signature"], secret)
    assert isinstance(event, stripe_lib.Event)
    assert event.type == "payment_intent.succeeded" and event.id.startswith("evt_")
    assert (event.data.object.id, event.data.object.status, event.data.object.amount) == (paid.id, "succeeded", WON)
    assert event.api_version == "2017-08-15"  # localstripe's fixed value, whatever the account's version

    event = stripe.construct_event(failed.body, failed.headers["Stripe-Signature"], secret)
    assert event.type == "payment_intent.payment_failed"
    assert event.data.object.last_payment_error.code == "card_declined"

    with pytest.raises(stripe_lib.SignatureVerificationError):
        stripe_lib.Webhook.construct_event(succeeded.body, succeeded.headers["Stripe-Signature"], "whsec_wrong")
    with pytest.raises(stripe_lib.SignatureVerificationError):
        stripe_lib.Webhook.construct_event(
            succeeded.body.replace(b"50000", b"50001"), succeeded.headers["Stripe-Signature"], secret
        )
    # The signed event is also kept: GET /v1/events/<id>.
    assert stripe.v1.events.retrieve(event.id).type == "payment_intent.payment_failed"
