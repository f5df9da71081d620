"""Sending refunds to the processor: the outbox handler of `payments.refund` (registered by vouchers.init_app).

Delivered after the cancellation committed, at least once: the refund's idempotency key and the processor's
own list of refunds make a second delivery do nothing.
"""

from __future__ import annotations

from vouchers.payments.gateway import gateway


class RefundRefused(RuntimeError):
    """A refund would return more than the processor says was paid; left for a person (the outbox parks it)."""


def send_refund(payload: dict) -> None:
    processor = gateway(payload.get("backend") or None)
    ref, amount, key = payload["ref"], payload["amount"], payload["idempotency_key"]
    done = getattr(processor, "refund_with_key", None)
    if done is not None and done(ref, key) is not None:
        return  # sent before (the outbox delivers at least once)
    paid = processor.get_payment(ref)
    already = sum(r.amount for r in processor.refunds_of(ref) if r.status in ("succeeded", "pending"))
    if processor.name != "local" and already + amount > paid.amount_received:
        raise RefundRefused(
            f"refund of {amount} on {ref} would exceed the {paid.amount_received} paid ({already} refunded already)"
        )
    processor.refund(ref=ref, amount=amount, idempotency_key=key)
