"""Keeping the index in sync: the outbox, crash repair, rebuilds that swap atomically while searches go on.

Each test builds its own small catalog and index (the `indexed` fixture). The outbox, crash-repair and
rebuild-replay tests run on SQLite and PostgreSQL (both_dbs); the rest on SQLite.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, update

from courses import changes, services
from courses.models import Course, Run, SourceRecord
from hrdnet import outbox
from hrdnet.db import unit_of_work
from hrdnet.extensions import db
from search.index import build, store, versions
from search.interfaces import SearchParams
from search.query import index_ready, search, suggest
from tests.support.search_index import deliver, do_import, feed_record, pending_topics


def titles(q: str, **params) -> list[str]:
    return [hit.title for hit in search(SearchParams(q=q, per_page=100, **params)).items]


@pytest.fixture
def record(today):
    """record(n, title, **values) -> the feed record of run n, starting 10 + n days after today."""
    return functools.partial(feed_record, today)


@pytest.fixture
def indexed(catalog, app):
    """Two courses of one provider, indexed."""
    hanbit = catalog.provider("한빛 디지털아카데미")
    runs = {
        "cloud": catalog.run(catalog.course("클라우드 네이티브 백엔드 개발자 양성과정", provider=hanbit)),
        "python": catalog.run(
            catalog.course("파이썬 데이터 분석 입문", provider=hanbit, contents="판다스로 데이터를 다룹니다.")
        ),
    }
    build.rebuild()
    return runs


# -- no index yet ------------------------------------------------------------------------------------------


def test_without_an_index_searches_answer_empty_and_health_says_so(app, client, catalog):
    catalog.run(catalog.course("파이썬 기초"))
    result = search(SearchParams(q="파이썬"))
    assert (result.total, result.items, result.suggestion) == (0, [], None)
    assert suggest("파") == [] and not index_ready()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"  # the site still serves; the index is a warning
    assert body["checks"]["search_index"]["status"] == "warning"
    assert body["checks"]["search_index"]["index"] == "missing"


def test_the_first_change_builds_the_whole_index(app, catalog, record):
    old = catalog.run(catalog.course("자바 백엔드 기초"))  # in the database before any index existed
    do_import([record(0, "파이썬 데이터 분석 입문")])
    assert pending_topics() == ["catalog.runs_changed"]
    deliver()
    assert index_ready()
    assert titles("자바") == ["자바 백엔드 기초"] and titles("파이썬") == ["파이썬 데이터 분석 입문"]
    assert old.id in {h.run_id for h in search(SearchParams()).items}


def test_healthz_reports_the_index(client, indexed):
    check = client.get("/healthz").get_json()["checks"]["search_index"]
    assert check["status"] == "ok"
    assert check["documents"] == 4  # two runs and their two courses
    assert (check["runs_at_build"], check["courses_at_build"], check["pending_changes"]) == (2, 2, 0)
    assert check["version"].startswith(check["index"]) and check["built_at"]


# -- the outbox keeps the index in sync ------------------------------------------------------------------------


@pytest.mark.both_dbs
def test_an_import_reaches_the_index_through_the_outbox(app, indexed, record):
    do_import([record(0, "데이터 엔지니어링 부트캠프"), record(1, "데이터 엔지니어링 부트캠프")])
    assert titles("부트캠프") == []  # committed, not yet delivered
    assert pending_topics() == ["catalog.runs_changed"]
    assert deliver() == 1
    assert titles("부트캠프") == ["데이터 엔지니어링 부트캠프"] * 2


def test_a_changed_course_and_a_renamed_provider_reach_the_index(app, indexed, record):
    do_import([record(0, "데이터 엔지니어링 부트캠프")])
    deliver()
    changed = record(
        0,
        "데이터 엔지니어링 부트캠프",
        contents="하둡과 스파크를 다룹니다.",
        provider_name="한빛 디지털아카데미 강남캠퍼스",
    )
    do_import([changed])
    assert set(pending_topics()) == {"catalog.runs_changed", "catalog.provider_changed", "catalog.courses_changed"}
    deliver()
    assert titles("스파크") == ["데이터 엔지니어링 부트캠프"]
    (hit,) = search(SearchParams(q="부트캠프")).items
    assert hit.provider == "한빛 디지털아카데미 강남캠퍼스"


def test_a_run_dropped_by_its_feed_leaves_the_default_results(app, indexed, record):
    both = [record(0, "데이터 엔지니어링 부트캠프"), record(1, "데이터 엔지니어링 부트캠프")]
    do_import(both)
    deliver()
    do_import(both[:1], covering=both)  # the same range without run 1: marked not seen
    deliver()
    assert len(titles("부트캠프")) == 1
    assert len(titles("부트캠프", include_past=True)) == 2


def test_a_cancelled_run_is_removed_and_its_course_goes_with_its_last_run(app, indexed):
    run = indexed["python"]
    with unit_of_work():
        db.session.execute(update(Run).where(Run.id == run.id).values(status="cancelled"))
        changes.runs_changed([run.id])
    deliver()
    assert titles("파이썬", include_past=True) == []
    assert "파이썬 데이터 분석 입문" not in {s.text for s in suggest("파이썬")}


def test_merging_courses_reindexes_the_moved_runs(app, catalog, indexed):
    cloud = indexed["cloud"]
    twin = catalog.run(catalog.course("클라우드 네이티브 백엔드 개발자 과정", provider=cloud.course.provider))
    build.update(run_ids=[twin.id])
    assert versions.current().courses == 3
    with unit_of_work():
        services.merge_courses(cloud.course_id, twin.course_id, actor="test")
    deliver()
    hits = search(SearchParams(q="클라우드 네이티브")).items
    assert {h.run_id for h in hits} == {cloud.id, twin.id}
    assert {(h.course_id, h.title) for h in hits} == {(cloud.course_id, "클라우드 네이티브 백엔드 개발자 양성과정")}
    assert versions.current().courses == 2  # the emptied course's document is gone


def test_delivering_an_item_twice_changes_nothing(app, indexed, record):
    do_import([record(0, "데이터 엔지니어링 부트캠프")])
    payload = json.loads(
        db.session.scalar(select(outbox.OutboxItem.payload).where(outbox.OutboxItem.topic == "catalog.runs_changed"))
    )
    deliver()
    before = versions.current().documents
    build.update(run_ids=payload["run_ids"])
    build.update(run_ids=payload["run_ids"])
    assert versions.current().documents == before == 6
    assert titles("부트캠프") == ["데이터 엔지니어링 부트캠프"]


# -- a crash between commit and indexing -------------------------------------------------------------------------

CRASHING_EDIT = textwrap.dedent("""
    import os, sys
    from hrdnet import create_app
    from hrdnet.db import after_commit, unit_of_work
    from hrdnet.extensions import db
    from courses import changes
    from courses.models import Course

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SEARCH_INDEX_DIR": sys.argv[2]})
    with app.app_context():
        with unit_of_work(write_lock=True):
            course = db.session.get(Course, int(sys.argv[3]))
            course.contents = "텐서플로와 파이토치로 모델을 만듭니다."
            changes.courses_changed([course.id])
            # The process dies the moment the commit is done, before anything could update the index.
            after_commit(lambda: os._exit(137))
