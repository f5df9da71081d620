"""Payment processors behind one processor-neutral interface.

Services call `gateway()` and speak only of payments, refunds, events and their ids; no processor's own
concepts leak out of this module (nothing else imports `stripe`). The backend is chosen by PAYMENT_BACKEND:

- `local`: the development backend. It "collects" the co-payment at once (nothing leaves the machine), so
  the whole enrolment lifecycle works without a processor.
- `stripe`: Stripe through `stripe.StripeClient` (`client.v1.*`), API base and keys from configuration
  (STRIPE_API_BASE points at localstripe on 127.0.0.1 in development and tests). KRW is a zero-decimal
  currency: 50,000 means ₩50,000, never ×100.

The neutral vocabulary (`ProcessorPayment.status`):
  requires_payment  waiting for the payer's card (new, or the last card was declined: `failure_message`)
  requires_action   the payer must finish an authentication step (3-D Secure) in the browser
  processing        the processor is working on it
  succeeded | canceled

Errors: `CardDeclined` (the card was refused; Korean reason), `ProcessorUnavailable` (timeout, connection
refused, 5xx, rate limit: the outcome is unknown, the caller keeps the attempt pending and retries with the
same idempotency key), `ProcessorError` (the processor refused the request itself).

To add a processor (a Korean PG such as Toss Payments or KG Inicis), implement the `Gateway` protocol in a
class of its own and register it in `_BACKENDS` (docs/payments.md, "Adding a payment gateway"). Every call
that changes something receives the idempotency key of a payment-attempt row that was committed before the
call, so the processor can recognise a retry.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Protocol
from urllib.parse import urlsplit

from flask import current_app

from hrdnet.errors import DomainError

log = logging.getLogger(__name__)

REQUIRES_PAYMENT, REQUIRES_ACTION, PROCESSING = "requires_payment", "requires_action", "processing"
SUCCEEDED, CANCELED = "succeeded", "canceled"


# -- what every gateway returns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessorPayment:
    ref: str  # the processor's id for the payment
    status: str  # see the module docstring
    amount: int  # 원, what the processor was asked to collect
    client_secret: str | None = None  # what the browser needs to finish paying, if anything
    failure_message: str | None = None  # Korean: why the last attempt failed
    amount_received: int = 0  # 원 actually collected
    created: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def payment_id(self) -> int | None:
        """Our `payments.id`, from the metadata we sent when creating it (None: not one of ours)."""
        value = self.metadata.get("payment_id")
        return int(value) if value and value.isdigit() else None


@dataclass(frozen=True)
class ProcessorRefund:
    ref: str
    payment_ref: str
    amount: int
    status: str  # succeeded | pending | failed | canceled
    created: datetime | None = None


@dataclass(frozen=True)
class ProcessorEvent:
    """A verified notification: `kind` is payment.succeeded | payment.failed | payment.canceled | other."""

    id: str
    kind: str
    type: str  # the processor's own name for it, kept for the record
    payment_ref: str | None


class CardDeclined(DomainError):
    status, code, message = 402, "card_declined", "카드 결제가 거절되었습니다. 다른 카드로 다시 시도해 주세요."


class ProcessorUnavailable(DomainError):
    status, code = 503, "payment_processor_unavailable"
    message = (
        "결제 처리 기관이 응답하지 않습니다. 결제는 대기 상태로 남아 있고 이중으로 청구되지 않습니다. "
        "잠시 후 다시 시도해 주세요."
    )


class ProcessorError(DomainError):
    status, code, message = (
        502,
        "payment_processor_error",
        "결제 처리 기관이 요청을 받지 않았습니다. 관리자에게 알려 주세요.",
    )


class InvalidSignature(Exception):
    """A notification whose signature is missing, wrong or outside the time tolerance."""


class Gateway(Protocol):
    name: str
    browser: dict | None  # what the pay page needs (script address, public key), or None: no browser step

    def create_payment(
        self, *, amount: int, idempotency_key: str, description: str, metadata: dict[str, str]
    ) -> ProcessorPayment: ...

    def get_payment(self, ref: str) -> ProcessorPayment: ...

    def pay_with_card(self, *, ref: str, card_token: str, idempotency_key: str) -> ProcessorPayment:
        """Attach the card the browser tokenised and confirm; raises CardDeclined. A payment already
        succeeded, processing or waiting for authentication is returned as it is (never charged twice)."""

    def refund(self, *, ref: str, amount: int, idempotency_key: str) -> ProcessorRefund: ...

    def cancel(self, *, ref: str, idempotency_key: str) -> ProcessorPayment: ...

    def list_payments(self, since: datetime, until: datetime) -> Iterator[ProcessorPayment]:
        """Every payment created in [since, until), from the processor's records (not from our events)."""

    def list_refunds(self, since: datetime, until: datetime) -> Iterator[ProcessorRefund]: ...

    def refunds_of(self, ref: str) -> list[ProcessorRefund]: ...

    def parse_event(self, payload: bytes, signature: str | None) -> ProcessorEvent:
        """Verify a notification on its raw body; raises InvalidSignature."""


