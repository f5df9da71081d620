"""Learner pages for cards and enrolments, and the admin's card-application queue (HTML).

Views are thin: load → validate the form → one service call in a unit of work → redirect or render. Domain
errors become Korean error pages (hrdnet.errors) unless a form page shows them next to the form. GETs only
read (vouchers.web.read_models); enrolling goes through vouchers.checkout, which owns its phases' units of
work because the payment processor is called between them.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hrdnet.access import Role, roles
from hrdnet.auth import sessions
from hrdnet.auth.services import password_matches
from hrdnet.bounds import INT8_MAX, page_number, query_int
from hrdnet.db import unit_of_work
from hrdnet.errors import DomainError
from hrdnet.extensions import limiter, login_rate_limit
from hrdnet.timeutil import kst_today, utcnow
from vouchers import checkout
from vouchers.cards import identity_review
from vouchers.cards import operations as cards
from vouchers.cards.models import ApplicationStatus
from vouchers.enrolments import endings
from vouchers.enrolments.models import EnrolmentStatus
from vouchers.payments import operations as payments
from vouchers.payments.models import PaymentStatus
from vouchers.ratings import operations as ratings
from vouchers.reminders import operations as reminders
from vouchers.web import dashboard as learner_dashboard
from vouchers.web import read_models
from vouchers.web.forms import (
    CancelForm,
    CardApplicationForm,
    DecisionForm,
    EnrolForm,
    IdentityForm,
    RatingForm,
    RatingTextForm,
    ReminderSettingsForm,
    StatusForm,
    ToggleForm,
    new_request_key,
)

bp = Blueprint("vouchers", __name__)

PAY_ENDPOINT = "payments.pay"  # the payment page, once a processor that needs the browser is configured


def _form_page(template: str, form, error: DomainError | None = None, **context):
    """200 when first shown, 400 with field errors, or the domain error's status next to the form."""
    if error is not None:
        form.form_errors.append(error.message)
        return render_template(template, form=form, **context), error.status
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


def _page() -> int:
    return page_number()


# -- the dashboard ---------------------------------------------------------------------------------------------


@bp.get("/me")
@roles(Role.LEARNER)
def dashboard():
    page = learner_dashboard.dashboard(current_user.id, kst_today())
    pay_endpoint = PAY_ENDPOINT if PAY_ENDPOINT in current_app.view_functions else None
    unread = [note for note in reminders.recent(current_user.id, 5) if note.read_at is None]
    return render_template("vouchers/dashboard.html", page=page, pay_endpoint=pay_endpoint, unread=unread)


# -- favourites and reminders ---------------------------------------------------------------------------------


@bp.get("/me/favourites")
@roles(Role.LEARNER)
def my_favourites():
    rows = reminders.favourites(current_user.id, kst_today())
    return render_template("vouchers/favourites.html", rows=rows, form=ToggleForm())


@bp.post("/me/favourites/<int:run_id>")
@roles(Role.LEARNER)
def toggle_favourite(run_id: int):
    form = ToggleForm()
    if not form.validate_on_submit():
        flash("보안 토큰이 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요.", "error")
        return redirect(url_for("courses.run", run_id=run_id)), 303
    read_models.public_run(run_id)  # 404 for a run that is not published
    with unit_of_work(write_lock=True):
        added = reminders.toggle_favourite(current_user.id, run_id)
    flash(
        "관심 과정에 담았습니다. 신청 마감 3일 전에 알려 드립니다." if added else "관심 과정에서 뺐습니다.", "success"
    )
    back = url_for("vouchers.my_favourites") if request.form.get("from") == "favourites" else None
    return redirect(back or url_for("courses.run", run_id=run_id)), 303


@bp.route("/me/notifications", methods=["GET", "POST"])
@roles(Role.LEARNER)
def my_notifications():
    form = ReminderSettingsForm()
    form.set_choices(reminders.KINDS)
    if not form.is_submitted():
        form.kinds.data = [kind for kind in reminders.KINDS if kind not in reminders.disabled_kinds(current_user.id)]
    elif form.validate_on_submit():
        with unit_of_work(write_lock=True):
            reminders.set_enabled(current_user.id, set(form.kinds.data))
        flash("알림 설정을 저장했습니다.", "success")
        return redirect(url_for("vouchers.my_notifications")), 303
    notes = reminders.recent(current_user.id, 50)
    return _form_page("vouchers/notifications.html", form, notes=notes, read_form=ToggleForm())


