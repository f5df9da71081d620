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
from hrdnet.timeutil import kst_today
from vouchers import checkout, errors
from vouchers.enrolments import roster
from vouchers.web.forms import AttendanceCsvForm, AttendanceDayForm, CancelRunForm, ContactReasonForm

bp = Blueprint("provider_runs", __name__)


def _run(run_id: int):
    return roster.run_of_provider(run_id, current_user.provider_id)


def _day(run) -> date:
    """The day the roster shows: ?day=, else today within the run, else its first day."""
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return min(max(kst_today(), run.start_date), run.end_date)


def _page(run, *, contact=None, contact_form=None, status=200):
    day = _day(run)
    taker = portal.takes_attendance(current_user.id)
    page = render_template(
        "vouchers/provider_roster.html",
        run=run,
        day=day,
        rows=roster.roster(run, day=day, today=kst_today(), unmasked=taker),
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


@bp.get("/provider/runs/<int:run_id>/settlements")
@roles(Role.PROVIDER)
def run_settlements(run_id: int):
    run = _run(run_id)
    return render_template("vouchers/run_settlements.html", run=run, periods=roster.settlements(run, kst_today()))


@bp.get("/audit/runs/<int:run_id>/settlements")
@roles(Role.AUDITOR, Role.ADMIN)
def audit_settlements(run_id: int):
    run = roster.run_of_ministry(run_id, None if current_user.role == Role.ADMIN else current_user.ministry_id)
    return render_template("vouchers/run_settlements.html", run=run, periods=roster.settlements(run, kst_today()))


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
