"""The search page: /courses?q=…&region=…, every condition in the address so links can be shared and Back works.

Thin like every view: read the address (search.forms: a bad value is left out and named, never an error) →
one call to the search core → render. Facets are links (one condition each; a selected value's link removes
it), so the whole page works without JavaScript; static/js/search.js only adds autocomplete.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from courses import services as courses_services
from hrdnet import korean
from hrdnet.access import Role, current_learner_id, public, roles
from hrdnet.db import unit_of_work
from hrdnet.timeutil import kst_today, utcnow
from search import forms, jobs, presenters, saved
from search.engine import index_ready, job_runs, search
from search.interfaces import SORT_LABELS

bp = Blueprint("search", __name__)

# Shown on the home page and in the empty state: what people search for most in digital training.
POPULAR_TOPICS = ("파이썬", "데이터 분석", "인공지능", "클라우드", "웹 개발", "정보보안", "빅데이터", "UX/UI 디자인")


@bp.get("/courses")
@public
def courses():
    asked, ignored = forms.parse_page_args(request.args)
    learner, today = current_learner_id(), kst_today()
    searched, refused = presenters.for_viewer(asked, learner, today)
    ignored = ignored + refused
    result = search(dataclasses.replace(searched, by_course=True))  # one card per course, its runs as chips
    # The search as run (query words read as filters are chips from here on), its addresses without the balance.
    params = dataclasses.replace(
        result.params or searched, max_card_draw=asked.max_card_draw, by_course=False, price_classes=()
    )
    pages = presenters.Pages(result.page, result.per_page, result.course_total or 0)
    my_prices = courses_services.viewer_prices(presenters.shown_run_ids(result), learner, today)
    return render_template(
        "search/results.html",
        params=params,
        result=result,
        ignored=ignored,
        pages=pages,
        query_args=presenters.to_args(params),
        chips=presenters.chips(params, result),
        facets=presenters.facet_links(params, result),
        search_url=lambda **changes: presenters.search_url(params, **changes),
        popular=POPULAR_TOPICS,
        sort_labels=SORT_LABELS,
        particle=korean.particle,
        index_missing=not result.total and not index_ready(),
        past_page=params.page > 1 and not result.items and result.total > 0,
        total=result.course_total or 0,
        learner=learner,
        save_form=forms.SavedSearchForm(formdata=None) if learner else None,
        my_prices=my_prices,
    )


@bp.record_once
def _template_globals(state) -> None:
    """The popular topics, for the home page's search box (hrdnet/site.py renders it without context)."""
    state.app.jinja_env.globals["search_popular_topics"] = POPULAR_TOPICS


@bp.get("/jobs")
@public
def job_finder():
    """직무로 찾기: type a job (데이터 분석가, 빅데이터분석), pick one, see its runs and the programmes that pay."""
    q = (request.args.get("q") or "").strip()[:50]
    job = jobs.job_of(request.args.get("job") or "")
    return render_template(
        "search/jobs.html",
        q=q,
        found=jobs.find_jobs(q) if q and job is None else [],
        job=job,
        runs=job_runs(job) if job else None,
        common=list(jobs.COMMON_JOBS),
    )


# -- saved searches with alerts (search.saved) -----------------------------------------------------------------


@bp.post("/me/saved-searches")
@roles(Role.LEARNER)
def save_search():
    form = forms.SavedSearchForm()
    params, _ignored = forms.parse_page_args(
        {key: value for key, value in request.form.items() if key not in ("name", "csrf_token")}
    )
    back = url_for("search.courses", **presenters.to_args(params))
    if not form.validate_on_submit():
        flash(" ".join(_form_errors(form)) or "저장하지 못했습니다.", "error")
        return redirect(back), 303
    try:
        with unit_of_work(write_lock=True):
            saved.save(current_user.id, form.name.data, params, utcnow())
    except saved.SavedSearchError as error:
        flash(str(error), "error")
        return redirect(back), 303
    flash("검색을 저장했습니다. 이 검색에 새로 맞는 회차가 생기면 알려 드립니다.", "success")
    return redirect(url_for("search.saved_searches")), 303


@bp.get("/me/saved-searches")
@roles(Role.LEARNER)
def saved_searches():
    return render_template(
        "search/saved.html",
        searches=saved.of_user(current_user.id),
        form=forms.SavedSearchForm(formdata=None),
        delete_form=forms.DeleteSavedSearchForm(),
    )


@bp.get("/me/saved-searches/<int:saved_id>/results")
@roles(Role.LEARNER)
def saved_search_results(saved_id: int):
    """A saved search's results (the link of an alert that found many new runs at once)."""
    found = saved.own(current_user.id, saved_id)
    return redirect(url_for("search.courses", **found.args)), 303


@bp.post("/me/saved-searches/<int:saved_id>/rename")
@roles(Role.LEARNER)
def rename_saved_search(saved_id: int):
    form = forms.SavedSearchForm()
    saved.own(current_user.id, saved_id)  # 404 for another learner's, before saying anything about the form
    if not form.validate_on_submit():
        flash(" ".join(_form_errors(form)) or "이름을 바꾸지 못했습니다.", "error")
        return redirect(url_for("search.saved_searches")), 303
    with unit_of_work(write_lock=True):
        saved.rename(current_user.id, saved_id, form.name.data)
    flash("이름을 바꿨습니다.", "success")
    return redirect(url_for("search.saved_searches")), 303


@bp.post("/me/saved-searches/<int:saved_id>/delete")
@roles(Role.LEARNER)
def delete_saved_search(saved_id: int):
    form = forms.DeleteSavedSearchForm()
    saved.own(current_user.id, saved_id)
    if not form.validate_on_submit():
        flash("보안 토큰이 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요.", "error")
        return redirect(url_for("search.saved_searches")), 303
    with unit_of_work(write_lock=True):
        saved.delete(current_user.id, saved_id)
    flash("저장한 검색을 지웠습니다.", "success")
    return redirect(url_for("search.saved_searches")), 303


def _form_errors(form) -> list[str]:
    return [message for messages in form.errors.values() for message in messages if isinstance(message, str)]
