"""The search engine behind SEARCH_BACKEND: the outbox sync, the first build and `hrdnet search reindex` work with
either engine (both_search_backends: Whoosh on SQLite, search.pg on PostgreSQL); the PostgreSQL backend's own
bookkeeping (its vocabulary counts) and its refusal to start on SQLite.
"""

from __future__ import annotations

import functools
import json
import threading

import pytest
from sqlalchemy import inspect, text

from courses import changes
from courses.models import Run
from hrdnet import create_app
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from search.engine import index_ready, rebuild, search, suggest
from search.interfaces import SearchParams
from tests.support.search_index import deliver, do_import, feed_record, pending_topics

pytestmark = pytest.mark.both_search_backends


def titles(q: str, **params) -> list[str]:
    return [hit.title for hit in search(SearchParams(q=q, per_page=100, **params)).items]


@pytest.fixture
def record(today):
    return functools.partial(feed_record, today)


@pytest.fixture
def indexed(catalog, app):
    """Two courses of one provider, indexed by the configured engine."""
    hanbit = catalog.provider("한빛 디지털아카데미")
    runs = {
        "cloud": catalog.run(catalog.course("클라우드 네이티브 백엔드 개발자 양성과정", provider=hanbit)),
        "python": catalog.run(
            catalog.course("파이썬 데이터 분석 입문", provider=hanbit, contents="판다스로 데이터를 다룹니다.")
        ),
    }
    db.session.commit()
    rebuild()
    return runs


def test_the_engine_is_the_configured_one(app, search_backend, db_backend):
    assert app.config["SEARCH_BACKEND"] == search_backend
    assert search_backend == ("postgresql" if db_backend == "postgresql" else "whoosh")


def test_without_an_index_searches_answer_empty_and_health_says_so(app, client, catalog):
    catalog.run(catalog.course("파이썬 기초"))
    db.session.commit()
    result = search(SearchParams(q="파이썬"))
    assert (result.total, result.items) == (0, [])
    assert suggest("파") == [] and not index_ready()
    check = client.get("/healthz").get_json()["checks"]["search_index"]
    assert (check["status"], check["index"]) == ("warning", "missing")
    client.allow_server_errors = True  # the API's answer while there is nothing to search
    assert client.get("/api/v1/courses?q=파이썬").status_code == 503


def test_an_import_reaches_the_search_through_the_outbox(app, indexed, record):
    do_import([record(0, "데이터 엔지니어링 부트캠프"), record(1, "데이터 엔지니어링 부트캠프")])
    assert titles("부트캠프") == []  # committed, not yet delivered
    assert pending_topics() == ["catalog.runs_changed"]
    assert deliver() == 1
    assert titles("부트캠프") == ["데이터 엔지니어링 부트캠프"] * 2


def test_browsing_answers_from_its_cache_until_a_change_is_delivered(postgresql_only, app, indexed, record):
    """The empty query's answer is kept per generation of the tables, never past a change (Whoosh keeps it per
    index version)."""
    browse = SearchParams(per_page=100)
    assert search(browse).total == 2 and search(browse).total == 2  # the second from the cache
    do_import([record(0, "데이터 엔지니어링 부트캠프")])
    assert search(browse).total == 2  # committed, not yet delivered
    deliver()
    assert [hit.title for hit in search(browse).items].count("데이터 엔지니어링 부트캠프") == 1
    assert search(browse).total == 3


def test_a_changed_course_and_a_renamed_provider_reach_the_search(app, indexed, record):
    do_import([record(0, "데이터 엔지니어링 부트캠프")])
    deliver()
    changed = record(
        0,
        "데이터 엔지니어링 부트캠프",
        contents="하둡과 스파크를 다룹니다.",
        provider_name="한빛 디지털아카데미 강남캠퍼스",
    )
    do_import([changed])
    deliver()
    assert titles("스파크") == ["데이터 엔지니어링 부트캠프"]
    assert {hit.provider for hit in search(SearchParams(q="부트캠프")).items} == {"한빛 디지털아카데미 강남캠퍼스"}


def test_a_run_that_leaves_the_listing_leaves_the_search(app, indexed):
    with unit_of_work():
        db.session.get(Run, indexed["python"].id).status = "cancelled"
        changes.runs_changed([indexed["python"].id])
    deliver()
    assert titles("파이썬") == [] and titles("클라우드") == ["클라우드 네이티브 백엔드 개발자 양성과정"]


def test_the_first_change_builds_everything(app, catalog, record):
    catalog.run(catalog.course("자바 백엔드 기초"))  # in the database before any index existed
    do_import([record(0, "파이썬 데이터 분석 입문")])
    deliver()
    assert index_ready()
    assert titles("자바") == ["자바 백엔드 기초"] and titles("파이썬") == ["파이썬 데이터 분석 입문"]


