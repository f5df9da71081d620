"""Payment processors behind one processor-neutral interface.

Services call `gateway()` and speak only of payments, refunds and their ids; no processor's own concepts leak
out of this module. The backend is chosen by PAYMENT_BACKEND:

- `local`: the development backend. It "collects" the co-payment at once (nothing leaves the machine), so
  the whole enrolment lifecycle works without a processor.

To add a processor (a Korean PG, or Stripe), implement the `Gateway` protocol and register it in
`_BACKENDS`. Every call receives the idempotency key of a payment-attempt row that was committed before the
call, so the processor can recognise a retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class ProcessorPayment:
    ref: str  # the processor's id for the payment
    status: str  # 'succeeded' | 'pending' | 'requires_action' | 'failed' | 'canceled'
    amount: int  # 원
    client_secret: str | None = None  # what the browser needs to finish paying, if anything
    failure_message: str | None = None  # Korean


class Gateway(Protocol):
    name: str

    def create_payment(self, *, amount: int, idempotency_key: str, description: str,
                       metadata: dict[str, str]) -> ProcessorPayment: ...

    def refund(self, *, ref: str, amount: int, idempotency_key: str) -> None: ...

    def cancel(self, *, ref: str, idempotency_key: str) -> None: ...


class LocalGateway:
    """Confirms every payment at once; refunds and cancellations always succeed."""

    name = "local"

    def create_payment(self, *, amount: int, idempotency_key: str, description: str,
                       metadata: dict[str, str]) -> ProcessorPayment:
        return ProcessorPayment(ref=f"local_{idempotency_key}", status="succeeded", amount=amount)

    def refund(self, *, ref: str, amount: int, idempotency_key: str) -> None:
        return None

    def cancel(self, *, ref: str, idempotency_key: str) -> None:
        return None


_BACKENDS = {"local": LocalGateway}


def gateway() -> Gateway:
    name = current_app.config["PAYMENT_BACKEND"]
    try:
        return _BACKENDS[name]()
    except KeyError:
        raise RuntimeError(f"unknown PAYMENT_BACKEND {name!r}; known: {', '.join(_BACKENDS)}") from None