# -- local ---------------------------------------------------------------------------------------------------


class LocalGateway:
    """Confirms every payment at once; refunds and cancellations always succeed. It keeps no records, so
    reconciliation against it compares our tables with themselves."""

    name = "local"
    browser = None

    def create_payment(
        self, *, amount: int, idempotency_key: str, description: str, metadata: dict[str, str]
    ) -> ProcessorPayment:
        return ProcessorPayment(
            ref=f"local_{idempotency_key}",
            status=SUCCEEDED,
            amount=amount,
            amount_received=amount,
            metadata=dict(metadata),
        )

    def get_payment(self, ref: str) -> ProcessorPayment:
        from sqlalchemy import select

        from hrdnet.extensions import db
        from vouchers.payments.models import Payment  # the local "processor" is our own table

        payment = db.session.scalar(select(Payment).where(Payment.processor_ref == ref))
        amount = payment.amount if payment else 0
        return ProcessorPayment(
            ref=ref,
            status=SUCCEEDED,
            amount=amount,
            amount_received=amount,
            metadata={"payment_id": str(payment.id)} if payment else {},
        )

    def pay_with_card(self, *, ref: str, card_token: str, idempotency_key: str) -> ProcessorPayment:
        return self.get_payment(ref)

    def refund(self, *, ref: str, amount: int, idempotency_key: str) -> ProcessorRefund:
        return ProcessorRefund(ref=f"local_{idempotency_key}", payment_ref=ref, amount=amount, status=SUCCEEDED)

    def cancel(self, *, ref: str, idempotency_key: str) -> ProcessorPayment:
        return ProcessorPayment(ref=ref, status=CANCELED, amount=0)

    def list_payments(self, since: datetime, until: datetime) -> Iterator[ProcessorPayment]:
        return iter(())

    def list_refunds(self, since: datetime, until: datetime) -> Iterator[ProcessorRefund]:
        return iter(())

    def refunds_of(self, ref: str) -> list[ProcessorRefund]:
        return []

    def parse_event(self, payload: bytes, signature: str | None) -> ProcessorEvent:
        raise InvalidSignature("the local backend sends no notifications")


# -- Stripe --------------------------------------------------------------------------------------------------