@bp.post("/me/notifications/read")
@roles(Role.LEARNER)
def read_notifications():
    if ToggleForm().validate_on_submit():
        with unit_of_work(write_lock=True):
            reminders.mark_all_read(current_user.id, utcnow())
    return redirect(url_for("vouchers.my_notifications")), 303


# -- ratings ---------------------------------------------------------------------------------------------------


@bp.route("/me/enrolments/<int:enrolment_id>/rating", methods=["GET", "POST"])
@roles(Role.LEARNER)
def rate(enrolment_id: int):
    enrolment, run, allowed, mine = read_models.rating_page(enrolment_id, current_user.id, kst_today())
    form = RatingForm()
    context = {"enrolment": enrolment, "run": run, "allowed": allowed, "mine": mine}
    if not allowed:  # the page says who may rate and when; a submission is refused
        return render_template("vouchers/rate.html", form=form, **context), 403 if form.is_submitted() else 200
    if not form.validate_on_submit():
        return _form_page("vouchers/rate.html", form, **context)
    try:
        with unit_of_work(write_lock=True):
            ratings.rate(
                enrolment_id,
                current_user.id,
                score=int(form.score.data),
                comment=form.comment.data or "",
                today=kst_today(),
                actor=current_user.pseudonym,
            )
    except DomainError as exc:
        return _form_page("vouchers/rate.html", form, exc, **context)
    flash("평가를 남겼습니다. 고맙습니다.", "success")
    return redirect(url_for("courses.run", run_id=run.id))


@bp.post("/ratings/<int:rating_id>/reply")
@roles(Role.PROVIDER)
def reply_rating(rating_id: int):
    form = RatingTextForm()
    if not form.validate_on_submit():
        flash("답글 내용을 확인해 주세요.", "error")
        return redirect(request.referrer or url_for("site.home")), 303
    with unit_of_work(write_lock=True):
        rating = ratings.reply(
            rating_id,
            provider_id=current_user.provider_id,
            text=form.text.data,
            now=utcnow(),
            actor=current_user.pseudonym,
        )
        run_id = rating.run_id
    flash("답글을 달았습니다.", "success")
    return redirect(url_for("courses.run", run_id=run_id) + "#ratings-title"), 303


@bp.post("/admin/ratings/<int:rating_id>/hide")
@roles(Role.ADMIN)
def hide_rating(rating_id: int):
    form = RatingTextForm()
    if not form.validate_on_submit():
        flash("가리는 이유를 써 주세요.", "error")
        return redirect(request.referrer or url_for("admin.dashboard")), 303
    with unit_of_work(write_lock=True):
        rating = ratings.hide(rating_id, reason=form.text.data, now=utcnow(), actor=current_user.pseudonym)
        run_id = rating.run_id
    flash("평가 내용을 가렸습니다(감사 기록에 남음).", "success")
    return redirect(url_for("courses.run", run_id=run_id) + "#ratings-title"), 303


# -- identity and the card -----------------------------------------------------------------------------------


@bp.route("/me/identity", methods=["GET", "POST"])
@roles(Role.LEARNER)
def identity():
    form = IdentityForm(
        data={"name": current_user.name, "phone": current_user.phone, "birth_date": current_user.birth_date}
    )
    link = identity_review.link_of(current_user.id)
    if not form.validate_on_submit():
        return _form_page("vouchers/identity.html", form, link=link)
    try:
        with unit_of_work(write_lock=True):
            link = cards.verify_identity(
                current_user.id,
                name=form.name.data,
                birth_date=form.birth_date.data,
                phone=form.normalised_phone,
                actor=current_user.pseudonym,
            )
    except DomainError as exc:
        return _form_page("vouchers/identity.html", form, exc, link=link)
    if not link.active:
        return redirect(url_for("vouchers.identity"))  # the page explains the review
    flash("본인인증을 마쳤습니다.", "success")
    return redirect(url_for("vouchers.my_card" if cards.cards_of_user(current_user.id) else "vouchers.apply_card"))


@bp.route("/me/card/apply", methods=["GET", "POST"])
@roles(Role.LEARNER)
def apply_card():
    if cards.person_of(current_user.id) is None:
        flash("카드를 신청하려면 먼저 본인인증을 해 주세요.", "info")
        return redirect(url_for("vouchers.identity"))
    page = read_models.apply_page(current_user.id)
    form = CardApplicationForm()
    form.set_choices(page.rules.statuses, page.group_labels, page.rules.excluded_groups)
    if not form.validate_on_submit():
        return _form_page("vouchers/apply.html", form, page=page)
    try:
        with unit_of_work(write_lock=True):
            cards.apply_for_card(
                current_user.id,
                employment_status=form.employment_status.data,
                groups=set(form.groups.data),
                excluded=set(form.excluded.data),
                today=kst_today(),
                actor=current_user.pseudonym,
            )
    except DomainError as exc:
        return _form_page("vouchers/apply.html", form, exc, page=page)
    flash("카드 신청을 접수했습니다. 심사가 끝나면 이 화면에서 결과를 확인할 수 있습니다.", "success")
    return redirect(url_for("vouchers.my_card"))


