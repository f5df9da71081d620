"""The search relevance judged set (tests/search/relevance/): its files, and every query through the real index.

What is asserted:

- the judged set is well-formed: every judgement has a kind and a split, every key it names is a course or run
  of catalog.json, the split follows the rule of README.md (so nobody moves a query from one half to the
  other), and the fixed catalog is consistent with the shipped reference data;
- the catalog goes through the real importer cleanly (the generic JSON feeds of docs/feeds.md), and the
  real indexer indexes all of it;
- every judged query runs through the search (search.engine: Whoosh and the PostgreSQL backend) without error;
- a few behaviours the issue names, each checked on a **tune-half** query only (a test that failed on a
  report-half query would tell whoever tunes ranking what the held-out half contains).

What is not asserted: the recall target (recall@20 ≥ 0.9 on the report half). That is a benchmark figure:
`bench/search_relevance.py` prints it beside the baselines, and `test_every_query_runs` prints the same
figures here (run pytest with -s to see them). The index is built once for the module and engine.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from tests.search.relevance import loader
from tests.support.search_index import SEARCH_BACKENDS, indexed_catalog

CATALOG = loader.read_catalog()
JUDGEMENTS = loader.read_judgements()
BY_ID = {item["id"]: item for item in JUDGEMENTS}
COURSES = {course["key"]: course for course in CATALOG["courses"]}


def _topics(key: str) -> set[str]:
    return set(COURSES[key]["topics"])


# -- the files ---------------------------------------------------------------------------------------------


def test_judgements_are_well_formed():
    assert loader.check_judgements(JUDGEMENTS, CATALOG) == []
    assert len(JUDGEMENTS) >= 60
    splits = defaultdict(set)
    for item in JUDGEMENTS:
        splits[item["kind"]].add(item["split"])
    assert {kind for kind, seen in splits.items() if seen != {"tune", "report"}} == set(), (
        "every kind has queries in both halves"
    )
    for kind in ("title-variant", "typo", "two-syllable", "spacing", "en-ko", "provider", "region-topic"):
        assert kind in splits, f"the issue asks for {kind} queries"


def test_the_split_follows_the_rule_in_the_readme():
    """Within a kind, in id order, queries with the same relevant list form a group; groups alternate
    tune, report, tune … A query moved to the other half, or a relevant list edited so that it joins
    another group, shows up here."""
    groups: dict[str, dict[tuple, str]] = defaultdict(dict)
    for item in sorted(JUDGEMENTS, key=lambda j: j["id"]):
        seen = groups[item["kind"]]
        key = tuple(item["relevant"])
        if key not in seen:
            seen[key] = "tune" if len(seen) % 2 == 0 else "report"
        assert item["split"] == seen[key], f"{item['id']} {item['query']!r} belongs to the {seen[key]} half"


def _reference(name: str) -> list[dict]:
    from courses.reference import read_csv

    return read_csv(name)


def test_the_catalog_is_consistent_with_the_reference_data():
    providers = {p["key"]: p for p in CATALOG["providers"]}
    regions = {row["code"] for row in _reference("regions.csv")}
    ncs = {row["code"] for row in _reference("ncs.csv")}
    programmes = {row["code"] for row in _reference("programmes.csv")}
    assert len(COURSES) == len(CATALOG["courses"]), "course keys are unique"
    assert len({p["business_number"] for p in providers.values()}) == len(providers)
    run_keys = set()
    for course in CATALOG["courses"]:
        assert course["provider"] in providers, course["key"]
        assert course["programme_code"] in programmes, course["key"]
        assert course["ncs_code"] is None or course["ncs_code"] in ncs, course["key"]
        assert course["topics"], f"{course['key']} has no annotations"
        assert course["runs"], course["key"]
        for run in course["runs"]:
            assert run["key"] == f"{course['key']}:{run['run_number']}"
            assert run["region_code"] in regions, run["key"]
            assert date.fromisoformat(run["start_date"]) <= date.fromisoformat(run["end_date"]), run["key"]
            assert date.fromisoformat(run["start_date"]) >= date.fromisoformat(CATALOG["anchor"]), run["key"]
            run_keys.add(run["key"])
    assert len(run_keys) == sum(len(c["runs"]) for c in CATALOG["courses"])
    for cross in CATALOG["cross_listings"]:
        course = COURSES[cross["course"]]
        assert cross["source"] != course["source"], "a cross listing comes from another source"
        assert set(cross["runs"]) <= {run["run_number"] for run in course["runs"]}


def test_dates_move_by_whole_weeks_so_the_catalog_never_lies_in_the_past():
    anchor = date.fromisoformat(CATALOG["anchor"])
    assert loader.shift_days(CATALOG, anchor) == 0
    assert loader.shift_days(CATALOG, date(2020, 1, 1)) == 0
    for later in (date(2026, 12, 1), date(2027, 3, 17), date(2031, 8, 2)):
        days = loader.shift_days(CATALOG, later)
        assert days % 7 == 0 and anchor.toordinal() + days >= later.toordinal() > anchor.toordinal() + days - 7


# -- through the importer and the indexer (once for the module) ---------------------------------------------


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def indexed(request, tmp_path_factory):
    """The fixed catalog imported through import_file into a migrated database, indexed by the real indexer of
    each search engine (Whoosh on SQLite, the PostgreSQL backend on PostgreSQL)."""
    feeds = tmp_path_factory.mktemp("relevance-feeds")
    rebuilt: list = []
    for loaded in indexed_catalog(
        request, tmp_path_factory, "relevance", lambda _catalog: loader.load(feeds), request.param, rebuilt
    ):
        yield loaded, rebuilt[0]


def test_the_catalog_imports_cleanly_and_is_indexed_whole(indexed):
    from sqlalchemy import func, select

    from courses.models import CourseListing, Provider, Run
    from hrdnet.extensions import db

    loaded, build = indexed
    runs = sum(len(c["runs"]) for c in CATALOG["courses"]) + sum(len(x["runs"]) for x in CATALOG["cross_listings"])
    assert sum(r.created for r in loaded.results) == runs
    assert db.session.scalar(select(func.count()).select_from(Run)) == runs
    # the same provider in every source (matched by business number), cross listings merged into one course
    assert db.session.scalar(select(func.count()).select_from(Provider)) == len(CATALOG["providers"])
    assert len(set(loaded.course_ids.values())) == len(CATALOG["courses"])
    for cross in CATALOG["cross_listings"]:
        listings = db.session.scalars(
            select(CourseListing.source).where(CourseListing.course_id == loaded.course_ids[cross["course"]])
        ).all()
        assert sorted(listings) == sorted([COURSES[cross["course"]]["source"], cross["source"]])
    assert build.runs == runs


def _ranked(loaded, query: str, filters: dict | None = None, want: int = 20) -> list[str]:
    """Course keys in the order of their first run in hrdnet's results, up to `want` courses."""
    from search.engine import search
    from search.interfaces import SearchParams

    keys: list[str] = []
    page = 1
    while len(keys) < want and page <= 20:
        result = search(SearchParams(q=query, page=page, per_page=100, **(filters or {})))
        for hit in result.items:
            key = loaded.course_key(hit.course_id)
            if key and key not in keys:
                keys.append(key)
        if len(result.items) < 100:
            break
        page += 1
    return keys[:want]


