"""Daily reconciliation: the processor's own list of payments and refunds against our payments and ledger.

For one period (KST days, [start 00:00, end+1 00:00)) it reads from the processor every payment and refund
created then — its records, not the events we happened to receive — and from our side every payment row and
every `copay` ledger transfer (자비부담금 납부) of the period, then reports each mismatch:

- `paid_not_enrolled`   the processor collected money (net of its refunds) that the ledger never recorded
                        as a co-payment (no enrolment was confirmed with it, and it was not refunded);
- `enrolled_not_paid`   the ledger recorded a co-payment (or we marked a payment succeeded) that the
                        processor has no successful payment for;
- `amount_differs`      both sides know the payment but the amounts differ (collected, or refunded).

The report is stored (`reconciliation_reports`) and shown to admins on /admin/payments/reconcile; the
command `hrdnet payments reconcile [--date D]` (or the admin page) compares, then stores the findings in
its own unit of work, prints them and exits 1 when there is any mismatch.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from hrdnet.extensions import db
from hrdnet.timeutil import KST
from vouchers.ledger.models import Transfer
from vouchers.payments.gateway import SUCCEEDED, ProcessorPayment, gateway
from vouchers.payments.models import Payment, PaymentStatus, ReconciliationReport

PAID_NOT_ENROLLED, ENROLLED_NOT_PAID, AMOUNT_DIFFERS = "paid_not_enrolled", "enrolled_not_paid", "amount_differs"
KIND_LABELS = {
    PAID_NOT_ENROLLED: "결제됐으나 수강 확정 없음",
    ENROLLED_NOT_PAID: "수강 확정됐으나 결제 없음",
    AMOUNT_DIFFERS: "금액 불일치",
}


@dataclass(frozen=True)
class Mismatch:
    kind: str
    payment_ref: str | None
    payment_id: int | None
    enrolment_id: int | None
    processor_amount: int  # collected minus refunded, at the processor
    ledger_amount: int  # co-payment minus co-payment refunds, in the ledger
    detail: str

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(), KST), datetime.combine(end + timedelta(days=1), time(), KST))


def _ledger_copay(enrolment_id: int) -> tuple[int, int]:
    """(co-payment recorded, co-payment refunded) for an enrolment, from its ledger transfers."""
    key = f"enrolment:{enrolment_id}"
    rows = dict(
        db.session.execute(
            select(Transfer.key, Transfer.total).where(Transfer.key.in_([f"{key}:copay", f"{key}:copay-refund"]))
        ).all()
    )
    return rows.get(f"{key}:copay", 0), rows.get(f"{key}:copay-refund", 0)


@dataclass(frozen=True)
class Findings:
    """What compare() found for one period, before it is stored."""

    backend: str
    start: date
    end: date
    processor_payments: int
    processor_refunds: int
    matched: int
    mismatches: list[Mismatch]


def compare(start: date, end: date | None = None) -> Findings:
    """Read the processor's records for the period and compare them with ours; writes nothing (the caller
    stores the findings with store(), in its own unit of work, after the processor calls are over). Raises
    ProcessorUnavailable."""
    end = end or start
    since, until = period_bounds(start, end)
    processor = gateway()
    listed: dict[str, ProcessorPayment] = {p.ref: p for p in processor.list_payments(since, until)}
    refunds = list(processor.list_refunds(since, until))
    refunded_at_processor: dict[str, int] = defaultdict(int)
    refs_to_check = set(listed) | {r.payment_ref for r in refunds if r.payment_ref}
    for ref in refs_to_check:
        if ref not in listed:  # refunded in the period, paid earlier
            listed[ref] = processor.get_payment(ref)
        if listed[ref].status == SUCCEEDED:
            refunded_at_processor[ref] = sum(
                r.amount for r in processor.refunds_of(ref) if r.status in ("succeeded", "pending")
            )

    ours = {
        p.processor_ref: p
        for p in db.session.scalars(
            select(Payment).where(Payment.backend == processor.name, Payment.processor_ref.in_(list(listed)))
        ).all()
    }
    mismatches: list[Mismatch] = []
    matched = 0
    seen_enrolments: set[int] = set()
    for ref, state in listed.items():
        payment = ours.get(ref)
        if payment is None and state.payment_id is not None:
            candidate = db.session.get(Payment, state.payment_id)
            payment = candidate if candidate is not None and candidate.processor_ref in (None, ref) else None
        if state.status != SUCCEEDED:
            if payment is not None and payment.status == PaymentStatus.SUCCEEDED:
                seen_enrolments.add(payment.enrolment_id)
                copay, copay_refund = _ledger_copay(payment.enrolment_id)
                mismatches.append(
                    Mismatch(
                        ENROLLED_NOT_PAID,
                        ref,
                        payment.id,
                        payment.enrolment_id,
                        0,
                        copay - copay_refund,
                        f"처리기관 상태: {state.status}",
                    )
                )
            continue
        net = state.amount_received - refunded_at_processor[ref]
        if payment is None:
            if net:
                mismatches.append(Mismatch(PAID_NOT_ENROLLED, ref, None, None, net, 0, "우리 기록에 없는 결제"))
            else:
                matched += 1
            continue
        seen_enrolments.add(payment.enrolment_id)
        copay, copay_refund = _ledger_copay(payment.enrolment_id)
        if copay == 0:
            if net:
                mismatches.append(
                    Mismatch(
                        PAID_NOT_ENROLLED,
                        ref,
                        payment.id,
                        payment.enrolment_id,
                        net,
                        0,
                        f"결제 {state.amount_received:,}원, 환불 {refunded_at_processor[ref]:,}원, "
                        "원장에 자비부담금 납부 없음",
                    )
                )
            else:
                matched += 1  # paid too late and refunded in full: nothing outstanding
            continue
        if state.amount_received != copay or refunded_at_processor[ref] != copay_refund:
            mismatches.append(
                Mismatch(
                    AMOUNT_DIFFERS,
                    ref,
                    payment.id,
                    payment.enrolment_id,
                    net,
                    copay - copay_refund,
                    f"처리기관 결제 {state.amount_received:,}원·환불 {refunded_at_processor[ref]:,}원, "
                    f"원장 납부 {copay:,}원·환불 {copay_refund:,}원",
                )
            )
        else:
            matched += 1

    # Our side: every co-payment the ledger recorded in the period must have a processor payment behind it.
    copays = db.session.execute(
        select(Transfer.key, Transfer.total).where(
            Transfer.kind == "copay", Transfer.created_at >= since, Transfer.created_at < until
        )
    ).all()
    for key, total in copays:
        enrolment_id = int(key.split(":")[1])
        if enrolment_id in seen_enrolments:
            continue
        payment = db.session.scalar(
            select(Payment)
            .where(Payment.enrolment_id == enrolment_id, Payment.status == PaymentStatus.SUCCEEDED.value)
            .order_by(Payment.id.desc())
            .limit(1)
        )
        if payment is not None and payment.backend != processor.name:
            continue  # collected by another backend: that backend's reconciliation covers it
        _, copay_refund = _ledger_copay(enrolment_id)
        state = processor.get_payment(payment.processor_ref) if payment and payment.processor_ref else None
        if state is None or state.status != SUCCEEDED:
            mismatches.append(
                Mismatch(
                    ENROLLED_NOT_PAID,
                    payment.processor_ref if payment else None,
                    payment.id if payment else None,
                    enrolment_id,
                    0,
                    total - copay_refund,
                    "처리기관에 성공한 결제 없음",
                )
            )
        elif state.amount_received != total:
            mismatches.append(
                Mismatch(
                    AMOUNT_DIFFERS,
                    state.ref,
                    payment.id,
                    enrolment_id,
                    state.amount_received,
                    total - copay_refund,
                    f"처리기관 결제 {state.amount_received:,}원, 원장 납부 {total:,}원",
                )
            )
        else:
            matched += 1
    return Findings(
        processor.name,
        start,
        end,
        sum(1 for p in listed.values() if p.status == SUCCEEDED),
        len(refunds),
        matched,
        mismatches,
    )


def store(findings: Findings) -> ReconciliationReport:
    """Keep the findings as a report (flushes, never commits)."""
    report = ReconciliationReport(
        backend=findings.backend,
        period_start=findings.start,
        period_end=findings.end,
        processor_payments=findings.processor_payments,
        processor_refunds=findings.processor_refunds,
        matched=findings.matched,
        mismatch_count=len(findings.mismatches),
        body=json.dumps([{**asdict(m), "label": m.label} for m in findings.mismatches], ensure_ascii=False),
    )
    db.session.add(report)
    db.session.flush()
    return report


def latest() -> ReconciliationReport | None:
    return db.session.scalar(select(ReconciliationReport).order_by(ReconciliationReport.id.desc()).limit(1))