@bp.route("/me/card/status", methods=["GET", "POST"])
@roles(Role.LEARNER)
def my_status():
    """The learner sets their status once here; every price they see is then their own (issue 17, point 10)."""
    if cards.person_of(current_user.id) is None:
        flash("고용 상태를 등록하려면 먼저 본인인증을 해 주세요.", "info")
        return redirect(url_for("vouchers.identity"))
    page = read_models.status_page(current_user.id, kst_today())
    form = StatusForm(data=page.initial if request.method == "GET" else None)
    form.set_choices(page.statuses, page.group_labels)
    if not form.validate_on_submit():
        return _form_page("vouchers/status.html", form, page=page)
    try:
        with unit_of_work(write_lock=True):
            cards.declare_status(
                current_user.id,
                employment_status=form.employment_status.data,
                groups=set(form.groups.data),
                today=kst_today(),
                actor=current_user.pseudonym,
            )
    except DomainError as exc:
        return _form_page("vouchers/status.html", form, exc, page=page)
    flash("고용 상태를 저장했습니다. 이제 과정 가격이 이 상태로 계산됩니다.", "success")
    return redirect(url_for("vouchers.my_status"))


@bp.get("/me/card")
@roles(Role.LEARNER)
def my_card():
    page = read_models.card_page(
        current_user.id, kst_today(), card_id=query_int("card"), before=query_int("before", high=INT8_MAX)
    )
    return render_template("vouchers/card.html", page=page, labels=read_models.APPLICATION_LABELS)


# -- enrolling ------------------------------------------------------------------------------------------------


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/runs/<int:run_id>/enrol", methods=["GET", "POST"])
@roles(Role.LEARNER)
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=_failed)
def enrol(run_id: int):
    form = EnrolForm()
    if sessions.password_recently_confirmed(current_user.password_confirmed_at):
        del form.password  # entered on this form less than REAUTH_WINDOW ago: not asked again
    if not form.is_submitted():
        form.request_key.data = new_request_key()  # one per rendered form: a double click sends it twice
    if not form.validate_on_submit():
        return _form_page("vouchers/enrol.html", form, page=_enrol_page(run_id))
    if "password" in form:
        if not password_matches(current_user, form.password.data):
            form.password.errors.append("비밀번호가 맞지 않습니다.")
            return _form_page("vouchers/enrol.html", form, page=_enrol_page(run_id))
        with unit_of_work(write_lock=True):
            sessions.note_password_confirmed(current_user.session_key)
    read_models.public_run(run_id)  # a run the catalogue does not show cannot be enrolled in (404), as on GET
    try:
        enrolment = checkout.enrol(
            current_user.id,
            run_id,
            request_key=form.request_key.data,
            now=utcnow(),
            today=kst_today(),
            actor=current_user.pseudonym,
        )
    except DomainError as exc:  # refused: the page explains this refusal and offers its next steps
        return render_template("vouchers/enrol.html", form=form, page=_enrol_page(run_id), refused=exc), exc.status
    return _after_enrolling(enrolment)


def _enrol_page(run_id: int):
    """The enrol page's run and price, read only when a page is shown: a successful POST is priced once, by
    checkout.enrol."""
    return read_models.enrol_page(run_id, current_user.id, kst_today())


def _after_enrolling(enrolment):
    if enrolment.status in (EnrolmentStatus.CONFIRMED, EnrolmentStatus.IN_TRAINING):
        flash(
            f"수강 신청이 확정되었습니다. 카드 사용 {enrolment.card_draw:,}원, 자비부담 {enrolment.self_pay:,}원.",
            "success",
        )
        return redirect(url_for("vouchers.my_enrolments"))
    payment = payments.current_payment(enrolment.id)
    if payment is not None and payment.status == PaymentStatus.FAILED:
        flash(f"자비부담금 결제가 완료되지 않았습니다. {payment.failure_message or ''}".strip(), "error")
    elif PAY_ENDPOINT in current_app.view_functions:
        return redirect(url_for(PAY_ENDPOINT, enrolment_id=enrolment.id))
    else:
        flash("수강 신청을 접수했습니다. 자비부담금 결제가 끝나면 확정됩니다.", "info")
    return redirect(url_for("vouchers.my_enrolments"))