""")


@pytest.mark.both_dbs
def test_a_crash_between_commit_and_indexing_is_repaired_by_the_next_worker(app, database_url, indexed):
    index_dir = app.config["SEARCH_INDEX_DIR"]
    env = {**os.environ, "HRDNET_ENV": "test"}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_EDIT, database_url, index_dir, str(indexed["python"].course_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 137, crashed.stderr
    assert titles("텐서플로") == []  # the change is committed but the index has not seen it
    assert pending_topics() == ["catalog.courses_changed"]
    restarted = subprocess.run(
        [sys.executable, "-m", "hrdnet.cli", "worker", "--once"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**env, "DATABASE_URL": database_url, "SEARCH_INDEX_DIR": index_dir},
    )
    assert restarted.returncode == 0, restarted.stderr
    assert "delivered 1 outbox item(s)" in restarted.stdout
    assert titles("텐서플로") == ["파이썬 데이터 분석 입문"]
    assert pending_topics() == []


# -- open files ----------------------------------------------------------------------------------------------

SEARCH_THEN_EXIT = textwrap.dedent("""
    import sys
    from hrdnet import create_app
    from search.interfaces import SearchParams
    from search.query import search, suggest

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SEARCH_INDEX_DIR": sys.argv[2]})
    with app.app_context():
        assert search(SearchParams(q="파이썬")).total == 1
        assert suggest("파이")
    # The process ends here with the index still open in this process's cache of live versions.
