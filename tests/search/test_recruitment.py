"""Search results show each run's recruitment status (courses.enrolment_window) on the day of the search, from
the window the index stores; an index written with the previous row layout is never misread."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from courses import services
from courses.models import Run
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from search import engine
from search.engine import index_ready, search
from search.index import build, store
from search.index.schema import SCHEMA_VERSION
from search.interfaces import SearchParams
from tests.support.pages import page, run_ids_on, text_of

DAY = timedelta(days=1)


def _cards(response) -> dict[int, str]:
    """Each result card of the search page, by run id (its HTML)."""
    cards = page(response).split('<li class="run-card search-hit">')[1:]
    found = {}
    for card in cards:
        run_id = card.split('href="/runs/', 1)[1].split('"', 1)[0]
        found[int(run_id)] = card
    return found


def statuses() -> dict[int, tuple[str, str | None]]:
    return {
        hit.run_id: (hit.recruitment.code, hit.recruitment.deadline)
        for hit in search(SearchParams(per_page=50, include_closed=True)).items
    }


@pytest.mark.both_search_backends
def test_result_cards_show_each_runs_recruitment_status(client, catalog, reindex, today):
    started = catalog.run(catalog.course("데이터 분석 실무"), start=today - 5 * DAY)
    recruiting = catalog.run(catalog.course("데이터 분석 실무"), start=today + 20 * DAY)
    soon = catalog.run(catalog.course("데이터 분석 실무"), start=today + 2 * DAY)
    upcoming = catalog.run(catalog.course("데이터 분석 실무"), start=today + 90 * DAY)
    closed = catalog.run(catalog.course("데이터 분석 실무"), start=today + 30 * DAY, status="closed")
    reindex()
    assert statuses() == {
        started.id: ("in_training", None),
        recruiting.id: ("open", "마감 D-19"),
        soon.id: ("closing_soon", "마감 D-1"),
        upcoming.id: ("upcoming", None),
        closed.id: ("closed", None),
    }
    cards = _cards(client.get("/courses?q=데이터&include_closed=1"))
    assert ">훈련 중</span>" in cards[started.id] and "모집 중" not in cards[started.id]
    assert ">모집 중</span>" in cards[recruiting.id] and "마감 D-19" in cards[recruiting.id]
    assert ">마감 임박</span>" in cards[soon.id] and "마감 D-1" in cards[soon.id]
    assert ">모집 예정</span>" in cards[upcoming.id] and f"{(today + 30 * DAY).isoformat()}" in cards[upcoming.id]
    assert ">마감</span>" in cards[closed.id]


@pytest.mark.both_search_backends
def test_a_providers_window_reaches_the_index(app, catalog, reindex, today):
    run = catalog.run(start=today + 20 * DAY)
    reindex()
    assert statuses()[run.id] == ("open", "마감 D-19")
    with unit_of_work(write_lock=True):
        services.set_application_window(run.id, today - 3 * DAY, today + 4 * DAY, actor="test")
    engine.update([run.id])  # what the worker does with the catalog.runs_changed item
    assert statuses()[run.id] == ("open", "마감 D-4")
    with unit_of_work(write_lock=True):
        services.set_application_window(run.id, None, today - DAY, actor="test")
    engine.update([run.id])
    assert statuses()[run.id] == ("closed", None)


def test_an_index_of_the_previous_row_layout_is_not_read_and_the_next_change_rebuilds_it(app, catalog, reindex):
    run = catalog.run()
    reindex()
    root = store.index_root()
    name = store.current_name(root)
    meta = store.read_meta(root, name)
    (root / name / store.META).write_text(json.dumps({**meta, "schema_version": SCHEMA_VERSION - 1}), "utf-8")
    assert not index_ready() and search(SearchParams()).total == 0  # empty, not a misread or an error
    db.session.execute(update(Run).where(Run.id == run.id).values(capacity=40))
    db.session.commit()
    build.update([run.id])
    assert index_ready()
    assert store.read_meta(root, store.current_name(root))["schema_version"] == SCHEMA_VERSION
    assert [hit.seats_left for hit in search(SearchParams()).items] == [28]


@pytest.mark.both_search_backends
def test_runs_that_cannot_be_enrolled_are_hidden_until_asked_for_and_come_last(client, catalog, reindex, today):
    started = catalog.run(catalog.course("데이터 분석 실무"), start=today - 5 * DAY)
    later = catalog.run(catalog.course("데이터 분석 실무"), start=today + 20 * DAY)
    soon = catalog.run(catalog.course("데이터 분석 실무"), start=today + 3 * DAY)
    closed = catalog.run(catalog.course("데이터 분석 실무"), start=today + 1 * DAY, status="closed")
    reindex()
    shown = client.get("/courses?q=데이터&sort=start")
    assert run_ids_on(shown) == [soon.id, later.id]  # 개강일 빠른순: the closed and the started run are gone
    assert "모집 중이거나 모집 예정인 과정만 보여 줍니다" in text_of(shown)
    toggle = next(h for h in re.findall(r'href="([^"]*)"', page(shown)) if "include_closed=1" in html.unescape(h))
    with_closed = client.get(html.unescape(toggle))
    assert run_ids_on(with_closed) == [soon.id, later.id, started.id, closed.id]  # those that can be enrolled first
    assert "마감된 과정 포함" in text_of(with_closed)  # a chip that removes it


@pytest.mark.both_search_backends
def test_the_deadline_sort_puts_the_window_that_closes_first_first(client, catalog, reindex, today):
    late = catalog.run(catalog.course("데이터 분석 실무"), start=today + 40 * DAY)
    provider_set = catalog.run(catalog.course("데이터 분석 실무"), start=today + 60 * DAY)
    early = catalog.run(catalog.course("데이터 분석 실무"), start=today + 10 * DAY)
    reindex()
    with unit_of_work(write_lock=True):
        services.set_application_window(provider_set.id, today - DAY, today + 2 * DAY, actor="test")
    engine.update([provider_set.id])
    response = client.get("/courses?q=데이터&sort=deadline")
    assert run_ids_on(response) == [provider_set.id, early.id, late.id]
    assert '<option value="deadline" selected>신청 마감 임박</option>' in page(response)
    assert "마감 D-2" in text_of(response)
