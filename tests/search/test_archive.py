"""The default search runs on the enrollable runs only (search.index.enrollable); the archive is behind the toggles.

A randomized catalogue (fixed seed) of open, full, closed, started, ended and dropped runs: the default search on
the Enrollable answers exactly what the same search over the whole version answers (Hypothesis, derandomized),
a closed or past run is found only with the toggle, and a run that an edit moves between enrollable and archive
through the outbox is always one document, found once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from random import Random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from courses import changes
from courses.models import Run
from hrdnet import outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from search import query, ranking
from search.index import enrollable, versions
from search.interfaces import SearchParams
from tests.support.search_index import indexed_catalog

TITLES = (
    "파이썬 데이터 분석 입문",
    "파이썬 웹 개발 실무",
    "자바 스프링 백엔드 개발자",
    "클라우드 네이티브 데브옵스",
    "인공지능 머신러닝 기초",
    "빅데이터 엔지니어링 부트캠프",
    "UX/UI 디자인 실무",
    "전산회계 1급 자격증",
    "정보보안 전문가 양성",
    "AI 서비스 기획",
    "React 프론트엔드 개발",
    "SQL 데이터베이스 기초",
)
ARCHIVED = (
    "AI 인공지능 딥러닝 입문",
    "인공지능 파이썬 프로그래밍",
    "파이썬 파이썬 데이터 개발",
    "머신러닝 데이터 분석 실무",
    "자바 백엔드 개발 실무",
    "클라우드 AWS 개발",
)
REGIONS = ("11680", "11440", "26110", "41135", "41117", "27110")
WORDS = (
    "",
    "파이썬",
    "개발",
    "데이터",
    "AI",
    "인공지능",
    "머신러닝 실무",
    "자바 백엔드",
    "클라우드",
    "실무",
    "파이선",
    "디자인 실무",
    "부산 개발",
)


def _build(catalog):
    """About 90 runs over 12 courses, their states drawn from a fixed seed: {run id: state}."""
    rng = Random("hrdnet-archive-split")
    today = catalog.today
    providers = [catalog.provider(name) for name in ("한빛 디지털아카데미", "부산 코딩스쿨", "그린 IT 아카데미")]
    runs = {}
    for n, title in enumerate(TITLES):
        course = catalog.course(title, provider=providers[n % 3], ncs_code=rng.choice(("20010202", "02030201")))
        for _ in range(rng.randint(4, 11)):
            state = rng.choice(("open", "open", "open", "full", "closed", "started", "ended", "dropped"))
            start = {
                "started": today - timedelta(days=rng.randint(1, 20)),
                "ended": today - timedelta(days=rng.randint(200, 900)),
            }.get(state, today + timedelta(days=rng.randint(1, 120)))
            run = catalog.run(
                course,
                start=start,
                days=rng.choice((30, 90)),
                region_code=rng.choice(REGIONS),
                mode=rng.choice(("classroom", "remote", "blended")),
                weekend=rng.choice(("weekday", "weekend")),
                fee=rng.choice((0, 800_000, 2_000_000, 4_500_000)),
                source_enrolled=30 if state == "full" else rng.randint(0, 20),
                local_enrolled=0,
                status="closed" if state == "closed" else "open",
                not_seen_since=today - timedelta(days=2) if state == "dropped" else None,
            )
            runs[run.id] = state
    for n, title in enumerate(ARCHIVED):  # courses only the archive holds: a word's rarity counts them too
        run = catalog.run(
            catalog.course(title, provider=providers[n % 3]), start=today - timedelta(days=400 + n), days=30
        )
        runs[run.id] = "ended"
    return runs


@pytest.fixture(scope="module")
def archive(request, tmp_path_factory):
    yield from indexed_catalog(request, tmp_path_factory, "search-archive", _build)


def _answer(result):
    """What a search shows, comparable: total, the runs in order, the courses, the facets, the words."""
    return (
        result.total,
        [hit.run_id for hit in result.items],
        result.course_total,
        [(c.hit.run_id, [chip.run_id for chip in c.runs], c.more_runs) for c in result.courses or []],
        {name: [(v.value, v.count, v.selected) for v in values] for name, values in result.facets.items()},
        result.suggestion,
        result.corrected_from,
        result.notes,
    )


def _over_the_whole_version(params: SearchParams):
    """The default search over every document of the live version, as it ran before the Enrollable."""
    today = query.kst_today()
    with versions.using() as version:
        return query._search(version, params, params.page, params.per_page, time.perf_counter(), today)


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.sampled_from(WORDS),
    region=st.sampled_from((None, "11", "26", "41135", "11,26")),
    mode=st.sampled_from((None, "classroom", "remote")),
    weekend=st.sampled_from((None, "weekend")),
    seats=st.booleans(),
    fee_band=st.sampled_from((None, "free", "1m-3m")),
    sort=st.sampled_from(("relevance", "start", "price", "deadline")),
    by_course=st.booleans(),
    page=st.sampled_from((1, 2)),
)
def test_the_default_search_on_the_enrollable_runs_answers_as_over_the_whole_index(
    archive, q, region, mode, weekend, seats, fee_band, sort, by_course, page
):
    params = SearchParams(
        q=q,
        region=region,
        mode=mode,
        weekend=weekend,
        seats=seats,
        fee_band=fee_band,
        sort=sort,
        by_course=by_course,
        page=page,
        per_page=5,
    )
    assert _answer(query.search(params)) == _answer(_over_the_whole_version(params))
    if q:  # and every run's score is the one the whole version gives it
        with versions.using() as version:
            subset = enrollable.of(version, query.facets.days(query.kst_today()))
            known = versions.analysis_known(version)
            parsed = ranking.parse_query(q, known)
            ours = ranking.group_scores(subset, parsed, known)
            theirs = ranking.group_scores(version, parsed, known)
            runs = subset.cols["is_run"]
            for mine, whole in zip(ours, theirs, strict=True):
                assert np.array_equal(mine[runs], whole[subset.docs][runs])


def test_the_enrollable_index_holds_exactly_the_recruiting_runs_and_their_courses(archive):
    version = versions.current()
    day = query.facets.days(query.kst_today())
    subset = enrollable.of(version, day)
    runs = subset.cols["is_run"]
    recruiting = version.visible(day, include_past=False, include_closed=False)
    assert sorted(subset.cols["run_id"][runs].tolist()) == sorted(version.cols["run_id"][recruiting].tolist())
    assert set(subset.cols["course_id"][~runs].tolist()) == set(subset.cols["course_id"][runs].tolist())
    assert 0 < int(runs.sum()) < int((version.live & version.cols["is_run"]).sum())  # the archive stays out


def test_closed_and_past_runs_are_found_only_with_the_toggles(archive):
    every = {hit.run_id: hit for hit in query.search(SearchParams(include_past=True, per_page=100)).items}
    assert len(every) == len(archive)  # each run once
    default = {hit.run_id for hit in query.search(SearchParams(per_page=100)).items}
    closed = {hit.run_id for hit in query.search(SearchParams(include_closed=True, per_page=100)).items}
    recruiting = {
        run_id
        for run_id, hit in every.items()
        if hit.recruitment.code in ("upcoming", "open", "closing_soon")
        and hit.seats_left
        and archive[run_id] != "dropped"
    }
    assert default == recruiting and default < closed < set(every)
    ended = {run_id for run_id, hit in every.items() if hit.end_date < query.kst_today()}
    assert ended and not ended & closed  # past runs only with include_past


def _copies(run_id: int) -> int:
    """Live documents of a run in the whole version (the index never holds two)."""
    version = versions.current()
    return int(np.count_nonzero(version.live & version.cols["is_run"] & (version.cols["run_id"] == run_id)))


def _found(run_id: int, **params) -> int:
    return [hit.run_id for hit in query.search(SearchParams(per_page=100, **params)).items].count(run_id)


def test_an_edit_moving_a_run_between_enrollable_and_archive_keeps_exactly_one_copy(app, catalog, reindex):
    run = catalog.run(catalog.course("파이썬 데이터 분석 입문"))
    other = catalog.run(catalog.course("파이썬 웹 개발 실무"))
    reindex()
    assert (_found(run.id), _found(run.id, include_closed=True), _copies(run.id)) == (1, 1, 1)
    for status, default in (("closed", 0), ("open", 1), ("closed", 0)):
        with unit_of_work():
            db.session.execute(update(Run).where(Run.id == run.id).values(status=status))
            changes.runs_changed([run.id])
        db.session.commit()
        outbox.deliver_pending()
        assert _found(run.id) == default  # moved in or out of the enrollable runs at once
        assert _found(run.id, include_closed=True) == 1 and _found(run.id, include_past=True) == 1
        assert _copies(run.id) == 1
        day = query.facets.days(query.kst_today())
        held = enrollable.of(versions.current(), day).cols["run_id"].tolist()
        assert held.count(run.id) == default and held.count(other.id) == 1
