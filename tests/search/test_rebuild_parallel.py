"""`hrdnet search reindex --procs 2`: the course documents are indexed by sub-writer processes, one segment each,
the runs by the command itself; the index answers exactly what a one-process build answers."""

from __future__ import annotations

from datetime import timedelta

from search.index import build, versions
from search.interfaces import SearchParams
from search.query import search, suggest

QUERIES = ("파이썬", "데이터 분석", "AI", "클라우드", "자바 백엔드", "파이선", "")


def _answers() -> list:
    out = []
    for q in QUERIES:
        for params in (SearchParams(q=q, per_page=50), SearchParams(q=q, per_page=50, include_past=True, sort="start")):
            result = search(params)
            out.append(
                (
                    result.total,
                    [(hit.run_id, hit.title, hit.fee, hit.source_ids) for hit in result.items],
                    {name: [(v.value, v.count) for v in values] for name, values in result.facets.items()},
                    result.suggestion,
                )
            )
    out.append([s.text for s in suggest("파")])
    return out


def test_a_parallel_rebuild_answers_as_a_one_process_rebuild(app, catalog, today):
    titles = (
        "파이썬 데이터 분석 입문",
        "AI 서비스 기획",
        "클라우드 네이티브 백엔드",
        "자바 스프링 백엔드",
        "전산회계 실무",
    )
    for n in range(60):
        catalog.run(
            catalog.course(f"{titles[n % 5]} {n // 5 + 1}기", contents=f"{titles[(n + 2) % 5]}를 다룹니다."),
            start=today + timedelta(days=n - 20),
            fee=500_000 * (n % 7),
            region_code=("11680", "26110", "41135")[n % 3],
        )
    one = build.rebuild(procs=1)
    alone = _answers()
    assert len(versions.current().leaves) == 1
    during, progress = [], []
    parallel = build.rebuild(
        procs=2,
        progress=lambda done, total: progress.append((done, total)),
        before_swap=lambda: during.append(_answers()),  # built, not yet swapped in: the old index answers
    )
    assert during == [alone]
    assert progress[-1] == (60, 60) and [done for done, _total in progress] == sorted(done for done, _ in progress)
    assert (parallel.runs, parallel.courses) == (one.runs, one.courses) == (60, 60)
    assert len(versions.current().leaves) >= 2  # the runs' segment, and one per sub-writer that took a batch
    assert _answers() == alone


def test_a_rebuild_worker_analyses_each_distinct_text_once(monkeypatch):
    """Rebuild workers keep each text's analysis: courses sharing contents or a provider cost one Kiwi call each."""
    from search import analysis

    courses = [
        # Latin text: no Kiwi to load for this test (Hangul goes the same way, through Kiwi)
        (1, {"t": ["Python data analysis"], "k": ["python", "Hanbit Academy"], "b": ["Hands-on with real data"]}),
        (2, {"t": ["Python web backend"], "k": ["python", "Hanbit Academy"], "b": ["Hands-on with real data"]}),
    ]
    expected = build.analyse_courses(courses)  # no worker cache: every text analysed
    analysed: list[str] = []
    real = analysis.analyse
    monkeypatch.setattr(build, "_texts", {})
    monkeypatch.setattr(analysis, "analyse", lambda text: analysed.append(text) or real(text))
    assert build.analyse_courses(courses) == expected
    assert sorted(analysed) == sorted({text for _, groups in courses for texts in groups.values() for text in texts})