""")


def test_a_process_that_searched_leaves_no_index_file_open_at_exit(app, database_url, indexed):
    """Whoosh's segment files are closed by the process, not left to the garbage collector at exit
    (which prints "ResourceWarning: unclosed file …" after every test run and every worker stop)."""
    finished = subprocess.run(
        [
            sys.executable,
            "-W",
            "always::ResourceWarning",
            "-c",
            SEARCH_THEN_EXIT,
            database_url,
            app.config["SEARCH_INDEX_DIR"],
        ],
        env={**os.environ, "HRDNET_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert "ResourceWarning" not in finished.stderr, finished.stderr


# -- rebuilds ------------------------------------------------------------------------------------------------------


def test_searches_keep_answering_during_a_rebuild(app, indexed):
    building, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        building.set()
        assert release.wait(60)

    def rebuild() -> None:
        try:
            with app.app_context():
                build.rebuild(before_swap=hold)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=rebuild)
    worker.start()
    try:
        answers = []
        while not building.is_set() and worker.is_alive():
            answers.append(titles("파이썬"))
        for _ in range(20):  # the new index is complete on disk but not swapped in yet
            answers.append(titles("파이썬"))
    finally:
        release.set()
        worker.join(60)
    assert not errors, errors
    assert answers and all(a == ["파이썬 데이터 분석 입문"] for a in answers)
    assert titles("파이썬") == ["파이썬 데이터 분석 입문"]  # and after the swap


def test_a_rebuild_swaps_atomically_and_never_shows_a_partial_index(app, indexed):
    root = Path(app.config["SEARCH_INDEX_DIR"])
    first = store.current_name(root)
    seen = {}

    def check() -> None:
        seen["current"] = store.current_name(root)
        seen["building"] = sorted(p.name for p in root.iterdir() if p.name.endswith(".building"))
        seen["version"] = versions.current().name

    second = build.rebuild(before_swap=check)
    assert seen["current"] == first == seen["version"]  # during the build readers see the old index only
    assert len(seen["building"]) == 1 and not (root / seen["building"][0]).exists()
    assert store.current_name(root) == second.name and versions.current().name == second.name
    assert (root / first).is_dir()  # kept for readers that opened it just before the swap
    third = build.rebuild()
    assert not (root / first).exists() and (root / second.name).is_dir()  # only the previous one is kept
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted([second.name, third.name])
    assert json.loads((root / third.name / "build.json").read_text())["runs"] == 2


def test_a_failed_rebuild_leaves_the_live_index_alone(app, indexed):
    root = Path(app.config["SEARCH_INDEX_DIR"])
    live = store.current_name(root)

    def explode() -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        build.rebuild(before_swap=explode)
    assert store.current_name(root) == live
    assert not [p for p in root.iterdir() if p.name.endswith(".building")]
    assert not (root / store.BUILDING).exists()
    assert titles("파이썬") == ["파이썬 데이터 분석 입문"]


@pytest.mark.both_dbs
def test_changes_made_during_a_rebuild_are_replayed_into_the_new_index(app, indexed, record):
    def change_meanwhile() -> None:
        do_import([record(0, "데이터 엔지니어링 부트캠프")])
        deliver()  # the live index gets it, and the rebuild's journal records it
        assert titles("부트캠프") == ["데이터 엔지니어링 부트캠프"]

    result = build.rebuild(before_swap=change_meanwhile)
    assert result.replayed >= 1
    assert titles("부트캠프") == ["데이터 엔지니어링 부트캠프"]  # now from the new index


def test_only_one_rebuild_at_a_time(app, indexed):
    def again() -> None:
        with pytest.raises(store.IndexBusy):
            build.rebuild()

    build.rebuild(before_swap=again)


def test_the_reindex_command(app, runner, indexed):
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 runs" in result.output
    status = runner.invoke(args=["search", "status"])
    assert json.loads(status.output)["documents"] == 4


def test_the_index_records_the_pricing_rules_it_priced_with(app, indexed):
    from courses import pricing

    root = Path(app.config["SEARCH_INDEX_DIR"])
    meta = store.read_meta(root, store.current_name(root))
    assert meta["pricing_rules_version"] == pricing.rules_version()
    assert meta["schema_version"] >= 1


def test_runs_of_a_course_without_runs_left_are_gone_from_suggestions(app, indexed, today):
    course = db.session.get(Course, indexed["python"].course_id)
    with unit_of_work():
        db.session.execute(
            update(SourceRecord).where(SourceRecord.run_id == indexed["python"].id).values(not_seen_since=today)
        )
        changes.runs_changed([indexed["python"].id])
    deliver()
    assert titles("파이썬") == [] and titles("파이썬", include_past=True) == [course.title]


SEARCH_WITHOUT_KIWI = textwrap.dedent("""
    import sys
    from hrdnet import create_app
    from search.interfaces import SearchParams
    from search.query import search, suggest

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SEARCH_INDEX_DIR": sys.argv[2]})
    with app.app_context():
        assert search(SearchParams(q="파이썬으로 데이터 분석")).total == 1
        assert search(SearchParams(q="파이선")).corrected_from == "파이선"
        assert suggest("ㅍㅇ")
    print("kiwi loaded" if "kiwipiepy" in sys.modules else "no kiwi")
""")


def test_a_web_process_searches_without_loading_kiwi(app, database_url, indexed):
    """Kiwi (~300 MB) is for indexing only: queries are analysed against the index's own vocabulary."""
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_WITHOUT_KIWI, database_url, app.config["SEARCH_INDEX_DIR"]],
        env={**os.environ, "HRDNET_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no kiwi"


def test_searches_from_many_threads_while_the_index_changes(app, indexed, record):
    errors: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def searching() -> None:
        try:
            with app.app_context():
                while not stop.is_set():
                    answers.append(search(SearchParams(q="파이썬")).total)
                    suggest("파이")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searching) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for n in range(3):
            do_import([record(n, f"파이썬 심화 과정 {n}기")])
            deliver()
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    assert answers and set(answers) <= {1, 2, 3, 4}
    assert search(SearchParams(q="파이썬")).total == 4