def test_the_reindex_command(app, runner, indexed, search_backend):
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 runs (2 courses" in result.output
    status = json.loads(runner.invoke(args=["search", "status"]).output)
    assert status["status"] == "ok" and status["documents"] == 4  # two runs and their two courses
    assert titles("판다스") == ["파이썬 데이터 분석 입문"]


# -- the PostgreSQL backend's rebuild beside the live tables (the Whoosh one: test_index.py, "rebuilds") ---------


@pytest.fixture
def postgresql_only(search_backend) -> None:
    """First among a test's fixtures, so the Whoosh run is skipped before it builds anything."""
    if search_backend != "postgresql":
        pytest.skip("the PostgreSQL backend's own rebuild and cache (Whoosh's: test_index.py, test_archive.py)")


def _rebuild_held(app, hold) -> tuple[threading.Thread, list]:
    """search.pg.sync.rebuild in another thread (its own session), `hold` run with every row written."""
    from search.pg import sync

    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                sync.rebuild(before_commit=hold)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    return worker, errors


def test_searches_keep_answering_while_the_tables_are_rebuilt(postgresql_only, app, indexed):
    written, release = threading.Event(), threading.Event()

    def hold() -> None:
        written.set()
        assert release.wait(60)

    worker, errors = _rebuild_held(app, hold)
    try:
        assert written.wait(60), errors
        answers = [titles("파이썬") for _ in range(5)]  # every row deleted and written again, not committed
        db.session.commit()
    finally:
        release.set()
        worker.join(60)
    assert not errors, errors
    assert answers == [["파이썬 데이터 분석 입문"]] * 5
    assert titles("파이썬") == ["파이썬 데이터 분석 입문"]  # and after the commit


def test_a_change_delivered_during_a_rebuild_applies_on_top_of_it(postgresql_only, app, indexed, record):
    """The outbox's update of a course the rebuild rewrote waits for the rebuild's commit, then applies: the
    change is searchable and the vocabulary's counts are those of a rebuild made afterwards."""
    written, release = threading.Event(), threading.Event()

    def hold() -> None:
        written.set()
        assert release.wait(60)

    with unit_of_work():  # the course gets new contents: the change waits in the outbox
        course = db.session.get(Run, indexed["cloud"].id).course
        course.contents = "쿠버네티스와 테라폼으로 배포합니다."
        changes.courses_changed([course.id])
    worker, errors = _rebuild_held(app, hold)
    delivered: list[int] = []
    try:
        assert written.wait(60), errors
        delivery = threading.Thread(target=lambda: _deliver_in(app, delivered))
        delivery.start()
        delivery.join(1)
        assert delivery.is_alive()  # waiting on the rows the rebuild rewrote
    finally:
        release.set()
        worker.join(60)
    delivery.join(60)
    assert not errors, errors
    assert delivered == [1]
    assert titles("테라폼") == ["클라우드 네이티브 백엔드 개발자 양성과정"]
    counts = _terms()
    rebuild()
    assert _terms() == counts


def test_a_rebuild_leaves_the_planner_statistics_of_the_rows_it_wrote(postgresql_only, app, indexed, record):
    """ANALYZE in the rebuild's transaction: the planner knows the new rows at once (autovacuum may be minutes
    away, or off), so it does not plan a search for empty tables."""
    do_import([record(n, f"데이터 엔지니어링 {n}기") for n in range(6)])
    deliver()
    rebuild()
    planned, counted = {}, {}
    for table in ("search_runs", "search_courses"):
        planned[table] = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table})
        counted[table] = db.session.scalar(text(f"SELECT count(*) FROM {table}"))
    db.session.commit()
    assert planned == counted and counted["search_runs"] == 8  # the fixture's two runs and the six imported


def _deliver_in(app, delivered: list[int]) -> None:
    with app.app_context():
        delivered.append(deliver())


# -- the PostgreSQL backend's own bookkeeping ------------------------------------------------------------


def _terms() -> dict[tuple[str, str], int]:
    rows = db.session.execute(text("SELECT kind, term, df FROM search_terms WHERE df <> 0")).all()
    db.session.commit()
    return {(kind, term): df for kind, term, df in rows}


def test_incremental_updates_keep_the_counts_a_rebuild_makes(app, indexed, record, search_backend):
    """The vocabulary's counts (query analysis, 초성, rarity) after changes delivered once, then again, are
    those a full rebuild computes from scratch."""
    if search_backend != "postgresql":
        pytest.skip("the PostgreSQL backend's vocabulary table")
    do_import([record(0, "데이터 엔지니어링 부트캠프"), record(2, "스파크 빅데이터 실무")])
    deliver()
    do_import([record(0, "데이터 엔지니어링 부트캠프", contents="하둡과 스파크를 다룹니다.")])
    deliver()
    with unit_of_work():
        changes.courses_changed([run.course_id for run in indexed.values()])
    deliver()
    incremental = _terms()
    with unit_of_work():  # delivering the same change again changes nothing
        changes.courses_changed([run.course_id for run in indexed.values()])
    deliver()
    assert _terms() == incremental
    rebuild()
    assert _terms() == incremental
    assert incremental[("m", "스파크")] == 3  # one course's title and contents, the other's contents


def test_one_rebuild_at_a_time(app, indexed, search_backend):
    if search_backend != "postgresql":
        pytest.skip("the PostgreSQL backend's lock (the Whoosh one: test_index.py::test_only_one_rebuild_at_a_time)")
    from sqlalchemy import create_engine

    from search.index.store import IndexBusy

    other = create_engine(db.engine.url)
    try:
        with other.connect() as conn, conn.begin():  # another rebuild, holding the tables' lock
            conn.execute(text("SELECT 1 FROM search_state WHERE id = 1 FOR UPDATE"))
            with pytest.raises(IndexBusy):
                rebuild()
        db.session.rollback()
        assert rebuild().runs == 2  # free again
    finally:
        other.dispose()


def test_the_postgresql_backend_refuses_another_database(tmp_path, db_backend):
    if db_backend != "sqlite":
        pytest.skip("about SQLite")
    from search.pg.sync import BackendUnavailable
    from tests.conftest import _test_config

    config = _test_config(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}") | {"SEARCH_BACKEND": "postgresql"}
    with pytest.raises(BackendUnavailable, match="needs a PostgreSQL database"):
        create_app(config)


def test_on_sqlite_the_migration_makes_no_search_tables(app, db_backend):
    tables = set(inspect(db.engine).get_table_names())
    expected = set() if db_backend == "sqlite" else {"search_runs", "search_courses", "search_terms", "search_state"}
    assert tables & {"search_runs", "search_courses", "search_terms", "search_state"} == expected
