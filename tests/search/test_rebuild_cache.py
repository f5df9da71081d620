"""A full rebuild reuses the previous rebuild's analyses (search.index.analysis_cache) and writes the same index;
course text is indexed by TokensField with the same terms, frequencies and weights as Whoosh's TEXT."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta

from whoosh import fields
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.filedb.filestore import FileStorage

from courses.models import Course
from hrdnet.extensions import db
from search import analysis
from search.index import analysis_cache, build, store
from search.index.schema import GRAM_FIELDS, MORPH_FIELDS, TokensField


def _documents() -> tuple[list, list]:
    """The live index's content: every row, and every (field, term, document key, weight, frequency)."""
    root = store.index_root()
    ix = FileStorage(str(root / store.current_name(root))).open_index()
    rows, postings = [], []
    with ix.reader() as reader:
        for segreader, _offset in reader.leaf_readers():
            seg_rows = segreader.column_reader("row", translate=False).array()
            rows += sorted(r.tobytes() for r in seg_rows)
            key = [(int(r["kind"]), int(r["course_id"]), int(r["run_id"])) for r in seg_rows]
            for fieldname in (*MORPH_FIELDS, *GRAM_FIELDS):
                for term in segreader.lexicon(fieldname):
                    matcher = segreader.postings(fieldname, term)
                    for docnum in matcher.all_ids():
                        matcher.skip_to(docnum)
                        postings.append((fieldname, term, key[docnum], matcher.weight(), matcher.value()))
    ix.close()
    return sorted(rows), sorted(postings)


def _catalog(catalog, today):
    for n in range(12):
        catalog.run(
            catalog.course(
                f"파이썬 데이터 분석 {n}기", contents=f"판다스로 데이터를 분석합니다. 웹개발자 과정 {n % 3}"
            ),
            start=today + timedelta(days=n),
        )


def test_a_rebuild_reusing_cached_analyses_writes_the_same_index_as_a_cold_one(app, catalog, today, monkeypatch):
    _catalog(catalog, today)
    build.rebuild(procs=1)
    cold = _documents()
    assert cold[1], "the catalog's text is indexed"

    def no_kiwi(text):
        raise AssertionError(f"analysed again: {text!r}")

    monkeypatch.setattr(analysis, "analyse", no_kiwi)  # every text must come from the cache
    build.rebuild(procs=1)
    assert _documents() == cold


def test_a_changed_text_is_analysed_again_and_stale_texts_are_dropped(app, catalog, today, monkeypatch):
    course = catalog.course("자바 스프링 백엔드", contents="스프링 부트로 서버를 만듭니다.")
    catalog.run(course, start=today + timedelta(days=3))
    build.rebuild(procs=1)
    cache = analysis_cache.path_in(store.index_root())
    db.session.get(Course, course.id).contents = "쿠버네티스로 배포합니다."  # the rebuild let go of `course`
    db.session.commit()
    analysed: list[str] = []
    real = analysis.analyse
    monkeypatch.setattr(analysis, "analyse", lambda text: analysed.append(text) or real(text))
    build.rebuild(procs=1)
    assert analysed == ["쿠버네티스로 배포합니다."]
    # the old contents' analysis is gone from the file: title, provider, certificate and contents are kept
    with contextlib.closing(sqlite3.connect(cache)) as connection:
        assert connection.execute("SELECT count(*) FROM analysed").fetchone()[0] == 4


def test_another_analyser_starts_the_cache_afresh(app, catalog, today, monkeypatch):
    _catalog(catalog, today)
    build.rebuild(procs=1)
    monkeypatch.setattr(analysis_cache, "analyser_version", lambda: "another synonym file")
    analysed: list[str] = []
    real = analysis.analyse
    monkeypatch.setattr(analysis, "analyse", lambda text: analysed.append(text) or real(text))
    build.rebuild(procs=1)
    assert "판다스로 데이터를 분석합니다. 웹개발자 과정 0" in analysed


def test_the_token_field_indexes_as_whoosh_text_does():
    ours = TokensField(analyzer=SpaceSeparatedTokenizer(), phrase=False, field_boost=1.5)
    whoosh = fields.TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=False, field_boost=1.5)
    for value in ("웹 개발자 웹개발자 웹 java c++ c#", "", "데이 이터 데이\t빅데  빅데", "a\nb\r\nb"):
        assert sorted(ours.index(value)) == sorted(whoosh.index(value))


def test_the_rebuild_reads_plain_rows_that_make_the_same_documents_as_the_orm(app, catalog, today):
    refs = build.References.load()
    hanbit = catalog.provider("(주)한빛 디지털아카데미")
    python = catalog.course("파이썬 데이터 분석", provider=hanbit, keywords="파이썬, 판다스", ncs_code=None)
    catalog.listing(python, source="work24", title="파이썬 데이터 분석 (야간)")
    catalog.run(python, start=today + timedelta(days=3), ncs_code="20010101", general_self_pay=120_000)
    catalog.run(python, start=today - timedelta(days=400), programme="C0061", mode="remote", status="closed")
    catalog.run(catalog.course("전산회계 실무"), programme=None, start=today + timedelta(days=9), fee=0)
    rows = [row for chunk in build.iter_run_rows(chunk=2) for row in chunk]
    orm = [run for chunk in build.iter_run_chunks() for run in chunk]
    assert [r.id for r in rows] == [r.id for r in orm] and len(rows) == 3
    records = build.records_for([r.id for r in orm])
    for row, run in zip(rows, orm, strict=True):
        assert build.run_document(row, records.get(row.id, []), refs) == build.run_document(
            run, records.get(run.id, []), refs
        )
    courses = build.course_rows(sorted({r.course_id for r in orm}))
    titles = build.titles_of_listings(sorted(courses))
    for run in orm:
        texts = build.course_texts(courses[run.course_id], titles.get(run.course_id, []))
        assert texts == build.course_texts(run.course, titles.get(run.course_id, []))
        analysed = build.analyse_courses([(run.course_id, texts)])[run.course_id]
        assert build.course_document(courses[run.course_id], analysed) == build.course_document(run.course, analysed)


def test_runs_with_the_same_price_inputs_are_priced_once_and_alike(app, catalog, today):
    course = catalog.course("파이썬 데이터 분석")
    catalog.run(course, start=today + timedelta(days=3), fee=1_000_000, general_self_pay=150_000)
    catalog.run(course, start=today + timedelta(days=5), fee=1_000_000, general_self_pay=150_000)
    catalog.run(course, start=today + timedelta(days=7), fee=1_200_000, general_self_pay=150_000)
    catalog.run(course, start=today + timedelta(days=9), fee=1_000_000, programme="C0061")
    runs = [row for chunk in build.iter_run_rows() for row in chunk]
    shared = build.References.load()
    documents = [build.run_document(run, [], shared) for run in runs]
    assert len(shared.prices) == 3  # the first two runs share their inputs
    assert documents == [build.run_document(run, [], build.References.load()) for run in runs]
    assert documents[0]["row"] != documents[2]["row"] != documents[3]["row"]
