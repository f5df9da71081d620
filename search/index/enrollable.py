"""The runs still open for enrolment, as a small index of their own (docs/search.md, "Speed").

Learners search what they can still apply for; the archive (closed, started and ended runs: every year since
2021) is there for auditors and researchers behind include_closed / include_past. A search over the whole
version costs in proportion to every document it holds, so the default search runs on an `Enrollable`: the
live version cut down to the runs recruiting on one day (Version.recruiting) and their courses' documents,
with its own columns, posting lists and derived tables. Its cost follows the runs a learner can act on, not
the archive behind them.

It answers exactly as the whole version would for the default search:

- its documents are in the version's order, so sorts and ties come out the same;
- posting lists are the version's (the same BM25 weights, computed over every course), cut to its documents;
- how many courses hold a word (a subject's rarity, search.ranking._df and family_rarity) and what a category
  match (NCS, region …) is worth are the version's, computed over the whole version once per version and word
  (search.ranking asks `parent`), so the archive weighs a word as before without being scanned per search.

It is built once per version and day (a few gathers over the columns) and kept with the version, so a run
that closes, fills up or ends drops out the next day or at the next commit, with no reindexing. Nothing is
copied into the index: a run moving between enrollable and archive is still one document.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from search.index.strings import release_memory
from search.index.versions import BM25_BUDGET, SizedLRU, Version

# Tables that depend only on the vocabulary or on the course documents: the version's serve the subset too.
SHARED_DERIVED = frozenset({"intent_providers", "initials", "vocabulary"})


@dataclass
class Enrollable:
    """A version cut down to the runs recruiting on `day` and their courses: a Version for the search."""

    parent: Version
    day: int
    docs: np.ndarray  # the version's document numbers, ascending
    local: np.ndarray  # version document number -> position here, -1 when not here (size parent.size + 1)
    cols: Mapping[str, np.ndarray]
    course_doc: np.ndarray
    _postings: SizedLRU = field(default_factory=lambda: SizedLRU(BM25_BUDGET // 2))
    _derived: dict = field(default_factory=dict)

    # -- what the search reads, as on a Version ------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self.docs)

    @property
    def live(self) -> np.ndarray:
        return self._constant("live", True)

    @property
    def courses(self) -> int:
        return self.parent.courses

    @property
    def key(self) -> str:
        return self.parent.key

    @property
    def root(self):
        return self.parent.root

    @property
    def name(self) -> str:
        return self.parent.name

    @property
    def lock(self):
        return self.parent.lock

    def vocabulary(self):
        return self.parent.vocabulary()

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """The version's postings of a term (same weights), as positions here."""
        key = (fieldname, term)
        cached = self._postings.fetch(key)
        if cached is not None:
            return cached
        weighted = self.parent._bm25.fetch(key)  # an archive search may have weighted them already
        if weighted is not None:
            docs, weights = weighted
            at = self.local[docs]
            keep = at >= 0
            result = (at[keep], weights[keep])
        else:  # weigh only the postings here (with the version's df): the archive's are neither weighed nor kept
            docs, tf = self.parent.raw_postings(fieldname, term)
            at = self.local[docs]
            keep = at >= 0
            df = int(np.count_nonzero(self.parent.live[docs]))
            result = (at[keep], self.parent._bm25_weights(fieldname, docs[keep], tf[keep], df))
        self._postings.store(key, result, len(result[0]) + 1)
        return result

    def posting_docs(self, fieldname: str, term: str) -> np.ndarray:
        return self.postings(fieldname, term)[0]

    def stored(self, docnum: int):
        return self.parent.stored(int(self.docs[docnum]))

    def course_text(self, docnum: int) -> tuple[str, str]:
        return self.parent.course_text(int(self.docs[docnum]))

    def visible(self, today_days: int, include_past: bool, include_closed: bool = True) -> np.ndarray:
        """Every run here is visible by default on its day (the only searches it serves)."""
        if today_days != self.day or include_past or include_closed:
            raise ValueError("an Enrollable serves only the default search of its day")
        return self.cols["is_run"]

    def recruiting(self, today_days: int) -> np.ndarray:
        if today_days != self.day:
            raise ValueError("an Enrollable serves only the default search of its day")
        return self.cols["is_run"]

    def derived(self, name: str, build: Callable):
        if name in SHARED_DERIVED:
            return self.parent.derived(name, build)
        value = self._derived.get(name)
        if value is None:
            with self.parent.lock:
                value = self._derived.get(name)
                if value is None:
                    value = self._derived[name] = build(self)
        return value

    def _constant(self, name: str, value: bool) -> np.ndarray:
        found = self._derived.get(name)
        if found is None:
            found = self._derived[name] = np.full(self.size, value, dtype=bool)
        return found


class Gathered(Mapping):
    """The version's columns at the Enrollable's documents, each gathered on first use.

    A default search reads a dozen columns; the others (the price of every learner class, 64 bytes a run, for
    a signed-in learner's price sort; the title hash of the exact-title bonus …) are gathered only when a search
    asks for them, so a web worker neither copies them nor touches their mapped pages over the whole archive."""

    def __init__(self, source, docs: np.ndarray):
        self._source = source
        self._names = tuple(source)  # iterating a version's Columns joins nothing (`in` would read the column)
        self._docs = docs
        self._gathered: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> np.ndarray:
        found = self._gathered.get(name)
        if found is None:
            if name not in self._names:
                raise KeyError(name)
            with self._lock:
                found = self._gathered.get(name)
                if found is None:
                    found = self._gathered[name] = self._source.take(name, self._docs)
        return found

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def build(version: Version, day: int) -> Enrollable:
    """The runs recruiting on `day` and their courses' documents."""
    keep = version.visible(day, include_past=False, include_closed=False).copy()
    courses = version.course_doc[keep]
    keep[courses[courses < version.size]] = True
    docs = np.flatnonzero(keep)
    local = np.full(version.size + 1, -1, dtype=np.int32)
    local[docs] = np.arange(len(docs), dtype=np.int32)
    local[version.size] = len(docs)  # "no course" stays "no course"
    cols = Gathered(version.cols, docs)
    course_doc = local[version.course_doc[docs]]
    # A run here whose course document is not live cannot happen (runs and courses are written together);
    # should it, it has no course here either.
    course_doc = np.where(course_doc < 0, len(docs), course_doc)
    return Enrollable(version, day, docs, local, cols, course_doc)


def of(version: Version, day: int) -> Enrollable:
    """The version's Enrollable for `day`, built on first use and kept with the version (the last two days)."""
    key = ("enrollable", day)
    found = version._derived.get(key)
    if found is None:
        with version.lock:
            found = version._derived.get(key)
            if found is None:
                for old in [k for k in version._derived if isinstance(k, tuple) and k[0] == "enrollable"]:
                    if old[1] < day - 1:
                        del version._derived[old]
                found = version._derived[key] = build(version, day)
                release_memory()
    return found