def test_every_query_runs(indexed):
    """Every judged query (with its filters) through search(); prints recall@20 per half (pytest -s)."""
    loaded, _build = indexed
    recall = defaultdict(list)
    for item in JUDGEMENTS:
        ranked = _ranked(loaded, item["query"], item.get("filters"))
        relevant = set(loader.course_keys_of(item["relevant"]))
        recall[item["split"]].append(len(relevant & set(ranked)) / min(len(relevant), 20))
    print(
        "\nrelevance on the fixed catalog (bench/search_relevance.py has the baselines and nDCG@10): "
        + ", ".join(
            f"recall@20 {split} {sum(values) / len(values):.3f} ({len(values)} queries)"
            for split, values in recall.items()
        )
    )


# -- behaviours the issue names, each on a tune-half query ------------------------------------------------


def _tune(query: str, kind: str | None = None) -> dict:
    items = [
        j for j in JUDGEMENTS if j["query"] == query and not j.get("filters") and (kind is None or j["kind"] == kind)
    ]
    assert len(items) == 1, query
    assert items[0]["split"] == "tune", f"{query!r} is a report-half query: behaviour tests use the tune half only"
    return items[0]


def test_two_syllable_java_is_not_javascript(indexed):
    loaded, _ = indexed
    item = _tune("자바")
    ranked = _ranked(loaded, item["query"])
    java = [i for i, k in enumerate(ranked) if k in item["relevant"]]
    javascript_only = [i for i, k in enumerate(ranked) if "javascript" in _topics(k) and "java" not in _topics(k)]
    assert len(java) == len(item["relevant"]), "자바 finds every Java course"
    assert not javascript_only or min(javascript_only) > max(java), "no JavaScript course ranks above a Java course"