# Korean reasons for Stripe's decline codes (https://docs.stripe.com/declines/codes). Reasons that would help
# a thief (lost_card, stolen_card, fraudulent, pickup_card) are shown as a plain decline, as Stripe advises.
DECLINE_MESSAGES = {
    "insufficient_funds": "카드 잔액 또는 한도가 부족합니다. 다른 카드로 결제해 주세요.",
    "expired_card": "카드 유효기간이 지났습니다. 다른 카드로 결제해 주세요.",
    "incorrect_cvc": "카드 보안코드(CVC)가 올바르지 않습니다. 확인 후 다시 입력해 주세요.",
    "invalid_cvc": "카드 보안코드(CVC)가 올바르지 않습니다. 확인 후 다시 입력해 주세요.",
    "incorrect_number": "카드 번호가 올바르지 않습니다. 확인 후 다시 입력해 주세요.",
    "invalid_number": "카드 번호가 올바르지 않습니다. 확인 후 다시 입력해 주세요.",
    "invalid_expiry_month": "카드 유효기간(월)이 올바르지 않습니다.",
    "invalid_expiry_year": "카드 유효기간(연도)이 올바르지 않습니다.",
    "processing_error": "카드사 처리 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.",
    "authentication_required": "카드사 본인 인증이 필요합니다. 다시 결제하면서 인증을 완료해 주세요.",
    "payment_intent_authentication_failure": "카드 본인 인증(3-D Secure)이 완료되지 않았습니다. 다시 시도해 주세요.",
    "card_velocity_exceeded": "카드 사용 한도(횟수)를 넘었습니다. 카드사에 문의하거나 다른 카드를 사용해 주세요.",
    "currency_not_supported": "이 카드로는 원화 결제를 할 수 없습니다. 다른 카드를 사용해 주세요.",
}
DEFAULT_DECLINE = CardDeclined.message


def decline_message(code: str | None, decline_code: str | None = None) -> str:
    return DECLINE_MESSAGES.get(decline_code or "") or DECLINE_MESSAGES.get(code or "") or DEFAULT_DECLINE


_STATUS = {
    "requires_payment_method": REQUIRES_PAYMENT,
    "requires_confirmation": REQUIRES_PAYMENT,
    "requires_action": REQUIRES_ACTION,
    "processing": PROCESSING,
    "requires_capture": PROCESSING,
    "succeeded": SUCCEEDED,
    "canceled": CANCELED,
}
_EVENTS = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "payment_intent.canceled": "payment.canceled",
    "payment_intent.processing": "payment.processing",
    "payment_intent.requires_action": "payment.requires_action",
}


