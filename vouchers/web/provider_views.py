"""Provider pages of a run's learners: the roster (names masked unless the staff member takes attendance),
one day's attendance by form or CSV upload, contact data behind a stated reason, and each unit period's
settlement (also for the auditors of the run's ministry). Scoped by the run's provider (or ministry): a run of
another organisation is "not found".
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from courses.portal import services as portal
from hrdnet.access import Role, roles
from hrdnet.db import unit_of_work
from hrdnet.errors import DomainError
from hrdnet.timeutil import kst_today
from vouchers import checkout, errors
from vouchers.enrolments import corrections, roster
from vouchers.web.forms import (
    AttendanceCsvForm,
    AttendanceDayForm,
    CancelRunForm,
    ContactReasonForm,
    CorrectionRequestForm,
    DecisionForm,
)

bp = Blueprint("provider_runs", __name__)


def _run(run_id: int):
    return roster.run_of_provider(run_id, current_user.provider_id)


def _day(run) -> date:
    """The day the roster shows: ?day=, else today within the run, else its first day."""
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return min(max(kst_today(), run.start_date), run.end_date)


def _page(run, *, contact=None, contact_form=None, correction_form=None, status=200):
    day = _day(run)
    taker = portal.takes_attendance(current_user.id)
    rows = roster.roster(run, day=day, today=kst_today(), unmasked=taker)
    page = render_template(
        "vouchers/provider_roster.html",
        run=run,
        day=day,
        rows=rows,
        correction_form=correction_form or _correction_form(rows),
        takes_attendance=taker,
        day_form=AttendanceDayForm(day=day),
        csv_form=AttendanceCsvForm(),
        contact_form=contact_form or ContactReasonForm(),
        cancel_form=CancelRunForm(),
        provider_admin=portal.is_provider_admin(current_user.id),
        contact=contact,
        labels=roster.MARK_LABELS,
    )
    return page, status


@bp.get("/provider/runs/")
@roles(Role.PROVIDER)
def runs():
    return render_template("vouchers/provider_runs.html", runs=roster.runs_of_provider(current_user.provider_id))


@bp.get("/provider/runs/<int:run_id>/roster")
@roles(Role.PROVIDER)
def run_roster(run_id: int):
    return _page(_run(run_id))


@bp.post("/provider/runs/<int:run_id>/attendance")
@roles(Role.PROVIDER)
def record_attendance(run_id: int):
    run = _run(run_id)
    if not portal.takes_attendance(current_user.id):
        raise errors.AttendanceDutyRequired()
    form = AttendanceDayForm()
    if form.validate_on_submit():
        ids = [row.enrolment_id for row in roster.roster(run, day=form.day.data, today=kst_today(), unmasked=False)]
        with unit_of_work(write_lock=True):
            count = roster.record_day(
                run, form.day.data, form.marks(ids, request.form), actor=current_user.pseudonym, today=kst_today()
            )
        flash(f"{form.day.data.isoformat()} 출석 {count}건을 저장했습니다.", "success")
        return redirect(url_for("provider_runs.run_roster", run_id=run_id, day=form.day.data.isoformat()))
    return _page(run, status=422)


@bp.post("/provider/runs/<int:run_id>/attendance.csv")
@roles(Role.PROVIDER)
def upload_attendance(run_id: int):
    run = _run(run_id)
    if not portal.takes_attendance(current_user.id):
        raise errors.AttendanceDutyRequired()
    form = AttendanceCsvForm()
    if not form.validate_on_submit():
        return _page(run, status=422)
    text = form.file.data.read().decode("utf-8-sig", errors="replace")
    with unit_of_work(write_lock=True):
        recorded, problems = roster.record_csv(run, text, actor=current_user.pseudonym, today=kst_today())
    page = render_template("vouchers/provider_csv_report.html", run=run, recorded=recorded, problems=problems)
    return page, 200 if not problems else 422


@bp.post("/provider/runs/<int:run_id>/roster/<int:enrolment_id>/contact")
@roles(Role.PROVIDER)
def learner_contact(run_id: int, enrolment_id: int):
    run = _run(run_id)
    form = ContactReasonForm()
    if not form.validate_on_submit():
        return _page(run, contact_form=form, status=422)
    with unit_of_work(write_lock=True):
        found = roster.contact(run, enrolment_id, reason=form.reason.data, actor=current_user.pseudonym)
    return _page(run, contact=found | {"enrolment_id": enrolment_id})


def _correction_form(rows) -> CorrectionRequestForm:
    form = CorrectionRequestForm()
    form.enrolment_id.choices = [(row.enrolment_id, f"{row.enrolment_id} {row.learner}") for row in rows]
    form.mark.choices = list(roster.MARK_LABELS.items())
    return form


@bp.post("/provider/runs/<int:run_id>/corrections")
@roles(Role.PROVIDER)
def request_correction(run_id: int):
    """A mark of a settled period, changed only once an auditor approves (vouchers.enrolments.corrections)."""
    run = _run(run_id)
    if not portal.takes_attendance(current_user.id):
        raise errors.AttendanceDutyRequired()
    form = _correction_form(roster.roster(run, day=_day(run), today=kst_today(), unmasked=True))
    if form.validate_on_submit():
        try:
            with unit_of_work(write_lock=True):
                corrections.request(
                    run.id,
                    form.enrolment_id.data,
                    form.day.data,
                    form.mark.data,
                    form.reason.data,
                    actor=current_user.pseudonym,
                    today=kst_today(),
                )
        except DomainError as refusal:
            form.form_errors.append(refusal.message)
        else:
            flash("출석 정정을 요청했습니다. 감사 담당자가 승인하면 반영되고 지급액 차이가 정산됩니다.", "success")
            return redirect(url_for("provider_runs.run_settlements", run_id=run.id))
    return _page(run, correction_form=form, status=422)


def _settlements_page(run):
    return render_template(
        "vouchers/run_settlements.html",
        run=run,
        periods=roster.settlements(run, kst_today()),
        corrections=corrections.of_run(run),
        labels=roster.MARK_LABELS,
    )


@bp.get("/provider/runs/<int:run_id>/settlements")
@roles(Role.PROVIDER)
def run_settlements(run_id: int):
    return _settlements_page(_run(run_id))


def _ministry() -> int | None:
    """The auditor's ministry; None for an admin, who sees every ministry."""
    return None if current_user.role == Role.ADMIN else current_user.ministry_id


