"""Catalog pages: a run, a provider, browsing by ministry / programme / NCS / region, and the admin's
import log and course merge/split. Views are thin: read the address → one service call → render.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, g, has_request_context, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from courses import services
from courses.forms import MergeForm, SplitForm
from hrdnet.access import Role, current_learner_id, public, roles
from hrdnet.bounds import page_number
from hrdnet.db import unit_of_work
from hrdnet.errors import DomainError
from hrdnet.timeutil import format_day, kst_today

bp = Blueprint("courses", __name__)


def _page() -> int:
    return page_number()


def _include_old() -> bool:
    return request.args.get("old") == "1"


# -- public pages ------------------------------------------------------------------------------------


@bp.get("/runs/<int:run_id>")
@public
def run(run_id: int):
    page = services.run_page(run_id, kst_today(), viewer_id=current_learner_id())
    return render_template("courses/run.html", page=page)


@bp.get("/compare")
@public
def compare():
    """2–4 runs side by side; the address (?runs=1,2,3) is the whole state, so a comparison is shareable."""
    ids = services.parse_compare_ids(request.args.get("runs", ""))
    page = services.compare_page(ids, kst_today(), viewer_id=current_learner_id())
    return render_template("courses/compare.html", page=page)


@bp.get("/providers/<int:provider_id>")
@public
def provider(provider_id: int):
    page = services.provider_page(provider_id, page=_page(), today=kst_today(), include_old=_include_old())
    return render_template("courses/provider.html", page=page, include_old=_include_old())


@bp.get("/browse/")
@public
def browse_index():
    return render_template("courses/browse_index.html", index=services.browse_index(kst_today()))


BROWSERS = {
    "ministry": services.browse_ministry,
    "programme": services.browse_programme,
    "ncs": services.browse_ncs,
    "region": services.browse_region,
}


@bp.get("/browse/<any(ministry, programme, ncs, region):kind>/<code>")
@public
def browse(kind: str, code: str):
    found = BROWSERS[kind](code, page=_page(), today=kst_today(), include_old=_include_old())
    return render_template("courses/browse.html", browse=found, include_old=_include_old())


# -- admin: imports ------------------------------------------------------------------------------------


@bp.get("/admin/imports")
@roles(Role.ADMIN)
def admin_imports():
    return render_template("admin/imports.html", imports=services.imports_page(_page()))


@bp.get("/admin/imports/<int:import_id>")
@roles(Role.ADMIN)
def admin_import(import_id: int):
    row, rejections = services.import_detail(import_id)
    return render_template("admin/import_detail.html", row=row, rejections=rejections)


# -- admin: merge and split courses ------------------------------------------------------------------


@bp.get("/admin/courses")
@roles(Role.ADMIN)
def admin_courses():
    q = request.args.get("q", "")[:100]
    return render_template("admin/courses.html", courses=services.courses_page(q, _page()), q=q)


def _course_page(course_id: int, merge_form: MergeForm, status: int = 200, split_error: str | None = None):
    return render_template(
        "admin/course.html",
        admin=services.course_admin(course_id),
        merge_form=merge_form,
        split_form=SplitForm(),
        split_error=split_error,
    ), status


@bp.get("/admin/courses/<int:course_id>")
@roles(Role.ADMIN)
def admin_course(course_id: int):
    return _course_page(course_id, MergeForm())


@bp.post("/admin/courses/<int:course_id>/merge")
@roles(Role.ADMIN)
def merge_course(course_id: int):
    form = MergeForm()
    if not form.validate_on_submit():
        return _course_page(course_id, form, 400)
    try:
        with unit_of_work(write_lock=True):
            result = services.merge_courses(course_id, form.merge_id.data, current_user.pseudonym)
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return _course_page(course_id, form, exc.status)
    flash(
        f"과정 {result.merged}번을 이 과정으로 합쳤습니다: 목록 {len(result.listings)}개, 회차 {result.runs}개를 "
        f"옮겼습니다. {'빈 과정은 삭제했습니다.' if result.removed else '빈 과정은 기록으로 남겼습니다.'}",
        "success",
    )
    return redirect(url_for("courses.admin_course", course_id=course_id))


@bp.post("/admin/courses/<int:course_id>/listings/<int:listing_id>/split")
@roles(Role.ADMIN)
def split_listing(course_id: int, listing_id: int):
    if not SplitForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work(write_lock=True):
            result = services.split_listing(listing_id, current_user.pseudonym)
    except DomainError as exc:
        return _course_page(course_id, MergeForm(formdata=None), exc.status, exc.message)
    flash(f"목록을 새 과정 {result.new_course}번으로 분리했습니다 (회차 {result.runs}개).", "success")
    return redirect(url_for("courses.admin_course", course_id=result.new_course))


# -- every page: the footer's "data as of", and date formatting ----------------------------------------


@bp.app_context_processor
def _data_as_of():
    """The latest import per source, for the footer of every page (one small grouped query per request).
    Outside requests (e-mails rendered by the worker) there is no footer."""
    if not has_request_context():
        return {}
    if "data_as_of" not in g:
        try:
            g.data_as_of = services.data_as_of_text()
        except SQLAlchemyError:  # an error page for a failed database must still render
            g.data_as_of = None
    return {"data_as_of": g.data_as_of}


@bp.record_once
def _template_globals(state) -> None:
    """Korean labels of the catalog's codes, for every template (`catalog.mode[run.mode]` …)."""
    state.app.jinja_env.globals["catalog"] = {
        "weekend": services.WEEKEND_LABELS,
        "mode": services.MODE_LABELS,
        "lifecycle": services.LIFECYCLE_LABELS,
        "account": services.ACCOUNT_LABELS,
        "import_status": services.IMPORT_STATUS_LABELS,
        "source": services.source_label,
        "run_source_url": services.run_source_url,
        "small_sample": services.SMALL_SAMPLE,
    }


@bp.app_template_filter("date_ko")
def date_ko(value: date | None) -> str:
    """2026-12-01 → '2026-12-01(화)'."""
    return format_day(value)
