"""Paying the self-pay share, the processor's webhooks, and the reconciliation report (HTML).

- `/me/enrolments/<id>/pay`: the learner's pay page. GET only shows the enrolment and the card form (Stripe.js
  from STRIPE_JS_URL, the one script from another origin the CSP allows); POST receives the card token the
  browser made, opens the payment at the processor if needed (vouchers.checkout.prepare: once, with the
  stored idempotency key) and confirms on the server.
- `/me/enrolments/<id>/pay/done`: the return page. GET shows what is recorded; its POST (the page's button,
  and the pay page's script after 3-D Secure) re-reads the payment from the processor and records it through
  the same function the webhook uses (vouchers.checkout.sync → apply_state), then shows it again.
- `POST /webhooks/stripe`: public, CSRF-exempt, the signature checked on the raw body (400 and a log line
  when it is missing, wrong or stale).
- `/admin/payments/reconcile`: the last reconciliation report; admins can run one for a day.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import DateField, HiddenField
from wtforms.validators import DataRequired, Optional

from hrdnet.access import Role, public, roles
from hrdnet.db import unit_of_work
from hrdnet.errors import DomainError
from hrdnet.extensions import csrf, db
from hrdnet.forms import Form
from hrdnet.request_size import body_limit, read_body
from hrdnet.timeutil import kst_today
from vouchers import checkout
from vouchers.enrolments import operations as enrolments
from vouchers.enrolments import states
from vouchers.enrolments.models import Enrolment, EnrolmentStatus
from vouchers.payments import operations as payments
from vouchers.payments import reconcile
from vouchers.payments.gateway import (
    CANCELED,
    REQUIRES_ACTION,
    CardDeclined,
    InvalidSignature,
    ProcessorUnavailable,
    gateway,
)
from vouchers.payments.models import Payment, PaymentFlag, PaymentStatus

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__)
S = EnrolmentStatus
MY_ENROLMENTS = "/me/enrolments"  # a published page (docs: interfaces); its view lives in vouchers.views
_TOKEN = re.compile(r"^[A-Za-z0-9_]{3,255}$")


class PayForm(Form):
    card_token = HiddenField(validators=[DataRequired(message="카드 정보를 입력해 주세요.")])


class ReconcileForm(Form):
    day = DateField("대사할 날짜", validators=[Optional()])


def _actor() -> str:
    return current_user.pseudonym


def _own_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.user_id != current_user.id:
        abort(404)  # someone else's enrolment does not exist for this learner
    return enrolment


def _render(
    enrolment: Enrolment,
    payment: Payment | None,
    *,
    form: PayForm | None = None,
    error: str | None = None,
    requires_action: bool = False,
    status: int = 200,
):
    backend = gateway(payment.backend) if payment else gateway()
    return render_template(
        "payments/pay.html",
        enrolment=enrolment,
        payment=payment,
        form=form or PayForm(),
        error=error,
        browser=backend.browser,
        requires_action=requires_action,
        my_enrolments=MY_ENROLMENTS,
        status_label=states.STATUS_LABELS[S(enrolment.status)],
    ), status


@bp.route("/me/enrolments/<int:enrolment_id>/pay", methods=["GET", "POST"])
@roles(Role.LEARNER)
def pay(enrolment_id: int):
    enrolment = _own_enrolment(enrolment_id)
    current = payments.current_payment(enrolment.id)
    if enrolment.status != S.HELD:
        if enrolment.status in checkout.PAID_STATUSES:
            return redirect(url_for("payments.done", enrolment_id=enrolment.id))
        return _render(enrolment, current, error="결제 기한이 지났거나 취소된 신청이라 결제할 수 없습니다.")
    if current is not None and current.status == PaymentStatus.SUCCEEDED:
        return redirect(url_for("payments.done", enrolment_id=enrolment.id))
    form = PayForm()
    if request.method == "GET":  # only reads: the attempt is opened at the processor by the POST
        return _render(
            enrolment,
            current,
            form=form,
            error=current.failure_message if current else None,
            requires_action=current is not None and _waiting_for_action(current),
        )
    if not form.validate_on_submit() or not _TOKEN.match(form.card_token.data or ""):
        return _render(
            enrolment, current, form=form, error="카드 정보를 확인할 수 없습니다. 다시 입력해 주세요.", status=422
        )
    try:
        payment = checkout.prepare(enrolment.id, actor=_actor())
    except ProcessorUnavailable as unavailable:
        return _render(enrolments.get(enrolment.id), payments.current_payment(enrolment.id), error=unavailable.message)
    if payment is None or payment.status != PaymentStatus.PENDING:
        return redirect(url_for("payments.done", enrolment_id=enrolment.id))
    payment_id = payment.id
    try:
        result = checkout.pay_with_card(payment_id, form.card_token.data, actor=_actor())
    except CardDeclined as declined:
        try:  # the declined attempt is closed; the form comes back on a new one
            payment = checkout.prepare(enrolment.id, actor=_actor())
        except ProcessorUnavailable:
            payment = payments.current_payment(enrolment.id)
        return _render(enrolments.get(enrolment.id), payment, error=declined.message, status=402)
    except ProcessorUnavailable as unavailable:
        return _render(enrolment, db.session.get(Payment, payment_id), error=unavailable.message)
    except DomainError as refused:
        return _render(
            enrolments.get(enrolment.id),
            db.session.get(Payment, payment_id),
            error=refused.message,
            status=refused.status,
        )
    if result.status == REQUIRES_ACTION:
        return _render(enrolment, db.session.get(Payment, payment_id), requires_action=True)
    return redirect(url_for("payments.done", enrolment_id=enrolment.id))


def _waiting_for_action(payment: Payment) -> bool:
    if not payment.processor_ref or payment.status != PaymentStatus.PENDING:
        return False
    try:
        return gateway(payment.backend).get_payment(payment.processor_ref).status == REQUIRES_ACTION
    except DomainError:
        return False


class SyncForm(Form):
    """Only the CSRF token: the return page's "check again" button."""