@bp.get("/audit/runs/<int:run_id>/settlements")
@roles(Role.AUDITOR, Role.ADMIN)
def audit_settlements(run_id: int):
    return _settlements_page(roster.run_of_ministry(run_id, _ministry()))


@bp.get("/audit/corrections/")
@roles(Role.AUDITOR, Role.ADMIN)
def correction_queue():
    """Attendance corrections of settled periods waiting for this ministry's decision, oldest first."""
    return render_template(
        "vouchers/correction_queue.html",
        items=corrections.pending_for_ministry(_ministry()),
        form=DecisionForm(),
        labels=roster.MARK_LABELS,
    )


@bp.post("/audit/corrections/<int:correction_id>")
@roles(Role.AUDITOR, Role.ADMIN)
def decide_correction(correction_id: int):
    corrections.correction_in_scope(correction_id, _ministry())  # another ministry's: 404 before the form
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(" ".join(form.reason.errors or form.decision.errors) or "승인 또는 반려를 골라 주세요.", "error")
        return redirect(url_for("provider_runs.correction_queue"))
    with unit_of_work(write_lock=True):
        decided = corrections.decide(
            correction_id,
            approve=form.approve,
            reason=form.reason.data,
            ministry_id=_ministry(),
            actor=current_user.pseudonym,
        )
    if decided.status == "approved":
        flash(f"정정을 승인했습니다. 지급액 변동 {decided.amount_change:+,}원.", "success")
    else:
        flash("정정 요청을 반려했습니다.", "success")
    return redirect(url_for("provider_runs.correction_queue"))


@bp.post("/provider/runs/<int:run_id>/cancel")
@roles(Role.PROVIDER)
def cancel_run(run_id: int):
    """폐강 (the provider's admin): every learner's hold released and co-payment refunded, each told."""
    run = _run(run_id)
    if not portal.is_provider_admin(current_user.id):
        raise errors.ProviderAdminRequired()
    form = CancelRunForm()
    if not form.validate_on_submit():
        return _page(run, status=422)
    with unit_of_work(write_lock=True):
        count = checkout.cancel_run(
            run.id, current_user.provider_id, today=kst_today(), actor=current_user.pseudonym, reason=form.reason.data
        )
    flash(f"폐강했습니다. 수강생 {count}명의 신청을 취소하고 환불했습니다.", "success")
    return redirect(url_for("provider_runs.runs"))
