"""The search page: /courses?q=…&region=…, every condition in the address so links can be shared and Back works.

Thin like every view: read the address (search.forms: a bad value is left out and named, never an error) →
one call to the search core → render. Facets are links (one condition each; a selected value's link removes
it), so the whole page works without JavaScript; static/js/search.js only adds autocomplete.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, render_template, request

from courses import services as courses_services
from hrdnet import korean
from hrdnet.access import current_learner_id, public
from hrdnet.timeutil import kst_today
from search import forms, jobs, presenters
from search.interfaces import SORT_LABELS
from search.query import index_ready, search

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
    params = dataclasses.replace(result.params or searched, max_card_draw=asked.max_card_draw, by_course=False)
    pages = presenters.Pages(result.page, result.per_page, result.course_total or 0)
    my_prices = courses_services.viewer_prices(presenters.shown_run_ids(result), learner, today)
    result = presenters.rank_by_my_price(params, result, my_prices)
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
        runs=jobs.runs_for(job) if job else None,
        common=list(jobs.COMMON_JOBS),
    )
