"""A large segment's columns are files every web process maps (search.index.columns.save/load), not a private
copy per gunicorn worker: the first process writes them, the others map the same pages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from search.index import build, columns, versions
from search.index.columns import segment_columns
from search.interfaces import SearchParams
from search.query import search


def _index(app, catalog, reindex, monkeypatch) -> Path:
    monkeypatch.setattr(versions, "MAPPED_MIN_DOCS", 1)  # the test catalog is small; production maps ≥ 20,000
    hanbit = catalog.provider("한빛 디지털아카데미")
    catalog.run(catalog.course("파이썬 데이터 분석 입문", provider=hanbit), region_code="26110")
    catalog.run(catalog.course("자바 백엔드 개발자", provider=hanbit), programme="C0061")
    reindex()
    return Path(app.config["SEARCH_INDEX_DIR"])


def test_a_segments_columns_are_mapped_from_files_and_equal_its_rows(app, catalog, reindex, monkeypatch):
    _index(app, catalog, reindex, monkeypatch)
    assert search(SearchParams(q="파이썬", region="26")).total == 1
    version = versions.current()
    ((segreader, _offset, segment),) = version.leaves
    folder = version.root / version.name / "_columns" / segreader.segment().segment_id()
    assert (folder / "codes.json").is_file()
    assert isinstance(segment.cols["start"], np.memmap)  # not a copy in this process
    in_memory = segment_columns(segreader.column_reader("row", translate=False).array())
    assert set(segment.cols) == set(in_memory)
    for name, column in in_memory.items():
        assert np.array_equal(segment.cols[name], column, equal_nan=column.dtype.kind == "f"), name
    assert columns.load(folder, segment.size + 1) is None  # files of another segment size are never read


OTHER_PROCESS = textwrap.dedent("""
    import sys
    from hrdnet import create_app
    from search.index import versions
    from search.interfaces import SearchParams
    from search.query import search

    versions.MAPPED_MIN_DOCS = 1
    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SEARCH_INDEX_DIR": sys.argv[2]})
    with app.app_context():
        assert search(SearchParams(q="자바", programme="C0061")).total == 1
        with open("/proc/self/maps", encoding="utf-8") as handle:
            print(sum(1 for line in handle if "/_columns/" in line and line.rstrip().endswith(".npy")))
""")


def test_another_process_maps_the_files_the_first_one_wrote(app, catalog, reindex, monkeypatch, database_url):
    root = _index(app, catalog, reindex, monkeypatch)
    search(SearchParams(q="자바"))  # this process writes them
    files = sorted(root.glob("*/_columns/*/*.npy"))
    written = {path: path.stat().st_mtime_ns for path in files}
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, database_url, str(root)],
        env={**os.environ, "HRDNET_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= len(files) - len(columns.CODE_COLUMNS)  # code columns may be translated
    assert {path: path.stat().st_mtime_ns for path in sorted(root.glob("*/_columns/*/*.npy"))} == written


def test_after_an_incremental_commit_the_default_search_does_not_copy_the_large_columns(
    app, catalog, reindex, monkeypatch
):
    _index(app, catalog, reindex, monkeypatch)
    added = catalog.run(catalog.course("클라우드 네이티브 데브옵스"), region_code="41135", fee=900_000)
    build.update(run_ids=[added.id])  # a second segment, as the outbox worker writes one per commit
    result = search(SearchParams(q="클라우드", per_page=50))
    assert (result.items[0].run_id, result.items[0].fee) == (added.id, 900_000)
    version = versions.current()
    assert len(version.leaves) == 2
    assert "fee" not in version.cols._joined and "title_key" not in version.cols._joined  # gathered, not joined
    everything = np.arange(version.size)
    for name in ("run_id", "fee", "region", "start"):  # take() is column[docs] over the joined segments
        joined = np.concatenate([segment.cols[name] for _reader, _offset, segment in version.leaves])
        assert np.array_equal(version.cols.take(name, everything[::2]), joined[::2])
        assert np.array_equal(version.cols[name], joined)
    # read whole, a column is joined once into a file the other processes map (codes: each process's own)
    assert isinstance(version.cols["fee"], np.memmap) and not isinstance(version.cols["region"], np.memmap)
    assert len(list(version.root.glob(f"{version.name}/_columns/joined-*/fee.npy"))) == 1
    build.update(run_ids=[added.id])  # another commit, another segment set: the earlier joined files go
    search(SearchParams(q="클라우드"))
    assert versions.current().cols["fee"] is not None
    assert len(list(version.root.glob(f"{version.name}/_columns/joined-*"))) == 1


def test_the_default_search_gathers_only_the_columns_it_reads(app, catalog, reindex, monkeypatch):
    from hrdnet.timeutil import kst_today
    from search import facets
    from search.index import enrollable

    _index(app, catalog, reindex, monkeypatch)
    assert search(SearchParams(q="파이썬")).total == 1  # the default search: on the Enrollable
    version = versions.current()
    subset = enrollable.of(version, facets.days(kst_today()))
    gathered = subset.cols._gathered
    assert "run_id" in gathered and "self_pay_classes" not in gathered  # the learner classes' prices: not read
    assert set(subset.cols) == set(version.cols)  # every column is there, gathered when first read
    prices = subset.cols["self_pay_classes"]
    assert np.array_equal(prices, version.cols["self_pay_classes"][subset.docs])
    assert subset.cols["self_pay_classes"] is prices  # gathered once