def _when(timestamp) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), UTC) if timestamp else None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class StripeGateway:
    name = "stripe"

    def __init__(self, config):
        import requests
        import stripe

        self._stripe = stripe
        self._config = config
        self.api_base = config["STRIPE_API_BASE"]
        session = requests.Session()
        # A stand-in on this machine is reached directly, whatever proxy the environment names.
        session.trust_env = not _is_loopback(self.api_base)
        # No automatic retries: a retry is ours to decide, with the stored idempotency key.
        self.client = stripe.StripeClient(
            config["STRIPE_SECRET_KEY"] or "sk_missing",
            base_addresses={"api": self.api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(session=session, timeout=config["STRIPE_TIMEOUT_SECONDS"]),
        )
        self.browser = {"script_url": config["STRIPE_JS_URL"], "publishable_key": config["STRIPE_PUBLISHABLE_KEY"]}

    # -- calls, with errors mapped to ours --

    def _call(self, what: str, fn, *args, **kwargs):
        stripe = self._stripe
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as error:
            body = error.error
            raise CardDeclined(
                decline_message(error.code, getattr(body, "decline_code", None) if body else None),
                details={"processor_code": error.code},
            ) from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            log.warning("stripe %s: %s (unreachable or rate limited)", what, type(error).__name__)
            raise ProcessorUnavailable() from None
        except stripe.APIError as error:
            log.warning("stripe %s: %s %s", what, type(error).__name__, error.http_status)
            if error.http_status is None or error.http_status >= 500:
                raise ProcessorUnavailable() from None
            raise ProcessorError(details={"processor_message": str(error.user_message or "")[:200]}) from None
        except stripe.StripeError as error:
            log.warning(
                "stripe %s refused: %s %s %s", what, type(error).__name__, error.http_status, error.user_message
            )
            if error.http_status == 409:  # an idempotent request still in flight: ask again later
                raise ProcessorUnavailable() from None
            raise ProcessorError(details={"processor_message": str(error.user_message or "")[:200]}) from None

    def _payment(self, pi) -> ProcessorPayment:
        data = pi.to_dict()  # StripeObjects are not dicts; latest_charge may be an object (localstripe)
        error = data.get("last_payment_error")
        failure = decline_message(error.get("code"), error.get("decline_code")) if error else None
        status = data.get("status")
        received = data.get("amount_received")
        if received is None:  # localstripe leaves it out
            received = data["amount"] if status == "succeeded" else 0
        return ProcessorPayment(
            ref=data["id"],
            status=_STATUS.get(status, PROCESSING),
            amount=int(data["amount"]),
            client_secret=data.get("client_secret"),
            failure_message=failure,
            amount_received=int(received),
            created=_when(data.get("created")),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        )

    @staticmethod
    def _refund(refund) -> ProcessorRefund:
        data = refund.to_dict()
        return ProcessorRefund(
            ref=data["id"],
            payment_ref=data.get("payment_intent") or "",
            amount=int(data["amount"]),
            status=data.get("status") or SUCCEEDED,
            created=_when(data.get("created")),
        )

    # -- the protocol --

    def create_payment(
        self, *, amount: int, idempotency_key: str, description: str, metadata: dict[str, str]
    ) -> ProcessorPayment:
        # `description` is not sent: localstripe refuses it (real Stripe accepts it; metadata carries our ids).
        params = {"amount": amount, "currency": "krw", "payment_method_types": ["card"], "metadata": metadata}
        pi = self._call("create", self.client.v1.payment_intents.create, params, {"idempotency_key": idempotency_key})
        return self._payment(pi)

    def get_payment(self, ref: str) -> ProcessorPayment:
        return self._payment(self._call("retrieve", self.client.v1.payment_intents.retrieve, ref))

    def _card_payment_method(self, card_token: str, idempotency_key: str) -> str:
        """The browser's card token as something a PaymentIntent takes: a PaymentMethod made from the token
        (Stripe), or the token's card id where PaymentMethods cannot be made from tokens (localstripe)."""
        if card_token.startswith(("pm_", "card_")):
            return card_token
        try:
            method = self._call(
                "payment method",
                self.client.v1.payment_methods.create,
                {"type": "card", "card": {"token": card_token}},
                {"idempotency_key": idempotency_key + ":pm"},
            )
            return method.id
        except ProcessorError:  # localstripe makes no PaymentMethod from a token; its card id serves
            token = self._call("token", self.client.v1.tokens.retrieve, card_token)
            return token.card.id

    def pay_with_card(self, *, ref: str, card_token: str, idempotency_key: str) -> ProcessorPayment:
        current = self.get_payment(ref)
        if current.status != REQUIRES_PAYMENT:
            return current  # paid, in progress, waiting for 3-D Secure or canceled: never confirm twice
        method = self._card_payment_method(card_token, idempotency_key)
        self._call(
            "update",
            self.client.v1.payment_intents.update,
            ref,
            {"payment_method": method},
            {"idempotency_key": idempotency_key + ":attach"},
        )
        pi = self._call(
            "confirm",
            self.client.v1.payment_intents.confirm,
            ref,
            {},
            {"idempotency_key": idempotency_key + ":confirm"},
        )
        return self._payment(pi)

    def refund(self, *, ref: str, amount: int, idempotency_key: str) -> ProcessorRefund:
        refund = self._call(
            "refund",
            self.client.v1.refunds.create,
            {"payment_intent": ref, "amount": amount, "metadata": {"refund_key": idempotency_key}},
            {"idempotency_key": idempotency_key},
        )
        return self._refund(refund)

    def refund_with_key(self, ref: str, idempotency_key: str) -> ProcessorRefund | None:
        for refund in self._call(
            "refunds", self.client.v1.refunds.list, {"payment_intent": ref, "limit": 100}
        ).auto_paging_iter():
            if (refund.to_dict().get("metadata") or {}).get("refund_key") == idempotency_key:
                return self._refund(refund)
        return None

    def refunds_of(self, ref: str) -> list[ProcessorRefund]:
        page = self._call("refunds", self.client.v1.refunds.list, {"payment_intent": ref, "limit": 100})
        return [self._refund(r) for r in self._call("refunds", lambda: list(page.auto_paging_iter()))]

    def cancel(self, *, ref: str, idempotency_key: str) -> ProcessorPayment:
        current = self.get_payment(ref)
        if current.status in (SUCCEEDED, CANCELED, PROCESSING):
            return current  # nothing to cancel (a success is the caller's to refund)
        pi = self._call("cancel", self.client.v1.payment_intents.cancel, ref, {}, {"idempotency_key": idempotency_key})
        return self._payment(pi)

    def _listed(self, service, what: str, since: datetime, until: datetime):
        """Everything of a list endpoint created in [since, until). Stripe filters by `created`; localstripe
        does not (400 or 500 without its compat shim), so the filter is applied here too, always."""
        low, high = int(since.timestamp()), int(until.timestamp())
        stripe = self._stripe
        try:
            items = list(service.list({"created": {"gte": low, "lt": high}, "limit": 100}).auto_paging_iter())
        except (stripe.InvalidRequestError, stripe.APIError):
            items = self._call(what, lambda: list(service.list({"limit": 100}).auto_paging_iter()))
        except stripe.StripeError:
            items = self._call(what, lambda: list(service.list({"limit": 100}).auto_paging_iter()))
        return [item for item in items if low <= int(item.created) < high]

    def list_payments(self, since: datetime, until: datetime) -> Iterator[ProcessorPayment]:
        return (self._payment(pi) for pi in self._listed(self.client.v1.payment_intents, "list payments", since, until))

    def list_refunds(self, since: datetime, until: datetime) -> Iterator[ProcessorRefund]:
        return (self._refund(r) for r in self._listed(self.client.v1.refunds, "list refunds", since, until))

    def parse_event(self, payload: bytes, signature: str | None) -> ProcessorEvent:
        secret = self._config["STRIPE_WEBHOOK_SECRET"]
        if not secret or not signature:
            raise InvalidSignature("no webhook secret configured" if not secret else "no Stripe-Signature header")
        tolerance = self._config["STRIPE_WEBHOOK_TOLERANCE_SECONDS"]
        stamps = [part[2:] for part in signature.split(",") if part.strip().startswith("t=")]
        # stripe-python refuses only old timestamps; a signature dated in the future is as suspect.
        if stamps and stamps[0].strip().isdigit() and int(stamps[0]) > time.time() + tolerance:
            raise InvalidSignature("Timestamp outside the tolerance zone (in the future)")
        try:
            event = self._stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance)
        except self._stripe.SignatureVerificationError as error:
            raise InvalidSignature(str(error)) from None
        except ValueError as error:  # signed, but not JSON: never from Stripe
            raise InvalidSignature(f"unreadable body: {error}") from None
        obj = event.data.object.to_dict()
        ref = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
        return ProcessorEvent(id=event.id, kind=_EVENTS.get(event.type, "other"), type=event.type, payment_ref=ref)


_BACKENDS = {"local": LocalGateway, "stripe": StripeGateway}


def gateway(name: str | None = None) -> Gateway:
    """The configured payment backend (or the one named)."""
    name = name or current_app.config["PAYMENT_BACKEND"]
    try:
        cls = _BACKENDS[name]
    except KeyError:
        raise RuntimeError(f"unknown PAYMENT_BACKEND {name!r}; known: {', '.join(_BACKENDS)}") from None
    return cls(current_app.config) if cls is StripeGateway else cls()


def confirm_key(payment_key: str, card_token: str) -> str:
    """The idempotency key of one card submission: the same card submitted again (a double click, a retry
    after a timeout) repeats the same request; another card is a new attempt on the same payment."""
    return f"{payment_key}:card:{hashlib.sha256(card_token.encode()).hexdigest()[:16]}"