@bp.route("/me/enrolments/<int:enrolment_id>/pay/done", methods=["GET", "POST"])
@roles(Role.LEARNER)
def done(enrolment_id: int):
    """Where the browser lands after paying. GET shows what is recorded; POST first asks the processor and
    records its answer (the webhook's path, once), then shows it."""
    enrolment = _own_enrolment(enrolment_id)
    payment = payments.current_payment(enrolment.id)
    if request.method == "POST":
        if (
            SyncForm().validate_on_submit()
            and payment is not None
            and payment.status in (PaymentStatus.PENDING, PaymentStatus.CANCELED)
        ):
            try:
                checkout.sync(payment.id, actor=_actor())
            except ProcessorUnavailable as unavailable:
                flash(unavailable.message, "error")
        return redirect(url_for("payments.done", enrolment_id=enrolment.id), 303)
    flags = payments.flags_of(payment.id) if payment else []
    return render_template(
        "payments/done.html",
        enrolment=enrolment,
        payment=payment,
        form=SyncForm(),
        flags=flags,
        my_enrolments=MY_ENROLMENTS,
        status_label=states.STATUS_LABELS[S(enrolment.status)],
        confirmed=enrolment.status in checkout.PAID_STATUSES
        and (payment is None or payment.status == PaymentStatus.SUCCEEDED)
        and not flags,
    )


@bp.get("/payments/pay.js")
@public
def script():
    """The pay page's own script (served from our origin; the CSP forbids inline scripts)."""
    body = render_template("payments/pay.js")
    response = Response(body, mimetype="application/javascript")
    response.cache_control.max_age = 300
    return response


# -- webhooks -------------------------------------------------------------------------------------------------


@bp.post("/webhooks/stripe")
@public
@csrf.exempt
@body_limit("WEBHOOK_MAX_CONTENT_LENGTH")  # Stripe's events are a few KB; anyone may POST here unsigned
def stripe_webhook():
    """Stripe's signed events. 413 (unread) above WEBHOOK_MAX_CONTENT_LENGTH; 400 when the signature is
    missing, wrong or outside the tolerance; 503 when
    the payment cannot be re-read from Stripe (Stripe delivers the event again later); 200 otherwise,
    also for an event delivered before (recorded once)."""
    payload = read_body()
    try:
        event = gateway("stripe").parse_event(payload, request.headers.get("Stripe-Signature"))
    except InvalidSignature as refused:
        log.warning("stripe webhook refused from %s: %s", request.remote_addr, refused)
        return jsonify({"error": {"code": "invalid_signature", "message": "서명을 확인할 수 없는 요청입니다."}}), 400
    try:
        outcome = checkout.handle_event(event, backend="stripe")
    except ProcessorUnavailable:
        log.warning("stripe webhook %s (%s): payment not re-read, Stripe will retry", event.id, event.type)
        return jsonify({"error": {"code": "processor_unavailable", "message": "잠시 후 다시 보내 주세요."}}), 503
    log.info("stripe webhook %s (%s, %s): %s", event.id, event.type, event.payment_ref, outcome)
    return jsonify({"received": True, "outcome": outcome})


# -- reconciliation -------------------------------------------------------------------------------------------


@bp.route("/admin/payments/reconcile", methods=["GET", "POST"])
@roles(Role.ADMIN)
def admin_reconcile():
    form = ReconcileForm()
    if request.method == "POST" and form.validate_on_submit():
        day = form.day.data or kst_today() - timedelta(days=1)
        try:
            findings = reconcile.compare(day)  # the processor's records: no transaction open meanwhile
        except ProcessorUnavailable as unavailable:
            flash(unavailable.message, "error")
        else:
            with unit_of_work(write_lock=True):
                report = reconcile.store(findings)
            flash(
                f"{day} 대사를 마쳤습니다: 불일치 {report.mismatch_count}건.",
                "warning" if report.mismatch_count else "success",
            )
        return redirect(url_for("payments.admin_reconcile"))
    flags = db.session.execute(
        db.select(PaymentFlag, Payment)
        .join(Payment, Payment.id == PaymentFlag.payment_id)
        .order_by(PaymentFlag.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "payments/reconcile.html",
        report=reconcile.latest(),
        form=form,
        flags=flags,
        backend=current_app.config["PAYMENT_BACKEND"],
        kind_labels=reconcile.KIND_LABELS,
        canceled=CANCELED,
    )