@pytest.mark.parametrize("query", ["파이선", "pyhton"])
def test_typos_find_what_was_meant(indexed, query):
    loaded, _ = indexed
    item = _tune(query)
    ranked = _ranked(loaded, query)
    assert ranked, f"{query!r} finds nothing"
    assert set(ranked[:5]) <= set(item["relevant"]) | set(item.get("partial", []))


def test_spacing_does_not_matter(indexed):
    """빅 데이터 (spaced) finds the big-data courses whatever their spelling: 빅데이터, 빅 데이터, Big Data."""
    loaded, _ = indexed
    item = _tune("빅 데이터")
    ranked = _ranked(loaded, item["query"])
    for key in ("K053", "K054", "K055"):  # 빅데이터 …, 빅 데이터 …, Big Data …
        assert key in ranked, f"빅 데이터 misses {key} {COURSES[key]['title']}"


def test_title_variant_finds_the_course_first(indexed):
    loaded, _ = indexed
    item = _tune("UI/UX 디자이너 양성과정", "title-variant")
    assert _ranked(loaded, item["query"])[:1] == item["relevant"], "UI/UX … finds the course titled UX/UI …"


def test_english_and_korean_find_each_other(indexed):
    loaded, _ = indexed
    for query, other_language in (
        ("인공지능", lambda title: "AI" in title and "인공" not in title),
        ("machine learning", lambda title: "머신" in title),
    ):
        item = _tune(query, "en-ko")
        ranked = _ranked(loaded, query)
        others = [k for k in item["relevant"] if other_language(COURSES[k]["title"])]
        missed = [k for k in others if k not in ranked]
        assert others and not missed, f"{query!r} misses courses titled in the other language: {missed}"


def test_provider_names_ignore_the_legal_form(indexed):
    loaded, _ = indexed
    for query in ("㈜코드캠퍼스", "(주)넥스트러닝"):
        item = _tune(query, "provider")
        ranked = _ranked(loaded, query)
        assert set(item["relevant"]) <= set(ranked), f"{query!r} finds every course of the provider"


def test_region_and_topic_together(indexed):
    loaded, _ = indexed
    item = _tune("부산 파이썬", "region-topic")
    ranked = _ranked(loaded, item["query"])
    assert set(item["relevant"]) <= set(ranked)
    in_busan = [k for k in ranked[: len(item["relevant"])] if COURSES[k]["runs"][0]["region_code"].startswith("26")]
    assert len(in_busan) == len(item["relevant"]), "the Busan Python courses come first"
