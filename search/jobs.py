"""Find by target job (issue 17, point 13): a job → the upcoming runs that train for it, ranked by employment
outcome and fit, with the programmes that pay for them.

A job is an NCS 세분류 (8-digit code, its Korean name from courses/data/ncs.csv: 빅데이터분석) or a common job
name (COMMON_JOBS: "데이터 분석가" → the 세분류 that train for it and the words its courses use). A run
trains for a job when its NCS code is one of the job's (fit 1.0) or its course's text has the job's words
(the search's own matching: fit FIT_TEXT_ONLY). Ranking: the 3-month employment
rate (unknown → the mean of the job's runs that have one) × fit, then the earlier start. Only runs a learner
can still apply for (Version.recruiting), one per course (its best), like the search page.

Numpy over the index's columns, as search.query: one mask per job, no per-hit Python work until the page.
On the PostgreSQL backend (SEARCH_BACKEND) search.engine.job_runs hands over to search.pg.jobs instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from courses.reference import ncs_names
from hrdnet.timeutil import kst_today
from search import analysis, facets, labels
from search.index import versions
from search.index.columns import CODES
from search.interfaces import Hit
from search.query import result_line
from search.ranking import match, parse_query

FIT_TEXT_ONLY = 0.8  # a course that says the job's words but is filed under another NCS code
JOBS_SHOWN = 12  # matching jobs listed for what was typed
COURSES_SHOWN = 20

# Common job names learners type, with the NCS 세분류 that train for them and the words their courses use.
COMMON_JOBS: dict[str, tuple[tuple[str, ...], str]] = {
    "데이터 분석가": (("20010105", "20010107"), "데이터 분석"),
    "데이터 엔지니어": (("20010209", "20010211", "20010304"), "데이터 엔지니어링"),
    "데이터 사이언티스트": (("20010105", "20010703"), "데이터 사이언스"),
    "인공지능 개발자": (("20010701", "20010703", "20010705"), "인공지능"),
    "백엔드 개발자": (("20010202",), "백엔드"),
    "프론트엔드 개발자": (("20010202", "20010207"), "프론트엔드"),
    "웹 개발자": (("20010202",), "웹 개발"),
    "앱 개발자": (("20010202",), "앱 개발"),
    "임베디드 개발자": (("20010203",), "임베디드"),
    "클라우드 엔지니어": (("20010214", "20010215", "20010216"), "클라우드"),
    "정보보안 전문가": (("20010206", "20010601", "20010602", "20010603"), "정보보안"),
    "UI/UX 디자이너": (("20010207", "08020106"), "UX"),
    "시각 디자이너": (("08020101", "08020104"), "디자인"),
    "IT 서비스 기획자": (("20010103", "20010104"), "기획"),
    "회계 사무원": (("02030201", "02030202"), "회계"),
}


@dataclass(frozen=True)
class Job:
    key: str  # what the address carries: the 세분류 code, or the common name
    name: str
    codes: tuple[str, ...]  # NCS 세분류
    words: str  # the words its courses use ("" for an NCS job: its name is the code's)
    kind: str  # "common" | "ncs"

    @property
    def code_names(self) -> list[str]:
        names = ncs_names()
        return [names.get(code, code) for code in self.codes]


@dataclass(frozen=True)
class ProgrammeCount:
    code: str
    name: str
    runs: int


@dataclass(frozen=True)
class JobRuns:
    job: Job
    hits: list[Hit]  # one per course, best first
    total_runs: int
    total_courses: int
    programmes: list[ProgrammeCount]  # the programmes that pay for the job's runs, most runs first


def _ncs_jobs() -> dict[str, str]:
    return {code: name for code, name in ncs_names().items() if len(code) == 8}


def job_of(key: str) -> Job | None:
    """The job an address names: a common job's name or an NCS 세분류 code."""
    key = (key or "").strip()
    if key in COMMON_JOBS:
        codes, words = COMMON_JOBS[key]
        return Job(key, key, codes, words, "common")
    name = _ncs_jobs().get(key)
    return Job(key, name, (key,), "", "ncs") if name else None


def find_jobs(q: str) -> list[Job]:
    """Jobs whose name holds what was typed (spaces, case and punctuation ignored): common names first."""
    key = analysis.synonym_key(q or "")
    if len(key) < 2:
        return []
    found = [job_of(name) for name in COMMON_JOBS if key in analysis.synonym_key(name)]
    found += [
        job_of(code)
        for code, name in sorted(_ncs_jobs().items())
        if key in analysis.synonym_key(name) or any(key in analysis.synonym_key(w) for w in _words_of(code))
    ]
    return [job for job in found if job is not None][:JOBS_SHOWN]


def _words_of(code: str) -> list[str]:
    """The common jobs an NCS 세분류 belongs to (so "분석가" also lists 빅데이터분석)."""
    return [name for name, (codes, _words) in COMMON_JOBS.items() if code in codes]


def runs_for(job: Job) -> JobRuns:
    """The job's upcoming runs, ranked by employment outcome × fit, one per course, and the paying programmes."""
    with versions.using() as version:
        if version is None:
            return JobRuns(job, [], 0, 0, [])
        return _runs_for(version, job)


def _runs_for(version, job: Job) -> JobRuns:
    cols, today = version.cols, kst_today()
    base = version.visible(facets.days(today), False, False)
    by_code = np.isin(cols["ncs"], [CODES["ncs"].ids[c] for c in job.codes if c in CODES["ncs"].ids])
    words = job.words or job.name
    known = versions.analysis_known(version)
    parsed = parse_query(words, known)
    by_text = match(version, parsed, known)[0] if parsed.groups else np.zeros(version.size, dtype=bool)
    trains = base & (by_code | by_text)
    docs = np.flatnonzero(trains)
    if not len(docs):
        return JobRuns(job, [], 0, 0, [])
    employment = cols["employment"][docs].astype(np.float64)
    known_rates = employment[~np.isnan(employment)]
    employment = np.where(np.isnan(employment), known_rates.mean() if len(known_rates) else 0.0, employment)
    fit = np.where(by_code[docs], 1.0, FIT_TEXT_ONLY)
    score = employment * fit
    ordered = docs[np.lexsort((cols["run_id"][docs], cols["start"][docs], -score))]
    course_ids = cols["course_id"][ordered]
    _unique, first = np.unique(course_ids, return_index=True)
    leaders = ordered[np.sort(first)]
    names = labels.current()
    hits = [result_line(version, int(docnum), today) for docnum in leaders[:COURSES_SHOWN]]
    counts = np.bincount(cols["programme"][docs], minlength=len(CODES["programme"]))
    programmes = [
        ProgrammeCount(
            CODES["programme"].codes[i], names.programmes.get(CODES["programme"].codes[i], ""), int(counts[i])
        )
        for i in np.argsort(-counts, kind="stable")
        if counts[i] and CODES["programme"].codes[i]
    ]
    return JobRuns(job, hits, len(docs), len(leaders), programmes)