# -- the learner's enrolments -----------------------------------------------------------------------------------


@bp.get("/me/enrolments")
@roles(Role.LEARNER)
def my_enrolments():
    found, rows = read_models.my_enrolments(current_user.id, _page())
    pay_endpoint = PAY_ENDPOINT if PAY_ENDPOINT in current_app.view_functions else None
    return render_template("vouchers/enrolments.html", found=found, rows=rows, pay_endpoint=pay_endpoint)


@bp.route("/me/enrolments/<int:enrolment_id>/cancel", methods=["GET", "POST"])
@roles(Role.LEARNER)
def cancel(enrolment_id: int):
    page = read_models.cancel_page(enrolment_id, current_user.id, kst_today())
    form = CancelForm()
    form.set_reasons(page.reasons)
    if not form.validate_on_submit():
        return _form_page("vouchers/cancel.html", form, page=page)
    with unit_of_work(write_lock=True):
        done = checkout.cancel_own(
            enrolment_id,
            current_user.id,
            today=kst_today(),
            actor=current_user.pseudonym,
            exempt_reason=form.exempt_reason.data or None,
        )
    flash(read_models.cancelled_message(done), "success")
    return redirect(url_for("vouchers.my_enrolments"))


# -- the admin's application queue -------------------------------------------------------------------------------


@bp.get("/admin/cards/applications")
@roles(Role.ADMIN)
def admin_applications():
    status = request.args.get("status", ApplicationStatus.SUBMITTED)
    if status not in set(ApplicationStatus):
        status = ApplicationStatus.SUBMITTED
    found, rows = read_models.applications(status, _page())
    return render_template(
        "vouchers/admin_applications.html",
        found=found,
        rows=rows,
        status=status,
        form=DecisionForm(),
        rules=cards.card_rules(),
        group_labels=cards.group_labels(),
        labels=read_models.APPLICATION_LABELS,
    )


@bp.post("/admin/cards/applications/<int:application_id>")
@roles(Role.ADMIN)
def decide_application(application_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(" ".join(sum(form.errors.values(), [])) if form.errors else "입력 내용을 확인해 주세요.", "error")
        return redirect(url_for("vouchers.admin_applications")), 303
    with unit_of_work(write_lock=True):
        cards.decide_application(
            application_id,
            approve=form.approve,
            actor=current_user.pseudonym,
            today=kst_today(),
            reason=form.reason.data or None,
        )
    flash(f"신청 {application_id}번을 {'승인하고 카드를 발급' if form.approve else '반려'}했습니다.", "success")
    return redirect(url_for("vouchers.admin_applications"))


@bp.get("/admin/exemptions")
@roles(Role.ADMIN)
def admin_exemptions():
    found, rows = read_models.claimed_reasons(_page())
    return render_template("vouchers/admin_exemptions.html", found=found, rows=rows, form=DecisionForm())


@bp.post("/admin/exemptions/<int:enrolment_id>")
@roles(Role.ADMIN)
def decide_exemption(enrolment_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(" ".join(sum(form.errors.values(), [])) if form.errors else "입력 내용을 확인해 주세요.", "error")
        return redirect(url_for("vouchers.admin_exemptions")), 303
    with unit_of_work(write_lock=True):
        endings.decide_reason(
            enrolment_id, accept=form.approve, on=kst_today(), actor=current_user.pseudonym, note=form.reason.data or ""
        )
    flash(
        f"수강 신청 {enrolment_id}번의 면제 사유를 {'인정해 제재를 면제' if form.approve else '인정하지 않고 제재를 적용'}했습니다.",
        "success",
    )
    return redirect(url_for("vouchers.admin_exemptions"))


@bp.get("/admin/identity-links")
@roles(Role.ADMIN)
def admin_identity_links():
    found, rows = identity_review.pending(_page())
    return render_template("vouchers/admin_identity_links.html", found=found, rows=rows, form=DecisionForm())


@bp.post("/admin/identity-links/<int:user_id>")
@roles(Role.ADMIN)
def decide_identity_link(user_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(" ".join(sum(form.errors.values(), [])) if form.errors else "입력 내용을 확인해 주세요.", "error")
        return redirect(url_for("vouchers.admin_identity_links")), 303
    with unit_of_work(write_lock=True):
        identity_review.decide(
            user_id, approve=form.approve, actor=current_user.pseudonym, reason=form.reason.data or None
        )
    flash(f"본인 연결 요청을 {'승인' if form.approve else '거절'}했습니다.", "success")
    return redirect(url_for("vouchers.admin_identity_links"))
