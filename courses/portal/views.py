"""Provider portal pages (/provider/…) and the auditor's approval queue (/audit/submissions…).

Thin views: load (scoped to the signed-in user's organisation, else 404) → validate the form → one service
call in one unit of work → redirect. A GET only reads.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from courses.portal import bulk, fields, services, workflow
from courses.portal.forms import BulkUploadForm, ConfirmForm, DecisionForm, RunSubmissionForm
from hrdnet.access import Role, roles
from hrdnet.db import unit_of_work

bp = Blueprint("portal", __name__)


def _provider_id() -> int:
    return current_user.provider_id


def _ministry_id() -> int | None:
    """The auditor's ministry; None for an admin, who sees every ministry's queue."""
    return None if current_user.role == Role.ADMIN else current_user.ministry_id


@bp.app_template_global()
def pending_submissions() -> int:
    """For the auditor's home page: submissions of the auditor's programmes waiting for a decision."""
    return services.pending_count(_ministry_id())


# -- provider ---------------------------------------------------------------------------------------------


@bp.get("/provider/")
@roles(Role.PROVIDER)
def home():
    provider_id = _provider_id()
    return render_template(
        "portal/home.html",
        provider=services.provider(provider_id),
        submissions=services.provider_submissions(provider_id),
        notices=services.notices(provider_id),
        labels=workflow.STATE_LABELS,
    )


@bp.route("/provider/submissions/new", methods=["GET", "POST"])
@roles(Role.PROVIDER)
def new_submission():
    form = RunSubmissionForm()
    if form.validate_on_submit() and (not form.submitting or form.check_submission(_provider_id(), None)):
        with unit_of_work(write_lock=True):
            submission = services.save(
                _provider_id(), form.values(), actor=current_user.pseudonym, submit=form.submitting
            )
        flash("승인을 요청했습니다." if form.submitting else "임시 저장했습니다.", "success")
        return redirect(url_for("portal.submission", submission_id=submission.id))
    return render_template("portal/edit.html", form=form, submission=None), 422 if form.errors else 200


@bp.route("/provider/submissions/upload", methods=["GET", "POST"])
@roles(Role.PROVIDER)
def upload_submissions():
    """Many runs at once from a CSV file; a report of every row that could not be submitted."""
    form = BulkUploadForm()
    if not form.validate_on_submit():
        return render_template("portal/upload.html", form=form, report=None, fields=fields.FIELDS), (
            422 if form.errors else 200
        )
    text = form.file.data.read().decode("utf-8-sig", errors="replace")
    with unit_of_work(write_lock=True):
        report = bulk.submit_csv(_provider_id(), text, actor=current_user.pseudonym)
    page = render_template("portal/upload.html", form=BulkUploadForm(), report=report, fields=fields.FIELDS)
    return page, 422 if report.problems else 200


@bp.get("/provider/submissions/<int:submission_id>")
@roles(Role.PROVIDER)
def submission(submission_id: int):
    found = services.own_submission(submission_id, _provider_id())
    return render_template(
        "portal/submission.html",
        review=services.review(found),
        labels=workflow.STATE_LABELS,
        confirm=ConfirmForm(),
        withdrawable=(found.state, "withdraw") in workflow.TRANSITIONS,
        editable=(found.state, "save") in workflow.TRANSITIONS,
    )


@bp.route("/provider/submissions/<int:submission_id>/edit", methods=["GET", "POST"])
@roles(Role.PROVIDER)
def edit_submission(submission_id: int):
    found = services.own_submission(submission_id, _provider_id())
    form = RunSubmissionForm()
    if not form.is_submitted():
        form.fill(services.revision_values(found))
    elif form.validate() and (not form.submitting or form.check_submission(_provider_id(), found.run_id)):
        with unit_of_work(write_lock=True):
            services.save(
                _provider_id(),
                form.values(),
                actor=current_user.pseudonym,
                submission_id=submission_id,
                submit=form.submitting,
            )
        flash("승인을 요청했습니다." if form.submitting else "임시 저장했습니다.", "success")
        return redirect(url_for("portal.submission", submission_id=submission_id))
    return render_template("portal/edit.html", form=form, submission=found), 422 if form.errors else 200


@bp.post("/provider/submissions/<int:submission_id>/withdraw")
@roles(Role.PROVIDER)
def withdraw_submission(submission_id: int):
    if ConfirmForm().validate_on_submit():
        with unit_of_work(write_lock=True):
            services.withdraw(submission_id, _provider_id(), actor=current_user.pseudonym)
        flash("철회했습니다. 공개 중이던 회차는 목록에서 내려갑니다.", "success")
    return redirect(url_for("portal.submission", submission_id=submission_id))


# -- auditor ----------------------------------------------------------------------------------------------


@bp.get("/audit/submissions/")
@roles(Role.AUDITOR, Role.ADMIN)
def queue():
    return render_template("portal/queue.html", submissions=services.queue(_ministry_id()))


@bp.route("/audit/submissions/<int:submission_id>", methods=["GET", "POST"])
@roles(Role.AUDITOR, Role.ADMIN)
def review(submission_id: int):
    found = services.scoped_submission(submission_id, _ministry_id())
    form = DecisionForm()
    if form.validate_on_submit():
        with unit_of_work(write_lock=True):
            services.decide(
                submission_id,
                approve=bool(form.approve.data),
                reason=form.reason.data,
                ministry_id=_ministry_id(),
                actor=current_user.pseudonym,
            )
        flash(
            "승인했습니다. 다음 처리 때 목록과 검색에 나타납니다." if form.approve.data else "반려했습니다.", "success"
        )
        return redirect(url_for("portal.queue"))
    return render_template(
        "portal/review.html", review=services.review(found), form=form, labels=workflow.STATE_LABELS
    ), 422 if form.errors else 200


@bp.get("/provider/ncs")
@roles(Role.PROVIDER)
def ncs_search():
    """NCS 세분류 codes whose name (in Korean) or code matches, for the form's suggestion list."""
    return jsonify(items=services.search_ncs(request.args.get("q", "")))
